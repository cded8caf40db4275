#include "diagnostics/diagnostic.h"

#include <algorithm>
#include <ostream>

namespace nnport {

const std::string& FileName::empty_name() {
  static const std::string empty;
  return empty;
}

std::ostream& operator<<(std::ostream& os, const FileName& f) { return os << f.str(); }

namespace {

const char* severity_word(Severity s) {
  switch (s) {
    case Severity::Error:
      return "error";
    case Severity::Warning:
      return "warning";
    case Severity::Note:
      return "note";
  }
  return "error";
}

// The 1-based line `line` of `source` (without its line break) and the byte offset where it
// starts. Returns false if the source has no such line.
bool find_line(std::string_view source, int line, std::string_view& text, size_t& start) {
  if (line < 1) return false;
  size_t pos = 0;
  for (int i = 1; i < line; ++i) {
    size_t nl = source.find('\n', pos);
    if (nl == std::string_view::npos) return false;
    pos = nl + 1;
  }
  if (pos >= source.size() && line > 1) return false;  // past the final line break
  size_t end = source.find('\n', pos);
  if (end == std::string_view::npos) end = source.size();
  if (end > pos && source[end - 1] == '\r') --end;
  text = source.substr(pos, end - pos);
  start = pos;
  return true;
}

}  // namespace

std::string render(const Diagnostic& d, std::string_view source) {
  const Location& loc = d.loc;
  std::string out = loc.file.str();
  if (loc.known()) {
    out += ':' + std::to_string(loc.line) + ':' + std::to_string(loc.column);
  }
  if (!out.empty()) out += ": ";
  out += severity_word(d.severity);
  out += ": ";
  out += d.message;
  out += '\n';

  std::string_view text;
  size_t start = 0;
  if (loc.known() && find_line(source, loc.line, text, start)) {
    out += "    ";
    out += text;
    out += '\n';
    // Caret under [begin, end) clipped to this line, starting at the (1-based, byte) column.
    size_t col = std::min<size_t>(loc.column > 0 ? loc.column - 1 : 0, text.size());
    size_t first = start + col;
    size_t last = std::min<size_t>(loc.end, start + text.size());
    size_t width = last > first ? last - first : 1;
    out += "    ";
    for (size_t i = 0; i < col; ++i) out += text[i] == '\t' ? '\t' : ' ';
    out += '^';
    out.append(width - 1, '~');
    out += '\n';
  }
  if (!d.hint.empty()) {
    out += "  hint: ";
    out += d.hint;
    out += '\n';
  }
  return out;
}

}  // namespace nnport
