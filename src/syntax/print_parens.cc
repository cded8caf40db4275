// PyFormatter: where expressions get parentheses (ruff's maybe_parenthesize; py_formatter.h).
#include "syntax/py_formatter.h"

namespace nnport::syntax::printing {

auto PyFormatter::needs_parentheses(const Expr& e) -> OptParens {
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

bool PyFormatter::has_own_parentheses(const Expr& e) {
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

bool PyFormatter::own_parens_non_empty(const Expr& e) {
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

bool PyFormatter::can_omit_optional_parentheses(const Expr& e) {
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

void PyFormatter::mark_parenthesized_children(const Expr& e, OmitVisitor& v) {
  // A child with lower precedence than its parent is printed in parentheses; ruff then
  // treats it as a parenthesized expression.
  if (e.kind == ExprKind::BinOp) {
    for (auto& x : e.items)
      if (prec(*x) < binop_prec(e.name)) v.any_parenthesized = true;
  }
}

void PyFormatter::maybe_parenthesize(const Expr& e, Parenthesize mode, bool has_trailing_comment) {
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

}  // namespace nnport::syntax::printing
