// print: syntax::Module -> Python source text in the layout `ruff format` produces
// (so `ruff format --check` accepts generated files unchanged).
#pragma once

#include <string>

#include "syntax/ast.h"

namespace nnport::syntax {

std::string print_module(const Module& module);
std::string print_expr(const Expr& expr);  // on one line, no wrapping

// Builders used by backends to create nodes.
ExprPtr name(std::string id);
ExprPtr int_lit(long long v);
ExprPtr float_lit(double v);  // printed with Python's repr() rules (shortest round-trip)
ExprPtr str_lit(std::string v);
ExprPtr bool_lit(bool v);
ExprPtr none_lit();
ExprPtr attr(ExprPtr object, std::string attribute);
ExprPtr dotted(const std::string& path);  // "keras.layers.Dense" -> Attribute chain
ExprPtr call(ExprPtr callee, std::vector<Argument> args);
ExprPtr tuple(std::vector<ExprPtr> items);
ExprPtr list(std::vector<ExprPtr> items);
ExprPtr binop(ExprPtr lhs, std::string op, ExprPtr rhs);
ExprPtr subscript(ExprPtr object, ExprPtr index);
Argument pos(ExprPtr value);
Argument kw(std::string name, ExprPtr value);
StmtPtr assign(ExprPtr target, ExprPtr value);
StmtPtr expr_stmt(ExprPtr value);
StmtPtr return_stmt(ExprPtr value);

ExprPtr clone(const ExprPtr& e);  // deep copy
StmtPtr clone(const StmtPtr& s);  // deep copy

}  // namespace nnport::syntax
