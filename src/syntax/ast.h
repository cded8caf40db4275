// A small, framework-neutral syntax tree for the Python subset that model files use.
//
// The parser lifts tree-sitter's concrete tree into these nodes (keeping every
// node's source location); frontends annotate call nodes with the pivot operation
// they build; backends rewrite annotated nodes into target-framework calls; the
// printer writes the result in the style `ruff format` produces.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "diagnostics/diagnostic.h"

namespace nnport::syntax {

struct Expr;
struct Stmt;
using ExprPtr = std::shared_ptr<Expr>;
using StmtPtr = std::shared_ptr<Stmt>;

enum class ExprKind : uint8_t {
  Name,       // name
  Int,        // int_value; text keeps the source spelling ("0x10", "1_000")
  Float,      // float_value; text keeps the source spelling
  String,     // text = decoded value (an f-string is kept verbatim in text with is_fstring)
  Bool,       // bool_value
  None,
  Ellipsis,
  List,       // items
  Tuple,      // items
  Set,        // items
  Dict,       // items = keys, values = values (a `**x` entry has a null key)
  Attribute,  // object.name
  Subscript,  // object[items[0]]  (a tuple index is one Tuple item)
  Slice,      // items = {lower, upper, step}, each may be null
  Call,       // object(args)
  BinOp,      // items[0] name items[1]; name is the operator: "+", "-", "*", "/", "//", "%", "**", "@", "|", "&", "^", "<<", ">>"
  UnaryOp,    // name object; name is "-", "+", "~" or "not"
  Compare,    // items[0] ops[0] items[1] ops[1] items[2] ...; ops: "<", "==", "in", "not in", "is", "is not", ...
  BoolOp,     // items joined by name ("and" / "or")
  IfExp,      // items = {body, test, orelse}
  Starred,    // *object
  ListComp,   // [element for ... in ... if ...]
  Lambda,     // lambda params: object
};

struct Argument {
  std::string name;  // keyword name; empty for a positional argument
  ExprPtr value;
  bool star = false;         // *value
  bool double_star = false;  // **value
};

struct Comprehension {
  ExprPtr target;
  ExprPtr iter;
  std::vector<ExprPtr> ifs;
};

struct Parameter {
  std::string name;  // for a bare `*` or `/` separator, name is "*" or "/"
  ExprPtr default_value;
  ExprPtr annotation;
  bool star = false;         // *args
  bool double_star = false;  // **kwargs
};

// Annotation a frontend puts on a Call that builds a framework layer or applies a
// framework tensor operation: the pivot operation and its arguments bound to the
// pivot's attribute names (source expressions, not values).
struct PivotCall {
  std::string op;                                      // catalog op id, e.g. "conv2d", "relu", "flatten"
  std::vector<std::pair<std::string, ExprPtr>> attrs;  // pivot attribute name -> source expression
  std::vector<ExprPtr> inputs;                         // tensor operands (functional ops only)
  int site = -1;                                       // call-site id (index into Program::sites)
};

// Field order packs the small fields together (a large file has hundreds of thousands of
// these).
struct Expr {
  ExprKind kind = ExprKind::None;
  bool bool_value = false;
  bool is_fstring = false;
  bool parenthesized = false;       // written inside parentheses in the source (the printer keeps them where
                                    // ruff does); a Tuple: has its own parentheses (`return a, b` has none)
  bool magic_trailing_comma = false;  // List/Tuple/Set/Dict/Call/Subscript: the source ended the elements
                                      // with a comma, so the printer keeps them one per line (as ruff does)
  Location loc;
  std::string name;
  std::string text;
  long long int_value = 0;
  double float_value = 0;
  ExprPtr object;
  std::vector<ExprPtr> items;
  std::vector<ExprPtr> values;
  std::vector<std::string> ops;
  std::vector<Argument> args;
  std::vector<Comprehension> generators;
  ExprPtr element;                  // ListComp element
  std::vector<Parameter> params;    // Lambda parameters
  std::shared_ptr<PivotCall> pivot; // set by a frontend on Call nodes it recognised
  std::string comment;              // a trailing `# comment` on this element's line inside a bracketed list
                                    // (own-line comments above the element come first, each ended by '\n';
                                    // own-line comments after the last element follow, each after a '\v';
                                    // a comment right after the opening bracket: a first line "\f# ...\n")
};

enum class StmtKind : uint8_t {
  Expr,        // value
  Assign,      // targets[0] = targets[1] = ... = value
  AugAssign,   // targets[0] op value; op is "+=", "-=", ...
  AnnAssign,   // targets[0]: annotation = value (value may be null)
  Return,      // value may be null
  If,          // if value: body else: orelse (an `elif` is an orelse holding one If with is_elif)
  For,         // for targets[0] in value: body else: orelse
  While,       // while value: body
  FunctionDef, // decorators, name, params, returns, body
  ClassDef,    // decorators, name, bases, body
  Pass,
  Break,
  Continue,
  Import,      // import names[i].first as names[i].second
  ImportFrom,  // from module import names...; module keeps leading dots
  Raise,       // raise value [from targets[0]]
  Assert,      // assert value, targets[0] (message, optional)
  With,        // with items: body  (items kept verbatim in `text`)
  Other,       // anything else, kept verbatim in `text` (global, del, try, ...)
};

struct Stmt {
  StmtKind kind = StmtKind::Pass;
  bool blank_line_before = false;             // the source had an empty line before this statement
  bool is_elif = false;
  bool magic_trailing_comma = false;  // FunctionDef params / ClassDef bases / ImportFrom names ended with a comma
  bool blank_line_before_else = false;  // (see else_leading_comments below)
  int empty_lines_before = 0;                 // how many (the parser caps it at 2; 0 with blank_line_before = 1)
  Location loc;
  std::vector<std::string> leading_comments;  // full comment lines directly above, each starting with '#'
                                              // (an empty entry: a blank line kept between them)
  std::string trailing_comment;               // `# ...` at the end of the statement's line, or empty; own-line
                                              // comments after the statement (e.g. ending its block) follow,
                                              // each after a '\n'
  std::vector<ExprPtr> targets;
  std::string op;
  ExprPtr value;
  ExprPtr annotation;
  std::vector<StmtPtr> body;
  std::vector<StmtPtr> orelse;
  std::string name;
  std::vector<Parameter> params;
  std::vector<Argument> bases;
  std::vector<ExprPtr> decorators;
  ExprPtr returns;
  std::string module;
  std::vector<std::pair<std::string, std::string>> names;  // (name, asname); asname empty if none
  std::string text;
  std::string docstring_marker;  // unused by the parser; free for passes
  // The `else:` clause of an If/For/While (orelse not an elif): comment lines above it,
  // the comment after its colon, and whether an empty line preceded it
  // (blank_line_before_else, above).
  std::vector<std::string> else_leading_comments;
  std::string else_trailing_comment;
};

struct Module {
  std::string file;
  std::string text;  // the full source text (for diagnostics)
  std::vector<StmtPtr> body;
  std::vector<std::string> trailing_comments;  // comments after the last statement
};

// New nodes (empty, or copies): from the arena of the innermost NodeArenaScope alive on this
// thread (arena.h), else from the heap like std::make_shared.
ExprPtr new_expr();
ExprPtr new_expr(const Expr& copy);
StmtPtr new_stmt();
StmtPtr new_stmt(const Stmt& copy);

// Calls `f` on `e` and on every expression inside it, outermost first (comprehension
// targets and lambda parameters excepted: they bind names, they read none). A template, not
// a std::function: frontends and backends walk every expression of the file with it.
template <class F>
void walk_exprs(const ExprPtr& e, F&& f) {
  if (!e) return;
  f(e);
  walk_exprs(e->object, f);
  walk_exprs(e->element, f);
  for (auto& x : e->items) walk_exprs(x, f);
  for (auto& x : e->values) walk_exprs(x, f);
  for (auto& a : e->args) walk_exprs(a.value, f);
  for (auto& g : e->generators) {
    walk_exprs(g.iter, f);
    for (auto& c : g.ifs) walk_exprs(c, f);
  }
}

}  // namespace nnport::syntax
