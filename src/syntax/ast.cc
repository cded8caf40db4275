#include "syntax/ast.h"

namespace nnport::syntax {

void walk_exprs(const ExprPtr& e, const std::function<void(const ExprPtr&)>& f) {
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
