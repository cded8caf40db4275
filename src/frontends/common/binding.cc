#include "frontends/common/binding.h"

#include <fmt/format.h>

#include <unordered_map>

namespace nnport::frontends {

using evaluate::Kind;

namespace {

// The value of a parameter's default (an attribute of the catalog's signature, which lives
// as long as the process): made once per thread and shared by every call that leaves the
// parameter out. No one changes a bound argument's value; making one for each default of
// each layer was a good part of binding.
const evaluate::ValuePtr& default_value(const pivot::Attr& a) {
  thread_local std::unordered_map<const pivot::Attr*, evaluate::ValuePtr> made;
  evaluate::ValuePtr& v = made[&a];
  if (!v) v = evaluate::from_attr(a);
  return v;
}

}  // namespace

const BoundArg* Bound::find(const std::string& name) const {
  for (const auto& [k, v] : args)
    if (k == name) return &v;
  return nullptr;
}

Bound bind_arguments(const catalog::Signature& sig, const std::string& display_name, evaluate::Args& args, syntax::Expr* call) {
  Bound out;
  out.args.reserve(sig.params.size());
  for (const catalog::Param& p : sig.params) out.args.emplace_back(p.name, BoundArg{nullptr, nullptr, &p, false});
  auto given = [&](size_t j) -> bool { return out.args[j].second.given; };
  auto vals = [&](size_t j) -> BoundArg& { return out.args[j].second; };
  size_t pi = 0;
  for (size_t i = 0; i < args.positional.size(); ++i) {
    while (pi < sig.params.size() && sig.params[pi].keyword_only) ++pi;
    if (pi >= sig.params.size())
      fail(call->loc, fmt::format("`{}` takes at most {} positional arguments", display_name, i),
           "check the call against the framework's documentation");
    vals(pi) = BoundArg{args.positional[i], args.positional_exprs[i], &sig.params[pi], true};
    ++pi;
  }
  for (size_t i = 0; i < args.keywords.size(); ++i) {
    const auto& [k, v] = args.keywords[i];
    size_t idx = sig.params.size();
    for (size_t j = 0; j < sig.params.size(); ++j)
      if (sig.params[j].name == k) idx = j;
    syntax::Expr* at = args.keyword_exprs[i] ? args.keyword_exprs[i] : call;
    if (idx == sig.params.size())
      fail(at->loc, fmt::format("`{}` has no parameter `{}`", display_name, k),
           "remove the argument or check its spelling");
    if (given(idx)) fail(at->loc, fmt::format("`{}` got several values for `{}`", display_name, k));
    vals(idx) = BoundArg{v, args.keyword_exprs[i], &sig.params[idx], true};
  }
  for (size_t j = 0; j < sig.params.size(); ++j) {
    const catalog::Param& p = sig.params[j];
    if (!given(j)) {
      if (!p.default_value)
        fail(call->loc, fmt::format("`{}` is missing its argument `{}`", display_name, p.name));
      if (!p.dropped && !p.default_only) vals(j).value = default_value(*p.default_value);
    } else if (p.default_only) {
      pivot::Attr a;
      if (!evaluate::to_attr(vals(j).value, a) || a != *p.default_value)
        fail((vals(j).expr ? vals(j).expr : call)->loc,
             fmt::format("`{}={}` of `{}` is not supported by nnport", p.name, evaluate::repr(vals(j).value),
                         display_name),
             fmt::format("only the default `{}={}` can be migrated", p.name, pivot::to_python(*p.default_value)));
    }
  }
  return out;
}

pivot::Attr constant(evaluate::Interpreter& in, const BoundArg& a, syntax::Expr* call, const std::string& what) {
  pivot::Attr out;
  if (!evaluate::to_attr(a.value, out)) in.unresolved(a.value, a.expr ? a.expr : call, what);
  return out;
}

}  // namespace nnport::frontends
