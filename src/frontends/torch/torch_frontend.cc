#include "frontends/torch/torch_frontend.h"

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <string_view>

#include "catalog/catalog.h"
#include "catalog/training.h"
#include "frontends/common/binding.h"
#include "frontends/common/imported_names.h"
#include "passes/shapes.h"

namespace nnport::frontends {

using evaluate::Args;
using evaluate::Interpreter;
using evaluate::Kind;
using evaluate::ValuePtr;
using pivot::Attr;

namespace {

// How users spell torch modules; everything is canonicalised to these prefixes.
std::string canonical(const std::string& q) {
  // (called for every attribute of every call: the prefixes are not copied into strings,
  // and only a name under torch.nn.modules is compared with them)
  std::string_view qv = q;
  if (qv.substr(0, 17) == "torch.nn.modules.") {
    for (std::string_view pre : {"torch.nn.modules.activation.", "torch.nn.modules.conv.", "torch.nn.modules.linear.",
                                 "torch.nn.modules.pooling.", "torch.nn.modules.batchnorm.", "torch.nn.modules.container.",
                                 "torch.nn.modules.rnn.", "torch.nn.modules.dropout.", "torch.nn.modules.flatten.",
                                 "torch.nn.modules.sparse.", "torch.nn.modules.normalization.", "torch.nn.modules."}) {
      if (qv.substr(0, pre.size()) == pre && q.find('.', pre.size()) == std::string::npos)
        return "torch.nn." + q.substr(pre.size());
    }
  }
  if (qv.substr(0, 17) == "torch.functional.") return "torch." + q.substr(17);
  return q;
}

std::string short_name(const std::string& q) {
  if (q.rfind("torch.nn.functional.", 0) == 0) return "F." + q.substr(20);
  if (q.rfind("torch.nn.", 0) == 0) return "nn." + q.substr(9);
  return q;
}

}  // namespace

namespace {

// Binds a call's argument expressions to a signature without evaluating them: the
// attribute -> source expression map of a PivotCall.
std::vector<std::pair<std::string, syntax::ExprPtr>> bind_syntax(const catalog::Signature& sig, const syntax::Expr& call) {
  std::vector<std::pair<std::string, syntax::ExprPtr>> out;
  auto add = [&](const catalog::Param& p, const syntax::ExprPtr& e) {
    if (p.dropped || p.default_only) return;
    if (p.converter == "torch_padding")
      out.emplace_back(e->kind == syntax::ExprKind::String ? "padding_type" : "padding_amount", e);
    else if (!p.attr.empty())
      out.emplace_back(p.attr, e);
  };
  size_t pi = 0;
  for (const auto& a : call.args) {
    if (a.star || a.double_star) return out;  // positions unknown from here on
    if (!a.name.empty()) {
      if (const auto* p = sig.find(a.name)) add(*p, a.value);
      continue;
    }
    if (pi < sig.params.size()) add(sig.params[pi++], a.value);
  }
  return out;
}


}  // namespace

void TorchFrontend::annotate(syntax::Module& module) {
  ImportedNames names(
      module, [](const std::string& m) { return m == "torch" || m.rfind("torch.", 0) == 0; }, canonical);
  auto visit = [&](const syntax::ExprPtr& e) {
    if (e->kind != syntax::ExprKind::Call || e->pivot) return;
    std::string q = names.qualified(e->object);
    if (q.empty()) return;
    std::string op;
    std::vector<std::pair<std::string, syntax::ExprPtr>> attrs;
    if (q == "torch.nn.Sequential") op = "sequential";
    else if (q == "torch.nn.ModuleList") op = "module_list";
    else if (q == "torch.nn.ModuleDict") op = "module_dict";
    else if (auto m = catalog::Catalog::get().lookup("torch", q); m && !m->signature->takes_input) {
      op = m->op->id;
      attrs = bind_syntax(*m->signature, *e);
    }
    if (op.empty()) return;
    e->pivot = std::make_shared<syntax::PivotCall>();
    e->pivot->op = op;
    e->pivot->attrs = attrs;
    e->pivot->site = site_for(e.get(), op);
  };
  std::function<void(const std::vector<syntax::StmtPtr>&)> walk = [&](const std::vector<syntax::StmtPtr>& body) {
    for (const auto& s : body) {
      syntax::walk_exprs(s->value, visit);
      for (auto& t : s->targets) syntax::walk_exprs(t, visit);
      for (auto& p : s->params) walk_exprs(p.default_value, visit);
      walk(s->body);
      walk(s->orelse);
    }
  };
  walk(module.body);
}

ValuePtr TorchFrontend::import(const std::string& qualified) {
  if (qualified == "torch" || qualified.rfind("torch.", 0) == 0) return evaluate::api(canonical(qualified));
  if (qualified == "collections.OrderedDict" || qualified == "typing" || qualified.rfind("typing.", 0) == 0 ||
      qualified == "collections" || qualified == "math" || qualified.rfind("math.", 0) == 0 ||
      qualified.rfind("functools.", 0) == 0 || qualified == "__future__.annotations")
    return evaluate::api(qualified);
  return nullptr;
}

bool TorchFrontend::is_model_base(const std::string& q) { return canonical(q) == "torch.nn.Module"; }

pivot::LayerPtr TorchFrontend::as_layer(const ValuePtr& v, syntax::Expr* at) {
  if (v->kind == Kind::Layer) return v->layer;
  if (v->kind == Kind::Instance && v->instance->layer) {
    instances_[v->instance->layer.get()] = v;
    return v->instance->layer;
  }
  fail(at->loc, fmt::format("expected a layer here, got {}", evaluate::repr(v)),
       "containers hold nn.Module instances only");
}

ValuePtr TorchFrontend::add_node(const std::string& kind, const std::string& op, const std::string& module,
                                 pivot::Attrs attrs, std::vector<int> inputs, size_t outputs, syntax::Expr* call) {
  return package_outputs(op, append_node(kind, op, module, std::move(attrs), std::move(inputs), outputs, call, call->loc));
}

// PyTorch's recurrent layers return (output, h_n) or (output, (h_n, c_n)).
ValuePtr TorchFrontend::package_outputs(const std::string& op, const std::vector<int>& outs) {
  if (op == "lstm") {
    return evaluate::tuple({evaluate::tensor(outs[0]), evaluate::tuple({evaluate::tensor(outs[1]), evaluate::tensor(outs[2])})});
  }
  if (op == "gru" || op == "rnn") return evaluate::tuple({evaluate::tensor(outs[0]), evaluate::tensor(outs[1])});
  return evaluate::tensor(outs[0]);
}

// Classes nnport writes into PyTorch files it generates (see the PyTorch backend's helpers).
ValuePtr TorchFrontend::known_class(const std::string& name, const std::vector<ValuePtr>& bases) {
  auto has_base = [&](const std::string& q) {
    return std::any_of(bases.begin(), bases.end(),
                       [&](const ValuePtr& b) { return b->kind == Kind::Api && canonical(b->text) == q; });
  };
  if ((name == "KerasLSTM" && has_base("torch.nn.LSTM")) || (name == "KerasGRU" && has_base("torch.nn.GRU")) ||
      name == "KerasGRUResetBefore" || (name == "GRUResetBefore" && has_base("torch.nn.GRU")) ||
      (name == "KerasSimpleRNN" && has_base("torch.nn.RNN")) ||
      ((name == "Permute" || name == "Reshape") && has_base("torch.nn.Module")) || name == "KerasRecurrent")
    return evaluate::api("nnport.torch." + name);
  return nullptr;
}

// KerasLSTM(...): an nn.LSTM with Keras's outputs (return_sequences, return_state,
// merge_mode); Permute(*dims), Reshape(*shape): the tensor operations as modules.
ValuePtr TorchFrontend::nnport_helper(Interpreter& in, const std::string& name, Args& args, syntax::Expr* call) {
  if (name == "KerasRecurrent" || name == "GRUResetBefore")
    fail(call->loc, fmt::format("`{}` is a base class of nnport's recurrent helpers", name),
         "use KerasLSTM, KerasGRU, KerasSimpleRNN or KerasGRUResetBefore");
  if (name == "Permute" || name == "Reshape") {
    auto l = std::make_shared<pivot::Layer>();
    l->op = name == "Permute" ? "permute" : "reshape";
    l->loc = call->loc;
    pivot::AttrList dims;
    if (name == "Reshape") dims.push_back(Attr("batch"));
    for (auto& v : args.positional) {
      if (v->kind != Kind::Int) in.unresolved(v, call, "the axes");
      dims.push_back(Attr(v->i));
    }
    l->attrs[name == "Permute" ? "dims" : "shape"] = Attr(dims);
    l->site = site_for(call, l->op);
    program_.sites[l->site].layers.push_back(l);
    if (!call->pivot) {  // so that a backend finds the layer at its call, as for nn.* modules
      call->pivot = std::make_shared<syntax::PivotCall>();
      call->pivot->op = l->op;
      call->pivot->site = l->site;
    }
    return evaluate::layer(l);
  }
  Args rest;
  rest.positional = args.positional;
  rest.positional_exprs = args.positional_exprs;
  pivot::Attrs keras;
  keras["return_sequences"] = Attr(false);
  keras["return_state"] = Attr(false);
  for (size_t i = 0; i < args.keywords.size(); ++i) {
    const auto& [k, v] = args.keywords[i];
    if (k == "return_sequences" || k == "return_state" || k == "merge_mode") {
      Attr a;
      if (!evaluate::to_attr(v, a)) in.unresolved(v, call, k);
      keras[k] = a;
    } else {
      rest.keywords.push_back(args.keywords[i]);
      rest.keyword_exprs.push_back(args.keyword_exprs[i]);
    }
  }
  std::string q = name == "KerasLSTM" ? "torch.nn.LSTM" : name.find("GRU") != std::string::npos ? "torch.nn.GRU" : "torch.nn.RNN";
  auto match = catalog::Catalog::get().lookup("torch", q);
  ValuePtr v = construct(in, q, *match->op, *match->signature, rest, call);
  for (auto& [k, a] : keras) v->layer->attrs[k] = a;
  v->layer->attrs["batch_first"] = Attr(true);
  if (name == "KerasGRUResetBefore") v->layer->attrs["reset_after"] = Attr(false);
  if (v->layer->attrs["bidirectional"].as_bool() && !keras.count("merge_mode")) v->layer->attrs["merge_mode"] = "concat";
  return v;
}

ValuePtr TorchFrontend::call_api(Interpreter& in, const std::string& qualified, Args& args, syntax::Expr* call) {
  if (qualified.rfind("nnport.torch.", 0) == 0) return nnport_helper(in, qualified.substr(13), args, call);
  std::string q = canonical(qualified);
  std::string_view qv = q;  // (compared with literals inline, not through libstdc++)
  if (qv == "torch.nn.Sequential") return container(in, "sequential", args, call);
  if (qv == "torch.nn.ModuleList") return container(in, "module_list", args, call);
  if (qv == "torch.nn.ModuleDict") return container(in, "module_dict", args, call);
  if (qv == "collections.OrderedDict") {
    auto d = std::make_shared<evaluate::Value>();
    d->kind = Kind::Dict;
    d->dict = std::make_shared<std::vector<std::pair<ValuePtr, ValuePtr>>>();
    if (!args.positional.empty()) {
      ValuePtr src = args.positional[0];
      if (src->kind == Kind::Dict) *d->dict = *src->dict;
      else
        for (auto& kv : *src->items) {
          if ((kv->kind != Kind::Tuple && kv->kind != Kind::List) || kv->items->size() != 2)
            fail(call->loc, "OrderedDict expects (name, module) pairs");
          d->dict->emplace_back((*kv->items)[0], (*kv->items)[1]);
        }
    }
    for (auto& [k, v] : args.keywords) d->dict->emplace_back(evaluate::string(k), v);
    return d;
  }
  if (qv.rfind("torch.nn.init.", 0) == 0) return evaluate::none();  // weight initialisation: see backend
  // Training code (see torch_training.cc): optimizers, schedulers and losses are opaque to
  // the model; a DataLoader yields no batches, since nnport never trains.
  if (qv.rfind("torch.optim.", 0) == 0 || catalog::loss_by_torch(q)) return evaluate::unknown("`" + q + "(...)`", call->loc);
  if (qv.rfind("torch.utils.data.", 0) == 0)
    return q.find("DataLoader") != std::string::npos ? evaluate::list({}) : evaluate::unknown("`" + q + "(...)`", call->loc);
  if (qv.rfind("math.", 0) == 0) {
    std::string fn = q.substr(5);
    auto num = [&](size_t i) {
      if (i >= args.positional.size()) fail(call->loc, "math." + fn + " needs an argument");
      const ValuePtr& v = args.positional[i];
      if (v->kind == Kind::Int) return double(v->i);
      if (v->kind == Kind::Float) return v->f;
      in.unresolved(v, call, "the argument of math." + fn);
    };
    if (fn == "sqrt") return evaluate::number(std::sqrt(num(0)));
    if (fn == "ceil") return evaluate::integer((long long)std::ceil(num(0)));
    if (fn == "floor") return evaluate::integer((long long)std::floor(num(0)));
    if (fn == "prod") {
      long long p = 1;
      for (auto& v : *args.positional.at(0)->items) p *= v->i;
      return evaluate::integer(p);
    }
    return evaluate::unknown("math." + fn, call->loc);
  }
  auto match = catalog::Catalog::get().lookup("torch", q);
  if (!match) {
    const auto& conversions = catalog::torch_array_conversions();  // data for training code
    if (std::find(conversions.begin(), conversions.end(), q) != conversions.end())
      return evaluate::unknown("`" + q + "(...)`", call->loc);
    if (qv.rfind("torch.", 0) == 0) {
      bool layer_like = qv.rfind("torch.nn.", 0) == 0 && qv.rfind("torch.nn.functional.", 0) != 0;
      fail(call->loc, fmt::format("`{}` is not supported by nnport", short_name(q)),
           layer_like ? "supported layers are listed by `nnport catalog`; rewrite this layer with supported ones"
                      : "supported operations are listed by `nnport catalog`");
    }
    return evaluate::unknown("`" + q + "(...)`", call->loc);
  }
  if (match->signature->takes_input) return functional(in, q, *match->op, *match->signature, args, call, nullptr);
  return construct(in, q, *match->op, *match->signature, args, call);
}

ValuePtr TorchFrontend::container(Interpreter& in, const std::string& op, Args& args, syntax::Expr* call) {
  auto l = std::make_shared<pivot::Layer>();
  l->op = op;
  l->loc = call->loc;
  int site = site_for(call, op);
  l->site = site;
  auto add = [&](const std::string& name, const ValuePtr& v, syntax::Expr* at) {
    l->children.emplace_back(name, as_layer(v, at));
  };
  if (op == "sequential" && args.positional.size() == 1 && args.positional[0]->kind == Kind::Dict) {
    for (auto& [k, v] : *args.positional[0]->dict) add(k->text, v, call);
  } else if (op == "sequential") {
    for (size_t i = 0; i < args.positional.size(); ++i)
      add(std::to_string(i), args.positional[i], args.positional_exprs[i] ? args.positional_exprs[i] : call);
  } else if (!args.positional.empty()) {
    ValuePtr src = args.positional[0];
    if (src->kind == Kind::Dict) {
      for (auto& [k, v] : *src->dict) add(k->text, v, call);
    } else {
      size_t i = 0;
      for (auto& v : *src->items) add(std::to_string(i++), v, call);
    }
  }
  if (!call->pivot) {
    call->pivot = std::make_shared<syntax::PivotCall>();
    call->pivot->op = op;
    call->pivot->site = site;
  }
  program_.sites[site].layers.push_back(l);
  (void)in;
  return evaluate::layer(l);
}

ValuePtr TorchFrontend::construct(Interpreter& in, const std::string& q, const catalog::OpDef& def,
                                  const catalog::Signature& sig, Args& args, syntax::Expr* call) {
  const std::string display = short_name(q);
  Bound b = bind_arguments(sig, display, args, call);
  auto l = std::make_shared<pivot::Layer>();
  l->op = def.id;
  l->loc = call->loc;
  for (const auto& [n, v] : def.attrs) l->attrs[n] = v;
  int site = site_for(call, def.id);
  l->site = site;
  auto pc = std::make_shared<syntax::PivotCall>();
  pc->op = def.id;
  pc->site = site;
  for (const auto& [name, a] : b.args) {
    const catalog::Param* p = a.param;
    if (p->dropped || p->default_only) continue;
    Attr value = constant(in, a, call, "`{}` of `{}`", name, display);
    if (p->converter == "torch_padding") {
      // PyTorch padding: an int or tuple of explicit (symmetric) amounts, or "same"/"valid".
      if (value.is_str()) {
        if (value.as_str() != "same" && value.as_str() != "valid")
          fail((a.expr ? a.expr : call)->loc, fmt::format("unknown padding `{}`", value.as_str()));
        l->attrs["padding_type"] = value;
        l->attrs["padding_amount"] = Attr(0);
      } else {
        l->attrs["padding_type"] = "explicit";
        l->attrs["padding_amount"] = value;
      }
      if (a.given) pc->attrs.emplace_back(value.is_str() ? "padding_type" : "padding_amount", syntax::ExprPtr(a.expr, [](syntax::Expr*) {}));
      continue;
    }
    if (p->converter == "torch_zero_padding") {
      // (left, right, top, bottom, ...) from the last axis back -> [before, after] per axis
      int rank = def.rank;
      auto v = value.as_ints();
      if (v.size() == 1) v.assign(2 * rank, v[0]);
      if ((int)v.size() != 2 * rank) fail(call->loc, "ZeroPad padding needs one int or two per spatial axis");
      pivot::AttrList pads;
      for (int i = rank - 1; i >= 0; --i) pads.push_back(Attr(pivot::AttrList{Attr(v[2 * i]), Attr(v[2 * i + 1])}));
      l->attrs["padding"] = Attr(pads);
      continue;
    }
    l->attrs[p->attr] = value;
    if (a.given && a.expr) pc->attrs.emplace_back(p->attr, syntax::ExprPtr(a.expr, [](syntax::Expr*) {}));
  }
  if (def.id.find("pool") != std::string::npos && def.id.rfind("adaptive", 0) != 0 && l->attrs["stride_dim"].is_none())
    l->attrs["stride_dim"] = l->attrs["kernel_dim"];  // PyTorch: stride defaults to the window size
  if (!call->pivot) call->pivot = pc;
  program_.sites[site].layers.push_back(l);
  return evaluate::layer(l);
}

ValuePtr TorchFrontend::functional(Interpreter& in, const std::string& q, const catalog::OpDef& def,
                                   const catalog::Signature& sig, Args& args, syntax::Expr* call,
                                   const ValuePtr& receiver) {
  Args a = args;
  if (receiver) {  // tensor method: the receiver is the input
    a.positional.insert(a.positional.begin(), receiver);
    a.positional_exprs.insert(a.positional_exprs.begin(), call->object ? call->object->object.get() : nullptr);
  }
  const std::string display = short_name(q);
  Bound b = bind_arguments(sig, display, a, call);
  pivot::Attrs attrs;
  std::vector<int> inputs;
  auto pc = std::make_shared<syntax::PivotCall>();
  pc->op = def.id;
  for (const auto& [name, arg] : b.args) {
    const catalog::Param* p = arg.param;
    if (name == "input" || name == "other") {
      if (name == "other" && arg.value->kind != Kind::Tensor) {
        attrs["scalar"] = constant(in, arg, call, "the scalar operand");
        continue;
      }
      inputs.push_back(tensor_id(in, arg.value, arg.expr ? arg.expr : call));
      if (arg.expr) pc->inputs.push_back(syntax::ExprPtr(arg.expr, [](syntax::Expr*) {}));
      continue;
    }
    if (name == "tensors") {
      if (arg.value->kind != Kind::List && arg.value->kind != Kind::Tuple) in.unresolved(arg.value, call, "the tensors");
      for (auto& t : *arg.value->items) inputs.push_back(tensor_id(in, t, arg.expr ? arg.expr : call));
      if (arg.expr) pc->inputs.push_back(syntax::ExprPtr(arg.expr, [](syntax::Expr*) {}));
      continue;
    }
    if (p->dropped || p->default_only) continue;
    Attr value = constant(in, arg, call, "`{}` of `{}`", name, display);
    if (p->converter == "torch_padding") {
      attrs["padding_type"] = value.is_str() ? value : Attr("explicit");
      attrs["padding_amount"] = value.is_str() ? Attr(0) : value;
      continue;
    }
    attrs[p->attr] = value;
    if (arg.given && arg.expr) pc->attrs.emplace_back(p->attr, syntax::ExprPtr(arg.expr, [](syntax::Expr*) {}));
  }
  for (const auto& [n, v] : def.attrs)
    if (!attrs.count(n)) attrs[n] = v;
  if (def.id.find("pool") != std::string::npos && def.id.rfind("adaptive", 0) != 0 && attrs["stride_dim"].is_none())
    attrs["stride_dim"] = attrs["kernel_dim"];
  ValuePtr out = add_node("op", def.id, "", attrs, inputs, 1, call);
  pc->site = model_.nodes.back().site;
  if (!call->pivot) call->pivot = pc;
  return out;
}

ValuePtr TorchFrontend::call_layer(Interpreter& in, const ValuePtr& lv, Args& args, syntax::Expr* call) {
  const pivot::LayerPtr& l = lv->layer;
  if (l->op == "sequential") {
    if (args.positional.size() != 1) fail(call->loc, "nn.Sequential takes one input");
    return call_sequential(in, l, args.positional[0], call);
  }
  if (l->op == "submodel") return in.call(instance_of(l.get()), args, call);
  if (l->op == "module_list" || l->op == "module_dict")
    fail(call->loc, "nn.ModuleList / nn.ModuleDict are not callable", "call their elements");
  if (l->path.empty() && l != model_.root)
    fail(call->loc, fmt::format("this `{}` layer is not registered on the model", l->op),
         "create layers in __init__ and assign them to self");
  if (!args.keywords.empty()) fail(call->loc, "keyword arguments to a layer call are not supported");
  std::vector<int> inputs;
  for (size_t i = 0; i < args.positional.size(); ++i) {
    if ((l->op == "lstm" || l->op == "gru" || l->op == "rnn") && i > 0)
      fail(call->loc, "passing an initial hidden state to a recurrent layer is not supported yet",
           "call the layer with the input only (zero initial state)");
    inputs.push_back(tensor_id(in, args.positional[i], args.positional_exprs[i] ? args.positional_exprs[i] : call));
  }
  size_t outputs = l->op == "lstm" ? 3 : (l->op == "gru" || l->op == "rnn") ? 2 : 1;
  bool keras_convention = l->attrs.count("return_sequences") > 0;  // nnport's KerasLSTM helpers
  if (keras_convention) outputs = keras_recurrent_outputs(*l);
  fold_same_padding(l, inputs, call);
  // a layer chained by a container is reported at its own constructor
  bool chained = !chain_parent_.empty() || chain_index_ >= 0;
  auto outs = append_node("call", l->op, l->path, {}, inputs, outputs, call, chained ? l->loc : call->loc);
  model_.nodes.back().loc = l->loc;
  if (keras_convention) return keras_outputs_value(outs);
  return package_outputs(l->op, outs);
}

// `conv(F.pad(x, (0, 1, 0, 1)))` where the pads are exactly what TensorFlow's
// padding="same" adds for this convolution and input (what nnport writes for a Keras
// 'same' convolution with a stride): the convolution pads 'same' and the F.pad folds away.
void TorchFrontend::fold_same_padding(const pivot::LayerPtr& l, std::vector<int>& inputs, syntax::Expr* call) {
  bool conv = l->op.rfind("conv", 0) == 0;
  bool folded_before = folded_.count(l.get()) > 0;
  const pivot::Node* pad = !model_.nodes.empty() && inputs.size() == 1 && model_.nodes.back().op == "pad" &&
                                   model_.nodes.back().outputs[0] == inputs[0]
                               ? &model_.nodes.back()
                               : nullptr;
  auto refuse = [&] {
    if (folded_before)
      fail(call->loc, "this convolution is called both after an F.pad nnport folds and without it",
           "pad the same way before every call");
  };
  if (!conv || !pad || l->attrs["padding_type"] != Attr("explicit") || passes::expand(l->attrs["padding_amount"], 1, 0) != std::vector<long long>{0})
    return refuse();
  Attr value = pad->attrs.count("value") ? pad->attrs.at("value") : Attr();
  if (!value.is_none() && value.as_number() != 0.0) return refuse();
  const auto& x = model_.value(pad->inputs[0]).shape;
  int rank = catalog::Catalog::get().op(l->op)->rank;
  auto pads = pad->attrs.at("pads").as_ints();
  if ((int)x.size() != rank + 2 || (int)pads.size() != 2 * rank) return refuse();
  auto k = passes::expand(l->attrs["kernel_dim"], rank, 1), s = passes::expand(l->attrs["stride_dim"], rank, 1),
       d = passes::expand(l->attrs["dilation"], rank, 1);
  for (int i = 0; i < rank; ++i) {
    long long in = x[2 + i];
    if (in < 0) return refuse();
    long long out = (in + s[i] - 1) / s[i];
    long long total = std::max((out - 1) * s[i] + d[i] * (k[i] - 1) + 1 - in, 0LL);
    const long long* p = &pads[2 * (rank - 1 - i)];  // last axis first
    if (p[0] != total / 2 || p[1] != total - total / 2) return refuse();
  }
  l->attrs["padding_type"] = Attr("same");
  folded_.insert(l.get());
  inputs[0] = pad->inputs[0];
  program_.sites[pad->site].folded = true;
  auto& site_nodes = program_.sites[pad->site].nodes;
  site_nodes.erase(std::remove(site_nodes.begin(), site_nodes.end(), pad->id), site_nodes.end());
  model_.nodes.pop_back();
}

ValuePtr TorchFrontend::tensor_attribute(Interpreter& in, const ValuePtr& t, const std::string& name, syntax::Expr* at) {
  const auto& shape = model_.value(t->tensor).shape;
  auto dim = [&](size_t i) -> ValuePtr {
    if (i == 0) return evaluate::unknown("batch size", at->loc);
    if (i < shape.size() && shape[i] >= 0) return evaluate::integer(shape[i]);
    return evaluate::unknown("an unknown dimension (give --input-shape)", at->loc);
  };
  if (name == "shape") {
    if (shape.empty()) return evaluate::unknown("the tensor's shape (give --input-shape)", at->loc);
    std::vector<ValuePtr> dims;
    for (size_t i = 0; i < shape.size(); ++i) dims.push_back(dim(i));
    return evaluate::tuple(dims);
  }
  if (name == "ndim") return evaluate::integer(shape.size());
  (void)in;
  return evaluate::method(t, name);
}

namespace {
// `x.view(a, b)` and `x.view((a, b))` both mean the shape (a, b).
std::vector<ValuePtr> varargs(const Args& args) {
  if (args.positional.size() == 1 &&
      (args.positional[0]->kind == Kind::Tuple || args.positional[0]->kind == Kind::List))
    return *args.positional[0]->items;
  return args.positional;
}
}  // namespace

ValuePtr TorchFrontend::tensor_method(Interpreter& in, const ValuePtr& t, const std::string& name, Args& args,
                                      syntax::Expr* call) {
  const auto& shape = model_.value(t->tensor).shape;
  if (name == "size") {
    ValuePtr s = tensor_attribute(in, t, "shape", call);
    if (args.positional.empty()) return s;
    if (args.positional[0]->kind != Kind::Int) in.unresolved(args.positional[0], call, "the axis");
    long long i = args.positional[0]->i;
    if (i < 0) i += shape.size();
    if (s->kind != Kind::Tuple) return s;
    return (*s->items).at(i);
  }
  if (name == "dim") return evaluate::integer(shape.size());
  if (name == "contiguous" || name == "clone" || name == "float" || name == "detach") return t;
  if (name == "view" || name == "reshape" || name == "permute") {
    pivot::AttrList dims;
    for (auto& v : varargs(args)) {
      if (v->kind == Kind::Int) dims.push_back(Attr(v->i));
      else if (v->kind == Kind::Unknown && v->text == "batch size" && name != "permute") dims.push_back(Attr("batch"));
      else in.unresolved(v, call, "the new shape");
    }
    std::string op = name == "permute" ? "permute" : "reshape";
    pivot::Attrs attrs{{name == "permute" ? "dims" : "shape", Attr(dims)}};
    ValuePtr out = add_node("op", op, "", attrs, {t->tensor}, 1, call);
    if (!call->pivot) {
      call->pivot = std::make_shared<syntax::PivotCall>();
      call->pivot->op = op;
      call->pivot->site = model_.nodes.back().site;
    }
    return out;
  }
  auto match = catalog::Catalog::get().lookup("torch", "torch.Tensor." + name);
  if (!match)
    fail(call->loc, fmt::format("tensor method `.{}()` is not supported by nnport", name),
         "supported tensor methods are listed by `nnport catalog`");
  return functional(in, "torch.Tensor." + name, *match->op, *match->signature, args, call, t);
}

ValuePtr TorchFrontend::layer_attribute(Interpreter& in, const ValuePtr& lv, const std::string& name, syntax::Expr* at) {
  const pivot::LayerPtr& l = lv->layer;
  if (const auto* def = catalog::Catalog::get().op(l->op)) {
    for (const auto& sig : def->torch)
      if (const auto* p = sig.find(name); p && !p->attr.empty()) {
        auto it = l->attrs.find(p->attr);
        if (it != l->attrs.end()) return evaluate::from_attr(it->second);
      }
  }
  if (name == "weight" || name == "bias") return evaluate::unknown("a parameter tensor", at->loc);
  (void)in;
  return evaluate::method(lv, name);
}

ValuePtr TorchFrontend::layer_method(Interpreter& in, const ValuePtr& lv, const std::string& name, Args& args,
                                     syntax::Expr* call) {
  const pivot::LayerPtr& l = lv->layer;
  if (name == "append" && (l->op == "module_list" || l->op == "sequential")) {
    l->children.emplace_back(std::to_string(l->children.size()), as_layer(args.positional.at(0), call));
    return evaluate::none();
  }
  if (name == "extend" && (l->op == "module_list" || l->op == "sequential")) {
    for (auto& v : *args.positional.at(0)->items)
      l->children.emplace_back(std::to_string(l->children.size()), as_layer(v, call));
    return evaluate::none();
  }
  if (name == "add_module" || name == "register_module") {
    if (args.positional.size() != 2 || args.positional[0]->kind != Kind::Str)
      fail(call->loc, "add_module(name, module) needs a constant name");
    auto child = as_layer(args.positional[1], call);
    for (auto& [k, c] : l->children)
      if (k == args.positional[0]->text) {
        c = child;
        return evaluate::none();
      }
    l->children.emplace_back(args.positional[0]->text, child);
    if (auto inst = instance_of(l.get())) inst->instance->set(args.positional[0]->text, args.positional[1]);
    return evaluate::none();
  }
  if (name == "modules" || name == "children") {
    std::vector<ValuePtr> out;
    std::function<void(const pivot::LayerPtr&, bool)> walk = [&](const pivot::LayerPtr& x, bool self) {
      if (self) out.push_back(x->op == "submodel" && instance_of(x.get()) ? instance_of(x.get()) : evaluate::layer(x));
      if (name == "children" && !self) {
        for (auto& [k, c] : x->children) walk(c, true);
        return;
      }
      for (auto& [k, c] : x->children) walk(c, true);
    };
    if (name == "modules") walk(l, true);
    else
      for (auto& [k, c] : l->children)
        out.push_back(c->op == "submodel" && instance_of(c.get()) ? instance_of(c.get()) : evaluate::layer(c));
    return evaluate::list(out);
  }
  if (name == "apply" || name == "_initialize_weights" || name == "reset_parameters") return evaluate::none();
  // training-time calls: the model stays what it is
  if (name == "train" || name == "eval" || name == "to" || name == "cuda" || name == "cpu" || name == "float" ||
      name == "requires_grad_") {
    if (auto inst = instance_of(l.get())) return inst;
    return lv;
  }
  if (name == "parameters" || name == "named_parameters" || name == "state_dict" || name == "zero_grad")
    return evaluate::unknown(fmt::format("`.{}()` of the model", name), call->loc);
  (void)in;
  fail(call->loc, fmt::format("`.{}()` on a {} is not supported by nnport", name, l->op));
}

bool TorchFrontend::layer_is(const ValuePtr& lv, const std::string& qualified) {
  auto match = catalog::Catalog::get().lookup("torch", canonical(qualified));
  if (!match) return false;
  return match->op->id == lv->layer->op;
}

}  // namespace nnport::frontends
