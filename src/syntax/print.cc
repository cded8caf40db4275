// print: syntax::Module -> Python source in the layout `ruff format` produces.
//
// The printer follows ruff's formatter design: the syntax tree is first turned into
// a document of format elements (text, soft/hard line breaks, groups, indents,
// conditional content, best-fitting variants, line suffixes for comments), which a
// Wadler-style printer then lays out within 88 columns: a group is printed flat when
// its content up to the next line break fits, otherwise expanded. The element set,
// the printer's "fits" measurement and the Python-specific layouts (optional
// parentheses, best-fit parenthesizing of assignment values, comma-separated lists
// with magic trailing commas, binary-expression splitting, blank lines between
// statements) are ports of ruff's behaviour for the subset ast.h models.
//
// Comment conventions shared with parse.cc: Stmt::trailing_comment holds the end-of-line
// comment, then own-line comments after the statement (each after a '\n', an empty line
// for a kept blank line); Expr::comment holds own-line comments above an element (each
// ended by '\n'), its end-of-line comment, then own-line comments after a last element
// (each after a '\v'); a first line "\f# ...\n" is a comment right after the opening
// bracket. Stmt::leading_comments may hold "" for a kept blank line.
//
// Not reproduced (ruff would lay these out differently): comments inside binary
// expressions or between a decorator and its def; comments right after the `(` of a
// def or import list (moved to the end of the statement); `# fmt: off` regions; the
// expressions inside f-string replacement fields (kept as written); statements kept
// verbatim (async, match, del, global, ...) keep their source layout; two empty lines
// between top-level statements need Stmt::empty_lines_before (the parser sets it).
#include "syntax/print.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

namespace nnport::syntax {
namespace {

constexpr uint32_t kLineWidth = 88;
constexpr uint32_t kIndentWidth = 4;

// ============================================================================
// Format elements
// ============================================================================

enum class EK : uint8_t {
  Text,
  Line,
  ExpandParent,
  LineSuffixBoundary,
  BestFitting,
  StartGroup,
  EndGroup,
  StartCondGroup,
  EndCondGroup,
  StartIndent,
  EndIndent,
  StartCondContent,
  EndCondContent,
  StartIndentIfGroupBreaks,
  EndIndentIfGroupBreaks,
  StartLineSuffix,
  EndLineSuffix,
  StartFitsExpanded,
  EndFitsExpanded,
  StartBestFitParen,
  EndBestFitParen,
  StartEntry,
  EndEntry,
};

enum class LineMode : uint8_t { SoftOrSpace, Soft, Hard, Empty };
enum class PMode : uint8_t { Flat, Expanded };
enum class GMode : uint8_t { Flat, Expand, Propagated };
enum class MMode : uint8_t { FirstLine, AllLines, AllLinesAllowTextOverflow };

struct Elem {
  EK k = EK::Text;
  LineMode line = LineMode::Soft;
  mutable GMode gmode = GMode::Flat;  // groups, conditional groups; propagate_expand for FitsExpanded
  PMode cond_mode = PMode::Flat;      // condition: which mode of group `id` activates the content
  bool has_cond = false;              // FitsExpanded: has a condition
  bool multiline = false;             // Text containing '\n'
  bool all_lines = false;             // BestFitting: measure all lines
  int id = -1;                        // group id (groups) / condition group id (-1: enclosing)
  uint32_t width = 0;                 // Text width / line suffix reserved width
  int variants = -1;                  // BestFitting: index of its variants
  std::string text;
};

using Elems = std::vector<Elem>;

// ============================================================================
// Printer (a port of ruff_formatter's printer)
// ============================================================================

struct Args {
  uint16_t indent = 0;
  PMode mode = PMode::Expanded;
  MMode measure = MMode::FirstLine;
  Args with_mode(PMode m) const { Args a = *this; a.mode = m; return a; }
  Args with_measure(MMode m) const { Args a = *this; a.measure = m; return a; }
  Args indented() const { Args a = *this; ++a.indent; return a; }
  EK kind = EK::StartGroup;  // the element that pushed this frame
  Args kinded(EK k) const { Args a = *this; a.kind = k; return a; }
};

struct Slice {
  const Elem* cur;
  const Elem* end;
};

enum class Fits { Yes, No, Maybe };

class Printer {
 public:
  explicit Printer(const std::vector<std::vector<Elems>>& variants) : variants_(variants) {}

  std::string print(const Elems& doc) {
    std::vector<Args> stack{Args{}};
    std::vector<Slice> queue;
    if (!doc.empty()) queue.push_back({doc.data(), doc.data() + doc.size()});
    pending_indent_ = 0;
    has_pending_indent_ = true;
    while (true) {
      const Elem* e = pop(queue);
      if (e) {
        print_element(stack, queue, *e);
      } else if (!flush_line_suffixes(queue, stack, nullptr)) {
        break;
      }
    }
    return out_;
  }

 private:
  const std::vector<std::vector<Elems>>& variants_;
  std::string out_;
  size_t line_start_ = 0;
  uint32_t line_width_ = 0;
  uint16_t pending_indent_ = 0;
  bool has_pending_indent_ = false;
  bool measured_group_fits_ = false;
  std::unordered_map<int, PMode> group_modes_;
  struct Suffix {
    bool is_args;
    const Elem* elem;
    Args args;
  };
  std::vector<Suffix> suffixes_;

  static const Elem* pop(std::vector<Slice>& q) {
    while (!q.empty()) {
      Slice& s = q.back();
      if (s.cur != s.end) return s.cur++;
      q.pop_back();
    }
    return nullptr;
  }
  static void push_one(std::vector<Slice>& q, const Elem* e) { q.push_back({e, e + 1}); }
  static void extend(std::vector<Slice>& q, const Elems& els) {
    if (!els.empty()) q.push_back({els.data(), els.data() + els.size()});
  }

  PMode group_mode(int id, PMode fallback) const {
    if (id < 0) return fallback;
    auto it = group_modes_.find(id);
    return it == group_modes_.end() ? PMode::Flat : it->second;
  }

  // Skips the content up to the matching end of a Start* element (already popped).
  template <class PopFn>
  static void skip_content(PopFn&& popper, EK start, EK end) {
    int depth = 1;
    while (const Elem* e = popper()) {
      if (e->k == start) ++depth;
      else if (e->k == end && --depth == 0) return;
    }
  }

  void print_text(const std::string& t, bool multiline, uint32_t width) {
    if (has_pending_indent_) {
      out_.append(static_cast<size_t>(pending_indent_) * kIndentWidth, ' ');
      line_width_ += pending_indent_ * kIndentWidth;
      has_pending_indent_ = false;
    }
    if (!multiline) {
      out_ += t;
      line_width_ += width;
      return;
    }
    for (char c : t) {
      if (c == '\n') {
        out_ += '\n';
        line_width_ = 0;
        line_start_ = out_.size();
        measured_group_fits_ = false;
      } else {
        out_ += c;
        if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++line_width_;
      }
    }
  }

  void newline() {
    out_ += '\n';
    line_width_ = 0;
    line_start_ = out_.size();
    measured_group_fits_ = false;
  }

  bool flush_line_suffixes(std::vector<Slice>& queue, std::vector<Args>& stack, const Elem* line_break) {
    if (suffixes_.empty()) return false;
    std::vector<Suffix> pending;
    pending.swap(suffixes_);
    if (line_break) push_one(queue, line_break);
    static const Elem kSuffixEnd = [] { Elem e; e.k = EK::EndLineSuffix; return e; }();
    for (auto it = pending.rbegin(); it != pending.rend(); ++it) {
      if (it->is_args) {
        stack.push_back(it->args);
        push_one(queue, &kSuffixEnd);
      } else {
        push_one(queue, it->elem);
      }
    }
    return true;
  }

  void print_element(std::vector<Args>& stack, std::vector<Slice>& queue, const Elem& e) {
    Args args = stack.back();
    switch (e.k) {
      case EK::Text:
        print_text(e.text, e.multiline, e.width);
        break;
      case EK::Line:
        if (args.mode == PMode::Flat && (e.line == LineMode::Soft || e.line == LineMode::SoftOrSpace)) {
          if (e.line == LineMode::SoftOrSpace) print_text(" ", false, 1);
        } else if (!suffixes_.empty()) {
          flush_line_suffixes(queue, stack, &e);
        } else {
          if (out_.size() > line_start_) newline();
          if (e.line == LineMode::Empty) newline();
          pending_indent_ = args.indent;
          has_pending_indent_ = true;
        }
        break;
      case EK::ExpandParent:
        break;
      case EK::LineSuffixBoundary: {
        static const Elem kHard = [] { Elem x; x.k = EK::Line; x.line = LineMode::Hard; return x; }();
        flush_line_suffixes(queue, stack, &kHard);
        break;
      }
      case EK::BestFitting:
        print_best_fitting(e, queue, stack);
        break;
      case EK::StartGroup: {
        PMode mode = e.gmode != GMode::Flat ? PMode::Expanded : flat_group_print_mode(e.id, args, queue, stack);
        if (e.id >= 0) group_modes_[e.id] = mode;
        stack.push_back((args.with_mode(mode)).kinded(e.k));
        break;
      }
      case EK::StartBestFitParen: {
        static const Elem kOpen = [] { Elem x; x.k = EK::Text; x.text = "("; x.width = 1; return x; }();
        static const Elem kIndent = [] { Elem x; x.k = EK::StartIndent; return x; }();
        static const Elem kHard = [] { Elem x; x.k = EK::Line; x.line = LineMode::Hard; return x; }();
        static const Elem kPrefix[3] = {kOpen, kIndent, kHard};
        bool fits_flat = flat_group_print_mode(e.id, args, queue, stack) == PMode::Flat;
        PMode mode;
        if (fits_flat) {
          mode = PMode::Flat;
        } else {
          if (e.id >= 0) group_modes_[e.id] = PMode::Expanded;
          stack.push_back((args.with_measure(MMode::AllLines)).kinded(e.k));
          queue.push_back({kPrefix, kPrefix + 3});
          bool fits_expanded = fits(queue, stack);
          queue.pop_back();
          stack.pop_back();
          mode = fits_expanded ? PMode::Expanded : PMode::Flat;
        }
        if (e.id >= 0) group_modes_[e.id] = mode;
        if (mode == PMode::Expanded) queue.push_back({kPrefix, kPrefix + 3});
        stack.push_back((args.with_mode(mode)).kinded(e.k));
        break;
      }
      case EK::EndBestFitParen: {
        if (args.mode == PMode::Expanded) {
          static const Elem kHard = [] { Elem x; x.k = EK::Line; x.line = LineMode::Hard; return x; }();
          static const Elem kClose = [] { Elem x; x.k = EK::Text; x.text = ")"; x.width = 1; return x; }();
          static const Elem kSuffix[2] = {kHard, kClose};
          stack.pop_back();  // the indent
          queue.push_back({kSuffix, kSuffix + 2});
        }
        stack.pop_back();
        break;
      }
      case EK::StartCondGroup: {
        PMode expected = group_mode(e.id, args.mode);
        if (expected == e.cond_mode) {
          PMode mode = e.gmode != GMode::Flat ? PMode::Expanded : flat_group_print_mode(-1, args, queue, stack);
          stack.push_back((args.with_mode(mode)).kinded(e.k));
        } else {
          stack.push_back((args).kinded(e.k));
        }
        break;
      }
      case EK::StartIndent:
        stack.push_back((args.indented()).kinded(e.k));
        break;
      case EK::StartCondContent: {
        PMode m = group_mode(e.id, args.mode);
        if (m == e.cond_mode) {
          stack.push_back((args).kinded(e.k));
        } else {
          skip_content([&] { return pop(queue); }, EK::StartCondContent, EK::EndCondContent);
        }
        break;
      }
      case EK::StartIndentIfGroupBreaks: {
        PMode m = group_mode(e.id, PMode::Flat);
        stack.push_back((m == PMode::Expanded ? args.indented() : args).kinded(e.k));
        break;
      }
      case EK::StartLineSuffix: {
        line_width_ += e.width;
        // Collect the content up to the matching end.
        int depth = 1;
        while (const Elem* c = pop(queue)) {
          if (c->k == EK::StartLineSuffix) ++depth;
          if (c->k == EK::EndLineSuffix && --depth == 0) break;
          suffixes_.push_back({false, c, Args{}});
        }
        suffixes_.push_back({true, nullptr, args});
        break;
      }
      case EK::StartFitsExpanded: {
        bool met = true;
        if (e.has_cond) met = group_mode(e.id, args.mode) == e.cond_mode;
        if (met) measured_group_fits_ = false;
        stack.push_back((args).kinded(e.k));
        break;
      }
      case EK::StartEntry:
        stack.push_back((args).kinded(e.k));
        break;
      case EK::EndGroup:
      case EK::EndCondGroup:
      case EK::EndIndent:
      case EK::EndCondContent:
      case EK::EndIndentIfGroupBreaks:
      case EK::EndFitsExpanded:
      case EK::EndLineSuffix:
      case EK::EndEntry:
        stack.pop_back();
        break;
    }
  }

  PMode flat_group_print_mode(int id, Args args, std::vector<Slice>& queue, std::vector<Args>& stack) {
    if (args.mode == PMode::Flat && measured_group_fits_) return PMode::Flat;
    measured_group_fits_ = true;
    if (id >= 0) group_modes_[id] = PMode::Flat;
    stack.push_back(args.with_mode(PMode::Flat).kinded(EK::StartGroup));
    bool ok = fits(queue, stack);
    stack.pop_back();
    return ok ? PMode::Flat : PMode::Expanded;
  }

  void print_entry(std::vector<Slice>& queue, std::vector<Args>& stack, Args args) {
    const Elem* start = pop(queue);  // StartEntry
    (void)start;
    stack.push_back(args.kinded(EK::StartEntry));
    int depth = 1;
    while (const Elem* e = pop(queue)) {
      if (e->k == EK::StartEntry) {
        ++depth;
      } else if (e->k == EK::EndEntry) {
        if (--depth == 0) {
          stack.pop_back();
          return;
        }
      }
      print_element(stack, queue, *e);
    }
  }

  void print_best_fitting(const Elem& e, std::vector<Slice>& queue, std::vector<Args>& stack) {
    Args args = stack.back();
    const auto& vars = variants_[static_cast<size_t>(e.variants)];
    if (args.mode == PMode::Flat && measured_group_fits_) {
      extend(queue, vars.front());
      print_entry(queue, stack, args);
      return;
    }
    measured_group_fits_ = true;
    for (size_t i = 0; i + 1 < vars.size(); ++i) {
      const Elems& v = vars[i];
      Args entry_args = args.with_mode(PMode::Flat).with_measure(e.all_lines ? MMode::AllLines : MMode::FirstLine);
      queue.push_back({v.data() + 1, v.data() + v.size()});
      stack.push_back(entry_args.kinded(EK::StartEntry));
      bool ok = fits(queue, stack);
      stack.pop_back();
      queue.pop_back();
      if (ok) {
        extend(queue, v);
        print_entry(queue, stack, args.with_mode(PMode::Flat));
        return;
      }
    }
    extend(queue, vars.back());
    print_entry(queue, stack, args.with_mode(PMode::Expanded));
  }

  // ---- fits measurement ----------------------------------------------------
  struct Measurer {
    Printer& p;
    // queue: own slices, then the rest of the print queue (read-only, from the back)
    std::vector<Slice> own;
    const std::vector<Slice>& rest;
    size_t rest_index;  // slices of `rest` not yet taken: [0, rest_index)
    // stack: own frames over the print stack
    std::vector<Args> own_stack;
    const std::vector<Args>& rest_stack;
    size_t rest_stack_size;
    uint32_t line_width;
    uint16_t pending_indent;
    bool has_pending_indent;
    bool has_line_suffix;
    bool must_be_flat = false;

    Measurer(Printer& printer, const std::vector<Slice>& queue, const std::vector<Args>& stack)
        : p(printer), rest(queue), rest_index(queue.size()), rest_stack(stack), rest_stack_size(stack.size()) {
      line_width = p.line_width_;
      pending_indent = p.pending_indent_;
      has_pending_indent = p.has_pending_indent_;
      has_line_suffix = !p.suffixes_.empty();
      // The rest queue's top slice is the current one: it is read from its current position.
    }

    const Elem* pop() {
      while (true) {
        while (!own.empty()) {
          Slice& s = own.back();
          if (s.cur != s.end) return s.cur++;
          own.pop_back();
        }
        if (rest_index == 0) return nullptr;
        --rest_index;
        own.push_back(rest[rest_index]);
      }
    }
    Args top() const { return own_stack.empty() ? rest_stack[rest_stack_size - 1] : own_stack.back(); }
    void push(Args a) { own_stack.push_back(a); }
    void pop_frame() {
      if (!own_stack.empty()) own_stack.pop_back();
      else if (rest_stack_size > 1) --rest_stack_size;
    }
    void extend(const Elem* b, const Elem* e) {
      if (b != e) own.push_back({b, e});
    }

