// The printer of the document model (print_doc.h): a port of ruff_formatter's printer,
// and ruff's expand propagation.
#include "syntax/print_doc.h"

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

namespace nnport::syntax::printing {
namespace {

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
  // The mode each group was printed (or measured) in, by id (ids are dense); Flat until set.
  std::vector<PMode> group_modes_;
  void set_group_mode(int id, PMode mode) {
    auto i = static_cast<size_t>(id);
    if (i >= group_modes_.size()) group_modes_.resize(i + 1, PMode::Flat);
    group_modes_[i] = mode;
  }
  struct Suffix {
    bool is_args;
    const Elem* elem;
    Args args;
  };
  std::vector<Suffix> suffixes_;
  // The measurer's own queue and stack (Measurer), reused: fits() runs for most groups.
  std::vector<Slice> measure_queue_;
  std::vector<Args> measure_stack_;

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
    auto i = static_cast<size_t>(id);
    return i < group_modes_.size() ? group_modes_[i] : PMode::Flat;
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

  void print_text(std::string_view t, bool multiline, uint32_t width) {
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
        print_text(e.text(), e.multiline, e.width);
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
        if (e.id >= 0) set_group_mode(e.id, mode);
        stack.push_back((args.with_mode(mode)).kinded(e.k));
        break;
      }
      case EK::StartBestFitParen: {
        static const Elem kOpen = [] { Elem x; x.k = EK::Text; x.text_data = "("; x.text_size = 1; x.width = 1; return x; }();
        static const Elem kIndent = [] { Elem x; x.k = EK::StartIndent; return x; }();
        static const Elem kHard = [] { Elem x; x.k = EK::Line; x.line = LineMode::Hard; return x; }();
        static const Elem kPrefix[3] = {kOpen, kIndent, kHard};
        bool fits_flat = flat_group_print_mode(e.id, args, queue, stack) == PMode::Flat;
        PMode mode;
        if (fits_flat) {
          mode = PMode::Flat;
        } else {
          if (e.id >= 0) set_group_mode(e.id, PMode::Expanded);
          stack.push_back((args.with_measure(MMode::AllLines)).kinded(e.k));
          queue.push_back({kPrefix, kPrefix + 3});
          bool fits_expanded = fits(queue, stack);
          queue.pop_back();
          stack.pop_back();
          mode = fits_expanded ? PMode::Expanded : PMode::Flat;
        }
        if (e.id >= 0) set_group_mode(e.id, mode);
        if (mode == PMode::Expanded) queue.push_back({kPrefix, kPrefix + 3});
        stack.push_back((args.with_mode(mode)).kinded(e.k));
        break;
      }
      case EK::EndBestFitParen: {
        if (args.mode == PMode::Expanded) {
          static const Elem kHard = [] { Elem x; x.k = EK::Line; x.line = LineMode::Hard; return x; }();
          static const Elem kClose = [] { Elem x; x.k = EK::Text; x.text_data = ")"; x.text_size = 1; x.width = 1; return x; }();
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
    if (id >= 0) set_group_mode(id, PMode::Flat);
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
    std::vector<Slice>& own;  // (the printer's buffers, kept between measurements)
    const std::vector<Slice>& rest;
    size_t rest_index;  // slices of `rest` not yet taken: [0, rest_index)
    // stack: own frames over the print stack
    std::vector<Args>& own_stack;
    const std::vector<Args>& rest_stack;
    size_t rest_stack_size;
    uint32_t line_width;
    uint16_t pending_indent;
    bool has_pending_indent;
    bool has_line_suffix;
    bool must_be_flat = false;

    Measurer(Printer& printer, const std::vector<Slice>& queue, const std::vector<Args>& stack)
        : p(printer),
          own(printer.measure_queue_),
          rest(queue),
          rest_index(queue.size()),
          own_stack(printer.measure_stack_),
          rest_stack(stack),
          rest_stack_size(stack.size()) {
      own.clear();
      own_stack.clear();
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

    Fits fits_text(std::string_view t, bool multiline, uint32_t width, Args args) {
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
      if (id >= 0) p.set_group_mode(id, mode);
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
          return fits_text(e.text(), e.multiline, e.width, args);
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
          if (e.id >= 0) p.set_group_mode(e.id, args.mode);
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
                 static_cast<int>(e.gmode), static_cast<int>(e.cond_mode), static_cast<int>(e.line), std::string(e.text()).c_str());
    if (e.k == EK::StartGroup || e.k == EK::StartCondGroup || e.k == EK::StartIndent || e.k == EK::StartCondContent ||
        e.k == EK::StartIndentIfGroupBreaks || e.k == EK::StartLineSuffix || e.k == EK::StartFitsExpanded ||
        e.k == EK::StartBestFitParen || e.k == EK::StartEntry)
      ++depth;
  }
}


}  // namespace

void propagate_expand(Elems& doc, std::vector<std::vector<Elems>>& variants) {
  Propagator prop{variants};
  std::vector<Propagator::Enclosing> enc;
  prop.run(doc, enc);
}

uint32_t text_width(std::string_view s) {
  uint32_t w = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++w;
  return w;
}

std::string print_doc(Elems& doc, std::vector<std::vector<Elems>>& variants) {
  Propagator prop{variants};
  std::vector<Propagator::Enclosing> enc;
  prop.run(doc, enc);
  if (std::getenv("NNPORT_DUMP_DOC")) dump_doc(doc);
  Printer printer(variants);
  return printer.print(doc);
}


}  // namespace nnport::syntax::printing
