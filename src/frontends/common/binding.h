// Argument binding (PaConvert's parse_args_and_kwargs): normalise a framework call to
// parameter name -> (value, source expression) with the catalog's full signature, so
// positional and keyword spellings of the same call mean the same thing.
#pragma once

#include <fmt/format.h>

#include <map>
#include <string>
#include <string_view>
#include <utility>

#include "catalog/catalog.h"
#include "evaluate/interpreter.h"

namespace nnport::frontends {

struct BoundArg {
  // null for a parameter not given that is dropped or supported with its default only: no
  // one reads those (making a value for each default of each layer was a good part of binding)
  evaluate::ValuePtr value;
  syntax::Expr* expr = nullptr;  // null when the value came from *args or a default
  const catalog::Param* param = nullptr;
  bool given = false;            // stated at the call site
};

struct Bound {
  // in signature order; the names are the catalog's (views, not copies: binding is done
  // for every layer constructor)
  std::vector<std::pair<std::string_view, BoundArg>> args;
  const BoundArg* find(const std::string& name) const;
};

// Binds `args` to `sig`; errors (unknown keyword, too many arguments, missing required
// argument, unsupported non-default value) are located at `call`.
Bound bind_arguments(const catalog::Signature& sig, const std::string& display_name, evaluate::Args& args,
           syntax::Expr* call);

// The constant behind a bound argument, for an attribute; located error if not constant.
pivot::Attr constant(evaluate::Interpreter& in, const BoundArg& a, syntax::Expr* call, const std::string& what);
// The same, naming the argument with fmt::format(what, args...) only for the error (it was
// formatted for every argument of every layer).
template <typename... T>
pivot::Attr constant(evaluate::Interpreter& in, const BoundArg& a, syntax::Expr* call, fmt::format_string<T...> what,
                     T&&... args) {
  pivot::Attr out;
  if (!evaluate::to_attr(a.value, out))
    in.unresolved(a.value, a.expr ? a.expr : call, fmt::format(what, std::forward<T>(args)...));
  return out;
}

}  // namespace nnport::frontends