    Fits fits_text(const std::string& t, bool multiline, uint32_t width, Args args) {
      if (has_pending_indent) {
        line_width += pending_indent * kIndentWidth;
        has_pending_indent = false;
      }
      auto exceeds = [&] { return line_width > kLineWidth && args.measure != MMode::AllLinesAllowTextOverflow; };
      if (!multiline) {
        line_width += width;
      } else {
        for (char c : t) {
          if (c == '\n') {
            if (must_be_flat) return Fits::No;
            if (args.measure == MMode::FirstLine) return exceeds() ? Fits::No : Fits::Yes;
            line_width = 0;
            continue;
          }
          if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++line_width;
        }
      }
      return exceeds() ? Fits::No : Fits::Maybe;
    }

    Fits fits_group(GMode gm, int id, Args args) {
      if (must_be_flat && gm != GMode::Flat) return Fits::No;
      PMode mode = gm == GMode::Flat ? args.mode : PMode::Expanded;
      push(args.with_mode(mode).kinded(EK::StartGroup));
      if (id >= 0) p.group_modes_[id] = mode;
      return Fits::Maybe;
    }

    template <class Pred>
    bool run(Pred&& is_end) {
      while (const Elem* e = pop()) {
        Fits f = fits_element(*e);
        if (f == Fits::Yes) return true;
        if (f == Fits::No) return false;
        if (is_end(*e)) break;
      }
      return true;
    }

    Fits fits_element(const Elem& e) {
      Args args = top();
      switch (e.k) {
        case EK::Text:
          return fits_text(e.text, e.multiline, e.width, args);
        case EK::Line:
          if (args.mode == PMode::Flat) {
            if (e.line == LineMode::SoftOrSpace) return fits_text(" ", false, 1, args);
            if (e.line == LineMode::Hard || e.line == LineMode::Empty) return must_be_flat ? Fits::No : Fits::Yes;
          } else {
            if (args.measure == MMode::FirstLine) return Fits::Yes;
            line_width = 0;
            pending_indent = args.indent;
            has_pending_indent = true;
          }
          break;
        case EK::LineSuffixBoundary:
          if (has_line_suffix) return Fits::No;
          break;
        case EK::ExpandParent:
          if (must_be_flat) return Fits::No;
          break;
        case EK::BestFitting: {
          const auto& vars = p.variants_[static_cast<size_t>(e.variants)];
          const Elems& v = args.mode == PMode::Flat ? vars.front() : vars.back();
          Args a = args;
          if (args.mode == PMode::Flat) a = args.with_measure(e.all_lines ? MMode::AllLines : MMode::FirstLine);
          push((a).kinded(e.k));
          extend(v.data() + 1, v.data() + v.size());
          break;
        }
        case EK::StartIndent:
          push((args.indented()).kinded(e.k));
          break;
        case EK::StartGroup:
          return fits_group(e.gmode, e.id, args);
        case EK::StartBestFitParen:
          if (e.id >= 0) p.group_modes_[e.id] = args.mode;
          push((args).kinded(e.k));
          break;
        case EK::EndBestFitParen: {
          // Reached only when measuring the parenthesized layout of the enclosing best-fit element.
          if (args.mode == PMode::Expanded && top().kind == EK::StartIndent) {
            pop_frame();  // indent
            Args un = top();
            pop_frame();  // best-fit
            line_width = 0;
            pending_indent = un.indent;
            has_pending_indent = true;
            return fits_text(")", false, 1, un);
          }
          pop_frame();
          break;
        }
        case EK::StartCondGroup: {
          PMode m = e.id < 0 ? args.mode : p.group_mode(e.id, args.mode);
          if (m == e.cond_mode) return fits_group(e.gmode, -1, args);
          push((args).kinded(e.k));
          break;
        }
        case EK::StartCondContent: {
          PMode m = e.id < 0 ? args.mode : p.group_mode(e.id, args.mode);
          if (m == e.cond_mode) {
            push((args).kinded(e.k));
          } else {
            skip_content([&] { return pop(); }, EK::StartCondContent, EK::EndCondContent);
          }
          break;
        }
        case EK::StartIndentIfGroupBreaks: {
          PMode m = p.group_mode(e.id, PMode::Flat);
          push((m == PMode::Expanded ? args.indented() : args).kinded(e.k));
          break;
        }
        case EK::StartLineSuffix:
          if (e.width > 0) {
            line_width += e.width;
            if (line_width > kLineWidth) return Fits::No;
          }
          skip_content([&] { return pop(); }, EK::StartLineSuffix, EK::EndLineSuffix);
          has_line_suffix = true;
          break;
        case EK::StartFitsExpanded:
          if (args.mode == PMode::Expanded) {
            push((args).kinded(e.k));
          } else {
            bool met = true;
            if (e.has_cond) met = (e.id < 0 ? args.mode : p.group_mode(e.id, args.mode)) == e.cond_mode;
            if (met) {
              push((args.with_measure(MMode::AllLinesAllowTextOverflow).with_mode(PMode::Expanded)).kinded(e.k));
            } else {
              if (e.gmode != GMode::Flat) return Fits::No;  // propagated expand
              push((args).kinded(e.k));
            }
          }
          break;
        case EK::StartEntry:
          push((args).kinded(e.k));
          break;
        case EK::EndLineSuffix:
          break;
        case EK::EndGroup:
        case EK::EndCondGroup:
        case EK::EndIndent:
        case EK::EndCondContent:
        case EK::EndIndentIfGroupBreaks:
        case EK::EndFitsExpanded:
        case EK::EndEntry:
          pop_frame();
          break;
      }
      return Fits::Maybe;
    }
  };

  bool fits(const std::vector<Slice>& queue, const std::vector<Args>& stack) {
    Measurer m(*this, queue, stack);
    return m.run([](const Elem&) { return false; });
  }
};

// Marks groups that contain a hard line break, an empty line, multi-line text or an
// ExpandParent (directly or through nested groups) as expanded, like ruff's
// Document::propagate_expand. BestFitting variants and best-fit parentheses are
// boundaries.
struct Propagator {
  std::vector<std::vector<Elems>>& variants;

  struct Enclosing {
    enum Kind { Group, CondGroup, FitsExpanded, BestFitParen } kind;
    const Elem* elem;
    bool expands_before;
  };

  static void expand_parent(std::vector<Enclosing>& enc) {
    if (enc.empty()) return;
    Enclosing& e = enc.back();
    if (e.kind == Enclosing::Group || e.kind == Enclosing::CondGroup || e.kind == Enclosing::FitsExpanded) {
      if (e.elem->gmode == GMode::Flat) e.elem->gmode = GMode::Propagated;
    }
  }

  bool run(const Elems& els, std::vector<Enclosing>& enc) {
    bool expands = false;
    for (const Elem& e : els) {
      bool element_expands = false;
      switch (e.k) {
        case EK::StartGroup:
          enc.push_back({Enclosing::Group, &e, false});
          break;
        case EK::EndGroup:
          if (!enc.empty() && enc.back().kind == Enclosing::Group) {
            element_expands = enc.back().elem->gmode != GMode::Flat;
            enc.pop_back();
          }
          break;
        case EK::StartCondGroup:
          enc.push_back({Enclosing::CondGroup, &e, false});
          break;
        case EK::EndCondGroup:
          if (!enc.empty() && enc.back().kind == Enclosing::CondGroup) {
            element_expands = enc.back().elem->gmode != GMode::Flat;
            enc.pop_back();
          }
          break;
        case EK::StartBestFitParen:
          enc.push_back({Enclosing::BestFitParen, &e, expands});
          expands = false;
          continue;
        case EK::EndBestFitParen:
          if (!enc.empty() && enc.back().kind == Enclosing::BestFitParen) {
            expands = enc.back().expands_before;
            enc.pop_back();
          }
          continue;
        case EK::StartFitsExpanded:
          enc.push_back({Enclosing::FitsExpanded, &e, expands});
          break;
        case EK::EndFitsExpanded:
          if (!enc.empty() && enc.back().kind == Enclosing::FitsExpanded) {
            expands = enc.back().expands_before;
            enc.pop_back();
          }
          continue;
        case EK::BestFitting: {
          std::vector<Enclosing> inner;  // a boundary
          for (auto& v : variants[static_cast<size_t>(e.variants)]) run(v, inner);
          continue;
        }
        case EK::Text:
          element_expands = e.multiline;
          break;
        case EK::ExpandParent:
          element_expands = true;
          break;
        case EK::Line:
          element_expands = e.line == LineMode::Hard || e.line == LineMode::Empty;
          break;
        default:
          break;
      }
      if (element_expands) {
        expands = true;
        expand_parent(enc);
      }
    }
    return expands;
  }
};

// ============================================================================
// Document builder
// ============================================================================

uint32_t text_width(const std::string& s) {
  uint32_t w = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++w;
  return w;
}

class Builder {
 public:
  Elems* buf;
  std::vector<std::vector<Elems>> variants;
  int next_id = 0;

  explicit Builder(Elems* b) : buf(b) {}

  int new_id() { return next_id++; }

  void text(const std::string& s) {
    if (s.empty()) return;
    Elem e;
    e.k = EK::Text;
    e.text = s;
    e.multiline = s.find('\n') != std::string::npos;
    e.width = text_width(s);
    buf->push_back(std::move(e));
  }
  void space() { text(" "); }
  void line(LineMode m) {
    Elem e;
    e.k = EK::Line;
    e.line = m;
    buf->push_back(e);
  }
  void soft() { line(LineMode::Soft); }
  void soft_or_space() { line(LineMode::SoftOrSpace); }
  void hard() { line(LineMode::Hard); }
  void empty_line() { line(LineMode::Empty); }
  void expand_parent() { tag(EK::ExpandParent); }
  void tag(EK k) {
    Elem e;
    e.k = k;
    buf->push_back(e);
  }

