// The document model of the printer (print.cc): format elements, built by a Builder and
// laid out within 88 columns by a Wadler-style printer, as ruff's formatter does.
//
// The syntax tree is first turned into a document of format elements (text, soft/hard line
// breaks, groups, indents, conditional content, best-fitting variants, line suffixes for
// comments); the printer then prints a group flat when its content up to the next line
// break fits, otherwise expanded. The element set and the printer's "fits" measurement are
// ports of ruff_formatter's.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace nnport::syntax::printing {

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
  uint32_t text_size = 0;             // Text: the text, in a TextPool (or a string literal)
  const char* text_data = nullptr;
  std::string_view text() const { return {text_data, text_size}; }
};
static_assert(sizeof(Elem) <= 32, "a large file's document has millions of elements");

using Elems = std::vector<Elem>;

// The characters of a document's texts, in large blocks that never move (an element points
// at its text; a std::string per element was an allocation each, and made elements twice
// as large).
class TextPool {
 public:
  std::string_view add(std::string_view s) {
    if (s.size() > static_cast<size_t>(end_ - next_)) {
      // Blocks grow to kBlock (one-line documents, print_expr's, need few bytes).
      block_ = std::min(kBlock, block_ * 4);
      size_t size = std::max(block_, s.size());
      blocks_.emplace_back(new char[size]);
      next_ = blocks_.back().get();
      end_ = next_ + size;
    }
    char* at = next_;
    std::copy(s.begin(), s.end(), at);
    next_ += s.size();
    return {at, s.size()};
  }

 private:
  static constexpr size_t kBlock = 64 * 1024;
  size_t block_ = 64;  // the size of the last block
  std::vector<std::unique_ptr<char[]>> blocks_;
  char* next_ = nullptr;
  char* end_ = nullptr;
};

// ============================================================================
// Document builder
// ============================================================================

// The width of a text in columns (its code points).
uint32_t text_width(std::string_view s);

class Builder {
 public:
  Elems* buf;
  std::vector<std::vector<Elems>> variants;
  int next_id = 0;
  TextPool texts;  // the texts of the elements (the builder outlives the printing)

  explicit Builder(Elems* b) : buf(b) {}

  int new_id() { return next_id++; }

  void text(std::string_view s) {
    if (s.empty()) return;
    Elem e;
    e.k = EK::Text;
    std::string_view kept = texts.add(s);
    e.text_data = kept.data();
    e.text_size = static_cast<uint32_t>(kept.size());
    e.multiline = s.find('\n') != std::string_view::npos;
    e.width = text_width(s);
    buf->push_back(e);
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
  void line_suffix(std::string_view content, uint32_t reserved) {
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

// Marks the groups that must expand (ruff's propagate_expand), then prints the document.
std::string print_doc(Elems& doc, std::vector<std::vector<Elems>>& variants);
// The expand propagation alone (print_expr prints the document its own way).
void propagate_expand(Elems& doc, std::vector<std::vector<Elems>>& variants);

}  // namespace nnport::syntax::printing
