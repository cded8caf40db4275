// Diagnostics: every message the engine gives a user points at a source location
// (MLIR style: the location travels with the IR object that caused it).
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace nnport {

// 1-based line and column, plus the byte range in the file, of a piece of source code.
struct Location {
  std::string file;
  int line = 0;
  int column = 0;
  unsigned begin = 0;  // byte offset of the first byte
  unsigned end = 0;    // byte offset one past the last byte
  bool known() const { return line > 0; }
};

enum class Severity { Error, Warning, Note };

struct Diagnostic {
  Severity severity = Severity::Error;
  Location loc;
  std::string message;  // what is wrong or unsupported
  std::string hint;     // what the user can do about it (may be empty)
};

// Renders `file:line:col: error: message`, the offending source line, a caret
// under the offending range, and `  hint: ...`. `source` is the text of loc.file.
std::string render(const Diagnostic& d, std::string_view source);

// Thrown for a fatal problem; carries its located diagnostic.
class MigrationError : public std::runtime_error {
 public:
  explicit MigrationError(Diagnostic d) : std::runtime_error(d.message), diagnostic(std::move(d)) {}
  Diagnostic diagnostic;
};

[[noreturn]] inline void fail(const Location& loc, std::string message, std::string hint = {}) {
  throw MigrationError(Diagnostic{Severity::Error, loc, std::move(message), std::move(hint)});
}

// Collects warnings and notes while a migration runs.
struct DiagnosticSink {
  std::vector<Diagnostic> items;
  void warn(const Location& loc, std::string message, std::string hint = {}) {
    items.push_back({Severity::Warning, loc, std::move(message), std::move(hint)});
  }
};

}  // namespace nnport
