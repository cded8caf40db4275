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
//
// The pieces: print_doc.h (the document and its printer), print_literals.h (precedence,
// literals, comments), py_formatter.h (the formatting of each construct).
#include "syntax/print.h"

#include <string>
#include <utility>
#include <vector>

#include "syntax/py_formatter.h"

namespace nnport::syntax {

using namespace printing;  // NOLINT: this file is the printer's front

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
  propagate_expand(doc, f.b.variants);
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
          case EK::Text: out += e.text(); break;
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
