// Argument binding (PaConvert's parse_args_and_kwargs): normalise a framework call to
// parameter name -> (value, source expression) with the catalog's full signature, so
// positional and keyword spellings of the same call mean the same thing.
#pragma once

#include <map>
#include <string>

#include "catalog/catalog.h"
#include "evaluate/interpreter.h"

namespace nnport::frontends {

struct BoundArg {
  evaluate::ValuePtr value;
  syntax::Expr* expr = nullptr;  // null when the value came from *args or a default
  const catalog::Param* param = nullptr;
  bool given = false;            // stated at the call site
};

struct Bound {
  std::vector<std::pair<std::string, BoundArg>> args;  // in signature order
  const BoundArg* find(const std::string& name) const;
};

// Binds `args` to `sig`; errors (unknown keyword, too many arguments, missing required
// argument, unsupported non-default value) are located at `call`.
Bound bind_arguments(const catalog::Signature& sig, const std::string& display_name, evaluate::Args& args,
           syntax::Expr* call);

// The constant behind a bound argument, for an attribute; located error if not constant.
pivot::Attr constant(evaluate::Interpreter& in, const BoundArg& a, syntax::Expr* call, const std::string& what);

}  // namespace nnport::frontends
