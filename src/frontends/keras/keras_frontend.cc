#include "frontends/keras/keras_frontend.h"

#include <fmt/format.h>

#include <cctype>
#include <cmath>
#include <algorithm>
#include <functional>

#include "frontends/common/binding.h"

namespace nnport::frontends {

using evaluate::Args;
using evaluate::Interpreter;
using evaluate::Kind;
using evaluate::ValuePtr;
using pivot::Attr;
using pivot::AttrList;

namespace {

// Module aliases users write for the same Keras names, longest first.
const std::vector<std::pair<std::string, std::string>> kAliases = {
    {"tensorflow.python.keras.", "keras."},
    {"tensorflow.keras.", "keras."},
    {"keras.api.", "keras."},
    {"keras.models.", "keras."},
    {"keras.layers.Input", "keras.Input"},
    {"keras.layers.experimental.", "keras.layers."},
    {"keras.layers.core.", "keras.layers."},
    {"keras.layers.convolutional.", "keras.layers."},
    {"keras.layers.pooling.", "keras.layers."},
    {"keras.layers.recurrent.", "keras.layers."},
    {"keras.engine.training.Model", "keras.Model"},
    {"keras.engine.sequential.Sequential", "keras.Sequential"},
    {"keras.engine.base_layer.Layer", "keras.layers.Layer"},
    {"tensorflow.nn.", "keras.activations."},
    {"tensorflow.concat", "keras.ops.concatenate"},
    {"tensorflow.add", "keras.ops.add"},
    {"tensorflow.multiply", "keras.ops.multiply"},
    {"tensorflow.math.", "keras.ops."},
    {"keras.backend.", "keras.ops."},
};

// keras.activations names (and tf.nn / keras.ops functions of the same name) -> pivot ops.
// `leaky_relu` as a *function* has negative_slope 0.2 (the LeakyReLU layer has 0.3): the
// backends read that default from kFunctionDefaults.
const std::map<std::string, std::string> kActivations = {
    {"relu", "relu"},       {"relu6", "relu6"},         {"sigmoid", "sigmoid"},   {"tanh", "tanh"},
    {"softmax", "softmax"}, {"log_softmax", "log_softmax"}, {"elu", "elu"},       {"selu", "selu"},
    {"gelu", "gelu"},       {"swish", "silu"},          {"silu", "silu"},         {"softplus", "softplus"},
    {"softsign", "softsign"}, {"hard_sigmoid", "hardsigmoid"}, {"mish", "mish"}, {"leaky_relu", "leaky_relu"},
    {"hard_tanh", "hardtanh"},
};

std::string snake(const std::string& cls) {
  std::string out;
  for (size_t i = 0; i < cls.size(); ++i) {
    char c = cls[i];
    if (std::isupper((unsigned char)c)) {
      bool boundary = i > 0 && (std::islower((unsigned char)cls[i - 1]) ||
                                (i + 1 < cls.size() && std::islower((unsigned char)cls[i + 1])));
      if (boundary && !out.empty() && !std::isdigit((unsigned char)cls[i - 1])) out += '_';
      out += static_cast<char>(std::tolower((unsigned char)c));
    } else {
      out += c;
    }
  }
  return out;
}

std::string class_name(const std::string& q) { return q.substr(q.rfind('.') + 1); }

}  // namespace

std::string keras_canonical(const std::string& qualified) {
  std::string q = qualified;
  if (q == "tensorflow.keras") return "keras";
  for (bool changed = true; changed;) {
    changed = false;
    for (const auto& [from, to] : kAliases)
      if (q.rfind(from, 0) == 0) {
        q = to + q.substr(from.size());
        changed = true;
      }
  }
  return q;
}

ValuePtr KerasFrontend::import(const std::string& qualified) {
  if (qualified == "keras" || qualified.rfind("keras.", 0) == 0 || qualified == "tensorflow" ||
      qualified.rfind("tensorflow.", 0) == 0)
    return evaluate::api(keras_canonical(qualified));
  if (qualified == "typing" || qualified.rfind("typing.", 0) == 0 || qualified == "math" ||
      qualified.rfind("math.", 0) == 0 || qualified == "__future__.annotations" || qualified.rfind("functools.", 0) == 0)
    return evaluate::api(qualified);
  return nullptr;
}

bool KerasFrontend::is_model_base(const std::string& q) {
  std::string c = keras_canonical(q);
  return c == "keras.Model" || c == "keras.layers.Layer" || c == "keras.Layer";
}

std::vector<KerasFrontend::InputSpec> KerasFrontend::input_specs(const pivot::Layer* model) const {
  auto it = specs_.find(model);
  if (it != specs_.end()) return it->second;
  if (model && model->op == "sequential" && !model->children.empty()) {
    auto first = specs_.find(model->children[0].second.get());
    if (first != specs_.end()) return first->second;
  }
  return {};
}

const KerasFrontend::Functional* KerasFrontend::functional(const pivot::Layer* l) const {
  auto it = functional_.find(l);
  return it == functional_.end() ? nullptr : &it->second;
}

std::optional<KerasFrontend::InputSpec> KerasFrontend::spec_from_shape(Interpreter& in, const ValuePtr& shape,
                                                                       bool with_batch, syntax::Expr* at) {
  if (shape->kind == Kind::None) return std::nullopt;
  InputSpec s;
  s.loc = at->loc;
  std::vector<ValuePtr> dims;
  if (shape->kind == Kind::Int) dims = {shape};
  else if (shape->kind == Kind::Tuple || shape->kind == Kind::List) dims = *shape->items;
  else in.unresolved(shape, at, "the input shape");
  for (size_t i = with_batch ? 1 : 0; i < dims.size(); ++i) {
    if (dims[i]->kind == Kind::None) s.dims.push_back(-1);
    else if (dims[i]->kind == Kind::Int) s.dims.push_back(dims[i]->i);
    else in.unresolved(dims[i], at, "the input shape");
  }
  return s;
}

// ---- layers --------------------------------------------------------------------------

ValuePtr KerasFrontend::call_api(Interpreter& in, const std::string& qualified, Args& args, syntax::Expr* call) {
  std::string q = keras_canonical(qualified);
  std::string_view qv = q;  // (compared with literals inline, not through libstdc++)
  if (qv == "keras.Sequential") return sequential(in, args, call);
  if (qv == "keras.Input" || qv == "keras.layers.InputLayer") return input(in, args, call);
  if (qv == "keras.Model") return functional_model(in, args, call);
  if (qv == "keras.layers.Bidirectional") return bidirectional(in, args, call);
  if (qv.rfind("nnport.keras.Adaptive", 0) == 0) {  // nnport's own helper layer, migrating back
    bool is_max = q.find("Max") != std::string::npos;
    const auto* def = catalog::Catalog::get().op(is_max ? "adaptive_maxpool2d" : "adaptive_avgpool2d");
    return construct(in, "torch.nn.Adaptive", *def, def->torch[0], args, call);
  }
  if (qv.rfind("keras.activations.", 0) == 0 || qv.rfind("keras.ops.", 0) == 0) {
    std::string fn = class_name(q);
    if (kActivations.count(fn)) return activation_call(in, fn, args, call);
    if (fn == "concatenate" || fn == "add" || fn == "multiply" || fn == "subtract")
      return call_api(in, "keras.layers." + fn, args, call);
    if (fn == "reshape" || fn == "transpose" || fn == "mean") return ops_call(in, fn, args, call);
    fail(call->loc, fmt::format("`{}` is not supported by nnport", q), "supported operations are listed by `nnport catalog`");
  }
  // objects that configure layers or training (keras_training.cc reads the training ones
  // from the syntax tree): no part of the model's graph
  if (qv.rfind("keras.initializers.", 0) == 0 || qv.rfind("keras.regularizers.", 0) == 0 ||
      qv.rfind("keras.constraints.", 0) == 0 || qv.rfind("keras.optimizers.", 0) == 0 ||
      qv.rfind("keras.losses.", 0) == 0 || qv.rfind("keras.metrics.", 0) == 0 || qv.rfind("keras.callbacks.", 0) == 0)
    return evaluate::unknown("`" + q + "(...)`", call->loc);
  if (qv.rfind("math.", 0) == 0) {
    std::string fn = q.substr(5);
    if (args.positional.empty()) fail(call->loc, "math." + fn + " needs an argument");
    const ValuePtr& v = args.positional[0];
    double x = v->kind == Kind::Int ? double(v->i) : v->kind == Kind::Float ? v->f : NAN;
    if (std::isnan(x)) in.unresolved(v, call, "the argument of math." + fn);
    if (fn == "sqrt") return evaluate::number(std::sqrt(x));
    if (fn == "ceil") return evaluate::integer((long long)std::ceil(x));
    if (fn == "floor") return evaluate::integer((long long)std::floor(x));
    return evaluate::unknown("math." + fn, call->loc);
  }
  auto match = catalog::Catalog::get().lookup("keras", q);
  if (!match) {
    if (qv.rfind("keras.", 0) == 0 || qv.rfind("tensorflow.", 0) == 0)
      fail(call->loc, fmt::format("`{}` is not supported by nnport", q),
           qv.rfind("keras.layers.", 0) == 0 ? "supported layers are listed by `nnport catalog`; rewrite this layer "
                                               "with supported ones"
                                             : "supported operations are listed by `nnport catalog`");
    return evaluate::unknown("`" + q + "(...)`", call->loc);
  }
  if (match->signature->takes_input) return functional_op(in, *match->op, *match->signature, args, call);
  return construct(in, q, *match->op, *match->signature, args, call);
}

pivot::Attr KerasFrontend::resolve_activation(Interpreter& in, const ValuePtr& v, syntax::Expr* at) {
  if (v->kind == Kind::None) return {};
  std::string name;
  if (v->kind == Kind::Str) name = v->text;
  else if (v->kind == Kind::Api) name = class_name(keras_canonical(v->text));
  else if (v->kind == Kind::Unknown) {
    // The value exists only at run time (read from a config file, an environment
    // variable...): the backend writes a helper that resolves it when the model is built.
    sink_.warn(at->loc, "this activation cannot be resolved statically; the migrated code looks it up by name "
                        "at run time");
    return Attr("runtime:");
  } else {
    fail(at->loc, fmt::format("activation {} is not supported by nnport", evaluate::repr(v)),
         "use an activation name (\"relu\") or a keras.activations function");
  }
  if (name == "linear" || name == "None") return {};
  auto it = kActivations.find(name);
  if (it == kActivations.end())
    fail(at->loc, fmt::format("activation `{}` is not supported by nnport", name),
         "supported activations are listed by `nnport catalog`");
  (void)in;
  return Attr(it->second);
}

ValuePtr KerasFrontend::construct(Interpreter& in, const std::string& q, const catalog::OpDef& def,
                                  const catalog::Signature& sig, Args& args, syntax::Expr* call) {
  std::string display = "layers." + class_name(q);
  Bound b = bind_arguments(sig, display, args, call);
  auto l = std::make_shared<pivot::Layer>();
  l->op = def.id;
  l->loc = call->loc;
  l->scope = in.int_locals();
  for (const auto& [n, v] : def.attrs) l->attrs[n] = v;
  int site = site_for(call, def.id);
  l->site = site;
  auto pc = std::make_shared<syntax::PivotCall>();
  pc->op = def.id;
  pc->site = site;
  auto here = [&](const BoundArg& a) { return a.expr ? a.expr : call; };
  auto keep_expr = [&](const std::string& attr, const BoundArg& a) {
    if (a.given && a.expr) pc->attrs.emplace_back(attr, syntax::ExprPtr(a.expr, [](syntax::Expr*) {}));
  };
  std::optional<bool> center, scale;
  for (const auto& [name, a] : b.args) {
    const catalog::Param* p = a.param;
    if (name == "name" && a.given && a.value->kind == Kind::Str) l->attrs["keras_name"] = a.value->text;
    if (p->dropped || p->default_only) continue;
    std::string_view cv = p->converter;
    if (cv.empty()) {  // (most parameters: before the converter names are compared)
      Attr value = constant(in, a, call, "`{}` of `{}`", name, display);
      if (p->attr.empty()) continue;
      l->attrs[p->attr] = value;
      keep_expr(p->attr, a);
      continue;
    }
    if (cv == "activation") {
      if (a.value->kind == Kind::Unknown && a.expr) keep_expr("actv_func", a);
      Attr act = resolve_activation(in, a.value, here(a));
      if (def.id == "relu") {  // the Activation layer: the layer is the activation
        if (act.is_none()) l->op = "identity";
        else l->op = act.as_str().rfind("runtime:", 0) == 0 ? "relu" : act.as_str();
        if (act.is_str() && act.as_str().rfind("runtime:", 0) == 0) l->attrs["actv_func"] = act;
        const auto* adef = catalog::Catalog::get().op(l->op);
        l->attrs.clear();
        for (const auto& [n, v] : adef->attrs) l->attrs[n] = v;
        if (l->op == "leaky_relu") l->attrs["negative_slope"] = Attr(0.2);  // keras.activations.leaky_relu
        if (l->op == "softmax" || l->op == "log_softmax") l->attrs["dim"] = Attr(-1);
        pc->op = l->op;
        keep_expr("activation", a);
      } else {
        l->attrs["actv_func"] = act;
        keep_expr("actv_func", a);
      }
      continue;
    }
    Attr value = constant(in, a, call, "`{}` of `{}`", name, display);
    if (cv == "keras_padding") {
      std::string t = value.is_str() ? value.as_str() : "";
      if (t != "same" && t != "valid")
        fail(here(a)->loc, fmt::format("padding={} of `{}` is not supported by nnport", pivot::to_python(value), display),
             "use padding='valid' or padding='same'");
      l->attrs["padding_type"] = value;
      l->attrs["padding_amount"] = Attr(0);
      keep_expr("padding_type", a);
    } else if (cv == "data_format") {
      if (!value.is_none() && value.as_str() != "channels_last")
        fail(here(a)->loc, fmt::format("data_format={} is not supported by nnport", pivot::to_python(value)),
             "nnport migrates channel-last Keras models (the Keras default)");
    } else if (cv == "keras_momentum") {
      // Keras: moving = momentum * moving + (1 - momentum) * batch; the pivot follows PyTorch.
      l->attrs["momentum"] = Attr(std::round((1.0 - value.as_number()) * 1e12) / 1e12);
      keep_expr("momentum", a);
    } else if (cv == "channel_axis") {
      if (!(value.is_int() && value.as_int() == -1))
        fail(here(a)->loc, fmt::format("BatchNormalization(axis={}) is not supported by nnport", pivot::to_python(value)),
             "nnport normalises over the last (channel) axis, the Keras default");
    } else if (cv == "norm_axis") {
      bool last = (value.is_int() && value.as_int() == -1) ||
                  (value.is_list() && value.as_list().size() == 1 && value.as_list()[0].is_int() &&
                   value.as_list()[0].as_int() == -1);
      if (!last)
        fail(here(a)->loc, fmt::format("LayerNormalization(axis={}) is not supported by nnport", pivot::to_python(value)),
             "nnport normalises over the last axis, the Keras default");
    } else if (cv == "center") {
      center = value.as_bool();
    } else if (cv == "scale") {
      scale = value.as_bool();
    } else if (cv == "recurrent_dropout") {
      if (value.as_number() != 0.0)
        sink_.warn(here(a)->loc, fmt::format("`dropout={}` of `{}` (dropout on the layer's inputs while training) "
                                             "has no PyTorch equivalent and is left out; add an nn.Dropout in front "
                                             "to keep it",
                                             pivot::to_python(value), display));
    } else if (cv == "relu_max_value") {
      if (!value.is_none()) {
        if (value.as_number() != 6.0)
          fail(here(a)->loc, "ReLU(max_value) other than 6 is not supported by nnport", "use max_value=6.0 (ReLU6) or none");
        l->op = "relu6";
        pc->op = "relu6";
      }
    } else if (cv == "relu_negative_slope") {
      if (value.as_number() != 0.0) {
        if (l->op == "relu6") fail(here(a)->loc, "ReLU with both max_value and negative_slope is not supported by nnport");
        l->op = "leaky_relu";
        pc->op = "leaky_relu";
        l->attrs["negative_slope"] = value;
      }
    } else if (cv == "input_shape" || cv == "batch_input_shape") {
      if (auto s = spec_from_shape(in, a.value, cv == "batch_input_shape", here(a))) specs_[l.get()] = {*s};
    } else if (cv == "input_dim") {
      if (!value.is_none()) specs_[l.get()] = {InputSpec{{value.as_int()}, "", "", here(a)->loc}};
    } else if (cv == "target_shape") {
      AttrList shape{Attr("batch")};
      for (auto d : value.as_ints()) shape.push_back(Attr(d));
      l->attrs["shape"] = Attr(shape);
    } else if (cv == "permute_dims") {
      AttrList dims{Attr(0)};
      for (auto d : value.as_ints()) dims.push_back(Attr(d));
      l->attrs["dims"] = Attr(dims);
    } else if (cv == "zero_padding") {
      int rank = def.rank;
      AttrList pads;
      std::vector<Attr> per_axis;
      if (value.is_int()) per_axis.assign(rank, value);
      else if (rank == 1 && value.as_list().size() == 2 && value.as_list()[0].is_int())
        per_axis = {value};  // ZeroPadding1D((before, after))
      else per_axis = value.as_list();
      if ((int)per_axis.size() != rank)
        fail(here(a)->loc, "padding must give one entry per spatial axis",
             "give an int, one int per axis, or a (before, after) pair per axis");
      for (const auto& p : per_axis) {
        if (p.is_int()) pads.push_back(Attr(AttrList{p, p}));
        else pads.push_back(p);
      }
      l->attrs["padding"] = Attr(pads);
      keep_expr("padding", a);
    } else {
      fail(call->loc, "internal: unknown Keras converter " + std::string(cv));
    }
  }
  if (center || scale) {  // BatchNormalization: PyTorch's affine covers both or neither
    if (center.value_or(true) != scale.value_or(true))
      fail(call->loc, "BatchNormalization with only one of center/scale is not supported by nnport",
           "PyTorch's affine=True learns both the shift and the scale");
    l->attrs["affine"] = Attr(center.value_or(true));
  }
  if (def.id == "layernorm" && !l->attrs["elementwise_affine"].as_bool() && l->attrs["bias"].as_bool())
    fail(call->loc, "LayerNormalization(center=True, scale=False) is not supported by nnport",
         "PyTorch's LayerNorm learns a bias only together with a scale");
  if (l->op.find("pool") != std::string::npos && l->op.rfind("global", 0) != 0 && l->op.rfind("adaptive", 0) != 0 &&
      l->attrs["stride_dim"].is_none())
    l->attrs["stride_dim"] = l->attrs["kernel_dim"];  // Keras: strides default to pool_size
  if (l->op.rfind("avgpool", 0) == 0) l->attrs["count_include_pad"] = Attr(false);  // TF averages real elements only
  if (l->op == "lstm" || l->op == "gru" || l->op == "rnn") {
    l->attrs["batch_first"] = Attr(true);
    if (l->op == "rnn" && l->attrs["nonlinearity"].as_str() != "tanh" && l->attrs["nonlinearity"].as_str() != "relu")
      fail(call->loc, "SimpleRNN activation other than tanh or relu is not supported by nnport",
           "PyTorch's nn.RNN runs tanh or relu; use one of them");
    for (const char* k : {"return_sequences", "return_state"})
      if (!l->attrs.count(k)) l->attrs[k] = Attr(false);
  }
  if (!call->pivot) call->pivot = pc;
  program_.sites[site].layers.push_back(l);
  return evaluate::layer(l);
}

ValuePtr KerasFrontend::bidirectional(Interpreter& in, Args& args, syntax::Expr* call) {
  if (args.positional.empty() || args.positional[0]->kind != Kind::Layer)
    fail(call->loc, "Bidirectional needs a recurrent layer as its first argument");
  pivot::LayerPtr inner = args.positional[0]->layer;
  if (inner->op != "lstm" && inner->op != "gru" && inner->op != "rnn")
    fail(call->loc, "Bidirectional wraps LSTM, GRU or SimpleRNN layers only", "wrap a recurrent layer");
  std::string merge = "concat";
  for (size_t i = 0; i < args.keywords.size(); ++i) {
    const auto& [k, v] = args.keywords[i];
    if (k == "merge_mode") {
      if (v->kind != Kind::Str) in.unresolved(v, call, "merge_mode");
      merge = v->text;
    } else if (k == "name") {
      if (v->kind == Kind::Str) inner->attrs["keras_name"] = v->text;
    } else if (k == "input_shape") {
      if (auto s = spec_from_shape(in, v, false, call)) specs_[inner.get()] = {*s};
    } else {
      fail(call->loc, fmt::format("Bidirectional(..., {}=...) is not supported by nnport", k));
    }
  }
  if (args.positional.size() > 1) merge = args.positional[1]->kind == Kind::Str ? args.positional[1]->text : merge;
  if (merge != "concat" && merge != "sum" && merge != "mul" && merge != "ave")
    fail(call->loc, fmt::format("Bidirectional merge_mode={} is not supported by nnport", merge),
         "use 'concat', 'sum', 'mul' or 'ave'");
  inner->attrs["bidirectional"] = Attr(true);
  inner->attrs["merge_mode"] = Attr(merge);
  int site = site_for(call, inner->op);
  inner->site = site;
  if (!call->pivot) {
    call->pivot = std::make_shared<syntax::PivotCall>();
    call->pivot->op = inner->op;
    call->pivot->site = site;
    // the wrapped layer's arguments (units, ...) are the wrapper's
    if (args.positional_exprs[0] && args.positional_exprs[0]->pivot)
      call->pivot->attrs = args.positional_exprs[0]->pivot->attrs;
  }
  program_.sites[site].layers.push_back(inner);
  return evaluate::layer(inner);
}

ValuePtr KerasFrontend::input(Interpreter& in, Args& args, syntax::Expr* call) {
  InputSpec s;
  s.loc = call->loc;
  auto kw = [&](const std::string& name, size_t pos) -> ValuePtr {
    for (auto& [k, v] : args.keywords)
      if (k == name) return v;
    return pos < args.positional.size() ? args.positional[pos] : nullptr;
  };
  ValuePtr shape = kw("shape", 0);
  if (!shape) shape = kw("input_shape", 99);
  bool with_batch = false;
  if (!shape) {
    shape = kw("batch_shape", 99);
    if (!shape) shape = kw("batch_input_shape", 99);
    with_batch = true;
  }
  if (!shape) fail(call->loc, "keras.Input needs a shape", "give shape=(...) without the batch axis");
  auto spec = spec_from_shape(in, shape, with_batch, call);
  if (!spec) fail(call->loc, "keras.Input needs a shape", "give shape=(...) without the batch axis");
  s.dims = spec->dims;
  if (ValuePtr d = kw("dtype", 2); d && d->kind == Kind::Str) s.dtype = d->text;
  if (ValuePtr n = kw("name", 5); n && n->kind == Kind::Str) s.name = n->text;
  pivot::Shape full{-1};
  full.insert(full.end(), s.dims.begin(), s.dims.end());
  int v = model_.new_value(full, s.name.empty() ? "inputs" : s.name);
  if (!s.dtype.empty()) model_.value(v).dtype = s.dtype;
  if (full.size() >= 3) model_.value(v).source_layout = pivot::Layout::ChannelsLast;
  symbolic_inputs_[v] = s;
  return evaluate::tensor(v);
}

void KerasFrontend::add_child(const pivot::LayerPtr& container, const ValuePtr& v, syntax::Expr* at) {
  if (v->kind == Kind::Tensor && symbolic_inputs_.count(v->tensor)) {  // keras.Input / InputLayer
    if (!container->children.empty()) fail(at->loc, "an Input can only come first in a Sequential model");
    specs_[container.get()] = {symbolic_inputs_[v->tensor]};
    return;
  }
  pivot::LayerPtr child;
  if (v->kind == Kind::Layer) child = v->layer;
  else if (v->kind == Kind::Instance && v->instance->layer) {
    child = v->instance->layer;
    instances_[child.get()] = v;
  }
  if (!child) fail(at->loc, fmt::format("expected a Keras layer here, got {}", evaluate::repr(v)));
  container->children.emplace_back(std::to_string(container->children.size()), child);
}

ValuePtr KerasFrontend::sequential(Interpreter& in, Args& args, syntax::Expr* call) {
  auto l = std::make_shared<pivot::Layer>();
  l->op = "sequential";
  l->loc = call->loc;
  int site = site_for(call, "sequential");
  l->site = site;
  ValuePtr list = args.positional.empty() ? nullptr : args.positional[0];
  for (auto& [k, v] : args.keywords)
    if (k == "layers") list = v;
  if (list && list->kind != Kind::None) {
    if (list->kind != Kind::List && list->kind != Kind::Tuple) in.unresolved(list, call, "the Sequential's layers");
    for (auto& v : *list->items) add_child(l, v, call);
  }
  if (!call->pivot) {
    call->pivot = std::make_shared<syntax::PivotCall>();
    call->pivot->op = "sequential";
    call->pivot->site = site;
  }
  program_.sites[site].layers.push_back(l);
  return evaluate::layer(l);
}

ValuePtr KerasFrontend::functional_model(Interpreter& in, Args& args, syntax::Expr* call) {
  ValuePtr inputs = args.positional.size() > 0 ? args.positional[0] : nullptr;
  ValuePtr outputs = args.positional.size() > 1 ? args.positional[1] : nullptr;
  std::string name;
  for (auto& [k, v] : args.keywords) {
    if (k == "inputs") inputs = v;
    else if (k == "outputs") outputs = v;
    else if (k == "name" && v->kind == Kind::Str) name = v->text;
  }
  if (!inputs || !outputs)
    fail(call->loc, "keras.Model(...) outside a subclass needs inputs and outputs (the functional API)");
  Functional f;
  f.name = name;
  f.inputs = tensors_of(in, inputs, call);
  f.outputs = tensors_of(in, outputs, call);
  for (int v : f.inputs) {
    if (!symbolic_inputs_.count(v)) fail(call->loc, "the functional model's inputs must be keras.Input tensors");
    f.input_names.push_back(model_.value(v).name);
  }
  // The layers the outputs depend on, in call order, become the model's children.
  std::vector<bool> live(model_.values.size(), false);
  for (int o : f.outputs) live[o] = true;
  std::vector<const pivot::Node*> used;
  for (auto it = model_.nodes.rbegin(); it != model_.nodes.rend(); ++it) {
    bool needed = false;
    for (int o : it->outputs) needed |= live[o];
    if (!needed) continue;
    for (int i : it->inputs) live[i] = true;
    used.push_back(&*it);
  }
  auto root = std::make_shared<pivot::Layer>();
  root->op = "functional";
  root->class_name = name;
  root->loc = call->loc;
  std::set<const pivot::Layer*> seen;
  for (auto it = used.rbegin(); it != used.rend(); ++it) {
    const pivot::Node* n = *it;
    if (n->kind != "call") continue;
    pivot::LayerPtr l = functional_layers_.at(n->id);
    if (!seen.insert(l.get()).second) continue;
    root->children.emplace_back(l->path, l);
  }
  int site = site_for(call, "functional");
  root->site = site;
  if (!call->pivot) {
    call->pivot = std::make_shared<syntax::PivotCall>();
    call->pivot->op = "functional";
    call->pivot->site = site;
  }
  program_.sites[site].layers.push_back(root);
  functional_[root.get()] = f;
  return evaluate::layer(root);
}

std::vector<int> KerasFrontend::tensors_of(Interpreter& in, const ValuePtr& v, syntax::Expr* at) {
  std::vector<int> out;
  if (v->kind == Kind::Tensor) out.push_back(v->tensor);
  else if (v->kind == Kind::List || v->kind == Kind::Tuple)
    for (auto& x : *v->items) out.push_back(tensor_id(in, x, at));
  else if (v->kind == Kind::Dict)
    for (auto& [k, x] : *v->dict) out.push_back(tensor_id(in, x, at));
  else
    in.unresolved(v, at, "the tensors");
  return out;
}

// ---- graph ---------------------------------------------------------------------------

ValuePtr KerasFrontend::call_layer(Interpreter& in, const ValuePtr& lv, Args& args, syntax::Expr* call) {
  const pivot::LayerPtr& l = lv->layer;
  for (auto& [k, v] : args.keywords)
    if (k != "training")
      fail(call->loc, fmt::format("calling a layer with `{}=` is not supported by nnport", k),
           k == "mask" ? "masking has no PyTorch equivalent nnport can write" : "");
  if (l->op == "sequential") {
    if (args.positional.size() != 1) fail(call->loc, "a Sequential model takes one input");
    return call_sequential(in, l, args.positional[0], call);
  }
  if (l->op == "submodel") return in.call(instance_of(l.get()), args, call);
  if (l->op == "functional") fail(call->loc, "calling a functional model inside another model is not supported yet",
                                     "inline its layers, or write it as a keras.Model subclass");
  if (args.positional.empty()) fail(call->loc, "a layer call needs an input");
  std::vector<int> inputs = tensors_of(in, args.positional[0], args.positional_exprs[0] ? args.positional_exprs[0] : call);
  bool multi = l->op == "concat" || l->op == "add" || l->op == "sub" || l->op == "mul";
  if (multi && inputs.size() < 2) fail(call->loc, "merge layers take a list of at least two tensors");
  if (!multi && inputs.size() != 1) fail(call->loc, "this layer takes one tensor");
  if (args.positional.size() > 1)
    fail(call->loc, "passing an initial state or extra tensors to a layer is not supported by nnport",
         "call the layer with its input only (zero initial state)");
  // Keras's BatchNormalization works on any rank: the pivot op follows the input's rank.
  if (l->op.rfind("batchnorm", 0) == 0) {
    size_t rank = model_.value(inputs[0]).shape.size();
    if (rank == 0) fail(call->loc, "BatchNormalization needs a known input shape", "give --input-shape");
    l->op = "batchnorm" + std::to_string(rank <= 3 ? 1 : rank - 2) + "d";
  }
  // Layers of a functional model are named as Keras names them (their `name=`, or the
  // class name in snake case with a counter).
  bool functional_call = l->path.empty() && chain_parent_.empty() && chain_index_ < 0;
  if (functional_call) {
    std::string base = l->attrs.count("keras_name") ? l->attrs["keras_name"].as_str() : "";
    if (base.empty()) {
      std::string q = catalog::Catalog::get().op(l->op)->keras_source.empty()
                          ? l->op
                          : class_name(catalog::Catalog::get().op(l->op)->keras_source[0].names[0]);
      if (l->op == "lstm" && l->attrs["bidirectional"].as_bool()) q = "Bidirectional";
      base = snake(q);
      int n = auto_names_[base]++;
      if (n > 0) base += "_" + std::to_string(n);
    }
    l->path = base;
    // Shape inference finds a layer through the model's module tree; until keras.Model(...)
    // gathers them, layers called in functional code hang off a scratch root.
    if (!scratch_root_) {
      scratch_root_ = std::make_shared<pivot::Layer>();
      scratch_root_->op = "functional";
    }
    if (!model_.root || model_.root == scratch_root_) model_.root = scratch_root_;
    scratch_root_->children.emplace_back(base, l);
  }
  bool recurrent = l->op == "lstm" || l->op == "gru" || l->op == "rnn";
  size_t outputs = recurrent ? keras_recurrent_outputs(*l) : 1;
  bool chained = !chain_parent_.empty() || chain_index_ >= 0;
  auto outs = append_node("call", l->op, l->path, {}, inputs, outputs, call, chained ? l->loc : call->loc);
  functional_layers_[model_.nodes.back().id] = l;
  return keras_outputs_value(outs);
}

ValuePtr KerasFrontend::functional_op(Interpreter& in, const catalog::OpDef& def, const catalog::Signature& sig,
                                      Args& args, syntax::Expr* call) {
  Bound b = bind_arguments(sig, "layers." + class_name(sig.names[0]), args, call);
  pivot::Attrs attrs;
  for (const auto& [n, v] : def.attrs) attrs[n] = v;
  std::vector<int> inputs;
  for (const auto& [name, a] : b.args) {
    if (a.param->converter == "tensors") {
      inputs = tensors_of(in, a.value, a.expr ? a.expr : call);
      continue;
    }
    if (a.param->dropped || a.param->default_only || a.param->attr.empty() || !a.param->converter.empty()) continue;
    attrs[a.param->attr] = constant(in, a, call, a.param->name);
  }
  if (inputs.size() < 2) fail(call->loc, "merge functions take a list of at least two tensors");
  auto outs = append_node("op", def.id, "", attrs, inputs, 1, call, call->loc);
  annotate_op(call, def.id);
  return evaluate::tensor(outs[0]);
}

// Classes nnport writes into Keras files it generates (see the Keras backend's helpers).
ValuePtr KerasFrontend::known_class(const std::string& name, const std::vector<ValuePtr>& bases) {
  bool layer = std::any_of(bases.begin(), bases.end(), [](const ValuePtr& b) {
    return b->kind == Kind::Api && (keras_canonical(b->text) == "keras.layers.Layer");
  });
  if (layer && (name == "AdaptiveAveragePooling2D" || name == "AdaptiveMaxPooling2D"))
    return evaluate::api("nnport.keras." + name);
  return nullptr;
}

// keras.ops functions that are tensor operations of the pivot.
ValuePtr KerasFrontend::ops_call(Interpreter& in, const std::string& fn, Args& args, syntax::Expr* call) {
  auto arg = [&](size_t pos, const std::string& name) -> ValuePtr {
    for (auto& [k, v] : args.keywords)
      if (k == name) return v;
    return pos < args.positional.size() ? args.positional[pos] : nullptr;
  };
  ValuePtr x = arg(0, "x");
  if (!x) fail(call->loc, "keras.ops." + fn + " needs a tensor");
  int t = tensor_id(in, x, call);
  auto constant_of = [&](const ValuePtr& v, const std::string& what) {
    Attr a;
    if (v && !evaluate::to_attr(v, a)) in.unresolved(v, call, what);
    return a;
  };
  std::string op;
  pivot::Attrs attrs;
  if (fn == "reshape") {
    op = "reshape";
    Attr shape = constant_of(arg(1, "newshape"), "the new shape");
    if (shape.is_none()) shape = constant_of(arg(1, "new_shape"), "the new shape");
    attrs["shape"] = Attr(AttrList(shape.as_list()));
    // reshape(x, (-1, n)) of every feature: a flatten (what nnport writes for torch.flatten)
    const auto& xs = model_.value(t).shape;
    auto dims = shape.as_list();
    long long rest = 1;
    for (size_t i = 1; i < xs.size(); ++i) rest = (xs[i] < 0 || rest < 0) ? -1 : rest * xs[i];
    if (dims.size() == 2 && dims[0].is_int() && dims[0].as_int() == -1 && dims[1].is_int() && rest >= 0 &&
        dims[1].as_int() == rest) {
      op = "flatten";
      attrs = {{"start_dim", Attr(1)}, {"end_dim", Attr(-1)}};
    }
  } else if (fn == "transpose") {
    op = "permute";
    attrs["dims"] = constant_of(arg(1, "axes"), "the axes");
  } else {
    op = "mean";
    attrs["dim"] = constant_of(arg(1, "axis"), "the axis");
    Attr keep = constant_of(arg(2, "keepdims"), "keepdims");
    attrs["keepdim"] = keep.is_none() ? Attr(false) : keep;
  }
  auto outs = append_node("op", op, "", attrs, {t}, 1, call, call->loc);
  annotate_op(call, op);
  return evaluate::tensor(outs[0]);
}

ValuePtr KerasFrontend::activation_call(Interpreter& in, const std::string& name, Args& args, syntax::Expr* call) {
  if (args.positional.empty()) fail(call->loc, "an activation function needs a tensor");
  std::string op = kActivations.at(name);
  pivot::Attrs attrs;
  for (const auto& [n, v] : catalog::Catalog::get().op(op)->attrs) attrs[n] = v;
  if (op == "leaky_relu") attrs["negative_slope"] = Attr(0.2);
  if (op == "softmax" || op == "log_softmax") attrs["dim"] = Attr(-1);
  for (auto& [k, v] : args.keywords) {
    Attr a;
    if (!evaluate::to_attr(v, a)) in.unresolved(v, call, k);
    if (k == "axis") attrs["dim"] = a;
    else if (k == "negative_slope" || k == "alpha") attrs[k] = a;
    else fail(call->loc, fmt::format("`{}=` of `{}` is not supported by nnport", k, name));
  }
  int x = tensor_id(in, args.positional[0], call);
  auto outs = append_node("op", op, "", attrs, {x}, 1, call, call->loc);
  annotate_op(call, op);
  return evaluate::tensor(outs[0]);
}

ValuePtr KerasFrontend::tensor_attribute(Interpreter& in, const ValuePtr& t, const std::string& name, syntax::Expr* at) {
  const auto& shape = model_.value(t->tensor).shape;
  if (name == "shape") {
    if (shape.empty()) return evaluate::unknown("the tensor's shape (give --input-shape)", at->loc);
    std::vector<ValuePtr> dims;
    for (size_t i = 0; i < shape.size(); ++i)
      dims.push_back(i == 0 || shape[i] < 0 ? evaluate::none() : evaluate::integer(shape[i]));
    return evaluate::tuple(dims);
  }
  if (name == "ndim") return evaluate::integer(shape.size());
  (void)in;
  return evaluate::method(t, name);
}

ValuePtr KerasFrontend::tensor_method(Interpreter& in, const ValuePtr& t, const std::string& name, Args& args,
                                      syntax::Expr* call) {
  (void)in, (void)t, (void)args;
  fail(call->loc, fmt::format("tensor method `.{}()` is not supported by nnport", name),
       "use keras.ops functions or layers");
}

ValuePtr KerasFrontend::layer_attribute(Interpreter& in, const ValuePtr& lv, const std::string& name, syntax::Expr* at) {
  const pivot::LayerPtr& l = lv->layer;
  if (const auto* def = catalog::Catalog::get().op(l->op))
    for (const auto& sig : def->keras_source)
      if (const auto* p = sig.find(name); p && !p->attr.empty()) {
        auto it = l->attrs.find(p->attr);
        if (it != l->attrs.end()) return evaluate::from_attr(it->second);
      }
  (void)in;
  (void)at;
  return evaluate::method(lv, name);
}

ValuePtr KerasFrontend::layer_method(Interpreter& in, const ValuePtr& lv, const std::string& name, Args& args,
                                     syntax::Expr* call) {
  const pivot::LayerPtr& l = lv->layer;
  if (name == "add" && l->op == "sequential") {
    if (args.positional.size() != 1) fail(call->loc, "Sequential.add takes one layer");
    add_child(l, args.positional[0], args.positional_exprs[0] ? args.positional_exprs[0] : call);
    return evaluate::none();
  }
  if (name == "build") {
    ValuePtr shape = args.positional.empty() ? nullptr : args.positional[0];
    for (auto& [k, v] : args.keywords)
      if (k == "input_shape") shape = v;
    if (!shape) fail(call->loc, "build() needs an input shape");
    std::vector<InputSpec> specs;
    bool several = shape->kind == Kind::List && !shape->items->empty() &&
                   ((*shape->items)[0]->kind == Kind::Tuple || (*shape->items)[0]->kind == Kind::List);
    if (several) {
      for (auto& s : *shape->items)
        if (auto sp = spec_from_shape(in, s, true, call)) specs.push_back(*sp);
    } else if (auto sp = spec_from_shape(in, shape, true, call)) {
      specs.push_back(*sp);
    }
    specs_[l.get()] = specs;
    return evaluate::none();
  }
  if (name == "summary" || name == "compile" || name == "fit" || name == "evaluate" || name == "predict" ||
      name == "save" || name == "save_weights" || name == "load_weights")
    return evaluate::none();  // not part of the model's definition
  fail(call->loc, fmt::format("`.{}()` on a Keras {} is not supported by nnport", name, l->op));
}

bool KerasFrontend::layer_is(const ValuePtr& lv, const std::string& qualified) {
  auto match = catalog::Catalog::get().lookup("keras", keras_canonical(qualified));
  return match && match->op->id == lv->layer->op;
}

}  // namespace nnport::frontends