  template <class F>
  void group(F&& content, int id = -1, bool expand = false) {
    Elem s;
    s.k = EK::StartGroup;
    s.id = id;
    s.gmode = expand ? GMode::Expand : GMode::Flat;
    buf->push_back(s);
    content();
    tag(EK::EndGroup);
  }
  template <class F>
  void indent(F&& content) {
    tag(EK::StartIndent);
    content();
    tag(EK::EndIndent);
  }
  template <class F>
  void block_indent(F&& content) {
    indent([&] {
      hard();
      content();
    });
    hard();
  }
  template <class F>
  void soft_block_indent(F&& content) {
    indent([&] {
      soft();
      content();
    });
    soft();
  }
  // Conditional content: printed when group `id` (or the enclosing group, id -1) is in `mode`.
  template <class F>
  void if_mode(PMode mode, int id, F&& content) {
    Elem s;
    s.k = EK::StartCondContent;
    s.cond_mode = mode;
    s.id = id;
    buf->push_back(s);
    content();
    tag(EK::EndCondContent);
  }
  template <class F>
  void if_breaks(F&& content, int id = -1) { if_mode(PMode::Expanded, id, content); }
  template <class F>
  void if_flat(F&& content, int id = -1) { if_mode(PMode::Flat, id, content); }
  template <class F>
  void indent_if_group_breaks(int id, F&& content) {
    Elem s;
    s.k = EK::StartIndentIfGroupBreaks;
    s.id = id;
    buf->push_back(s);
    content();
    tag(EK::EndIndentIfGroupBreaks);
  }
  template <class F>
  void cond_group(PMode mode, int id, F&& content) {
    Elem s;
    s.k = EK::StartCondGroup;
    s.cond_mode = mode;
    s.id = id;
    buf->push_back(s);
    content();
    tag(EK::EndCondGroup);
  }
  template <class F>
  void fits_expanded(bool has_cond, PMode mode, int id, F&& content) {
    Elem s;
    s.k = EK::StartFitsExpanded;
    s.has_cond = has_cond;
    s.cond_mode = mode;
    s.id = id;
    buf->push_back(s);
    content();
    tag(EK::EndFitsExpanded);
  }
  template <class F>
  void best_fit_parenthesize(int id, F&& content) {
    Elem s;
    s.k = EK::StartBestFitParen;
    s.id = id;
    buf->push_back(s);
    content();
    tag(EK::EndBestFitParen);
  }
  void line_suffix(const std::string& content, uint32_t reserved) {
    Elem s;
    s.k = EK::StartLineSuffix;
    s.width = reserved;
    buf->push_back(s);
    text(content);
    tag(EK::EndLineSuffix);
  }
  template <class F>
  void line_suffix_fn(F&& content, uint32_t reserved) {
    Elem s;
    s.k = EK::StartLineSuffix;
    s.width = reserved;
    buf->push_back(s);
    content();
    tag(EK::EndLineSuffix);
  }
  // best_fitting![v1, v2, ...]: each variant is formatted into its own element list.
  void best_fitting(const std::vector<std::function<void()>>& vs, bool all_lines = false) {
    std::vector<Elems> out;
    for (auto& v : vs) {
      Elems els;
      Elems* saved = buf;
      buf = &els;
      tag(EK::StartEntry);
      v();
      tag(EK::EndEntry);
      buf = saved;
      out.push_back(std::move(els));
    }
    variants.push_back(std::move(out));
    Elem e;
    e.k = EK::BestFitting;
    e.variants = static_cast<int>(variants.size() - 1);
    e.all_lines = all_lines;
    buf->push_back(e);
  }
};

// ============================================================================
// Python formatting
// ============================================================================

// Precedence levels (higher binds tighter), Python's table.
enum Prec {
  P_LAMBDA = 1,
  P_IFEXP,
  P_OR,
  P_AND,
  P_NOT,
  P_CMP,
  P_BOR,
  P_BXOR,
  P_BAND,
  P_SHIFT,
  P_ARITH,
  P_TERM,
  P_UNARY,
  P_POWER,
  P_AWAIT,
  P_ATOM,
};

// Parentheses the source wrote around an expression (a Tuple's flag means its own ones).
bool sp(const Expr& e) { return e.parenthesized && e.kind != ExprKind::Tuple; }

int binop_prec(const std::string& op) {
  if (op == "|") return P_BOR;
  if (op == "^") return P_BXOR;
  if (op == "&") return P_BAND;
  if (op == "<<" || op == ">>") return P_SHIFT;
  if (op == "+" || op == "-") return P_ARITH;
  if (op == "**") return P_POWER;
  return P_TERM;  // * / // % @
}

int prec(const Expr& e) {
  switch (e.kind) {
    case ExprKind::Lambda: return P_LAMBDA;
    case ExprKind::IfExp: return P_IFEXP;
    case ExprKind::BoolOp: return e.name == "or" ? P_OR : P_AND;
    case ExprKind::UnaryOp: return e.name == "not" ? P_NOT : P_UNARY;
    case ExprKind::Compare: return P_CMP;
    case ExprKind::BinOp: return binop_prec(e.name);
    case ExprKind::Tuple: return e.parenthesized || e.items.size() == 0 ? P_ATOM : 0;
    case ExprKind::Starred: return P_ATOM - 1;
    default: return P_ATOM;
  }
}

enum class Level { TopLevel, Compound, Expression, Parenthesized };

// ---- literals -------------------------------------------------------------

std::string float_repr(double v) {
  if (std::isnan(v)) return "float(\"nan\")";
  if (std::isinf(v)) return v > 0 ? "float(\"inf\")" : "-float(\"inf\")";
  char buf[64];
  int prec_digits = 1;
  for (; prec_digits <= 17; ++prec_digits) {
    std::snprintf(buf, sizeof buf, "%.*e", prec_digits - 1, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  // buf holds d.ddde±XX with the shortest digits: rebuild Python's repr.
  std::string s(buf);
  bool neg = s[0] == '-';
  if (neg) s = s.substr(1);
  size_t epos = s.find('e');
  std::string mant = s.substr(0, epos);
  int exp = std::atoi(s.c_str() + epos + 1);
  std::string digits;
  for (char c : mant)
    if (c != '.') digits += c;
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  std::string r;
  if (exp >= 16 || exp < -4) {
    r = digits.substr(0, 1);
    if (digits.size() > 1) r += "." + digits.substr(1);
    char eb[16];
    std::snprintf(eb, sizeof eb, "e%c%02d", exp < 0 ? '-' : '+', std::abs(exp));
    r += eb;
  } else if (exp >= 0) {
    if (static_cast<int>(digits.size()) <= exp + 1) {
      r = digits + std::string(static_cast<size_t>(exp + 1) - digits.size(), '0') + ".0";
    } else {
      r = digits.substr(0, static_cast<size_t>(exp + 1)) + "." + digits.substr(static_cast<size_t>(exp + 1));
    }
  } else {
    r = "0." + std::string(static_cast<size_t>(-exp - 1), '0') + digits;
  }
  return neg ? "-" + r : r;
}

// ruff's number normalisation: lowercase prefixes/exponent/suffix, uppercase hex digits,
// a trailing `.` gets a `0`.
std::string normalize_number(const std::string& t) {
  std::string s = t;
  if (s.size() > 1 && s[0] == '0' && std::isalpha(static_cast<unsigned char>(s[1]))) {
    char p = static_cast<char>(std::tolower(static_cast<unsigned char>(s[1])));
    s[1] = p;
    if (p == 'x') {
      for (size_t i = 2; i < s.size(); ++i) s[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(s[i])));
    }
    return s;
  }
  for (auto& c : s)
    if (c == 'E' || c == 'J') c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  size_t eplus = s.find("e+");
  if (eplus != std::string::npos) s.erase(eplus + 1, 1);  // `1e+05` -> `1e05`
  // `1.` -> `1.0`, `1.e5` -> `1.0e5`, `.5` -> `0.5`.
  if (!s.empty() && s[0] == '.') s = "0" + s;
  size_t dot = s.find('.');
  if (dot != std::string::npos) {
    bool digit_after = dot + 1 < s.size() && std::isdigit(static_cast<unsigned char>(s[dot + 1]));
    if (!digit_after) s.insert(dot + 1, "0");
  }
  return s;
}

bool is_decimal_int_spelling(const Expr& e) {
  if (e.kind != ExprKind::Int) return false;
  std::string t = e.text.empty() ? std::to_string(e.int_value) : e.text;
  return !(t.size() > 1 && t[0] == '0' && std::isalpha(static_cast<unsigned char>(t[1])));
}

void append_utf8(std::string& out, unsigned long cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Decodes a string literal's spelling (the parser's rules) to compare
// against the node's value.
bool decode_spelling(const std::string& raw, std::string& out, std::string& prefix, std::string& quote,
                     std::string& body) {
  size_t i = 0;
  while (i < raw.size() && raw[i] != '"' && raw[i] != '\'') ++i;
  if (i >= raw.size()) return false;
  prefix = raw.substr(0, i);
  char q = raw[i];
  size_t qlen = raw.size() - i >= 6 && raw.compare(i, 3, std::string(3, q)) == 0 ? 3 : 1;
  quote = raw.substr(i, qlen);
  if (raw.size() < i + 2 * qlen) return false;
  body = raw.substr(i + qlen, raw.size() - i - 2 * qlen);
  bool is_raw = false;
  for (char c : prefix)
    if (c == 'r' || c == 'R') is_raw = true;
  out.clear();
  if (is_raw) {
    out = body;
    return true;
  }
  for (size_t k = 0; k < body.size(); ++k) {
    char c = body[k];
    if (c != '\\' || k + 1 >= body.size()) {
      out += c;
      continue;
    }
    char n = body[++k];
    switch (n) {
      case '\n': break;
      case '\r': if (k + 1 < body.size() && body[k + 1] == '\n') ++k; break;
      case '\\': out += '\\'; break;
      case '\'': out += '\''; break;
      case '"': out += '"'; break;
      case 'a': out += '\a'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'v': out += '\v'; break;
      case 'x': case 'u': case 'U': {
        size_t len = n == 'x' ? 2 : n == 'u' ? 4 : 8;
        unsigned long cp = std::strtoul(body.substr(k + 1, len).c_str(), nullptr, 16);
        k += len;
        append_utf8(out, cp);
        break;
      }
      case 'N': {
        size_t close = body.find('}', k);
        out += '\\';
        out += body.substr(k, close == std::string::npos ? std::string::npos : close - k + 1);
        k = close == std::string::npos ? body.size() : close;
        break;
      }
      default:
        if (n >= '0' && n <= '7') {
          unsigned v = static_cast<unsigned>(n - '0');
          int digits = 1;
          while (digits < 3 && k + 1 < body.size() && body[k + 1] >= '0' && body[k + 1] <= '7') {
            v = v * 8 + static_cast<unsigned>(body[++k] - '0');
            ++digits;
          }
          append_utf8(out, v);
        } else {
          out += '\\';
          out += n;
        }
    }
  }
  return true;
}

// Chooses the quote ruff would use and re-escapes the body.
std::string normalize_string_spelling(const std::string& raw, bool docstring) {
  std::string value, prefix, quote, body;
  size_t i = 0;
  while (i < raw.size() && raw[i] != '"' && raw[i] != '\'') ++i;
  if (i >= raw.size()) return raw;
  prefix = raw.substr(0, i);
  // ruff's prefix: `r`/`R` first (its case kept), then lowercase `b`/`f`/`t`; `u` dropped.
  std::string np, rest;
  for (char c : prefix) {
    if (c == 'u' || c == 'U') continue;
    if (c == 'r' || c == 'R') np += c;
    else rest += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  np += rest;
  char q = raw[i];
  size_t qlen = raw.size() - i >= 6 && raw.compare(i, 3, std::string(3, q)) == 0 ? 3 : 1;
  if (raw.size() < i + 2 * qlen) return raw;
  body = raw.substr(i + qlen, raw.size() - i - 2 * qlen);
  bool is_raw = np.find('r') != std::string::npos || np.find('R') != std::string::npos;
  bool is_f = np.find('f') != std::string::npos;
  if (!np.empty() && (np[0] == 'r' || np[0] == 'R')) {
    // raw: no escapes to normalise
  } else {
    bool is_bytes = np.find('b') != std::string::npos;
    std::string nb;
    for (size_t k = 0; k < body.size(); ++k) {
      char c = body[k];
      if (c != '\\' || k + 1 >= body.size()) {
        nb += c;
        continue;
      }
      char n = body[k + 1];
      nb += c;
      nb += n;
      ++k;
      size_t len = n == 'x' ? 2 : (n == 'u' && !is_bytes) ? 4 : (n == 'U' && !is_bytes) ? 8 : 0;
      if (len) {
        for (size_t j = 0; j < len && k + 1 < body.size() && std::isxdigit(static_cast<unsigned char>(body[k + 1])); ++j)
          nb += static_cast<char>(std::tolower(static_cast<unsigned char>(body[++k])));
      } else if (n == 'N' && !is_bytes && k + 1 < body.size() && body[k + 1] == '{') {
        while (k + 1 < body.size() && body[k] != '}') nb += static_cast<char>(std::toupper(static_cast<unsigned char>(body[++k])));
      }
    }
    body = nb;
  }
  if (qlen == 3) {
    // Triple-quoted: """ unless the body has """ or ends with `"`.
    if (q == '"') return np + std::string(qlen, q) + body + std::string(qlen, q);
    if (body.find("\"\"\"") != std::string::npos || (!body.empty() && body.back() == '"'))
      return np + std::string(qlen, q) + body + std::string(qlen, q);
    return np + "\"\"\"" + body + "\"\"\"";
  }
  (void)docstring;
  // Count quotes (unescaped) to decide.
  int singles = 0, doubles = 0;
  for (size_t k = 0; k < body.size(); ++k) {
    if (body[k] == '\\' && k + 1 < body.size()) {
      char n = body[k + 1];
      if (n == '\'') ++singles;
      if (n == '"') ++doubles;
      ++k;
      continue;
    }
    if (body[k] == '\'') ++singles;
    if (body[k] == '"') ++doubles;
  }
  if (is_f) {
    // Quotes inside replacement fields can't be re-escaped (before 3.12): keep the spelling.
    int depth = 0;
    for (size_t k = 0; k < body.size(); ++k) {
      char c = body[k];
      if (depth == 0 && (c == '{' || c == '}') && k + 1 < body.size() && body[k + 1] == c) {
        ++k;
        continue;
      }
      if (c == '{') ++depth;
      else if (c == '}' && depth > 0) --depth;
      else if (depth > 0 && (c == '\'' || c == '"' || c == '\\'))
        return np + std::string(qlen, q) + body + std::string(qlen, q);
    }
  }
  char pref = doubles > singles ? '\'' : '"';
  if (is_raw) {
    // Raw strings can't re-escape: switch only if the body lacks the preferred quote.
    if (q == pref || body.find(pref) != std::string::npos) return np + std::string(qlen, q) + body + std::string(qlen, q);
    return np + pref + body + pref;
  }
  std::string out;
  for (size_t k = 0; k < body.size(); ++k) {
    char c = body[k];
    if (c == '\\' && k + 1 < body.size()) {
      char n = body[k + 1];
      if ((n == '\'' || n == '"') && n != pref) {
        out += n;  // unnecessary escape
      } else {
        out += c;
        out += n;
      }
      ++k;
      continue;
    }
    if (c == pref) out += '\\';
    out += c;
  }
  return np + pref + out + pref;
}

// A string value written as a Python literal (double quotes unless more escapes).
std::string quote_value(const std::string& v) {
  int singles = 0, doubles = 0;
  for (char c : v) {
    if (c == '\'') ++singles;
    if (c == '"') ++doubles;
  }
  char q = doubles > singles ? '\'' : '"';
  std::string out(1, q);
  for (unsigned char c : v) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c == static_cast<unsigned char>(q)) {
          out += '\\';
          out += static_cast<char>(c);
        } else if (c < 0x20 || c == 0x7f) {
          char b[8];
          std::snprintf(b, sizeof b, "\\x%02x", c);
          out += b;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += q;
  return out;
}

std::string string_literal(const Expr& e) {
  if (e.is_fstring) return normalize_string_spelling(e.text.empty() ? e.name : e.text, false);
  if (!e.name.empty() && e.values.empty()) {
    // The source spelling is kept (normalised like ruff) while it still holds the value.
    std::string value, prefix, quote, body;
    bool bytes = false;
    for (char c : e.name) {
      if (c == '"' || c == '\'') break;
      if (c == 'b' || c == 'B') bytes = true;
    }
    if (bytes || (decode_spelling(e.name, value, prefix, quote, body) && value == e.text))
      return normalize_string_spelling(e.name, false);
  }
  return quote_value(e.text);
}

bool is_multiline_string(const Expr& e) {
  if (e.kind != ExprKind::String) return false;
  std::string s = string_literal(e);
  return s.find('\n') != std::string::npos;
}

// ---- comments ---------------------------------------------------------------

// The comment after an opening bracket, kept on the first element ("\f# ...\n").
std::string open_bracket_comment(const std::string& first_comment) {
  if (first_comment.empty() || first_comment[0] != '\f') return "";
  size_t nl = first_comment.find('\n');
  return first_comment.substr(1, nl == std::string::npos ? std::string::npos : nl - 1);
}

std::string normalize_comment(const std::string& c) {
  std::string t = c;
  while (!t.empty() && (t.back() == ' ' || t.back() == '\t' || t.back() == '\r')) t.pop_back();
  if (t.empty() || t[0] != '#') t = "# " + t;
  std::string content = t.substr(1);
  if (content.empty()) return "#";
  char f = content[0];
  if (f == ' ' || f == '!' || f == ':' || f == '#' || f == '\'' || f == '|') return t;
  return "# " + content;
}

bool is_pragma(const std::string& c) {
  std::string s = c.substr(1);
  size_t i = 0;
  while (i < s.size() && s[i] == ' ') ++i;
  s = s.substr(i);
  static const char* prefixes[] = {"noqa", "type:", "pyright:", "pylint:", "nosec", "isort:", "ruff:", "mypy:", "flake8"};
  for (const char* p : prefixes)
    if (s.compare(0, std::strlen(p), p) == 0) return true;
  return false;
}

// Splits Expr::comment into own-line comments above the element and the trailing one.
void split_element_comment(const std::string& full, std::vector<std::string>& above, std::string& trailing,
                           std::vector<std::string>* below = nullptr) {
  std::string c = full.substr(0, full.find('\v'));
  if (!c.empty() && c[0] == '\f') {
    size_t nl = c.find('\n');
    c = nl == std::string::npos ? std::string() : c.substr(nl + 1);
  }
  if (below) {
    size_t v = full.find('\v');
    while (v != std::string::npos) {
      size_t next = full.find('\v', v + 1);
      below->push_back(full.substr(v + 1, next == std::string::npos ? std::string::npos : next - v - 1));
      v = next;
    }
  }
  size_t start = 0;
  while (true) {
    size_t nl = c.find('\n', start);
    if (nl == std::string::npos) {
      trailing = c.substr(start);
      return;
    }
    above.push_back(c.substr(start, nl - start));
    start = nl + 1;
  }
}

class PyFormatter {
 public:
  Builder b;
  Level level = Level::TopLevel;
  int optional_parens_id = -1;  // NodeLevel::Expression(Some(id))

  explicit PyFormatter(Elems* buf) : b(buf) {}

  struct LevelScope {
    PyFormatter& f;
    Level saved_level;
    int saved_id;
    LevelScope(PyFormatter& fmt, Level l, int id = -1) : f(fmt), saved_level(fmt.level), saved_id(fmt.optional_parens_id) {
      f.level = l;
      f.optional_parens_id = id;
    }
    ~LevelScope() {
      f.level = saved_level;
      f.optional_parens_id = saved_id;
    }
  };

  // ---- trailing comments ----------------------------------------------------
  // The end-of-line comment (the part of a Stmt::trailing_comment before any '\n').
  void trailing_comment(const std::string& full) {
    std::string c = full.substr(0, full.find('\n'));
    if (c.empty()) return;
    std::string n = normalize_comment(c);
    uint32_t reserved = is_pragma(n) ? 0 : 2 + text_width(n);
    b.line_suffix("  " + n, reserved);
    b.expand_parent();
  }

  // ---- parentheses helpers (ruff's builders) --------------------------------
  template <class F>
  void parenthesized(const char* open, F&& content, const char* close, const std::string& open_comment = "") {
    Level cur = level;
    int cur_id = optional_parens_id;
    auto indented = [&] {
      b.group([&] {
        trailing_comment(open_comment);
        b.soft_block_indent(content);
      });
    };
    LevelScope scope(*this, Level::Parenthesized);
    b.text(open);
    if (cur == Level::Expression && cur_id >= 0) {
      b.fits_expanded(true, PMode::Flat, cur_id, indented);
    } else {
      indented();
    }
    b.text(close);
  }

  template <class F>
  void optional_parentheses(F&& content) {
    int id = b.new_id();
    LevelScope scope(*this, Level::Expression, id);
    b.group(
        [&] {
          b.if_breaks([&] { b.text("("); });
          b.indent_if_group_breaks(id, [&] {
            b.soft();
            content();
          });
          b.soft();
          b.if_breaks([&] { b.text(")"); });
        },
        id);
  }

  template <class F>
  void parenthesize_if_expands(F&& content, bool indent = true) {
    LevelScope scope(*this, Level::Parenthesized);
    if (indent) {
      int id = b.new_id();
      b.group(
          [&] {
            b.if_breaks([&] { b.text("("); });
            b.indent_if_group_breaks(id, [&] {
              b.soft();
              content();
            });
            b.soft();
            b.if_breaks([&] { b.text(")"); });
          },
          id);
    } else {
      b.group([&] {
        b.if_breaks([&] { b.text("("); });
        content();
        b.if_breaks([&] { b.text(")"); });
      });
    }
  }

  void in_parens_soft_or_space() {
    switch (level) {
      case Level::TopLevel:
      case Level::Compound:
        b.space();
        break;
      case Level::Expression:
        if (optional_parens_id < 0) {
          b.space();
        } else {
          int id = optional_parens_id;
          b.if_breaks([&] { b.soft_or_space(); }, id);
          b.if_flat([&] { b.space(); }, id);
        }
        break;
      case Level::Parenthesized:
        b.soft_or_space();
        break;
    }
  }
  void in_parens_soft() {
    switch (level) {
      case Level::TopLevel:
      case Level::Compound:
        break;
      case Level::Expression:
        if (optional_parens_id >= 0) {
          int id = optional_parens_id;
          b.if_breaks([&] { b.soft(); }, id);
        }
        break;
      case Level::Parenthesized:
        b.soft();
        break;
    }
  }
  template <class F>
  void in_parens_group(F&& content) {
    switch (level) {
      case Level::Expression:
        if (optional_parens_id >= 0) {
          b.cond_group(PMode::Expanded, optional_parens_id, content);
        } else {
          content();
        }
        break;
      case Level::Parenthesized:
        b.group(content);
        break;
      default:
        content();
    }
  }

  // ---- comma separated lists -----------------------------------------------
  struct Entry {
    std::function<void()> fmt;
    std::string comment;  // Expr::comment of the element
  };

  // Variant used by all callers: handles comments after commas properly.
  void join_comma(const std::vector<Entry>& entries, bool magic, bool one_or_more = false, bool no_trailing = false) {
    for (size_t i = 0; i < entries.size(); ++i) {
      std::vector<std::string> above, below;
      std::string trailing;
      split_element_comment(entries[i].comment, above, trailing, &below);
      if (i > 0) b.soft_or_space();
      for (auto& c : above) {
        b.text(normalize_comment(c));
        b.hard();
      }
      entries[i].fmt();
      bool last = i + 1 == entries.size();
      if (!last) {
        b.text(",");
      } else if (!no_trailing && (magic || one_or_more || entries.size() > 1)) {
        b.if_breaks([&] { b.text(","); });
      }
      if (!trailing.empty()) trailing_comment(trailing);
      for (auto& c : below) {
        // ruff: a trailing own-line comment, printed as a line suffix on its own line.
        b.line_suffix_fn([&] {
          b.hard();
          b.text(normalize_comment(c));
        }, 0);
        b.expand_parent();
      }
    }
    if (!entries.empty() && magic && !no_trailing) b.expand_parent();
  }

  // ---- expressions ---------------------------------------------------------
  enum class Parens { Preserve, Always, Never };

  // Preserve: keep the parentheses the source wrote around the expression (as ruff).
  void expr(const Expr& e, Parens p = Parens::Preserve) {
    if (p == Parens::Always || (p == Parens::Preserve && e.parenthesized && e.kind != ExprKind::Tuple)) {
      parenthesized("(", [&] { expr_inner(e); }, ")");
      return;
    }
    if (level == Level::TopLevel || level == Level::Compound) {
      LevelScope scope(*this, Level::Expression, -1);
      expr_inner(e);
    } else {
      expr_inner(e);
    }
  }

  // An operand that needs parentheses when its precedence is below `min`.
  void operand(const Expr& e, int min) {
    if (prec(e) < min) expr(e, Parens::Always);
    else expr(e);
  }

  void expr_inner(const Expr& e) {
    switch (e.kind) {
      case ExprKind::Name:
        b.text(e.name);
        break;
      case ExprKind::Int:
        b.text(e.text.empty() ? std::to_string(e.int_value) : normalize_number(e.text));
        break;
      case ExprKind::Float:
        b.text(e.text.empty() ? float_repr(e.float_value) : normalize_number(e.text));
        break;
      case ExprKind::String:
        format_string(e);
        break;
      case ExprKind::Bool:
        b.text(e.bool_value ? "True" : "False");
        break;
      case ExprKind::None:
        b.text("None");
        break;
      case ExprKind::Ellipsis:
        b.text("...");
        break;
      case ExprKind::List:
        sequence(e, "[", "]");
        break;
      case ExprKind::Set:
        sequence(e, "{", "}");
        break;
      case ExprKind::Tuple:
        tuple(e, TupleMode::Default);
        break;
      case ExprKind::Dict:
        dict(e);
        break;
      case ExprKind::Attribute:
        attribute(e);
        break;
      case ExprKind::Subscript:
        subscript(e);
        break;
      case ExprKind::Slice:
        slice(e);
        break;
      case ExprKind::Call:
        call(e);
        break;
      case ExprKind::BinOp:
      case ExprKind::Compare:
      case ExprKind::BoolOp:
        binary_like(e);
        break;
      case ExprKind::UnaryOp:
        unary(e);
        break;
      case ExprKind::IfExp:
        ifexp(e);
        break;
      case ExprKind::Starred:
        b.text("*");
        operand(*e.object, P_BOR);
        break;
      case ExprKind::ListComp:
        listcomp(e);
        break;
      case ExprKind::Lambda:
        lambda(e);
        break;
    }
  }

  void format_string(const Expr& e) {
    if (e.values.empty()) {
      b.text(string_literal(e));
      return;
    }
    // Implicit concatenation (ruff's FormatImplicitConcatenatedString): merged into one
    // literal when the parts allow it and it fits, else one part per line.
    std::string joined;
    for (auto& v : e.values) joined += v->text;
    if (!e.is_fstring && joined != e.text) {  // a pass changed the value: write it anew
      b.text(quote_value(e.text));
      return;
    }
    std::string merged = merged_concatenation(e);
    bool parenthesized_level = level == Level::Parenthesized || (level == Level::Expression && optional_parens_id >= 0);
    if (!parenthesized_level && !merged.empty()) {
      b.text(merged);
      return;
    }
    in_parens_group([&] { implicit_concatenation(e, merged); });
  }

  // FormatImplicitConcatenatedString: the merged literal when the enclosing group is flat,
  // else one part per line.
  void implicit_concatenation(const Expr& e) { implicit_concatenation(e, merged_concatenation(e)); }
  void implicit_concatenation(const Expr& e, const std::string& merged) {
    auto parts = [&] {
      for (size_t i = 0; i < e.values.size(); ++i) {
        if (i) in_parens_soft_or_space();
        b.text(string_literal(*e.values[i]));
      }
    };
    if (!merged.empty()) {
      b.if_flat([&] { b.text(merged); });
      b.if_breaks(parts);
      return;
    }
    // Parts the source wrote on separate lines stay on separate lines.
    for (size_t i = 0; i + 1 < e.values.size(); ++i)
      if (e.values[i]->loc.line > 0 && e.values[i + 1]->loc.line > e.values[i]->loc.line) {
        b.expand_parent();
        break;
      }
    parts();
  }

  // The single literal ruff writes for a concatenation when it is merged, or "" when the
  // parts can't merge (raw, bytes or triple-quoted parts, quotes inside f-string fields).
  std::string merged_concatenation(const Expr& e) {
    bool any_f = false;
    std::string neutral;  // the bodies with quote escapes removed, other escapes kept
    for (auto& v : e.values) {
      std::string lit = string_literal(*v);
      size_t q = lit.find_first_of("\"'");
      if (q == std::string::npos) return "";
      bool is_f = false;
      for (char c : lit.substr(0, q)) {
        if (c == 'f' || c == 'F') is_f = true;
        else return "";
      }
      if (lit.size() - q >= 6 && (lit.compare(q, 3, "\"\"\"") == 0 || lit.compare(q, 3, "\'\'\'") == 0)) return "";
      if (lit.size() - q < 2) return "";
      std::string body = lit.substr(q + 1, lit.size() - q - 2);
      if (is_f && (body.find('"') != std::string::npos || body.find('\'') != std::string::npos)) return "";
      any_f = any_f || is_f;
      for (size_t k = 0; k < body.size(); ++k) {
        char c = body[k];
        if (c == '\\' && k + 1 < body.size()) {
          char n = body[k + 1];
          if (n != '\'' && n != '"') neutral += c;
          neutral += n;
          ++k;
          continue;
        }
        neutral += c;
      }
    }
    if (any_f) {
      // An f-string results: rebuild with the braces of the plain parts doubled.
      neutral.clear();
      for (auto& v : e.values) {
        std::string lit = string_literal(*v);
        size_t q = lit.find_first_of("\"'");
        bool is_f = q > 0;
        std::string body = lit.substr(q + 1, lit.size() - q - 2);
        for (size_t k = 0; k < body.size(); ++k) {
          char c = body[k];
          if (c == '\\' && k + 1 < body.size()) {
            char n = body[k + 1];
            if (n != '\'' && n != '"') neutral += c;
            neutral += n;
            ++k;
            continue;
          }
          if (!is_f && (c == '{' || c == '}')) neutral += c;
          neutral += c;
        }
      }
    }
    int singles = 0, doubles = 0;
    for (size_t k = 0; k < neutral.size(); ++k) {
      if (neutral[k] == '\\') {
        ++k;
        continue;
      }
      if (neutral[k] == '\'') ++singles;
      if (neutral[k] == '"') ++doubles;
    }
    char pref = doubles > singles ? '\'' : '"';
    std::string out = any_f ? "f" : "";
    out += pref;
    for (size_t k = 0; k < neutral.size(); ++k) {
      char c = neutral[k];
      if (c == '\\' && k + 1 < neutral.size()) {
        out += c;
        out += neutral[++k];
        continue;
      }
      if (c == pref) out += '\\';
      out += c;
    }
    out += pref;
    return out;
  }

  // ---- collections ----------------------------------------------------------
  std::vector<Entry> item_entries(const std::vector<ExprPtr>& items) {
    std::vector<Entry> out;
    for (auto& it : items) {
      const Expr* x = it.get();
      out.push_back({[this, x] { expr(*x); }, x->comment});
    }
    return out;
  }

  void sequence(const Expr& e, const char* open, const char* close) {
    if (e.items.empty()) {
      b.text(std::string(open) + close);
      return;
    }
    auto entries = item_entries(e.items);
    parenthesized(open, [&] { join_comma(entries, e.magic_trailing_comma); }, close,
                  open_bracket_comment(e.items[0]->comment));
  }

  enum class TupleMode { Default, Preserve, Never, OptionalParens, NeverPreserve };

  void tuple(const Expr& e, TupleMode mode) {
    if (e.items.empty()) {
      b.text("()");
      return;
    }
    auto entries = item_entries(e.items);
    if (e.items.size() == 1) {
      if (mode == TupleMode::Preserve && !e.parenthesized) {
        expr(*e.items[0]);
        b.text(",");
        return;
      }
      std::vector<std::string> above;
      std::string trailing;
      split_element_comment(e.items[0]->comment, above, trailing);
      parenthesized("(", [&] {
        for (auto& c : above) {
          b.text(normalize_comment(c));
          b.hard();
        }
        expr(*e.items[0]);
        b.text(",");
        trailing_comment(trailing);
      }, ")");
      return;
    }
    if (e.parenthesized && mode != TupleMode::NeverPreserve) {
      parenthesized("(", [&] { join_comma(entries, e.magic_trailing_comma); }, ")",
                    open_bracket_comment(e.items[0]->comment));
      return;
    }
    switch (mode) {
      case TupleMode::Never:
        for (size_t i = 0; i < e.items.size(); ++i) {
          if (i) {
            b.group([&] {
              b.text(",");
              b.space();
            });
          }
          expr(*e.items[i]);
        }
        break;
      case TupleMode::Preserve:
        b.group([&] { join_comma(entries, e.magic_trailing_comma); });
        break;
      case TupleMode::NeverPreserve:
        optional_parentheses([&] { join_comma(entries, e.magic_trailing_comma); });
        break;
      case TupleMode::OptionalParens:
        if (e.items.size() == 2) {
          optional_parentheses([&] { join_comma(entries, e.magic_trailing_comma); });
          break;
        }
        [[fallthrough]];
      case TupleMode::Default:
        parenthesize_if_expands([&] { join_comma(entries, e.magic_trailing_comma); });
        break;
    }
  }

  void dict(const Expr& e) {
    if (e.items.empty()) {
      b.text("{}");
      return;
    }
    std::vector<Entry> entries;
    for (size_t i = 0; i < e.items.size(); ++i) {
      const Expr* k = e.items[i].get();
      const Expr* v = e.values[i].get();
      entries.push_back({[this, k, v] {
                           if (!k) {
                             b.text("**");
                             operand(*v, P_BOR);
                             return;
                           }
                           b.group([&] {
                             expr(*k);
                             b.text(":");
                             b.space();
                             expr(*v);
                           });
                         },
                         v->comment});
    }
    parenthesized("{", [&] { join_comma(entries, e.magic_trailing_comma); }, "}",
                  open_bracket_comment(e.values[0]->comment));
  }

  // ---- attribute / call / subscript ----------------------------------------
  // ---- call chains (ruff's CallChainLayout) ------------------------------------
  enum class Chain { Default, Fluent, NonFluent };

  static bool is_call_like(const Expr& e) { return e.kind == ExprKind::Call || e.kind == ExprKind::Subscript; }

  // Two or more `.attr` accesses on call/subscript results: the fluent layout.
  static bool fluent_chain(const Expr& start) {
    int computed = 0;
    bool root_parenthesized = false;
    const Expr* e = &start;
    while (true) {
      if (e->kind == ExprKind::Attribute) {
        const Expr& v = *e->object;
        if (sp(v) || prec(v) < P_ATOM) {
          root_parenthesized = true;
          break;
        }
        if (is_call_like(v)) ++computed;
        e = &v;
      } else if (is_call_like(*e)) {
        const Expr& inner = *e->object;
        if (sp(inner) || prec(inner) < P_ATOM) break;
        e = &inner;
      } else {
        break;
      }
    }
    return computed + (root_parenthesized ? 1 : 0) >= 2;
  }

  Chain apply_in_node(Chain c, const Expr& e) {
    if (c != Chain::Default) return c;
    bool parenthesized_level = level == Level::Parenthesized || (level == Level::Expression && optional_parens_id >= 0);
    return parenthesized_level && fluent_chain(e) ? Chain::Fluent : Chain::NonFluent;
  }

  // The value/callee of a chain link, passing the layout down.
  void chain_value(const Expr& v, Chain layout, bool parenthesize) {
    if (parenthesize) {
      expr(v, Parens::Always);
    } else if (v.kind == ExprKind::Attribute) {
      attribute(v, layout);
    } else if (v.kind == ExprKind::Call) {
      call(v, layout);
    } else if (v.kind == ExprKind::Subscript) {
      subscript(v, layout);
    } else {
      expr(v, Parens::Never);
    }
  }

  void attribute(const Expr& e, Chain c = Chain::Default) {
    Chain layout = apply_in_node(c, e);
    const Expr& v = *e.object;
    bool parenthesize = is_decimal_int_spelling(v) || sp(v) || prec(v) < P_ATOM;
    auto inner = [&] {
      chain_value(v, layout == Chain::Fluent ? Chain::Fluent : Chain::NonFluent, parenthesize);
      if (layout == Chain::Fluent && (parenthesize || is_call_like(v))) b.soft();
      b.text(".");
      b.text(e.name);
    };
    if (c == Chain::Default && layout == Chain::Fluent) b.group(inner);
    else inner();
  }

  // ruff's is_huggable_string_argument: a lone triple-quoted multi-line string argument
  // that starts on the call's line hugs the parentheses: `dedent("""...""")`.
  static bool hug_string_argument(const Expr& call) {
    if (call.args.size() != 1 || call.magic_trailing_comma) return false;
    const Argument& a = call.args[0];
    if (a.star || a.double_star || !a.name.empty() || !a.value) return false;
    const Expr& v = *a.value;
    if (v.kind != ExprKind::String || !v.values.empty() || sp(v) || !v.comment.empty()) return false;
    std::string lit = string_literal(v);
    size_t q = lit.find_first_of("\"'");
    if (q == std::string::npos || lit.size() - q < 6 || lit.compare(q, 3, std::string(3, lit[q])) != 0) return false;
    if (lit.find('\n') == std::string::npos) return false;
    return v.loc.line == 0 || call.loc.line == 0 || v.loc.line == call.loc.line;
  }

  void call(const Expr& e, Chain c = Chain::Default) {
    Chain layout = apply_in_node(c, e);
    const Expr& f = *e.object;
    auto inner = [&] {
      chain_value(f, layout, sp(f) || prec(f) < P_ATOM);
      if (hug_string_argument(e)) {
        LevelScope scope(*this, Level::Parenthesized);
        b.text("(");
        expr(*e.args[0].value);
        b.text(")");
        return;
      }
      arguments(e.args, e.magic_trailing_comma);
    };
    if (c == Chain::Default && layout == Chain::Fluent) b.group(inner);
    else inner();
  }

  std::vector<Entry> argument_entries(const std::vector<Argument>& args) {
    std::vector<Entry> entries;
    for (auto& a : args) {
      const Argument* x = &a;
      entries.push_back({[this, x] {
                           if (x->star) {
                             b.text("*");
                             operand(*x->value, P_BOR);
                           } else if (x->double_star) {
                             b.text("**");
                             operand(*x->value, P_BOR);
                           } else if (!x->name.empty()) {
                             b.text(x->name);
                             b.text("=");
                             expr(*x->value);
                           } else {
                             expr(*x->value);
                           }
                         },
                         x->value ? x->value->comment : std::string()});
    }
    return entries;
  }

  void arguments(const std::vector<Argument>& args, bool magic) {
    if (args.empty()) {
      b.text("()");
      return;
    }
    auto entries = argument_entries(args);
    parenthesized("(", [&] { b.group([&] { join_comma(entries, magic); }); }, ")",
                  args[0].value ? open_bracket_comment(args[0].value->comment) : std::string());
  }

  static bool is_simple_slice_part(const Expr& e) {
    switch (e.kind) {
      case ExprKind::Name:
      case ExprKind::Int:
      case ExprKind::Float:
      case ExprKind::String:
      case ExprKind::Bool:
      case ExprKind::None:
      case ExprKind::Ellipsis:
        return true;
      case ExprKind::UnaryOp:
        return e.name != "not" && is_simple_slice_part(*e.object);
      default:
        return false;
    }
  }

  void slice(const Expr& e) {
    const Expr* lower = e.items.size() > 0 ? e.items[0].get() : nullptr;
    const Expr* upper = e.items.size() > 1 ? e.items[1].get() : nullptr;
    const Expr* step = e.items.size() > 2 ? e.items[2].get() : nullptr;
    bool has_step_colon = e.items.size() > 2;
    bool spaces = (lower && !is_simple_slice_part(*lower)) || (upper && !is_simple_slice_part(*upper)) ||
                  (step && !is_simple_slice_part(*step));
    if (lower) expr(*lower);
    if (spaces && lower) b.space();
    b.text(":");
    if (spaces && upper) b.space();
    if (upper) expr(*upper);
    if (has_step_colon) {
      if (spaces && upper) b.space();
      b.text(":");
      if (spaces && step) b.space();
      if (step) expr(*step);
    }
  }

  void subscript(const Expr& e, Chain c = Chain::Default) {
    Chain layout = apply_in_node(c, e);
    const Expr& v = *e.object;
    auto inner = [&] {
      chain_value(v, layout, sp(v) || prec(v) < P_ATOM);
      const Expr& idx = *e.items[0];
      parenthesized("[", [&] {
        if (idx.kind == ExprKind::Tuple && !idx.parenthesized) {
          tuple(idx, TupleMode::Preserve);
        } else {
          expr(idx);
        }
      }, "]");
    };
    if (c == Chain::Default && layout == Chain::Fluent) b.group(inner);
    else inner();
  }

  // ---- operators --------------------------------------------------------------
  static bool is_binary_like(const Expr& e) {
    return e.kind == ExprKind::BinOp || e.kind == ExprKind::Compare || e.kind == ExprKind::BoolOp;
  }

  // Flattened operand/operator sequence of a binary-like expression, as ruff's
  // BinaryLike does: nested binary/compare/bool operations that need no parentheses
  // join one sequence; it splits first at the operators of lowest priority.
  struct Operand {
    const Expr* e;
    bool parens;
  };
  struct Flat {
    std::vector<Operand> operands;
    std::vector<std::string> ops;
    std::vector<int> ranks;  // ruff's OperatorPrecedence: higher = binds less tightly
  };

  static int rank_of_binop(const std::string& op) {
    if (op == "**") return 2;
    if (op == "+" || op == "-") return 5;
    if (op == "<<" || op == ">>") return 6;
    if (op == "&") return 7;
    if (op == "^") return 8;
    if (op == "|") return 9;
    return 4;
  }

  static bool bin_operand_needs_parens(const Expr& parent, const Expr& x, bool right) {
    int p = binop_prec(parent.name);
    int px = prec(x);
    if (parent.name == "**") {
      if (right) return px < P_UNARY || (x.kind == ExprKind::UnaryOp && x.name == "not");
      return px <= P_POWER && px < P_ATOM;  // (a**b)**c, (-a)**b
    }
    if (px < p) return true;
    if (right && px == p && x.kind == ExprKind::BinOp) return true;
    return false;
  }

  void push_operand(const Expr& x, bool needs, Flat& out) {
    if (!needs && !sp(x) && is_binary_like(x)) flatten(x, out);
    else out.operands.push_back({&x, needs});
  }

  void flatten(const Expr& e, Flat& out) {
    if (e.kind == ExprKind::BinOp) {
      push_operand(*e.items[0], bin_operand_needs_parens(e, *e.items[0], false), out);
      out.ops.push_back(e.name);
      out.ranks.push_back(rank_of_binop(e.name));
      push_operand(*e.items[1], bin_operand_needs_parens(e, *e.items[1], true), out);
    } else if (e.kind == ExprKind::BoolOp) {
      int p = e.name == "or" ? P_OR : P_AND;
      for (size_t i = 0; i < e.items.size(); ++i) {
        if (i) {
          out.ops.push_back(e.name);
          out.ranks.push_back(11);
        }
        const Expr& x = *e.items[i];
        bool needs = prec(x) < p || (x.kind == ExprKind::BoolOp && x.name == e.name);
        push_operand(x, needs, out);
      }
    } else {  // Compare
      for (size_t i = 0; i < e.items.size(); ++i) {
        if (i) {
          out.ops.push_back(e.ops[i - 1]);
          out.ranks.push_back(10);
        }
        const Expr& x = *e.items[i];
        push_operand(x, prec(x) <= P_CMP, out);
      }
    }
  }

  void format_operand(const Operand& o) {
    if (o.parens) expr(*o.e, Parens::Always);
    else expr(*o.e);
  }

  static bool is_simple_power_operand(const Expr& e) {
    switch (e.kind) {
      case ExprKind::Int:
      case ExprKind::Float:
      case ExprKind::None:
      case ExprKind::Bool:
      case ExprKind::Name:
        return true;
      case ExprKind::UnaryOp:
        return e.name != "not" && is_simple_power_operand(*e.object);
      case ExprKind::Attribute:
        return is_simple_power_operand(*e.object);
      default:
        return false;
    }
  }

  // ruff's FlatBinaryExpressionSlice::fmt over operands[lo..hi].
  void format_flat_range(const Flat& f, size_t lo, size_t hi) {
    if (lo == hi) {
      format_operand(f.operands[lo]);
      return;
    }
    int lowest = 0;
    for (size_t i = lo; i < hi; ++i) lowest = std::max(lowest, f.ranks[i]);
    size_t start = lo;
    for (size_t i = lo; i < hi; ++i) {
      if (f.ranks[i] != lowest) continue;
      // left side: operands [start, i]
      if (start == i) format_operand(f.operands[start]);
      else in_parens_group([&] { format_flat_range(f, start, i); });
      bool is_pow = f.ops[i] == "**" && !f.operands[i].parens && !f.operands[i + 1].parens &&
                    !sp(*f.operands[i].e) && !sp(*f.operands[i + 1].e) &&
                    is_simple_power_operand(*f.operands[i].e) && is_simple_power_operand(*f.operands[i + 1].e);
      if (is_pow) in_parens_soft();
      else in_parens_soft_or_space();
      b.text(f.ops[i]);
      if (is_pow) in_parens_if_breaks_space();
      else b.space();
      start = i + 1;
    }
    if (start == hi) format_operand(f.operands[hi]);
    else in_parens_group([&] { format_flat_range(f, start, hi); });
  }

  void in_parens_if_breaks_space() {
    switch (level) {
      case Level::Expression:
        if (optional_parens_id >= 0) b.if_breaks([&] { b.space(); }, optional_parens_id);
        break;
      case Level::Parenthesized:
        b.if_breaks([&] { b.space(); });
        break;
      default:
        break;
    }
  }

  // write_in_parentheses_only_group_start_tag / _end_tag.
  std::vector<EK> open_in_parens_groups_;
  void in_parens_group_start() {
    if (level == Level::Expression && optional_parens_id >= 0) {
      Elem s;
      s.k = EK::StartCondGroup;
      s.cond_mode = PMode::Expanded;
      s.id = optional_parens_id;
      b.buf->push_back(s);
      open_in_parens_groups_.push_back(EK::EndCondGroup);
    } else if (level == Level::Parenthesized) {
      Elem s;
      s.k = EK::StartGroup;
      b.buf->push_back(s);
      open_in_parens_groups_.push_back(EK::EndGroup);
    } else {
      open_in_parens_groups_.push_back(EK::Text);  // nothing
    }
  }
  void in_parens_group_end() {
    EK k = open_in_parens_groups_.back();
    open_in_parens_groups_.pop_back();
    if (k != EK::Text) b.tag(k);
  }

  static bool is_implicit_concat(const Expr& e) {
    return e.kind == ExprKind::String && !e.values.empty() && !sp(e);
  }

  void binary_like(const Expr& e) {
    Flat f;
    flatten(e, f);
    size_t n = f.operands.size();
    std::vector<size_t> strings;
    if (e.kind != ExprKind::BoolOp)
      for (size_t i = 0; i < n; ++i)
        if (!f.operands[i].parens && is_implicit_concat(*f.operands[i].e)) strings.push_back(i);
    if (strings.empty()) {
      in_parens_group([&] { format_flat_range(f, 0, n - 1); });
      return;
    }
    // ruff's layout around implicit concatenated string operands: the operator before a
    // string stays on the line before it, the one after it starts the next line.
    in_parens_group_start();
    if (strings[0] != 0) in_parens_group_start();
    long last_op = -1;
    size_t si = 0;
    while (true) {
      if (si < strings.size()) {
        size_t k = strings[si++];
        if (k > 0) {
          size_t left_op = k - 1;
          if (last_op == static_cast<long>(left_op)) {
            in_parens_group_end();
          } else {
            size_t lo = last_op < 0 ? 0 : static_cast<size_t>(last_op) + 1;
            format_flat_range(f, lo, left_op);
            in_parens_soft_or_space();
            b.text(f.ops[left_op]);
            in_parens_group_end();
            b.space();
          }
          implicit_concatenation(*f.operands[k].e);
          b.tag(EK::LineSuffixBoundary);
        } else {
          implicit_concatenation(*f.operands[k].e);
        }
        if (k + 1 < n) {
          in_parens_group_start();
          in_parens_soft_or_space();
          b.text(f.ops[k]);
          b.space();
          last_op = static_cast<long>(k);
        } else {
          break;
        }
      } else {
        if (last_op >= 0) {
          format_flat_range(f, static_cast<size_t>(last_op) + 1, n - 1);
          in_parens_group_end();
        }
        break;
      }
    }
    in_parens_group_end();
  }

  void unary(const Expr& e) {
    const Expr& x = *e.object;
    b.text(e.name);
    if (e.name == "not") b.space();
    // ruff parenthesizes a power operand: `-(x**2)`.
    if (x.kind == ExprKind::BinOp && x.name == "**" && !sp(x)) {
      expr(x, Parens::Always);
      return;
    }
    operand(x, e.name == "not" ? P_NOT : P_UNARY);
  }

  void ifexp(const Expr& e, bool nested = false) {
    auto inner = [&] {
      operand(*e.items[0], P_OR);
      in_parens_soft_or_space();
      b.text("if");
      b.space();
      operand(*e.items[1], P_OR);
      in_parens_soft_or_space();
      b.text("else");
      b.space();
      const Expr& orelse = *e.items[2];
      if (orelse.kind == ExprKind::IfExp && !sp(orelse)) {
        ifexp(orelse, true);  // a chain of conditionals splits as one
      } else {
        in_parens_group([&] { operand(orelse, P_IFEXP); });
      }
    };
    if (nested) inner();
    else in_parens_group(inner);
  }

  void listcomp(const Expr& e) {
    parenthesized("[", [&] {
      b.group([&] {
        b.group([&] { expr(*e.element); });
        for (auto& g : e.generators) {
          b.soft_or_space();
          b.text("for");
          b.space();
          const Expr& t = *g.target;
          if (t.kind == ExprKind::Tuple && !t.parenthesized) tuple(t, TupleMode::Never);
          else expr(t);
          b.space();
          b.text("in");
          b.space();
          operand(*g.iter, P_OR);
          if (!g.ifs.empty()) {
            for (auto& c : g.ifs) {
              b.soft_or_space();
              b.text("if");
              b.space();
              operand(*c, P_OR);
            }
          }
        }
      });
    }, "]");
  }

  void params_inline(const std::vector<Parameter>& ps) {
    for (size_t i = 0; i < ps.size(); ++i) {
      if (i) b.text(", ");
      parameter(ps[i]);
    }
  }

  void lambda(const Expr& e, bool assignment = false) {
    b.text("lambda");
    if (!e.params.empty()) {
      b.space();
      params_inline(e.params);
    }
    b.text(":");
    b.space();
    if (assignment) {
      b.fits_expanded(false, PMode::Flat, -1, [&] { lambda_body(*e.object); });
    } else {
      lambda_body(*e.object);
    }
  }

  // ruff's FormatBody of a lambda.
  void lambda_body(const Expr& body) {
    if (sp(body)) {
      expr(body, Parens::Always);
      return;
    }
    OptParens np = needs_parentheses(body);
    if (np == OptParens::Always) {
      expr(body, Parens::Always);
    } else if (np == OptParens::Multiline) {
      parenthesize_if_expands([&] { expr(body, Parens::Never); });
    } else if (body.kind == ExprKind::Call || body.kind == ExprKind::Subscript) {
      auto unparenthesized = [&] { expr(body, Parens::Never); };
      if (will_break(unparenthesized)) b.expand_parent();
      b.best_fitting({unparenthesized, [&] { b.group(unparenthesized, -1, true); },
                      [&] {
                        b.text("(");
                        b.block_indent(unparenthesized);
                        b.text(")");
                      }});
    } else if (has_own_parentheses(body)) {
      expr(body);
    } else {
      parenthesize_if_expands([&] { expr(body, Parens::Never); });
    }
  }

  void parameter(const Parameter& p) {
    if (p.star) b.text("*");
    if (p.double_star) b.text("**");
    b.text(p.name);
    if (p.annotation) {
      b.text(":");
      b.space();
      expr(*p.annotation);
    }
    if (p.default_value) {
      if (p.annotation) b.text(" = ");
      else b.text("=");
      expr(*p.default_value);
    }
  }

  // ---- expression parenthesizing decisions (ruff's maybe_parenthesize) -------
  enum class OptParens { Multiline, Always, BestFit, Never };

  OptParens needs_parentheses(const Expr& e) {
    switch (e.kind) {
      case ExprKind::Name:
      case ExprKind::Int:
      case ExprKind::Float:
      case ExprKind::Bool:
      case ExprKind::None:
      case ExprKind::Ellipsis:
        return OptParens::BestFit;
      case ExprKind::String:
        if (!e.values.empty()) return OptParens::Multiline;
        if (is_multiline_string(e)) return OptParens::Never;
        return OptParens::BestFit;
      case ExprKind::List:
      case ExprKind::Tuple:
      case ExprKind::Set:
      case ExprKind::Dict:
      case ExprKind::ListComp:
        return OptParens::Never;
      case ExprKind::Call:
      case ExprKind::Attribute:
      case ExprKind::Subscript: {
        if (fluent_chain(e)) return OptParens::Multiline;
        const Expr& v = *e.object;
        if (prec(v) < P_ATOM || sp(v)) return OptParens::Never;  // parenthesized value
        if (e.kind == ExprKind::Attribute && is_decimal_int_spelling(v)) return OptParens::Never;
        OptParens inner = needs_parentheses(v);
        if (e.kind == ExprKind::Subscript && inner == OptParens::BestFit && return_annotation_ == &e) {
          // ruff: a subscript return annotation doesn't use the best-fit layout (it would
          // expand before the parameters); with no parameters it gets optional parentheses.
          return return_annotation_params_ ? OptParens::Never : OptParens::Multiline;
        }
        return inner;
      }
      case ExprKind::UnaryOp: {
        const Expr& v = *e.object;
        if (prec(v) < (e.name == "not" ? P_NOT : P_UNARY) || sp(v)) return OptParens::Never;
        return needs_parentheses(v);
      }
      case ExprKind::Starred:
      case ExprKind::BinOp:
      case ExprKind::Compare:
      case ExprKind::BoolOp:
      case ExprKind::IfExp:
        return OptParens::Multiline;
      case ExprKind::Lambda:
        return OptParens::Multiline;
      case ExprKind::Slice:
        return OptParens::Never;
    }
    return OptParens::Multiline;
  }

  static bool has_own_parentheses(const Expr& e) {
    switch (e.kind) {
      case ExprKind::ListComp:
      case ExprKind::Subscript:
        return true;
      case ExprKind::List:
      case ExprKind::Set:
      case ExprKind::Dict:
        return true;
      case ExprKind::Tuple:
        return e.parenthesized;
      case ExprKind::Call:
        return true;
      default:
        return false;
    }
  }
  static bool own_parens_non_empty(const Expr& e) {
    switch (e.kind) {
      case ExprKind::ListComp:
      case ExprKind::Subscript:
        return true;
      case ExprKind::List:
      case ExprKind::Set:
      case ExprKind::Tuple:
        return !e.items.empty();
      case ExprKind::Dict:
        return !e.items.empty();
      case ExprKind::Call:
        return !e.args.empty();
      default:
        return false;
    }
  }

  // ruff's can_omit_optional_parentheses.
  struct OmitVisitor {
    int max_prec = 0;  // 0 = None; uses OperatorPrecedence ordering below
    int max_count = 0;
    bool any_parenthesized = false;
    const Expr* last = nullptr;
    const Expr* first_expr = nullptr;
    bool first_token = false;
    bool first_set = false;

    // ruff's OperatorPrecedence (low..high): None, Attribute, Exponential, BitwiseInversion,
    // Multiplicative, Additive, Shift, BitwiseAnd, BitwiseXor, BitwiseOr, Comparator,
    // BooleanOperation, Conditional
    static int op_rank(const std::string& op) {
      if (op == "+" || op == "-") return 5;
      if (op == "**") return 2;
      if (op == "<<" || op == ">>") return 6;
      if (op == "&") return 7;
      if (op == "^") return 8;
      if (op == "|") return 9;
      return 4;
    }
    void update(int p, int count = 1) {
      if (max_prec < p) {
        max_prec = p;
        max_count = count;
      } else if (max_prec == p) {
        max_count += count;
      }
    }
    void set_first_expr(const Expr* e) {
      if (!first_set) {
        first_set = true;
        first_expr = e;
      }
    }
    void set_first_token() {
      if (!first_set) {
        first_set = true;
        first_token = true;
      }
    }
    void visit_expr(const Expr& e) {
      last = &e;
      visit_sub(e);
      set_first_expr(&e);
    }
    void visit_sub(const Expr& e) {
      switch (e.kind) {
        case ExprKind::Dict:
        case ExprKind::List:
        case ExprKind::Set:
        case ExprKind::ListComp:
          any_parenthesized = true;
          return;
        case ExprKind::Tuple:
          if (e.parenthesized) {
            any_parenthesized = true;
            return;
          }
          break;
        case ExprKind::BoolOp:
          update(11, static_cast<int>(e.items.size()) - 1);
          break;
        case ExprKind::BinOp:
          update(op_rank(e.name));
          break;
        case ExprKind::IfExp:
          update(12, 2);
          break;
        case ExprKind::Compare:
          update(10, static_cast<int>(e.ops.size()));
          break;
        case ExprKind::Call:
          any_parenthesized = true;
          visit_child(*e.object);
          last = &e;
          return;
        case ExprKind::Subscript:
          any_parenthesized = true;
          visit_child(*e.object);
          last = &e;
          return;
        case ExprKind::Attribute:
          visit_child(*e.object);
          if (has_own_parentheses(*e.object) || prec(*e.object) < P_ATOM || sp(*e.object)) update(1);
          last = &e;
          return;
        case ExprKind::UnaryOp:
          if (e.name == "~") update(3);
          set_first_token();
          break;
        case ExprKind::Lambda:
        case ExprKind::Starred:
          set_first_token();
          break;
        default:
          return;
      }
      // walk children in source order
      switch (e.kind) {
        case ExprKind::BinOp:
        case ExprKind::BoolOp:
        case ExprKind::Compare:
        case ExprKind::Tuple:
          for (auto& x : e.items) visit_child(*x);
          break;
        case ExprKind::IfExp:
          visit_child(*e.items[0]);
          visit_child(*e.items[1]);
          visit_child(*e.items[2]);
          break;
        case ExprKind::UnaryOp:
        case ExprKind::Starred:
          visit_child(*e.object);
          break;
        case ExprKind::Lambda:
          visit_child(*e.object);
          break;
        default:
          break;
      }
    }
    // A child expression: parenthesized children (by precedence) count as parenthesized.
    void visit_child(const Expr& x) {
      last = &x;
      if (x.parenthesized && x.kind != ExprKind::Tuple) any_parenthesized = true;
      else visit_sub(x);
      set_first_expr(&x);
    }
  };

  bool can_omit_optional_parentheses(const Expr& e) {
    OmitVisitor v;
    // Children that need parentheses by precedence are "parenthesized expressions".
    mark_parenthesized_children(e, v);
    v.visit_sub(e);
    if (!v.any_parenthesized) return false;
    if (v.max_count > 1) return false;
    if (v.max_prec == 0) return true;
    if (v.max_prec == 1) return true;
    auto is_paren = [](const Expr* x) {
      if (!x) return false;
      if (x->kind == ExprKind::Subscript) return false;
      if (has_own_parentheses(*x) && own_parens_non_empty(*x)) return true;
      return sp(*x);
    };
    if (is_paren(v.last)) return true;
    return v.first_expr && !v.first_token && is_paren(v.first_expr);
  }
  void mark_parenthesized_children(const Expr& e, OmitVisitor& v) {
    // A child with lower precedence than its parent is printed in parentheses; ruff then
    // treats it as a parenthesized expression.
    if (e.kind == ExprKind::BinOp) {
      for (auto& x : e.items)
        if (prec(*x) < binop_prec(e.name)) v.any_parenthesized = true;
    }
  }

  // maybe_parenthesize_expression with Parenthesize::IfBreaks / Optional.
  enum class Parenthesize { Optional, IfBreaks, IfRequired, IfBreaksParenthesized, IfBreaksParenthesizedNested };

  void maybe_parenthesize(const Expr& e, Parenthesize mode, bool has_trailing_comment = false) {
    if (mode == Parenthesize::Optional && e.parenthesized && e.kind != ExprKind::Tuple) {
      expr(e, Parens::Always);
      return;
    }
    if (level == Level::Parenthesized) {
      if (mode == Parenthesize::IfBreaksParenthesizedNested) {
        parenthesize_if_expands([&] { expr(e, Parens::Never); });
      } else {
        expr(e, Parens::Never);
      }
      return;
    }
    OptParens np = needs_parentheses(e);
    switch (np) {
      case OptParens::Multiline:
        if (mode == Parenthesize::IfRequired) {
          expr(e, Parens::Never);
        } else if (can_omit_optional_parentheses(e)) {
          optional_parentheses([&] { expr_inner(e); });
        } else {
          parenthesize_if_expands([&] { expr_inner(e); });
        }
        break;
      case OptParens::BestFit:
        if (mode == Parenthesize::IfBreaksParenthesized || mode == Parenthesize::IfBreaksParenthesizedNested) {
          if (can_omit_optional_parentheses(e)) optional_parentheses([&] { expr_inner(e); });
          else parenthesize_if_expands([&] { expr_inner(e); });
        } else if (mode == Parenthesize::IfBreaks) {
          if (has_trailing_comment) {
            expr(e, Parens::Always);
          } else {
            int id = b.new_id();
            LevelScope scope(*this, Level::Expression, id);
            b.best_fit_parenthesize(id, [&] { expr_inner(e); });
          }
        } else {
          expr(e, Parens::Never);
        }
        break;
      case OptParens::Never:
        expr(e, Parens::Never);
        break;
      case OptParens::Always:
        expr(e, Parens::Always);
        break;
    }
  }

  // ---- statements ----------------------------------------------------------
  enum class Suite { TopLevel, Function, Class, Other };

  static int empty_lines(const Stmt& s) { return std::max(s.empty_lines_before, s.blank_line_before ? 1 : 0); }
  void lines_top_or_nested(const Stmt& s, Suite kind) {
    int n = empty_lines(s);
    if (n == 0) {
      b.hard();
    } else if (n >= 2 && kind == Suite::TopLevel) {
      b.empty_line();
      b.empty_line();
    } else {
      b.empty_line();
    }
  }
  static bool is_def(const Stmt& s) { return s.kind == StmtKind::FunctionDef || s.kind == StmtKind::ClassDef; }
  static bool is_import(const Stmt& s) { return s.kind == StmtKind::Import || s.kind == StmtKind::ImportFrom; }
  static bool is_compound(const Stmt& s) {
    switch (s.kind) {
      case StmtKind::If:
      case StmtKind::For:
      case StmtKind::While:
      case StmtKind::FunctionDef:
      case StmtKind::ClassDef:
      case StmtKind::With:
        return true;
      case StmtKind::Other: {
        if (!s.body.empty()) return true;
        // try/async/match... kept verbatim: compound when it spans lines with a block
        const std::string& t = s.text;
        static const char* kw[] = {"try", "async", "match", "with", "for", "while", "if", "class", "def", "@"};
        for (const char* k : kw)
          if (t.compare(0, std::strlen(k), k) == 0) return t.find(':') != std::string::npos && t.find('\n') != std::string::npos;
        return false;
      }
      default:
        return false;
    }
  }
  static bool is_docstring(const Stmt& s) {
    return s.kind == StmtKind::Expr && s.value && s.value->kind == ExprKind::String && !s.value->is_fstring &&
           s.value->values.empty();
  }
  // The last statement of the last body, recursively, while it is a def/class.
  static bool trailing_def(const Stmt& s) {
    const Stmt* cur = &s;
    while (cur) {
      // ruff stops at a statement with own-line comments after it
      if (cur->trailing_comment.find('\n') != std::string::npos) return false;
      if (is_def(*cur)) return true;
      const std::vector<StmtPtr>* body = nullptr;
      if (!cur->orelse.empty()) body = &cur->orelse;
      else if (!cur->body.empty()) body = &cur->body;
      if (!body) return false;
      cur = body->back().get();
    }
    return false;
  }
  static bool only_ellipsis(const std::vector<StmtPtr>& body) {
    return body.size() == 1 && body[0]->kind == StmtKind::Expr && body[0]->value &&
           body[0]->value->kind == ExprKind::Ellipsis && body[0]->leading_comments.empty();
  }

  void leading_comments(const Stmt& s) {
    const auto& cs = s.leading_comments;
    size_t i = 0;
    while (i < cs.size()) {
      if (!cs[i].empty()) {
        b.text(normalize_comment(cs[i]));
        b.hard();
        ++i;
        continue;
      }
      // A run of empty entries: up to 2 empty lines at top level, 1 in blocks; a def/class
      // set apart from its comments gets exactly 2 (top level) or 1.
      size_t run = 0;
      while (i < cs.size() && cs[i].empty()) ++run, ++i;
      bool top = level == Level::TopLevel;
      size_t n = std::min<size_t>(run, top ? 2 : 1);
      if (i == cs.size() && is_def(s)) n = top ? 2 : 1;
      for (size_t k = 0; k < n; ++k) b.empty_line();
    }
  }

  // Own-line comments after a statement (the lines of trailing_comment after the first).
  // min_first: at least this many empty lines before the first comment (ruff: a class
  // docstring keeps one). A def/class gets 2 (top level) or 1, like the def itself.
  void own_line_trailing(const Stmt& s, int min_first = 0) {
    size_t nl = s.trailing_comment.find('\n');
    if (nl == std::string::npos) return;
    bool first = true;
    int blanks = 0;
    size_t start = nl + 1;
    while (true) {
      size_t e = s.trailing_comment.find('\n', start);
      std::string line = s.trailing_comment.substr(start, e == std::string::npos ? std::string::npos : e - start);
      if (line.empty()) {
        ++blanks;
      } else {
        int n = std::min(blanks, level == Level::TopLevel ? 2 : 1);
        if (first && is_def(s)) n = level == Level::TopLevel ? 2 : 1;
        if (first) n = std::max(n, min_first);
        first = false;
        if (n == 0) b.hard();
        for (int k = 0; k < n; ++k) b.empty_line();
        b.text(normalize_comment(line));
        blanks = 0;
      }
      if (e == std::string::npos) break;
      start = e + 1;
    }
  }

  void else_clause(const Stmt& owner) {
    b.hard();
    if (owner.blank_line_before_else) b.empty_line();
    for (auto& c : owner.else_leading_comments) {
      if (c.empty()) {
        b.empty_line();
        continue;
      }
      b.text(normalize_comment(c));
      b.hard();
    }
    b.text("else:");
    trailing_comment(owner.else_trailing_comment);
    block(owner.orelse, Suite::Other);
  }

  void statement(const Stmt& s) {
    statement_inner(s);
    own_line_trailing(s);
  }

  void statement_inner(const Stmt& s) {
    leading_comments(s);
    switch (s.kind) {
      case StmtKind::Expr:
        if (is_docstring(s) && docstring_context_) {
          docstring(*s.value);
          trailing_comment(s.trailing_comment);
          break;
        }
        if (s.value->kind == ExprKind::Tuple && !s.value->parenthesized) {
          tuple(*s.value, TupleMode::Default);
        } else {
          maybe_parenthesize(*s.value, Parenthesize::Optional);
        }
        trailing_comment(s.trailing_comment);
        break;
      case StmtKind::Assign:
        assign(s);
        break;
      case StmtKind::AugAssign:
        aug_assign(s);
        break;
      case StmtKind::AnnAssign:
        ann_assign(s);
        break;
      case StmtKind::Return:
        b.text("return");
        if (s.value) {
          b.space();
          if (s.value->kind == ExprKind::Tuple) {
            LevelScope scope(*this, Level::Expression, -1);
            tuple(*s.value, TupleMode::OptionalParens);
            trailing_comment(s.trailing_comment);
          } else {
            value_with_trailing(*s.value, s.trailing_comment);
          }
        } else {
          trailing_comment(s.trailing_comment);
        }
        break;
      case StmtKind::Pass:
        b.text("pass");
        trailing_comment(s.trailing_comment);
        break;
      case StmtKind::Break:
        b.text("break");
        trailing_comment(s.trailing_comment);
        break;
      case StmtKind::Continue:
        b.text("continue");
        trailing_comment(s.trailing_comment);
        break;
      case StmtKind::Import:
        b.text("import ");
        for (size_t i = 0; i < s.names.size(); ++i) {
          if (i) b.text(", ");
          b.text(s.names[i].first);
          if (!s.names[i].second.empty()) b.text(" as " + s.names[i].second);
        }
        trailing_comment(s.trailing_comment);
        break;
      case StmtKind::ImportFrom:
        import_from(s);
        break;
      case StmtKind::Raise:
        b.text("raise");
        if (s.value) {
          b.space();
          maybe_parenthesize(*s.value, Parenthesize::Optional);
          if (!s.targets.empty()) {
            b.text(" from ");
            maybe_parenthesize(*s.targets[0], Parenthesize::Optional);
          }
        }
        trailing_comment(s.trailing_comment);
        break;
      case StmtKind::Assert:
        b.text("assert");
        b.space();
        maybe_parenthesize(*s.value, Parenthesize::IfBreaks);
        if (!s.targets.empty()) {
          b.text(",");
          b.space();
          maybe_parenthesize(*s.targets[0], Parenthesize::IfBreaksParenthesized);
        }
        trailing_comment(s.trailing_comment);
        break;
      case StmtKind::If:
        if_stmt(s);
        break;
      case StmtKind::For:
        b.text("for");
        b.space();
        if (s.targets[0]->kind == ExprKind::Tuple) {
          LevelScope scope(*this, Level::Expression, -1);
          tuple(*s.targets[0], TupleMode::NeverPreserve);
        } else {
          maybe_parenthesize(*s.targets[0], Parenthesize::IfBreaks);
        }
        b.space();
        b.text("in");
        b.space();
        if (s.value->kind == ExprKind::Tuple && !s.value->parenthesized) {
          LevelScope scope(*this, Level::Expression, -1);
          tuple(*s.value, TupleMode::Default);
        } else {
          maybe_parenthesize(*s.value, Parenthesize::IfBreaks);
        }
        clause_body(s, s.body, Suite::Other);
        if (!s.orelse.empty()) else_clause(s);
        break;
      case StmtKind::While:
        b.text("while");
        b.space();
        maybe_parenthesize(*s.value, Parenthesize::IfBreaks);
        clause_body(s, s.body, Suite::Other);
        if (!s.orelse.empty()) else_clause(s);
        break;
      case StmtKind::FunctionDef:
        function_def(s);
        break;
      case StmtKind::ClassDef:
        class_def(s);
        break;
      case StmtKind::With:
        b.text("with ");
        with_items(s);
        clause_body(s, s.body, Suite::Other);
        break;
      case StmtKind::Other:
        verbatim(s);
        break;
    }
  }

  bool docstring_context_ = false;
  const Expr* return_annotation_ = nullptr;
  bool return_annotation_params_ = false;
  int verbatim_indent_ = 0;  // current indentation level for verbatim statements

  // A try statement lifted by the parser: clause headers kept, blocks formatted.
  void clauses(const Stmt& s) {
    for (size_t i = 0; i < s.body.size(); ++i) {
      const Stmt& c = *s.body[i];
      if (i > 0) {
        b.hard();
        if (empty_lines(c) > 0) b.empty_line();
        leading_comments(c);
      }
      b.text(c.text + ":");
      trailing_comment(i == 0 ? s.trailing_comment : c.trailing_comment);
      block(c.body, Suite::Other);
      if (i > 0) own_line_trailing(c);
    }
  }

  void verbatim(const Stmt& s) {
    if (!s.body.empty()) {
      clauses(s);
      return;
    }
    // Re-indent continuation lines by the difference between the original column and ours.
    std::string t = s.text;
    while (!t.empty() && (t.back() == '\n' || t.back() == ' ' || t.back() == '\r')) t.pop_back();
    int orig = s.loc.column > 0 ? s.loc.column - 1 : 0;
    int now = verbatim_indent_ * static_cast<int>(kIndentWidth);
    std::string out;
    size_t start = 0;
    bool first = true;
    while (start <= t.size()) {
      size_t nl = t.find('\n', start);
      std::string ln = t.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
      if (!ln.empty() && ln.back() == '\r') ln.pop_back();
      if (!first) {
        out += '\n';
        int lead = 0;
        while (lead < static_cast<int>(ln.size()) && ln[static_cast<size_t>(lead)] == ' ') ++lead;
        bool blank = lead == static_cast<int>(ln.size());
        if (!blank) {
          int new_lead = std::max(0, lead - orig + now);
          // The printer's pending indent only applies to the first line; later lines are raw.
          out += std::string(static_cast<size_t>(new_lead), ' ') + ln.substr(static_cast<size_t>(lead));
        }
      } else {
        out += ln;
      }
      first = false;
      if (nl == std::string::npos) break;
      start = nl + 1;
    }
    b.text(out);
    trailing_comment(s.trailing_comment);
  }

  // ruff's WithItemsLayout for items lifted by the parser; verbatim text otherwise.
  void with_items(const Stmt& s) {
    if (s.targets.empty() || s.targets.size() != s.names.size()) {
      b.text(s.text);
      return;
    }
    auto item = [&](size_t i, bool single) {
      const Expr& e = *s.targets[i];
      if (single) maybe_parenthesize(e, Parenthesize::IfBreaksParenthesizedNested);
      else expr(e, Parens::Never);
      if (!s.names[i].second.empty()) b.text(" as " + s.names[i].second);
    };
    if (s.targets.size() == 1 && !s.magic_trailing_comma) {
      const Expr& e = *s.targets[0];
      if (s.names[0].second.empty() || sp(e)) {
        maybe_parenthesize(e, Parenthesize::IfBreaks);
        if (!s.names[0].second.empty()) b.text(" as " + s.names[0].second);
        return;
      }
      if (can_omit_optional_parentheses(e)) {
        optional_parentheses([&] { item(0, true); });
        return;
      }
    }
    parenthesize_if_expands([&] {
      for (size_t i = 0; i < s.targets.size(); ++i) {
        if (i) {
          b.text(",");
          b.soft_or_space();
        }
        item(i, s.targets.size() == 1);
      }
      if (s.targets.size() > 1 || s.magic_trailing_comma) b.if_breaks([&] { b.text(","); });
      if (s.magic_trailing_comma) b.expand_parent();
    });
  }

  void clause_header_end(const Stmt& s) {
    b.text(":");
    trailing_comment(s.trailing_comment);
  }

  void block(const std::vector<StmtPtr>& body, Suite kind) {
    ++verbatim_indent_;
    b.indent([&] {
      b.hard();
      bool saved = docstring_context_;
      docstring_context_ = kind == Suite::Function || kind == Suite::Class;
      if (body.empty()) b.text("pass");  // a body built empty still has to be Python
      suite_with_docstring(body, kind);
      docstring_context_ = saved;
    });
    --verbatim_indent_;
  }

  void suite_with_docstring(const std::vector<StmtPtr>& body, Suite kind) {
    // Only the first statement of a function/class/module body is a docstring.
    if (body.empty()) return;
    bool saved = docstring_context_;
    // suite() formats statements; docstring detection uses docstring_context_ for the first.
    first_is_docstring_ = docstring_context_ && is_docstring(*body[0]);
    docstring_context_ = false;
    suite_impl(body, kind);
    docstring_context_ = saved;
  }
  bool first_is_docstring_ = false;

  void suite_impl(const std::vector<StmtPtr>& body, Suite kind) {
    bool first_doc = first_is_docstring_;
    first_is_docstring_ = false;
    LevelScope scope(*this, kind == Suite::TopLevel ? Level::TopLevel : Level::Compound);
    for (size_t i = 0; i < body.size(); ++i) {
      const Stmt& s = *body[i];
      if (i == 0) {
        if (kind == Suite::Other && is_def(s) && s.leading_comments.empty()) b.empty_line();
        if (kind == Suite::Function && !first_doc && s.blank_line_before) b.empty_line();
      } else {
        const Stmt& prev = *body[i - 1];
        bool empty_after_docstring = i == 1 && first_doc && (kind == Suite::TopLevel || kind == Suite::Class);
        bool separated = !s.leading_comments.empty() && s.leading_comments.back().empty();
        if (trailing_def(prev) || (is_def(s) && !separated)) {
          bool stub = s.kind == StmtKind::FunctionDef && prev.kind == StmtKind::FunctionDef && only_ellipsis(prev.body) &&
                      !s.blank_line_before;
          if (!stub) {
            if (kind == Suite::TopLevel) {
              b.empty_line();
              b.empty_line();
            } else {
              b.empty_line();
            }
          } else {
            b.hard();
          }
        } else if (is_def(s)) {
          lines_top_or_nested(s, kind);  // comments set apart from the def keep the source's lines
        } else if (is_import(prev) && (!is_import(s) || !s.leading_comments.empty())) {
          if (kind == Suite::TopLevel && empty_lines(s) >= 2) {
            b.empty_line();
            b.empty_line();
          } else {
            b.empty_line();
          }
        } else if (is_compound(prev)) {
          lines_top_or_nested(s, kind);
        } else if (empty_after_docstring) {
          b.empty_line();
        } else {
          lines_top_or_nested(s, kind);
        }
      }
      if (i == 0 && first_doc) {
        leading_comments(s);
        docstring(*s.value);
        trailing_comment(s.trailing_comment);
        own_line_trailing(s, kind == Suite::Class ? 1 : 0);
      } else {
        statement(s);
      }
    }
  }

  void clause_body(const Stmt& s, const std::vector<StmtPtr>& body, Suite kind) {
    // ruff collapses `...`-only bodies of functions and classes: `def f(): ...`
    if ((kind == Suite::Function || kind == Suite::Class) && s.trailing_comment.empty() && only_ellipsis(body)) {
      b.text(": ...");
      trailing_comment(body[0]->trailing_comment);
      return;
    }
    clause_header_end(s);
    block(body, kind);
  }
  void clause_body_plain(const std::vector<StmtPtr>& body) {
    b.text(":");
    block(body, Suite::Other);
  }

  void if_stmt(const Stmt& s) {
    b.text(s.is_elif ? "elif" : "if");
    b.space();
    maybe_parenthesize(*s.value, Parenthesize::IfBreaks);
    clause_body(s, s.body, Suite::Other);
    if (s.orelse.empty()) return;
    if (s.orelse.size() == 1 && s.orelse[0]->kind == StmtKind::If && s.orelse[0]->is_elif) {
      b.hard();
      if (empty_lines(*s.orelse[0]) > 0) b.empty_line();  // ruff keeps an empty line before `elif`
      leading_comments(*s.orelse[0]);
      if_stmt_no_comments(*s.orelse[0]);
      return;
    }
    else_clause(s);
  }
  void if_stmt_no_comments(const Stmt& s) {
    Stmt copy_header = s;
    copy_header.leading_comments.clear();
    if_stmt(copy_header);
  }

  void decorators(const Stmt& s) {
    for (auto& d : s.decorators) {
      std::vector<std::string> above, below;
      std::string trailing;
      split_element_comment(d->comment, above, trailing, &below);
      for (auto& c : above) {
        b.text(normalize_comment(c));
        b.hard();
      }
      b.text("@");
      maybe_parenthesize(*d, Parenthesize::Optional);
      trailing_comment(trailing);
      for (auto& c : below) {
        b.hard();
        b.text(normalize_comment(c));
      }
      b.hard();
    }
  }

  void function_def(const Stmt& s) {
    decorators(s);
    b.text("def ");
    b.text(s.name);
    // ruff: parameters are grouped with the return annotation; more than one parameter
    // get a group of their own inside the parentheses.
    auto params = [&] {
      if (s.params.empty()) {
        b.text("()");
        return;
      }
      std::vector<Entry> entries;
      for (auto& p : s.params) {
        const Parameter* x = &p;
        std::string comment;
        if (p.default_value) comment = p.default_value->comment;
        else if (p.annotation) comment = p.annotation->comment;
        entries.push_back({[this, x] { parameter(*x); }, comment});
      }
      LevelScope scope(*this, Level::Parenthesized);
      auto inner = [&] {
        join_comma(entries, false, false, /*no_trailing=*/true);
        b.if_breaks([&] { b.text(","); });
        if (s.magic_trailing_comma) b.hard();
      };
      b.text("(");
      if (s.params.size() == 1) {
        b.soft_block_indent(inner);
      } else {
        b.soft_block_indent([&] { b.group(inner); });
      }
      b.text(")");
    };
    b.group([&] {
      params();
      if (s.returns) {
        b.text(" -> ");
        return_annotation_ = s.returns.get();
        return_annotation_params_ = !s.params.empty();
        maybe_parenthesize(*s.returns, s.params.empty() ? Parenthesize::IfBreaksParenthesized : Parenthesize::IfBreaks);
        return_annotation_ = nullptr;
      }
    });
    clause_body(s, s.body, Suite::Function);
  }

  void class_def(const Stmt& s) {
    decorators(s);
    b.text("class ");
    b.text(s.name);
    if (!s.bases.empty()) {
      auto entries = argument_entries(s.bases);
      parenthesized("(", [&] { b.group([&] { join_comma(entries, s.magic_trailing_comma); }); }, ")");
    }
    clause_body(s, s.body, Suite::Class);
  }

  void import_from(const Stmt& s) {
    b.text("from ");
    b.text(s.module);
    b.text(" import ");
    if (s.names.size() == 1 && s.names[0].first == "*") {
      b.text("*");
      trailing_comment(s.trailing_comment);
      return;
    }
    std::vector<Entry> entries;
    for (auto& n : s.names) {
      auto x = &n;
      entries.push_back({[this, x] {
                           b.text(x->first);
                           if (!x->second.empty()) b.text(" as " + x->second);
                         },
                         ""});
    }
    parenthesize_if_expands([&] { join_comma(entries, s.magic_trailing_comma, true); });
    trailing_comment(s.trailing_comment);
  }

  // ---- assignments -----------------------------------------------------------
  bool should_inline_comments(const Expr& v) {
    switch (v.kind) {
      case ExprKind::Name:
      case ExprKind::None:
      case ExprKind::Int:
      case ExprKind::Float:
      case ExprKind::Bool:
        return true;
      case ExprKind::String:
        return needs_parentheses(v) == OptParens::BestFit;
      default:
        return false;
    }
  }

  static bool has_target_own_parentheses(const Expr& t) {
    return t.kind == ExprKind::Tuple || has_own_parentheses(t) || t.kind == ExprKind::Dict;
  }
  bool is_attribute_with_parenthesized_value(const Expr& t) {
    switch (t.kind) {
      case ExprKind::Attribute:
        return has_own_parentheses(*t.object) || sp(*t.object) || prec(*t.object) < P_ATOM ||
               is_attribute_with_parenthesized_value(*t.object);
      case ExprKind::Subscript:
        return true;
      case ExprKind::Call:
        return !t.args.empty();
      default:
        return false;
    }
  }
  bool should_parenthesize_target(const Expr& t) {
    return !(has_target_own_parentheses(t) || is_attribute_with_parenthesized_value(t));
  }

  // A target followed by ` = ` (ruff's FormatTargetWithEqualOperator).
  void target_eq(const Expr& t, bool preserve) {
    if (preserve) {
      target_plain(t, Parens::Preserve);
    } else if (should_parenthesize_target(t)) {
      parenthesize_if_expands([&] { target_plain(t, Parens::Never); });
    } else {
      target_plain(t, Parens::Never);
    }
    b.text(" = ");
  }
  void target_plain(const Expr& t, Parens p) {
    if (t.kind == ExprKind::Tuple && !t.parenthesized) {
      LevelScope scope(*this, level == Level::TopLevel || level == Level::Compound ? Level::Expression : level,
                       level == Level::TopLevel || level == Level::Compound ? -1 : optional_parens_id);
      tuple(t, TupleMode::Default);
      return;
    }
    expr(t, p);
  }
  // ruff's AnyBeforeOperator for the last target.
  void before_operator(const Expr& t) {
    if (should_parenthesize_target(t)) {
      if (can_omit_optional_parentheses(t)) optional_parentheses([&] { expr_inner(t); });
      else parenthesize_if_expands([&] { expr_inner(t); });
    } else {
      target_plain(t, Parens::Never);
    }
  }

  // Formats into a scratch buffer and reports whether the content must break.
  bool will_break(const std::function<void()>& fmt) {
    Elems scratch;
    Elems* saved = b.buf;
    b.buf = &scratch;
    fmt();
    b.buf = saved;
    for (auto& e : scratch) {
      if (e.k == EK::ExpandParent || (e.k == EK::Line && (e.line == LineMode::Hard || e.line == LineMode::Empty)) ||
          (e.k == EK::Text && e.multiline) || (e.k == EK::StartGroup && e.gmode == GMode::Expand))
        return true;
    }
    return false;
  }

  bool should_non_inlineable_use_best_fit(const Expr& v) {
    if (v.kind == ExprKind::Attribute || v.kind == ExprKind::Call || v.kind == ExprKind::Subscript)
      return needs_parentheses(v) == OptParens::BestFit;
    return false;
  }

  void value_with_trailing(const Expr& v, const std::string& trailing) {
    // FormatStatementsLastExpression::LeftToRight
    if (v.kind == ExprKind::Tuple && !v.parenthesized) {
      LevelScope scope(*this, Level::Expression, -1);
      tuple(v, TupleMode::Default);
      trailing_comment(trailing);
      return;
    }
    if (!should_inline_comments(v)) {
      maybe_parenthesize_value(v);
      trailing_comment(trailing);
      return;
    }
    // Inline the statement's trailing comment into the best-fit parentheses.
    int id = b.new_id();
    {
      LevelScope scope(*this, Level::Expression, id);
      b.best_fit_parenthesize(id, [&] {
        expr_inner(v);
        if (!trailing.empty()) b.if_breaks([&] { trailing_comment(trailing); });
      });
    }
    if (!trailing.empty()) b.if_flat([&] { trailing_comment(trailing); }, id);
  }

  void maybe_parenthesize_value(const Expr& v) {
    if (v.kind == ExprKind::Lambda) {
      parenthesize_if_expands([&] { lambda(v, true); });
    } else {
      maybe_parenthesize(v, Parenthesize::IfBreaks);
    }
  }

  // FormatStatementsLastExpression::RightToLeft
  void right_to_left(const Expr& last, const std::string& op, const Expr& v, const std::string& trailing) {
    bool inline_comments = should_inline_comments(v);
    if (!inline_comments && !should_non_inlineable_use_best_fit(v)) {
      before_operator(last);
      b.text(" " + op + " ");
      if (v.kind == ExprKind::Tuple && !v.parenthesized) {
        LevelScope scope(*this, Level::Expression, -1);
        tuple(v, TupleMode::Default);
      } else {
        maybe_parenthesize_value(v);
      }
      trailing_comment(trailing);
      return;
    }
    auto last_target = [&] {
      LevelScope scope(*this, level == Level::TopLevel || level == Level::Compound ? Level::Expression : level, -1);
      before_operator(last);
    };
    if (will_break(last_target)) {
      last_target();
      b.text(" " + op + " ");
      expr(v, Parens::Never);
      trailing_comment(trailing);
      return;
    }
    auto value = [&] {
      LevelScope scope(*this, Level::Expression, -1);
      expr(v, Parens::Never);
    };
    auto comments = [&] { trailing_comment(trailing); };
    auto single_line = [&] {
      last_target();
      b.text(" " + op + " ");
      value();
      comments();
    };
    auto flat_target_parenthesize_value = [&] {
      last_target();
      b.text(" " + op + " (");
      b.group([&] {
        b.soft_block_indent([&] {
          LevelScope scope(*this, Level::Parenthesized);
          expr(v, Parens::Never);
          comments();
        });
      }, -1, true);
      b.text(")");
    };
    auto split_target_flat_value = [&] {
      b.group([&] { last_target(); }, -1, true);
      b.text(" " + op + " ");
      value();
      comments();
    };
    if (v.kind == ExprKind::Call || v.kind == ExprKind::Subscript || v.kind == ExprKind::Attribute) {
      b.best_fitting({single_line,
                      [&] {
                        last_target();
                        b.text(" " + op + " ");
                        b.group([&] { value(); }, -1, true);
                      },
                      flat_target_parenthesize_value, split_target_flat_value});
      // The trailing comment of the second variant: ruff leaves it to the statement.
    } else {
      b.best_fitting({single_line, flat_target_parenthesize_value, split_target_flat_value});
    }
  }

  void assign(const Stmt& s) {
    const Expr& first = *s.targets[0];
    if (s.targets.size() > 1) {
      target_eq(first, true);
      for (size_t i = 1; i + 1 < s.targets.size(); ++i) target_eq(*s.targets[i], false);
      right_to_left(*s.targets.back(), "=", *s.value, s.trailing_comment);
      return;
    }
    if (has_target_own_parentheses(first) && !first.parenthesized) {
      right_to_left(first, "=", *s.value, s.trailing_comment);
      return;
    }
    target_eq(first, true);
    value_with_trailing(*s.value, s.trailing_comment);
  }

  void aug_assign(const Stmt& s) {
    const Expr& t = *s.targets[0];
    if (has_target_own_parentheses(t) && !t.parenthesized) {
      right_to_left(t, s.op.substr(0, s.op.size()), *s.value, s.trailing_comment);
      return;
    }
    target_plain(t, Parens::Preserve);
    b.text(" " + s.op + " ");
    value_with_trailing(*s.value, s.trailing_comment);
  }

  // ruff's is_splittable_expression.
  static bool is_splittable(const Expr& e) {
    switch (e.kind) {
      case ExprKind::Name:
      case ExprKind::Int:
      case ExprKind::Float:
      case ExprKind::Bool:
      case ExprKind::None:
      case ExprKind::Ellipsis:
      case ExprKind::Slice:
        return false;
      case ExprKind::Compare:
      case ExprKind::BinOp:
      case ExprKind::BoolOp:
      case ExprKind::IfExp:
      case ExprKind::Subscript:
      case ExprKind::ListComp:
        return true;
      case ExprKind::Tuple:
      case ExprKind::List:
      case ExprKind::Set:
        return !e.items.empty();
      case ExprKind::Dict:
        return !e.items.empty();
      case ExprKind::UnaryOp:
        return is_splittable(*e.object);
      case ExprKind::Call:
        return !e.args.empty() || sp(*e.object);
      case ExprKind::String:
        return !e.values.empty();
      case ExprKind::Lambda:
      case ExprKind::Starred:
      case ExprKind::Attribute:
        return sp(*e.object) || is_splittable(*e.object);
    }
    return false;
  }

  void ann_assign(const Stmt& s) {
    target_plain(*s.targets[0], Parens::Preserve);
    b.text(": ");
    const Expr& ann = *s.annotation;
    if (s.value) {
      if (is_splittable(ann)) {
        right_to_left(ann, "=", *s.value, s.trailing_comment);
      } else {
        expr(ann, Parens::Never);
        b.text(" = ");
        value_with_trailing(*s.value, s.trailing_comment);
      }
    } else {
      value_with_trailing(ann, s.trailing_comment);
    }
  }

  // ---- docstrings --------------------------------------------------------------
  void docstring(const Expr& e) {
    // ruff normalises docstrings to triple double quotes, strips trailing whitespace
    // on each line, and re-indents them. We keep the decoded text and write it back.
    std::string raw = e.name;
    std::string prefix;
    size_t i = 0;
    while (i < raw.size() && raw[i] != '"' && raw[i] != '\'') prefix += raw[i++];
    std::string np;
    for (char c : prefix)
      if (c != 'u' && c != 'U') np += static_cast<char>(c == 'R' ? 'r' : c);
    std::string body;
    if (!raw.empty() && i < raw.size()) {
      char q = raw[i];
      size_t qlen = raw.size() - i >= 6 && raw.compare(i, 3, std::string(3, q)) == 0 ? 3 : 1;
      body = raw.substr(i + qlen, raw.size() - i - 2 * qlen);
      std::string value, p2, quote, b2;
      bool decodable = decode_spelling(raw, value, p2, quote, b2);
      if (decodable && value != e.text) body = escape_docstring(e.text);
      if (qlen == 1) {
        // ruff keeps a one-quote docstring one-quoted: whitespace trimmed, quotes normalised.
        size_t a = body.find_first_not_of(" \t");
        size_t z = body.find_last_not_of(" \t");
        std::string trimmed = a == std::string::npos ? std::string() : body.substr(a, z - a + 1);
        if (!trimmed.empty() && trimmed.back() == '\\') trimmed = body.substr(a == std::string::npos ? 0 : a);
        b.text(normalize_string_spelling(np + std::string(1, q) + trimmed + std::string(1, q), true));
        return;
      }
    } else {
      body = escape_docstring(e.text);
    }
    // ruff: trailing whitespace (and newlines) of the text go; what fits one line stays one line.
    while (!body.empty() && (body.back() == ' ' || body.back() == '\t' || body.back() == '\n' || body.back() == '\r')) {
      if (body.back() == '\n') {
        // a last line holding only the closing quotes is kept unless the text is one line
        std::string head = body.substr(0, body.size() - 1);
        while (!head.empty() && (head.back() == ' ' || head.back() == '\t' || head.back() == '\r')) head.pop_back();
        if (head.find('\n') != std::string::npos) break;
      }
      body.pop_back();
    }
    // Normalise: strip leading whitespace of the first line, re-indent the others.
    std::vector<std::string> lines;
    size_t start = 0;
    while (true) {
      size_t nl = body.find('\n', start);
      lines.push_back(body.substr(start, nl == std::string::npos ? std::string::npos : nl - start));
      if (nl == std::string::npos) break;
      start = nl + 1;
    }
    for (auto& l : lines) {
      while (!l.empty() && (l.back() == ' ' || l.back() == '\t' || l.back() == '\r')) l.pop_back();
    }
    // first line: strip leading spaces
    size_t lead = 0;
    while (lead < lines[0].size() && (lines[0][lead] == ' ' || lines[0][lead] == '\t')) ++lead;
    lines[0] = lines[0].substr(lead);
    // common indentation of the other non-empty lines
    size_t common = std::string::npos;
    for (size_t k = 1; k < lines.size(); ++k) {
      if (lines[k].empty()) continue;
      size_t w = 0;
      while (w < lines[k].size() && lines[k][w] == ' ') ++w;
      common = std::min(common, w);
    }
    if (common == std::string::npos) common = 0;
    std::string ind(static_cast<size_t>(verbatim_indent_) * kIndentWidth, ' ');
    bool blank = true;
    for (auto& l : lines) blank = blank && l.empty();
    if (blank) {
      b.text(np + "\"\"\" \"\"\"");  // ruff: a docstring of whitespace only
      return;
    }
    std::string out = np + "\"\"\"";
    std::string first = lines[0];
    if (!first.empty() && first.front() == '"') out += ' ';
    out += first;
    for (size_t k = 1; k < lines.size(); ++k) {
      out += '\n';
      if (!lines[k].empty()) out += ind + lines[k].substr(common);
    }
    // The last line of a multi-line docstring holds only the closing quotes, indented.
    if (lines.size() > 1 && lines.back().empty()) out += ind;
    if (!out.empty() && out.back() == '"') out += ' ';
    if (!out.empty() && out.back() == '\\') {
      // An odd number of trailing backslashes would escape the closing quote.
      size_t n = 0;
      for (size_t k = out.size(); k > 0 && out[k - 1] == '\\'; --k) ++n;
      if (n % 2 == 1) out += ' ';
    }
    out += "\"\"\"";
    b.text(out);
  }
  static std::string escape_docstring(const std::string& v) {
    std::string out;
    for (char c : v) {
      if (c == '\\') out += "\\\\";
      else if (c == '\t') out += "\\t";
      else out += c;
    }
    size_t pos = 0;
    while ((pos = out.find("\"\"\"", pos)) != std::string::npos) {
      out.replace(pos, 3, "\\\"\\\"\\\"");
      pos += 6;
    }
    return out;
  }
};

// The module: the same suite rules at top level; comments after the last statement.
void dump_doc(const Elems& doc, int depth = 0) {
  static const char* names[] = {"Text", "Line", "ExpandParent", "LineSuffixBoundary", "BestFitting", "StartGroup",
                                "EndGroup", "StartCondGroup", "EndCondGroup", "StartIndent", "EndIndent",
                                "StartCondContent", "EndCondContent", "StartIndentIfGroupBreaks",
                                "EndIndentIfGroupBreaks", "StartLineSuffix", "EndLineSuffix", "StartFitsExpanded",
                                "EndFitsExpanded", "StartBestFitParen", "EndBestFitParen", "StartEntry", "EndEntry"};
  for (auto& e : doc) {
    if (e.k == EK::EndGroup || e.k == EK::EndCondGroup || e.k == EK::EndIndent || e.k == EK::EndCondContent ||
        e.k == EK::EndIndentIfGroupBreaks || e.k == EK::EndLineSuffix || e.k == EK::EndFitsExpanded ||
        e.k == EK::EndBestFitParen || e.k == EK::EndEntry)
      --depth;
    std::fprintf(stderr, "%*s%s id=%d gm=%d cm=%d line=%d '%s'\n", depth * 2, "", names[static_cast<int>(e.k)], e.id,
                 static_cast<int>(e.gmode), static_cast<int>(e.cond_mode), static_cast<int>(e.line), e.text.c_str());
    if (e.k == EK::StartGroup || e.k == EK::StartCondGroup || e.k == EK::StartIndent || e.k == EK::StartCondContent ||
        e.k == EK::StartIndentIfGroupBreaks || e.k == EK::StartLineSuffix || e.k == EK::StartFitsExpanded ||
        e.k == EK::StartBestFitParen || e.k == EK::StartEntry)
      ++depth;
  }
}

std::string print_doc(Elems& doc, std::vector<std::vector<Elems>>& variants) {
  Propagator prop{variants};
  std::vector<Propagator::Enclosing> enc;
  prop.run(doc, enc);
  if (std::getenv("NNPORT_DUMP_DOC")) dump_doc(doc);
  Printer printer(variants);
  return printer.print(doc);
}

}  // namespace

std::string print_module(const Module& module) {
  Elems doc;
  PyFormatter f(&doc);
  f.docstring_context_ = true;
  f.suite_with_docstring(module.body, PyFormatter::Suite::TopLevel);
  if (!module.trailing_comments.empty()) {
    size_t first = 0;
    if (!module.body.empty()) {
      const Stmt& last = *module.body.back();
      f.b.hard();
      if (PyFormatter::trailing_def(last)) {
        f.b.empty_line();
        f.b.empty_line();
        while (first < module.trailing_comments.size() && module.trailing_comments[first].empty()) ++first;
      }
    } else {
      while (first < module.trailing_comments.size() && module.trailing_comments[first].empty()) ++first;
    }
    for (size_t i = first; i < module.trailing_comments.size(); ++i) {
      const std::string& c = module.trailing_comments[i];
      if (c.empty()) {
        f.b.empty_line();
        continue;
      }
      f.b.text(normalize_comment(c));
      f.b.hard();
    }
  }
  f.b.hard();
  std::string out = print_doc(doc, f.b.variants);
  // Exactly one newline at the end (none for an empty module).
  while (!out.empty() && out.back() == '\n') out.pop_back();
  if (!out.empty()) out += '\n';
  return out;
}

std::string print_expr(const Expr& expr) {
  Elems doc;
  PyFormatter f(&doc);
  {
    PyFormatter::LevelScope scope(f, Level::Expression, -1);
    f.expr_inner(expr);
  }
  // One line, no wrapping: print every group flat by measuring against a huge width.
  std::string out;
  Propagator prop{f.b.variants};
  std::vector<Propagator::Enclosing> enc;
  prop.run(doc, enc);
  // Flatten: strip line breaks (soft ones print as nothing / a space).
  struct Flat {
    const std::vector<std::vector<Elems>>& variants;
    std::string out;
    void run(const Elems& els) {
      std::vector<std::pair<EK, PMode>> cond;
      int skip = 0;
      for (const Elem& e : els) {
        if (skip) {
          if (e.k == EK::StartCondContent) ++skip;
          if (e.k == EK::EndCondContent) --skip;
          continue;
        }
        switch (e.k) {
          case EK::Text: out += e.text; break;
          case EK::Line:
            if (e.line == LineMode::SoftOrSpace) out += ' ';
            break;
          case EK::StartCondContent:
            if (e.cond_mode != PMode::Flat) skip = 1;
            break;
          case EK::BestFitting:
            run(variants[static_cast<size_t>(e.variants)].front());
            break;
          case EK::StartLineSuffix:
            break;
          default:
            break;
        }
      }
    }
  } flat{f.b.variants, {}};
  flat.run(doc);
  return flat.out;
}

// ---- builders ---------------------------------------------------------------

namespace {
ExprPtr node(ExprKind k) {
  auto e = new_expr();
  e->kind = k;
  return e;
}
}  // namespace

ExprPtr name(std::string id) {
  auto e = node(ExprKind::Name);
  e->name = std::move(id);
  return e;
}
ExprPtr int_lit(long long v) {
  if (v < 0) {
    auto u = node(ExprKind::UnaryOp);
    u->name = "-";
    u->object = int_lit(-v);
    return u;
  }
  auto e = node(ExprKind::Int);
  e->int_value = v;
  return e;
}
ExprPtr float_lit(double v) {
  if (std::signbit(v) && !std::isnan(v)) {
    auto u = node(ExprKind::UnaryOp);
    u->name = "-";
    u->object = float_lit(-v);
    return u;
  }
  auto e = node(ExprKind::Float);
  e->float_value = v;
  return e;
}
ExprPtr str_lit(std::string v) {
  auto e = node(ExprKind::String);
  e->text = std::move(v);
  return e;
}
ExprPtr bool_lit(bool v) {
  auto e = node(ExprKind::Bool);
  e->bool_value = v;
  return e;
}
ExprPtr none_lit() { return node(ExprKind::None); }
ExprPtr attr(ExprPtr object, std::string attribute) {
  auto e = node(ExprKind::Attribute);
  e->object = std::move(object);
  e->name = std::move(attribute);
  return e;
}
ExprPtr dotted(const std::string& path) {
  ExprPtr cur;
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    cur = cur ? attr(cur, part) : name(part);
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return cur;
}
ExprPtr call(ExprPtr callee, std::vector<Argument> args) {
  auto e = node(ExprKind::Call);
  e->object = std::move(callee);
  e->args = std::move(args);
  return e;
}
ExprPtr tuple(std::vector<ExprPtr> items) {
  auto e = node(ExprKind::Tuple);
  e->items = std::move(items);
  e->parenthesized = true;
  return e;
}
ExprPtr list(std::vector<ExprPtr> items) {
  auto e = node(ExprKind::List);
  e->items = std::move(items);
  return e;
}
ExprPtr binop(ExprPtr lhs, std::string op, ExprPtr rhs) {
  auto e = node(ExprKind::BinOp);
  e->items = {std::move(lhs), std::move(rhs)};
  e->name = std::move(op);
  return e;
}
ExprPtr subscript(ExprPtr object, ExprPtr index) {
  auto e = node(ExprKind::Subscript);
  e->object = std::move(object);
  e->items = {std::move(index)};
  return e;
}
Argument pos(ExprPtr value) {
  Argument a;
  a.value = std::move(value);
  return a;
}
Argument kw(std::string name, ExprPtr value) {
  Argument a;
  a.name = std::move(name);
  a.value = std::move(value);
  return a;
}
StmtPtr assign(ExprPtr target, ExprPtr value) {
  auto s = new_stmt();
  s->kind = StmtKind::Assign;
  s->targets = {std::move(target)};
  s->value = std::move(value);
  return s;
}
StmtPtr expr_stmt(ExprPtr value) {
  auto s = new_stmt();
  s->kind = StmtKind::Expr;
  s->value = std::move(value);
  return s;
}
StmtPtr return_stmt(ExprPtr value) {
  auto s = new_stmt();
  s->kind = StmtKind::Return;
  s->value = std::move(value);
  return s;
}

ExprPtr clone(const ExprPtr& e) {
  if (!e) return nullptr;
  auto c = new_expr(*e);
  if (e->object) c->object = clone(e->object);
  for (auto& x : c->items) x = clone(x);
  for (auto& x : c->values) x = clone(x);
  for (auto& a : c->args) a.value = clone(a.value);
  for (auto& g : c->generators) {
    g.target = clone(g.target);
    g.iter = clone(g.iter);
    for (auto& x : g.ifs) x = clone(x);
  }
  if (e->element) c->element = clone(e->element);
  for (auto& p : c->params) {
    p.default_value = clone(p.default_value);
    p.annotation = clone(p.annotation);
  }
  if (e->pivot) {
    c->pivot = std::make_shared<PivotCall>(*e->pivot);
    for (auto& kv : c->pivot->attrs) kv.second = clone(kv.second);
    for (auto& x : c->pivot->inputs) x = clone(x);
  }
  return c;
}

StmtPtr clone(const StmtPtr& s) {
  if (!s) return nullptr;
  auto c = new_stmt(*s);
  for (auto& x : c->targets) x = clone(x);
  c->value = clone(s->value);
  c->annotation = clone(s->annotation);
  for (auto& x : c->body) x = clone(x);
  for (auto& x : c->orelse) x = clone(x);
  for (auto& p : c->params) {
    p.default_value = clone(p.default_value);
    p.annotation = clone(p.annotation);
  }
  for (auto& a : c->bases) a.value = clone(a.value);
  for (auto& x : c->decorators) x = clone(x);
  c->returns = clone(s->returns);
  return c;
}

}  // namespace nnport::syntax
