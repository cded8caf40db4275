// Code-generation helpers both backends use: literals from pivot attributes, names an
// expression mentions, identifier casing, and the options of an emit.
#pragma once

#include <map>
#include <set>
#include <string>
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

bool is_literal(const syntax::ExprPtr& e);
void collect_names(const syntax::ExprPtr& e, std::set<std::string>& out);
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

// Code the entry's model never runs that a backend cannot write: the statement, kept as
// comment lines under a `# nnport: not migrated (...)` line, and a warning.
std::vector<syntax::StmtPtr> commented_out(const syntax::Stmt& s, const std::string& source_text,
                                           const NotTranslatable& why, DiagnosticSink& sink);
// Does evaluating the entry run any recognised call in this statement?
bool reached(const syntax::Stmt& s, const pivot::Program& program, const std::map<const syntax::Expr*, int>& site_of);

}  // namespace nnport::backends
