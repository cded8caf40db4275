// Diagnostics: every message the engine gives a user points at a source location
// (MLIR style: the location travels with the IR object that caused it).
#pragma once

#include <fmt/format.h>

#include <iosfwd>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace nnport {

// The name of a source file, as a Location holds it: one shared, immutable copy per name
// (the parser makes one for the file and every node's location points at it). A file name
// copied into each of the hundreds of thousands of syntax nodes, values and pivot objects of
// a large file was an allocation per copy, and a fifth of a node's size.
class FileName {
 public:
  FileName() = default;
  FileName(std::string name)  // NOLINT: implicit, a file name is a string
      : name_(name.empty() ? nullptr : std::make_shared<const std::string>(std::move(name))) {}
  FileName(const char* name) : FileName(std::string(name)) {}  // NOLINT: implicit

  const std::string& str() const { return name_ ? *name_ : empty_name(); }
  operator const std::string&() const { return str(); }  // NOLINT: implicit
  bool empty() const { return !name_; }
  void clear() { name_.reset(); }

  friend bool operator==(const FileName& a, const FileName& b) {
    return a.name_ == b.name_ || a.str() == b.str();
  }
  friend bool operator==(const FileName& a, std::string_view b) { return a.str() == b; }
  friend bool operator==(const FileName& a, const std::string& b) { return a.str() == b; }
  friend bool operator==(const FileName& a, const char* b) { return a.str() == b; }
  template <class T>
  friend bool operator!=(const FileName& a, const T& b) {
    return !(a == b);
  }
  friend std::ostream& operator<<(std::ostream& os, const FileName& f);

 private:
  static const std::string& empty_name();
  std::shared_ptr<const std::string> name_;  // null: no file
};

// 1-based line and column, plus the byte range in the file, of a piece of source code.
struct Location {
  FileName file;
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

// `{}` formats a file name as its string.
template <>
struct fmt::formatter<nnport::FileName> : fmt::formatter<std::string_view> {
  template <class Context>
  auto format(const nnport::FileName& f, Context& ctx) const {
    return fmt::formatter<std::string_view>::format(f.str(), ctx);
  }
};
