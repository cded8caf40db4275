// Code-generation helpers both backends use: literals from pivot attributes, names an
// expression mentions, identifier casing, and the options of an emit.
#pragma once

#include <functional>
#include <initializer_list>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "pivot/model.h"
#include "pivot/program.h"
#include "syntax/ast.h"

namespace nnport::backends {

struct EmitOptions {
  std::string style;   // "sequential" or "subclass"
  bool keep_layout = true;
  bool lazy = false;   // PyTorch target: lazy modules where an input size is unknown
  std::string header;  // first comment line of the generated file
};

// A construct a backend cannot write; the enclosing statement is left out, shown as a
// comment, and reported as a warning (or an error where the entry's model needs it).
struct NotTranslatable {
  Location loc;
  std::string what;
};

// A small constant set of words (string literals), asked about for every attribute of every
// layer: a scan that compares only the words of the same length, where a std::set compares
// strings along a path of its tree.
class WordSet {
 public:
  WordSet(std::initializer_list<std::string_view> words) : words_(words) {}
  bool count(std::string_view w) const {
    for (std::string_view x : words_)
      if (x.size() == w.size() && x == w) return true;
    return false;
  }

 private:
  std::vector<std::string_view> words_;
};

bool is_literal(const syntax::ExprPtr& e);
void collect_names(const syntax::ExprPtr& e, std::set<std::string>& out);
// Calls f with every name `e` mentions (repeats included): for questions about a few names,
// where a set of all the names of a large file costs more than the walk.
template <class F>
void for_each_name(const syntax::ExprPtr& e, F&& f) {
  syntax::walk_exprs(e, [&](const syntax::ExprPtr& x) {
    if (x->kind == syntax::ExprKind::Name) f(x->name);
  });
}
std::string camel(const std::string& snake_name);  // "two_input" -> "TwoInput"
syntax::ExprPtr ints_expr(const std::vector<long long>& v, bool collapse);  // 3 or (3, 5)
syntax::ExprPtr perm_expr(const std::vector<int>& p);
syntax::ExprPtr literal(const pivot::Attr& a);  // lists become tuples
syntax::StmtPtr comment_stmt(const std::string& text);
// The words of `text` in lines of at most `width` characters (comment blocks).
std::vector<std::string> wrap_words(const std::string& text, size_t width);
// The short attribute name a Sequential's layer gets when it becomes a class attribute
// ("fc" for linear, "conv", "pool", "bn", ...); the op id itself when it has none.
std::string attribute_base(const std::string& op);

// After the imports, one empty line before a statement that is no def (isort's spacing,
// ruff I001): the class that followed them in the source may be gone (a helper layer of
// the file nnport generated earlier). `body` is the module body after the imports.
void one_line_after_imports(std::vector<syntax::StmtPtr>& body);
// Orders the import statements at the start of `head` as isort (ruff's I001) does, keeping
// the first statement's leading comments (the file header) first.
void sort_imports(std::vector<syntax::StmtPtr>& head);

// `paths` maps layers' source paths to their paths in the generated code. Where a
// container's child moved (a permute or an activation went in before it), so did its own
// children: every entry whose key and value start with `from.`, for a moved `from`
// (paths[from] != from), gets `paths[from].` instead, shorter `from`s first.
void move_children_paths(std::map<std::string, std::string>& paths);

// Whether `s` printed would mention the module `name` (`name.` after no identifier
// character or '.'), judged from its syntax tree so that most statements need not be
// printed to find out. Yes: a Name `name` is an attribute's object. No: `name` occurs in no
// name, string, comment or verbatim text of it. Maybe: it occurs elsewhere (print to see).
enum class Mention { Yes, No, Maybe };
Mention mentions_module(const syntax::Stmt& s, const std::string& name);

// The statements of a helper's Python source (a class the generated file needs), parsed
// once per process and copied for each use: parsing them for every file was a good part
// of converting a small one.
std::vector<syntax::StmtPtr> helper_statements_of(const std::string& source);

// Code the entry's model never runs that a backend cannot write: the statement, kept as
// comment lines under a `# nnport: not migrated (...)` line, and a warning.
std::vector<syntax::StmtPtr> commented_out(const syntax::Stmt& s, const std::string& source_text,
                                           const NotTranslatable& why, DiagnosticSink& sink);
// A call expression -> its site in Program::sites (hashed: looked up for every expression
// a backend translates).
using SiteIndex = std::unordered_map<const syntax::Expr*, int>;
// Does evaluating the entry run any recognised call in this statement?
bool reached(const syntax::Stmt& s, const pivot::Program& program, const SiteIndex& site_of);

}  // namespace nnport::backends
