#include "backends/keras/keras_backend.h"

#include <fmt/format.h>

#include <functional>
#include <optional>
#include <set>

#include "backends/common/graph_index.h"
#include "backends/keras/keras_helpers.h"
#include "backends/keras/keras_training.h"
#include "catalog/catalog.h"
#include "passes/shapes.h"
#include "syntax/arena.h"
#include "syntax/parse.h"
#include "syntax/print.h"

namespace nnport::backends {

using pivot::Attr;
using pivot::LayerPtr;
using syntax::Argument;
using syntax::Expr;
using syntax::ExprKind;
using syntax::ExprPtr;
using syntax::Stmt;
using syntax::StmtKind;
using syntax::StmtPtr;

namespace {

const std::set<std::string> kReservedModelAttributes = {
    "layers", "weights", "name", "trainable", "dtype", "input", "output", "variables",
    "losses", "metrics", "built", "optimizer", "inputs", "outputs", "compiled_loss"};

// Keras Permute takes the permutation without the batch axis, 1-based.
ExprPtr keras_permute_dims(const std::vector<int>& p) {
  std::vector<ExprPtr> items;
  for (size_t i = 1; i < p.size(); ++i) items.push_back(syntax::int_lit(p[i]));
  return syntax::tuple(items);
}

class Emitter {
 public:
  Emitter(pivot::Program& p, pivot::Model& m, const passes::LayoutPlan& lp, const EmitOptions& o, DiagnosticSink& s)
      : P(p), M(m), LP(lp), opt(o), sink(s), graph_(m) {
    for (size_t i = 0; i < P.sites.size(); ++i) site_of_[P.sites[i].call] = static_cast<int>(i);
    collect_framework_names();
    choose_spellings();
    classify_classes();
    find_state_users();
  }

  syntax::Module run() {
    syntax::Module out;
    out.file = P.module.file;
    std::string root_var = root_variable();
    bool seq_target = opt.style == "sequential";
    bool seq_source = M.root->op == "sequential";
    if (seq_target && !seq_source) check_chain();
    std::vector<StmtPtr> body;
    for (const auto& s : P.module.body) {
      if (is_framework_import(*s)) continue;
      if (s->kind == StmtKind::ClassDef &&
          std::count(P.helper_classes.begin(), P.helper_classes.end(), s->name))  // nnport's PyTorch helpers
        continue;
      if (s->kind == StmtKind::ClassDef && s->name == M.root->class_name && !seq_source && seq_target) {
        body.push_back(sequential_factory(*s));
        continue;
      }
      if (seq_source && !seq_target && !root_var.empty() && s->kind == StmtKind::Assign && s->targets.size() == 1 &&
          s->targets[0]->kind == ExprKind::Name && s->targets[0]->name == root_var) {
        for (auto& x : subclass_from_sequential(*s, root_var)) body.push_back(x);
        continue;
      }
      for (auto& x : translate_stmt_guarded(s, Ctx{})) body.push_back(x);
    }
    // imports first, then helper layers, then the translated file
    std::vector<StmtPtr> helpers = helper_classes();  // before the imports: they use layers and ops
    std::vector<StmtPtr> head;
    auto imp = syntax::new_stmt();
    imp->kind = StmtKind::Import;
    imp->names = {{"keras", ""}};
    head.push_back(imp);
    std::vector<std::pair<std::string, std::string>> from_names;
    if (need_layers_ && layers_name_ == "layers") from_names.push_back({"layers", ""});
    if (need_ops_ && ops_name_ == "ops") from_names.push_back({"ops", ""});
    if (!from_names.empty()) {
      auto f = syntax::new_stmt();
      f->kind = StmtKind::ImportFrom;
      f->module = "keras";
      f->names = from_names;
      head.push_back(f);
    }
    head[0]->leading_comments = {"# " + opt.header};
    // keep the source's other imports (math, typing, ...) right after ours
    std::vector<StmtPtr> rest;
    bool has_math = false;
    for (auto& s : body) {
      if (s->kind == StmtKind::Import || s->kind == StmtKind::ImportFrom) head.push_back(s);
      else rest.push_back(s);
      if (s->kind == StmtKind::Import)
        for (auto& [n, as] : s->names) has_math = has_math || (n == "math" && as.empty());
    }
    if (!has_math) {  // a learning-rate schedule's closed form may use it; dropped below if unused
      auto math = syntax::new_stmt();
      math->kind = StmtKind::Import;
      math->names = {{"math", ""}};
      head.push_back(math);
    }
    sort_imports(head);
    for (auto& h : helpers) head.push_back(h);
    // the module docstring stays first, under the header comment
    if (!rest.empty() && rest[0]->kind == StmtKind::Expr && rest[0]->value && rest[0]->value->kind == ExprKind::String) {
      rest[0]->leading_comments.insert(rest[0]->leading_comments.begin(), head[0]->leading_comments.begin(),
                                       head[0]->leading_comments.end());
      head[0]->leading_comments.clear();
      head.insert(head.begin(), rest[0]);
      rest.erase(rest.begin());
    }
    one_line_after_imports(rest);
    out.body = head;
    out.body.insert(out.body.end(), rest.begin(), rest.end());
    drop_unused_imports(out);
    return out;
  }

 private:
  struct Ctx {
    bool in_forward = false;
    bool in_model_class = false;
    const std::set<std::string>* allowed = nullptr;  // flat emission: names usable in expressions
    std::vector<StmtPtr>* pre = nullptr;             // statements to insert before the current one
    const Stmt* function = nullptr;
  };

  pivot::Program& P;
  pivot::Model& M;
  const passes::LayoutPlan& LP;
  EmitOptions opt;
  DiagnosticSink& sink;
  GraphIndex graph_;
  SiteIndex site_of_;
  std::set<std::string> fw_names_;
  std::string layers_name_ = "layers", ops_name_ = "ops";
  bool need_layers_ = false, need_ops_ = false;
  std::set<std::string> helpers_;
  std::set<std::string> training_helpers_;  // helper optimizers of the training code (TorchRMSprop)
  std::set<std::string> inner_classes_;
  std::set<std::string> state_users_;  // recurrent layer paths whose state outputs are used

  // ---- setup -------------------------------------------------------------------------

  void collect_framework_names() {
    for (const auto& s : P.module.body) {
      if (s->kind == StmtKind::Import)
        for (auto& [n, as] : s->names)
          if (n == "torch" || n.rfind("torch.", 0) == 0) fw_names_.insert(as.empty() ? n.substr(0, n.find('.')) : as);
      if (s->kind == StmtKind::ImportFrom && (s->module == "torch" || s->module.rfind("torch.", 0) == 0 ||
                                              (s->module == "collections")))
        for (auto& [n, as] : s->names)
          if (s->module != "collections" || n == "OrderedDict") fw_names_.insert(as.empty() ? n : as);
    }
  }

  bool is_framework_import(const Stmt& s) {
    if (s.kind == StmtKind::Import) {
      for (auto& [n, as] : s.names)
        if (!(n == "torch" || n.rfind("torch.", 0) == 0)) return false;
      return true;
    }
    if (s.kind == StmtKind::ImportFrom) {
      if (s.module == "torch" || s.module.rfind("torch.", 0) == 0) return true;
      if (s.module == "collections")
        return std::all_of(s.names.begin(), s.names.end(), [](auto& n) { return n.first == "OrderedDict"; });
    }
    return false;
  }

  // Name legalisation: `layers` / `ops` spell Keras modules unless the source uses them.
  void choose_spellings() {
    bool layers = false, ops = false;  // (a set of every name of a large file cost more than the walk)
    auto see = [&](const std::string& n) {
      layers = layers || n == "layers";
      ops = ops || n == "ops";
    };
    std::function<void(const std::vector<StmtPtr>&)> walk = [&](const std::vector<StmtPtr>& b) {
      for (auto& s : b) {
        for (auto& t : s->targets) for_each_name(t, see);
        for_each_name(s->value, see);
        for (auto& p : s->params) see(p.name);
        see(s->name);
        walk(s->body);
        walk(s->orelse);
      }
    };
    walk(P.module.body);
    if (layers) layers_name_ = "keras.layers";
    if (ops) ops_name_ = "keras.ops";
  }

  void classify_classes() {
    // classes instantiated inside other model classes are building blocks (keras.layers.Layer)
    const std::set<std::string> models(P.model_classes.begin(), P.model_classes.end());
    for (const auto& s : P.module.body) {
      if (s->kind != StmtKind::ClassDef) continue;
      auto see = [&](const std::string& n) {
        if (n != s->name && models.count(n)) inner_classes_.insert(n);
      };
      std::function<void(const std::vector<StmtPtr>&)> walk = [&](const std::vector<StmtPtr>& b) {
        for (auto& x : b) {
          for_each_name(x->value, see);
          for (auto& t : x->targets) for_each_name(t, see);
          walk(x->body);
          walk(x->orelse);
        }
      };
      walk(s->body);
    }
  }

  void find_state_users() {
    std::map<int, int> uses;
    for (const auto& n : M.nodes)
      for (int v : n.inputs) uses[v]++;
    for (int v : M.outputs) uses[v]++;
    for (const auto& n : M.nodes)
      if (n.kind == "call" && (n.op == "lstm" || n.op == "gru" || n.op == "rnn"))
        for (size_t i = 1; i < n.outputs.size(); ++i)
          if (uses[n.outputs[i]]) state_users_.insert(n.module);
  }

  std::string root_variable() {
    // the module-level name the entry refers to (`model`), when the entry is a name
    const std::string& e = M.entry;
    if (!e.empty() && std::all_of(e.begin(), e.end(), [](char c) { return std::isalnum((unsigned char)c) || c == '_'; }))
      return e;
    return "";
  }

  // ---- spelling helpers --------------------------------------------------------------

  ExprPtr L(const std::string& cls) {
    need_layers_ = true;
    return syntax::dotted(layers_name_ + "." + cls);
  }
  ExprPtr O(const std::string& fn) {
    need_ops_ = true;
    return syntax::dotted(ops_name_ + "." + fn);
  }
  ExprPtr layer_call(const std::string& cls, std::vector<Argument> args) { return syntax::call(L(cls), std::move(args)); }
  ExprPtr sequential(std::vector<ExprPtr> items) {
    return syntax::call(syntax::dotted("keras.Sequential"), {syntax::pos(syntax::list(std::move(items)))});
  }
  ExprPtr permute_layer(const std::vector<int>& perm) { return layer_call("Permute", {syntax::pos(keras_permute_dims(perm))}); }
  ExprPtr transpose_call(ExprPtr x, const std::vector<int>& perm) {
    return syntax::call(O("transpose"), {syntax::pos(std::move(x)), syntax::pos(perm_expr(perm))});
  }

  // ---- attribute values --------------------------------------------------------------

  // The value of a pivot attribute for a set of layer instances: its source expression
  // when that can be reused here, else the concrete value shared by every instance.
  struct AttrChoice {
    ExprPtr expr;
    std::optional<Attr> value;
  };

  ExprPtr source_expr(const syntax::PivotCall* pc, const std::string& attr) {
    if (!pc) return nullptr;
    for (auto& [k, e] : pc->attrs)
      if (k == attr) return e;
    return nullptr;
  }

  bool reusable(const ExprPtr& e, const Ctx& ctx) {
    std::set<std::string> names;
    collect_names(e, names);
    for (auto& n : names) {
      if (fw_names_.count(n)) return false;
      if (ctx.allowed && !ctx.allowed->count(n)) return false;
    }
    return true;
  }

  std::optional<Attr> consistent(const std::vector<LayerPtr>& inst, const std::string& attr,
                                 const syntax::PivotCall* pc, const std::string& op) {
    if (inst.empty()) {
      ExprPtr e = source_expr(pc, attr);
      if (e && is_literal(e)) return literal_value(e);
      if (e) return std::nullopt;
      const auto* def = catalog::Catalog::get().op(op);
      for (auto& [n, v] : def->attrs)
        if (n == attr) return v;
      return Attr();
    }
    auto get = [&](const LayerPtr& l) {
      auto it = l->attrs.find(attr);
      return it == l->attrs.end() ? Attr() : it->second;
    };
    Attr first = get(inst[0]);
    for (auto& l : inst)
      if (get(l) != first) return std::nullopt;
    return first;
  }

  Attr literal_value(const ExprPtr& e) {
    switch (e->kind) {
      case ExprKind::Int: return Attr(e->int_value);
      case ExprKind::Float: return Attr(e->float_value);
      case ExprKind::String: return Attr(e->text);
      case ExprKind::Bool: return Attr(e->bool_value);
      case ExprKind::None: return Attr();
      case ExprKind::UnaryOp: {
        Attr a = literal_value(e->object);
        return a.is_int() ? Attr(-a.as_int()) : Attr(-a.as_number());
      }
      default: {
        pivot::AttrList l;
        for (auto& x : e->items) l.push_back(literal_value(x));
        return Attr(l);
      }
    }
  }

  Attr require(const std::vector<LayerPtr>& inst, const std::string& attr, const syntax::PivotCall* pc,
               const std::string& op, const Location& loc) {
    auto v = consistent(inst, attr, pc, op);
    if (!v)
      throw NotTranslatable{loc, fmt::format("`{}` differs between the layers built here and Keras needs one value", attr)};
    return *v;
  }

  // Generic mapping of one Keras parameter fed by a pivot attribute.
  void generic_param(std::vector<Argument>& args, bool& positional_ok, const catalog::Param& kp,
                     const std::vector<LayerPtr>& inst, const syntax::PivotCall* pc, const std::string& op,
                     const Ctx& ctx, const Location& loc) {
    if (kp.attr.empty()) return;
    ExprPtr e = source_expr(pc, kp.attr);
    Attr kdefault = kp.default_value ? *kp.default_value : Attr();
    ExprPtr out;
    if (e && reusable(e, ctx)) {
      if (is_literal(e) && kp.default_value && literal_value(e) == kdefault) {
        positional_ok = false;
        return;
      }
      out = syntax::clone(e);
    } else {
      Attr v = require(inst, kp.attr, pc, op, loc);
      if (kp.default_value && v == kdefault) {
        positional_ok = false;
        return;
      }
      out = literal(v);
    }
    if (kp.positional && positional_ok) args.push_back(syntax::pos(out));
    else {
      positional_ok = false;
      args.push_back(syntax::kw(kp.name, out));
    }
  }

  // ---- layers ------------------------------------------------------------------------

  // Keras padding for a sliding window: "same"/"valid", or explicit amounts that need a
  // ZeroPadding layer in front (returned in `pre_pad`).
  std::string window_padding(const std::string& op, int rank, const std::vector<LayerPtr>& inst,
                             const syntax::PivotCall* pc, const Location& loc, std::vector<long long>& pre_pad) {
    Attr type = require(inst, "padding_type", pc, op, loc);
    std::string t = type.is_str() ? type.as_str() : "explicit";
    if (t == "same" || t == "valid") return t;
    auto p = passes::expand(require(inst, "padding_amount", pc, op, loc), rank, 0);
    if (std::all_of(p.begin(), p.end(), [](long long x) { return x == 0; })) return "valid";
    auto k = passes::expand(require(inst, "kernel_dim", pc, op, loc), rank, 1);
    // a stride that differs between instances (a helper called with stride=1 and 2)
    // rules out "same", but explicit zero padding is exact for every stride
    auto sa = consistent(inst, "stride_dim", pc, op);
    auto s = sa ? passes::expand(*sa, rank, 1) : std::vector<long long>(rank, 0);
    auto d = op.rfind("conv", 0) == 0 ? passes::expand(require(inst, "dilation", pc, op, loc), rank, 1)
                                      : std::vector<long long>(rank, 1);
    bool same = true;
    for (int i = 0; i < rank; ++i) same &= s[i] == 1 && 2 * p[i] == d[i] * (k[i] - 1);
    bool is_max = op.rfind("maxpool", 0) == 0;
    bool is_avg = op.rfind("avgpool", 0) == 0;
    bool include_pad = is_avg && require(inst, "count_include_pad", pc, op, loc).as_bool();
    // TensorFlow's "same" pads symmetrically when the stride is 1 and the window odd; max
    // pooling then ignores the padding like PyTorch's -inf, average pooling excludes it.
    if (same && !include_pad) return "same";
    if (is_max)
      throw NotTranslatable{loc, "max pooling with explicit padding other than 'same' (PyTorch pads with -inf; "
                                 "Keras has no such padding)"};
    pre_pad = p;
    return "valid";
  }

  std::vector<ExprPtr> emit_layer(const std::string& op, const std::vector<LayerPtr>& inst,
                                  const syntax::PivotCall* pc, const Location& loc, const Ctx& ctx) {
    const auto& cat = catalog::Catalog::get();
    const catalog::OpDef* def = cat.op(op);
    std::vector<ExprPtr> out;
    auto generic = [&](const std::string& cls, const catalog::Signature& sig,
                       const std::map<std::string, ExprPtr>& overrides) {
      std::vector<Argument> args;
      bool positional_ok = true;
      for (const auto& kp : sig.params) {
        auto it = overrides.find(kp.name);
        if (it != overrides.end()) {
          if (!it->second) {
            positional_ok = positional_ok && !kp.positional ? positional_ok : false;
            continue;
          }
          if (kp.positional && positional_ok) args.push_back(syntax::pos(it->second));
          else {
            positional_ok = false;
            args.push_back(syntax::kw(kp.name, it->second));
          }
          continue;
        }
        if (!kp.converter.empty()) continue;  // converters without an override: nothing to say
        generic_param(args, positional_ok, kp, inst, pc, op, ctx, loc);
      }
      return layer_call(cls, args);
    };
    auto keras_class = [&](const catalog::Signature& sig) {
      const std::string& n = sig.names.at(0);
      return n.substr(n.rfind('.') + 1);
    };

    if (def->kind == "activation") {
      out.push_back(emit_activation_layer(*def, inst, pc, loc, ctx));
      return out;
    }
    if (op.rfind("conv", 0) == 0 || op.rfind("maxpool", 0) == 0 || op.rfind("avgpool", 0) == 0) {
      int rank = def->rank;
      std::vector<long long> pad;
      std::string padding = window_padding(op, rank, inst, pc, loc, pad);
      if (op.find("pool") != std::string::npos) check_ceil_mode(op, rank, inst, pc, loc);
      if (!pad.empty())
        out.push_back(layer_call("ZeroPadding" + std::to_string(rank) + "D", {syntax::pos(ints_expr(pad, true))}));
      std::map<std::string, ExprPtr> ov;
      ov["padding"] = padding == "valid" ? nullptr : syntax::str_lit(padding);
      ov["data_format"] = nullptr;
      if (op.find("pool") != std::string::npos) {
        Attr k = require(inst, "kernel_dim", pc, op, loc), s = require(inst, "stride_dim", pc, op, loc);
        if (passes::expand(k, rank, 1) == passes::expand(s, rank, 1)) ov["strides"] = nullptr;
        else {
          ExprPtr se = source_expr(pc, "stride_dim");
          ov["strides"] = se && reusable(se, ctx) ? syntax::clone(se) : literal(s);
        }
      }
      out.push_back(generic(keras_class(def->keras[0]), def->keras[0], ov));
      return out;
    }
    if (op.rfind("adaptive_", 0) == 0) {
      Attr od = require(inst, "output_dim", pc, op, loc);
      bool is_max = op.find("max") != std::string::npos;
      auto dims = passes::expand(od, def->rank, -1);
      if (std::all_of(dims.begin(), dims.end(), [](long long x) { return x == 1; })) {
        out.push_back(layer_call(std::string(is_max ? "GlobalMaxPooling" : "GlobalAveragePooling") +
                                     std::to_string(def->rank) + "D",
                                 {syntax::kw("keepdims", syntax::bool_lit(true))}));
        return out;
      }
      if (def->rank != 2) throw NotTranslatable{loc, "adaptive pooling to sizes other than 1 is only supported in 2-D"};
      std::string cls = is_max ? "AdaptiveMaxPooling2D" : "AdaptiveAveragePooling2D";
      helpers_.insert(cls);
      ExprPtr e = source_expr(pc, "output_dim");
      ExprPtr arg = e && reusable(e, ctx) ? syntax::clone(e) : literal(od);
      out.push_back(syntax::call(syntax::name(cls), {syntax::pos(arg)}));
      return out;
    }
    if (op.rfind("batchnorm", 0) == 0) {
      std::map<std::string, ExprPtr> ov;
      ov["axis"] = nullptr;  // channel-last inside the migrated model: Keras's default axis
      // Keras's momentum weighs the old running value; PyTorch's the new batch statistic.
      ExprPtr me = source_expr(pc, "momentum");
      Attr m = require(inst, "momentum", pc, op, loc);
      if (m.is_none()) throw NotTranslatable{loc, "BatchNorm with momentum=None (cumulative average)"};
      if (me && !is_literal(me) && reusable(me, ctx))
        ov["momentum"] = syntax::binop(syntax::int_lit(1), "-", syntax::clone(me));
      else
        ov["momentum"] = syntax::float_lit(std::round((1.0 - m.as_number()) * 1e12) / 1e12);
      if (!require(inst, "track_running_stats", pc, op, loc).as_bool())
        throw NotTranslatable{loc, "BatchNorm without running statistics"};
      out.push_back(generic("BatchNormalization", def->keras[0], ov));
      return out;
    }
    if (op == "layernorm") {
      auto ns = require(inst, "normalized_shape", pc, op, loc).as_ints();
      std::map<std::string, ExprPtr> ov;
      if (ns.size() <= 1) ov["axis"] = nullptr;
      else {
        std::vector<ExprPtr> axes;
        for (long long i = -(long long)ns.size(); i < 0; ++i) axes.push_back(syntax::int_lit(i));
        ov["axis"] = syntax::tuple(axes);
      }
      bool affine = require(inst, "elementwise_affine", pc, op, loc).as_bool();
      bool bias = require(inst, "bias", pc, op, loc).as_bool();
      ov["center"] = affine && bias ? nullptr : syntax::bool_lit(false);
      ov["scale"] = affine ? nullptr : syntax::bool_lit(false);
      out.push_back(generic("LayerNormalization", def->keras[0], ov));
      return out;
    }
    if (op == "permute") {  // nnport's Permute module: its dims include the batch axis
      auto dims = require(inst, "dims", pc, op, loc).as_ints();
      out.push_back(permute_layer(std::vector<int>(dims.begin(), dims.end())));
      return out;
    }
    if (op == "reshape") {  // nnport's Reshape module: its shape starts with the batch axis
      const auto& shape = require(inst, "shape", pc, op, loc).as_list();
      std::vector<ExprPtr> dims;
      for (size_t i = 1; i < shape.size(); ++i) dims.push_back(literal(shape[i]));
      out.push_back(layer_call("Reshape", {syntax::pos(syntax::tuple(dims))}));
      return out;
    }
    if (op == "flatten") {
      Attr sd = require(inst, "start_dim", pc, op, loc), ed = require(inst, "end_dim", pc, op, loc);
      if (sd.as_int() != 1 || ed.as_int() != -1)
        throw NotTranslatable{loc, "nn.Flatten with start_dim/end_dim other than 1/-1"};
      out.push_back(layer_call("Flatten", {}));
      return out;
    }
    if (op == "embedding") {
      Attr pi = require(inst, "padding_idx", pc, op, loc);
      if (!pi.is_none())
        sink.warn(loc, "`padding_idx` has no Keras equivalent: the forward pass is the same, but the padding "
                       "row is not kept at zero during training");
      out.push_back(generic("Embedding", def->keras[0], {}));
      return out;
    }
    if (op == "lstm" || op == "gru" || op == "rnn") {
      out.push_back(emit_recurrent(op, inst, pc, loc, ctx));
      return out;
    }
    if (def->keras.empty()) throw NotTranslatable{loc, fmt::format("`{}` has no Keras form in the catalog", op)};
    out.push_back(generic(keras_class(def->keras[0]), def->keras[0], {}));
    return out;
  }

  void check_ceil_mode(const std::string& op, int rank, const std::vector<LayerPtr>& inst, const syntax::PivotCall* pc,
                       const Location& loc) {
    auto c = consistent(inst, "ceil_mode", pc, op);
    if (!c || !c->as_bool()) return;
    // ceil_mode only matters when the last window would start inside the padded input
    for (const auto& l : inst) {
      if (l->input_shape.size() != (size_t)rank + 2) throw NotTranslatable{loc, "ceil_mode=True with unknown input size"};
      auto k = passes::expand(l->attrs["kernel_dim"], rank, 1), s = passes::expand(l->attrs["stride_dim"], rank, 1),
           p = passes::expand(l->attrs["padding_amount"], rank, 0);
      for (int i = 0; i < rank; ++i) {
        long long in = l->input_shape[2 + i];
        if (in < 0 || (in + 2 * p[i] - k[i]) % s[i] != 0)
          throw NotTranslatable{loc, "ceil_mode=True changes the output size here; Keras pooling has no ceil mode"};
      }
    }
  }

  ExprPtr emit_activation_layer(const catalog::OpDef& def, const std::vector<LayerPtr>& inst,
                                const syntax::PivotCall* pc, const Location& loc, const Ctx& ctx) {
    const std::string& op = def.id;
    auto num_arg = [&](const std::string& attr) {
      ExprPtr e = source_expr(pc, attr);
      if (e && reusable(e, ctx)) return syntax::clone(e);
      return literal(require(inst, attr, pc, op, loc));
    };
    if (op == "relu") return layer_call("ReLU", {});
    if (op == "relu6") return layer_call("ReLU", {syntax::kw("max_value", syntax::float_lit(6.0))});
    if (op == "leaky_relu") return layer_call("LeakyReLU", {syntax::kw("negative_slope", num_arg("negative_slope"))});
    if (op == "elu") {
      Attr a = require(inst, "alpha", pc, op, loc);
      if (a.as_number() == 1.0) return layer_call("ELU", {});
      return layer_call("ELU", {syntax::kw("alpha", num_arg("alpha"))});
    }
    if (op == "softmax") {
      int axis = softmax_axis(inst, pc, op, loc);
      if (axis == -1) return layer_call("Softmax", {});
      return layer_call("Softmax", {syntax::kw("axis", syntax::int_lit(axis))});
    }
    check_activation_args(op, inst, pc, loc);
    return layer_call("Activation", {syntax::pos(syntax::str_lit(def.keras_activation))});
  }

  void check_activation_args(const std::string& op, const std::vector<LayerPtr>& inst, const syntax::PivotCall* pc,
                             const Location& loc) {
    if (op == "gelu" && require(inst, "approximate", pc, op, loc).as_str() != "none")
      throw NotTranslatable{loc, "GELU(approximate='tanh')"};
    if (op == "softplus" && require(inst, "beta", pc, op, loc).as_number() != 1.0)
      throw NotTranslatable{loc, "Softplus with beta other than 1"};
    if (op == "hardtanh" && (require(inst, "min_val", pc, op, loc).as_number() != -1.0 ||
                             require(inst, "max_val", pc, op, loc).as_number() != 1.0))
      throw NotTranslatable{loc, "Hardtanh with bounds other than (-1, 1)"};
    if (op == "log_softmax") {
      int axis = softmax_axis(inst, pc, op, loc);
      if (axis != -1) throw NotTranslatable{loc, "LogSoftmax over an axis other than the last"};
    }
  }

  // Softmax's axis in the migrated model; -1 when it is the last axis. PyTorch's
  // implicit dim (None) is 0 for 0-, 1- and 3-D inputs and 1 otherwise.
  int softmax_axis(const std::vector<LayerPtr>& inst, const syntax::PivotCall* pc, const std::string& op,
                   const Location& loc) {
    std::optional<int> axis;
    for (const auto& l : inst) {
      Attr d = l->attrs["dim"];
      size_t rank = l->input_shape.size();
      if (rank == 0) continue;  // never called for this entry (or shape unknown): judged below
      long long dim = d.is_none() ? ((rank == 0 || rank == 1 || rank == 3) ? 0 : 1) : d.as_int();
      if (dim < 0) dim += rank;
      int a = dim == (long long)rank - 1 ? -1 : (int)dim;
      if (axis && *axis != a) throw NotTranslatable{loc, "softmax axis differs between the layers built here"};
      axis = a;
    }
    if (!axis) {
      Attr d = require(inst, "dim", pc, op, loc);
      if (d.is_int() && d.as_int() == -1) return -1;
      throw NotTranslatable{loc, "softmax over an axis that depends on an input rank nnport does not know "
                                 "(give --input-shape, or dim=-1)"};
    }
    return *axis;
  }

  ExprPtr emit_recurrent(const std::string& op, const std::vector<LayerPtr>& inst, const syntax::PivotCall* pc,
                         const Location& loc, const Ctx& ctx) {
    if (require(inst, "batch_first", pc, op, loc).as_bool() == false)
      throw NotTranslatable{loc, "recurrent layers with batch_first=False (time-major input) are not supported yet; "
                                 "use batch_first=True"};
    long long layers_n = require(inst, "num_layers", pc, op, loc).as_int();
    bool bidir = require(inst, "bidirectional", pc, op, loc).as_bool();
    bool bias = require(inst, "bias", pc, op, loc).as_bool();
    double dropout = require(inst, "dropout", pc, op, loc).as_number();
    bool state = false;
    for (const auto& l : inst) state |= state_users_.count(l->path) > 0;
    bool keras_outputs = inst[0]->attrs.count("return_sequences") > 0;
    if (state && (layers_n > 1 || bidir) && !keras_outputs)
      throw NotTranslatable{loc, "using the final states of a multi-layer or bidirectional recurrent layer"};
    ExprPtr units;
    if (ExprPtr e = source_expr(pc, "hidden_size"); e && reusable(e, ctx)) units = syntax::clone(e);
    else units = literal(require(inst, "hidden_size", pc, op, loc));
    std::string cls = op == "lstm" ? "LSTM" : op == "gru" ? "GRU" : "SimpleRNN";
    if (inst[0]->attrs.count("return_sequences")) {
      // Keras's own outputs already (nnport's KerasLSTM helpers in a migrated file)
      std::vector<Argument> args{syntax::pos(syntax::clone(units))};
      if (op == "rnn" && require(inst, "nonlinearity", pc, op, loc).as_str() == "relu")
        args.push_back(syntax::kw("activation", syntax::str_lit("relu")));
      if (!bias) args.push_back(syntax::kw("use_bias", syntax::bool_lit(false)));
      for (const char* k : {"return_sequences", "return_state"})
        if (require(inst, k, pc, op, loc).as_bool()) args.push_back(syntax::kw(k, syntax::bool_lit(true)));
      if (op == "gru" && !require(inst, "reset_after", pc, op, loc).as_bool())
        args.push_back(syntax::kw("reset_after", syntax::bool_lit(false)));
      ExprPtr l = layer_call(cls, args);
      if (bidir) {
        std::vector<Argument> b{syntax::pos(l)};
        Attr merge = require(inst, "merge_mode", pc, op, loc);
        if (merge.is_str() && merge.as_str() != "concat") b.push_back(syntax::kw("merge_mode", syntax::str_lit(merge.as_str())));
        l = layer_call("Bidirectional", b);
      }
      return l;
    }
    auto one = [&](bool last) {
      std::vector<Argument> args{syntax::pos(syntax::clone(units))};
      if (op == "rnn" && require(inst, "nonlinearity", pc, op, loc).as_str() == "relu")
        args.push_back(syntax::kw("activation", syntax::str_lit("relu")));
      if (!bias) args.push_back(syntax::kw("use_bias", syntax::bool_lit(false)));
      // PyTorch always returns the whole sequence
      args.push_back(syntax::kw("return_sequences", syntax::bool_lit(true)));
      if (state && last) args.push_back(syntax::kw("return_state", syntax::bool_lit(true)));
      ExprPtr l = layer_call(cls, args);
      if (bidir) l = layer_call("Bidirectional", {syntax::pos(l)});
      return l;
    };
    if (layers_n == 1) return one(true);
    std::vector<ExprPtr> stack;
    for (long long i = 0; i < layers_n; ++i) {
      if (i > 0 && dropout > 0) stack.push_back(layer_call("Dropout", {syntax::pos(syntax::float_lit(dropout))}));
      stack.push_back(one(i == layers_n - 1));
    }
    return sequential(stack);
  }

  // ---- expressions -------------------------------------------------------------------

  const pivot::Site* site(const Expr* e) {
    auto it = site_of_.find(e);
    return it == site_of_.end() ? nullptr : &P.sites[it->second];
  }

  std::vector<LayerPtr> instances(const Expr* e) {
    const pivot::Site* s = site(e);
    return s ? s->layers : std::vector<LayerPtr>{};
  }

  bool is_layer_site(const ExprPtr& e) {
    if (!e || !e->pivot) return false;
    const auto* def = catalog::Catalog::get().op(e->pivot->op);
    // nnport's own PyTorch Permute / Reshape modules build layers of tensor-op kinds
    bool helper_module = (e->pivot->op == "permute" || e->pivot->op == "reshape") && site(e.get()) &&
                         !site(e.get())->layers.empty();
    return def && (def->kind == "layer" || def->kind == "activation" || helper_module) &&
           e->kind == ExprKind::Call && (!site(e.get()) || site(e.get())->nodes.empty());
  }

  // Elements of a list being built: a layer site may expand to several Keras layers.
  std::vector<ExprPtr> translate_elements(const std::vector<ExprPtr>& items, Ctx& ctx) {
    std::vector<ExprPtr> out;
    for (auto& x : items) {
      size_t first = out.size();
      translate_element(x, ctx, out);
      // comments written on a layer's line travel with it
      if (out.size() > first && !x->comment.empty()) {
        out[first] = syntax::new_expr(*out[first]);
        out[first]->comment = x->comment;
      }
    }
    return out;
  }

  void translate_element(const ExprPtr& x, Ctx& ctx, std::vector<ExprPtr>& out) {
    {
      if (is_layer_site(x)) {
        for (auto& y : emit_layer(x->pivot->op, instances(x.get()), x->pivot.get(), x->loc, ctx)) out.push_back(y);
      } else if (x->kind == ExprKind::Starred) {
        auto s = syntax::new_expr(*x);
        s->object = translate(x->object, ctx);
        out.push_back(s);
      } else {
        out.push_back(translate(x, ctx));
      }
    }
  }

  // Permutation needed before child `index` of the containers built at this site.
  std::map<int, std::vector<int>> container_permutations(const std::vector<LayerPtr>& inst, const Location& loc) {
    std::map<int, std::vector<int>> out;
    bool first = true;
    for (const auto& c : inst) {
      std::map<int, std::vector<int>> mine;
      // the first child's transpose moves to the container's caller, unless the container
      // is the model itself
      int first_child = c == M.root ? 0 : 1;
      for (const pivot::Node* n : graph_.chained_by(c->path))
        if (n->child_index >= first_child && !n->input_permutations.empty() && !n->input_permutations[0].empty())
          mine[n->child_index] = n->input_permutations[0];
      if (!first && mine != out)
        throw NotTranslatable{loc, "this container needs different layout changes in different uses"};
      out = mine;
      first = false;
    }
    return out;
  }

  ExprPtr translate_container(const ExprPtr& e, Ctx& ctx) {
    auto inst = instances(e.get());
    auto perms = container_permutations(inst, e->loc);
    std::string_view op = e->pivot->op;
    // nn.Sequential(OrderedDict([...])) -> keras.Sequential([...]) keeping the names
    std::vector<ExprPtr> items;
    bool simple = true;
    for (auto& a : e->args) {
      if (!a.name.empty() || a.double_star) throw NotTranslatable{e->loc, "keyword arguments to a container"};
      if (a.star) simple = false;
      items.push_back(a.star ? [&] {
        auto s = syntax::new_expr();
        s->kind = ExprKind::Starred;
        s->object = a.value;
        s->loc = a.value->loc;
        return s;
      }() : a.value);
    }
    if (op == "module_list" || op == "module_dict") {
      if (e->args.empty()) return syntax::list({});
      if (e->args.size() != 1) throw NotTranslatable{e->loc, "nn.ModuleList with several arguments"};
      ExprPtr arg = e->args[0].value;
      if (op == "module_dict") throw NotTranslatable{e->loc, "nn.ModuleDict"};
      if (arg->kind == ExprKind::List || arg->kind == ExprKind::Tuple)
        return syntax::list(translate_elements(arg->items, ctx));
      return translate(arg, ctx);
    }
    if (items.size() == 1 && items[0]->kind == ExprKind::Call && items[0]->object->kind == ExprKind::Name &&
        fw_names_.count(items[0]->object->name) && !items[0]->args.empty()) {
      // OrderedDict([("name", layer), ...])
      ExprPtr pairs = items[0]->args[0].value;
      if (pairs->kind != ExprKind::List) throw NotTranslatable{e->loc, "OrderedDict built from a non-literal"};
      std::vector<ExprPtr> named;
      for (auto& p : pairs->items) {
        if (p->kind != ExprKind::Tuple || p->items.size() != 2) throw NotTranslatable{p->loc, "OrderedDict entry"};
        for (auto& y : translate_elements({p->items[1]}, ctx)) named.push_back(y);
      }
      items = named;
      if (!perms.empty()) throw NotTranslatable{e->loc, "a layout change inside an OrderedDict container"};
      return sequential(items);
    }
    std::vector<ExprPtr> out;
    if (!simple && !perms.empty() && !(perms.size() == 1 && perms.begin()->first == 0))
      throw NotTranslatable{e->loc, "a layout change inside a container built from *unpacked layers"};
    size_t k = 0;
    for (auto& x : items) {
      if (perms.count((int)k)) out.push_back(permute_layer(perms[(int)k]));
      for (auto& y : translate_elements({x}, ctx)) out.push_back(y);
      ++k;
    }
    bool is_root = std::find(inst.begin(), inst.end(), M.root) != inst.end();
    if (is_root && !LP.outputs_in_target_layout && !LP.output_permutations.empty() &&
        !LP.output_permutations[0].empty())
      out.push_back(permute_layer(LP.output_permutations[0]));
    if (out.size() == 1 && out[0]->kind == ExprKind::Starred) return syntax::call(syntax::dotted("keras.Sequential"), {syntax::pos(out[0]->object)});
    return sequential(out);
  }

  // Wraps the input of a node whose value must change layout first.
  ExprPtr with_layout(ExprPtr input, const std::vector<int>& perm, Ctx& ctx) {
    if (perm.empty()) return input;
    if (input->kind == ExprKind::Name && ctx.pre) {
      ctx.pre->push_back(syntax::assign(syntax::name(input->name), transpose_call(syntax::name(input->name), perm)));
      return input;
    }
    return transpose_call(input, perm);
  }

  // The permutation that the nodes created at a site need on input i (consistent over uses).
  std::vector<int> site_permutation(const pivot::Site& s, size_t i, bool only_direct, const Location& loc) {
    std::optional<std::vector<int>> perm;
    for (int id : s.nodes) {
      const auto& n = M.nodes[id];
      if (only_direct && n.child_index > 0) continue;
      if (only_direct && n.child_index == 0 && !parent_called_here(n)) continue;
      std::vector<int> p = i < n.input_permutations.size() ? n.input_permutations[i] : std::vector<int>{};
      if (perm && *perm != p) throw NotTranslatable{loc, "this call needs different layout changes in different uses"};
      perm = p;
    }
    return perm ? *perm : std::vector<int>{};
  }

  // A chained first child hoists its transpose to the call of its container, unless that
  // container is itself a later child of another container.
  bool parent_called_here(const pivot::Node& n) {
    return !graph_.called(n.parent);  // never called: containers have no node
  }

  ExprPtr translate(const ExprPtr& e, Ctx& ctx) {
    if (!e) return nullptr;
    if (const pivot::Site* st = site(e.get()); st && st->folded && !e->args.empty())
      return translate(e->args[0].value, ctx);  // an F.pad the convolution it feeds absorbed
    if (e->pivot) {
      const auto* def = catalog::Catalog::get().op(e->pivot->op);
      if (def && def->kind == "container") return translate_container(e, ctx);
      if (is_layer_site(e)) {
        auto v = emit_layer(e->pivot->op, instances(e.get()), e->pivot.get(), e->loc, ctx);
        return v.size() == 1 ? v[0] : sequential(v);
      }
      if (ctx.in_forward) return translate_op(e, ctx);
      throw NotTranslatable{e->loc, "a tensor operation outside the forward method"};
    }
    switch (e->kind) {
      case ExprKind::Name:
        if (fw_names_.count(e->name)) throw NotTranslatable{e->loc, fmt::format("`{}`", e->name)};
        return syntax::clone(e);
      case ExprKind::Call: {
        // a module call in forward: layout changes go on its arguments
        auto c = syntax::new_expr(*e);
        c->object = translate(e->object, ctx);
        c->args.clear();
        const pivot::Site* s = ctx.in_forward ? site(e.get()) : nullptr;
        for (size_t i = 0; i < e->args.size(); ++i) {
          Argument a = e->args[i];
          a.value = translate(a.value, ctx);
          if (s && a.name.empty() && !a.star) a.value = with_layout(a.value, site_permutation(*s, i, true, e->loc), ctx);
          c->args.push_back(a);
        }
        return c;
      }
      case ExprKind::Attribute: {
        auto c = syntax::new_expr(*e);
        c->object = translate(e->object, ctx);
        if (ctx.in_model_class && e->object->kind == ExprKind::Name && e->object->name == "self" &&
            kReservedModelAttributes.count(e->name))
          c->name = e->name + "_";  // keras.Model already defines this attribute
        return c;
      }
      case ExprKind::List:
      case ExprKind::Tuple:
      case ExprKind::Set: {
        auto c = syntax::new_expr(*e);
        c->items = translate_elements(e->items, ctx);
        return c;
      }
      default: {
        auto c = syntax::new_expr(*e);
        c->object = translate(e->object, ctx);
        c->element = translate(e->element, ctx);
        for (auto& x : c->items) x = translate(x, ctx);
        for (auto& x : c->values) x = translate(x, ctx);
        for (auto& a : c->args) a.value = translate(a.value, ctx);
        for (auto& g : c->generators) {
          g.iter = translate(g.iter, ctx);
          for (auto& x : g.ifs) x = translate(x, ctx);
        }
        return c;
      }
    }
  }

  // A tensor operation in forward -> keras.ops.
  ExprPtr translate_op(const ExprPtr& e, Ctx& ctx) {
    const syntax::PivotCall& pc = *e->pivot;
    const pivot::Site& s = P.sites.at(pc.site);
    if (s.nodes.empty()) throw NotTranslatable{e->loc, "a tensor operation never reached for this entry"};
    const pivot::Node& n = M.nodes[s.nodes[0]];
    auto attr = [&](const std::string& k) -> Attr {
      std::optional<Attr> v;
      for (int id : s.nodes) {
        auto it = M.nodes[id].attrs.find(k);
        Attr a = it == M.nodes[id].attrs.end() ? Attr() : it->second;
        if (v && *v != a) throw NotTranslatable{e->loc, fmt::format("`{}` differs between uses", k)};
        v = a;
      }
      return v ? *v : Attr();
    };
    auto input = [&](size_t i) {
      ExprPtr src;
      if (e->kind == ExprKind::BinOp) src = e->items.at(i);
      else if (e->kind == ExprKind::Subscript) src = e->object;
      else if (!pc.inputs.empty()) src = pc.inputs.at(i);
      else if (e->kind == ExprKind::Call && e->object->kind == ExprKind::Attribute) src = e->object->object;
      if (!src) throw NotTranslatable{e->loc, "an operation whose input nnport cannot locate"};
      return with_layout(translate(src, ctx), site_permutation(s, i, false, e->loc), ctx);
    };
    const std::string& op = pc.op;
    const auto* def = catalog::Catalog::get().op(op);
    auto ops_call = [&](const std::string& fn, std::vector<Argument> args) { return syntax::call(O(fn), args); };
    if (def->kind == "activation") {
      ExprPtr x = input(0);
      if (op == "softmax" || op == "log_softmax") {
        Attr d = attr("dim");
        if (d.is_none()) throw NotTranslatable{e->loc, "softmax without dim"};
        return ops_call(def->keras_activation, {syntax::pos(x), syntax::kw("axis", syntax::int_lit(d.as_int()))});
      }
      if (op == "gelu") {
        if (attr("approximate").as_str() != "none") throw NotTranslatable{e->loc, "gelu(approximate='tanh')"};
        return ops_call("gelu", {syntax::pos(x), syntax::kw("approximate", syntax::bool_lit(false))});
      }
      if (op == "leaky_relu")
        return ops_call("leaky_relu", {syntax::pos(x), syntax::kw("negative_slope", literal(attr("negative_slope")))});
      if (op == "elu") return ops_call("elu", {syntax::pos(x), syntax::kw("alpha", literal(attr("alpha")))});
      if (op == "softplus" && attr("beta").as_number() != 1.0) throw NotTranslatable{e->loc, "softplus with beta"};
      if (op == "hardtanh" && (attr("min_val").as_number() != -1.0 || attr("max_val").as_number() != 1.0))
        throw NotTranslatable{e->loc, "hardtanh bounds"};
      return ops_call(def->keras_activation, {syntax::pos(x)});
    }
    if (op == "add" || op == "sub" || op == "mul") {
      if (e->kind == ExprKind::BinOp) {
        auto c = syntax::new_expr(*e);
        c->items = {e->items[0], e->items[1]};
        size_t ti = 0;
        for (size_t i = 0; i < 2; ++i) {
          bool is_tensor = !(attr("scalar_first").is_bool() && ((i == 0) == attr("scalar_first").as_bool()) &&
                             !attr("scalar").is_none());
          if (is_tensor && n.inputs.size() > ti) {
            c->items[i] = with_layout(translate(e->items[i], ctx), site_permutation(s, ti, false, e->loc), ctx);
            ++ti;
          } else {
            c->items[i] = translate(e->items[i], ctx);
          }
        }
        return c;
      }
      std::vector<Argument> args;
      for (size_t i = 0; i < n.inputs.size(); ++i) args.push_back(syntax::pos(input(i)));
      if (!attr("scalar").is_none()) args.push_back(syntax::pos(literal(attr("scalar"))));
      return ops_call(op == "add" ? "add" : op == "sub" ? "subtract" : "multiply", args);
    }
    if (op == "dropout") {
      sink.warn(e->loc, "functional dropout is migrated as the identity (inference); use a Dropout layer for training");
      return input(0);
    }
    const pivot::Value& out = M.value(n.outputs[0]);
    auto reshape_target = [&]() {
      std::vector<ExprPtr> dims{syntax::int_lit(-1)};
      for (size_t i = 1; i < out.shape.size(); ++i) {
        if (out.shape[i] < 0) return ExprPtr();
        dims.push_back(syntax::int_lit(out.shape[i]));
      }
      return syntax::tuple(dims);
    };
    if (op == "flatten" || op == "reshape") {
      ExprPtr x = input(0);
      ExprPtr t = reshape_target();
      if (!t) throw NotTranslatable{e->loc, "a reshape whose result size is unknown (give --input-shape)"};
      if (op == "flatten" && attr("start_dim").as_int() == 0)
        throw NotTranslatable{e->loc, "flattening the batch axis (torch.flatten without start_dim=1)"};
      return ops_call("reshape", {syntax::pos(x), syntax::pos(t)});
    }
    if (op == "permute") {
      std::vector<int> dims;
      for (auto d : attr("dims").as_ints()) dims.push_back((int)d);
      return ops_call("transpose", {syntax::pos(input(0)), syntax::pos(perm_expr(dims))});
    }
    if (op == "transpose")
      return ops_call("swapaxes", {syntax::pos(input(0)), syntax::pos(literal(attr("dim0"))), syntax::pos(literal(attr("dim1")))});
    if (op == "getitem") {
      auto c = syntax::new_expr(*e);
      c->object = input(0);
      c->items = {translate(e->items[0], ctx)};
      c->pivot = nullptr;
      return c;
    }
    if (op == "concat") {
      ExprPtr list_expr = pc.inputs.empty() ? nullptr : pc.inputs[0];
      if (!list_expr || (list_expr->kind != ExprKind::List && list_expr->kind != ExprKind::Tuple))
        throw NotTranslatable{e->loc, "torch.cat of a non-literal list"};
      std::vector<ExprPtr> parts;
      for (size_t i = 0; i < list_expr->items.size(); ++i)
        parts.push_back(with_layout(translate(list_expr->items[i], ctx), site_permutation(s, i, false, e->loc), ctx));
      return ops_call("concatenate", {syntax::pos(syntax::list(parts)), syntax::kw("axis", literal(attr("dim")))});
    }
    if (op == "mean") {
      std::vector<Argument> args{syntax::pos(input(0))};
      if (!attr("dim").is_none()) args.push_back(syntax::kw("axis", literal(attr("dim"))));
      if (attr("keepdim").is_bool() && attr("keepdim").as_bool()) args.push_back(syntax::kw("keepdims", syntax::bool_lit(true)));
      return ops_call("mean", args);
    }
    throw NotTranslatable{e->loc, fmt::format("the operation `{}` in forward", op)};
  }

  // ---- statements --------------------------------------------------------------------



  std::vector<StmtPtr> not_migrated(const Stmt& s, const NotTranslatable& why) {
    return commented_out(s, P.module.text, why, sink);
  }


  std::vector<StmtPtr> translate_stmt_guarded(const StmtPtr& s, Ctx ctx) {
    std::vector<StmtPtr> pre;
    ctx.pre = &pre;
    try {
      auto out = translate_stmt(s, ctx);
      pre.insert(pre.end(), out.begin(), out.end());
      if (!pre.empty() && pre[0] != out[0]) {
        pre[0]->leading_comments = s->leading_comments;
        pre[0]->blank_line_before = s->blank_line_before;
        if (!out.empty()) {
          out[0]->leading_comments.clear();
          out[0]->blank_line_before = false;
        }
      }
      return pre;
    } catch (NotTranslatable& n) {
      // Code the entry's model runs must migrate, or the output would compute something
      // else; code it never reaches is kept as a comment with a warning.
      if (reached(*s))
        fail(n.loc.known() ? n.loc : s->loc, "cannot migrate: " + n.what,
             "rewrite this part with supported layers and operations (see `nnport catalog`)");
      return not_migrated(*s, n);
    }
  }

  bool reached(const Stmt& s) { return backends::reached(s, P, site_of_); }


  std::vector<StmtPtr> translate_block(const std::vector<StmtPtr>& body, const Ctx& ctx) {
    std::vector<StmtPtr> out;
    for (auto& s : body)
      for (auto& x : translate_stmt_guarded(s, ctx)) out.push_back(x);
    bool has_code = std::any_of(out.begin(), out.end(), [](const StmtPtr& s) { return s->kind != StmtKind::Other; });
    if (!has_code) {
      auto p = syntax::new_stmt();
      p->kind = StmtKind::Pass;
      out.push_back(p);
    }
    return out;
  }

  std::vector<StmtPtr> translate_stmt(const StmtPtr& sp, Ctx& ctx) {
    const Stmt& s = *sp;
    if (auto t = keras_training_stmt(P, s, sink, training_helpers_)) return *t;  // recognised training code
    auto c = syntax::new_stmt(s);
    switch (s.kind) {
      case StmtKind::ClassDef: {
        bool model = std::find(P.model_classes.begin(), P.model_classes.end(), s.name) != P.model_classes.end();
        c->bases.clear();
        for (const auto& b : s.bases) {
          Argument nb = b;
          std::set<std::string> names;
          collect_names(b.value, names);
          bool fw = std::any_of(names.begin(), names.end(), [&](const std::string& n) { return fw_names_.count(n) > 0; });
          if (fw) nb.value = syntax::dotted(inner_classes_.count(s.name) ? "keras.layers.Layer" : "keras.Model");
          else nb.value = translate(b.value, ctx);
          c->bases.push_back(nb);
        }
        Ctx inner;
        inner.in_model_class = model;
        std::string saved_class = current_class_;
        current_class_ = s.name;
        c->body.clear();
        for (auto& m : s.body) {
          if (m->kind == StmtKind::FunctionDef && model && m->name == "forward") {
            Ctx f = inner;
            f.in_forward = true;
            auto fn = translate_function(*m, f);
            fn->name = "call";
            c->body.push_back(fn);
            continue;
          }
          for (auto& x : translate_stmt_guarded(m, inner)) c->body.push_back(x);
        }
        current_class_ = saved_class;
        return {c};
      }
      case StmtKind::FunctionDef: return {translate_function(s, ctx)};
      case StmtKind::Import:
      case StmtKind::ImportFrom:
        if (is_framework_import(s)) return {};
        return {c};
      case StmtKind::Return:
        c->value = translate(s.value, ctx);
        if (ctx.in_forward && is_root_forward(ctx) && c->value) c->value = with_output_layout(c->value, ctx);
        return {c};
      case StmtKind::If:
      case StmtKind::While:
        c->value = translate(s.value, ctx);
        c->body = translate_block(s.body, ctx);
        c->orelse = s.orelse.empty() ? s.orelse : translate_block(s.orelse, ctx);
        return {c};
      case StmtKind::For:
        c->value = translate(s.value, ctx);
        c->targets = {translate(s.targets[0], ctx)};
        c->body = translate_block(s.body, ctx);
        c->orelse = s.orelse.empty() ? s.orelse : translate_block(s.orelse, ctx);
        return {c};
      case StmtKind::Assign: {
        c->value = translate(s.value, ctx);
        c->targets.clear();
        for (auto& t : s.targets) c->targets.push_back(translate(t, ctx));
        if (ctx.in_forward) recurrent_targets(*c, s);
        return {c};
      }
      case StmtKind::AugAssign:
        if (ctx.in_forward && s.value && s.value->pivot && s.value->kind != ExprKind::Call &&
            s.value->kind != ExprKind::BinOp) {
          // `out += identity` on tensors: Keras tensors support the same operator
          const pivot::Site& st = P.sites.at(s.value->pivot->site);
          for (size_t i = 0; i < 2; ++i)
            if (!site_permutation(st, i, false, s.loc).empty())
              throw NotTranslatable{s.loc, "an in-place operation between tensors of different layouts"};
          auto v = syntax::new_expr(*s.value);
          v->pivot = nullptr;
          c->value = translate(v, ctx);
          c->targets = {translate(s.targets[0], ctx)};
          return {c};
        }
        [[fallthrough]];
      case StmtKind::AnnAssign:
        if (s.kind == StmtKind::AnnAssign && s.annotation && mentions_framework(s.annotation)) {
          // the annotation names a framework type: keep the assignment, drop the annotation
          if (!s.value) return {};
          c->kind = StmtKind::Assign;
          c->annotation = nullptr;
          c->value = translate(s.value, ctx);
          c->targets = {translate(s.targets[0], ctx)};
          return {c};
        }
        [[fallthrough]];
      case StmtKind::Expr:
      case StmtKind::Raise:
      case StmtKind::Assert:
        c->value = translate(s.value, ctx);
        c->targets.clear();
        for (auto& t : s.targets) c->targets.push_back(translate(t, ctx));
        return {c};
      default: return {c};
    }
  }

  // `out, (h, c) = self.lstm(x)`: Keras returns [out, h, c] (or just out) with states
  // shaped (batch, units); PyTorch's are (layers * directions, batch, units).
  void recurrent_targets(Stmt& c, const Stmt& s) {
    const pivot::Site* st = s.value && s.value->kind == ExprKind::Call ? site(s.value.get()) : nullptr;
    if (!st || st->nodes.empty()) return;
    const auto& n = M.nodes[st->nodes[0]];
    if (n.kind != "call" || (n.op != "lstm" && n.op != "gru" && n.op != "rnn")) return;
    if (M.find(n.module)->attrs.count("return_sequences")) return;  // Keras's outputs already
    if (c.targets.size() != 1 || c.targets[0]->kind != ExprKind::Tuple) return;
    auto t = c.targets[0];
    bool state = state_users_.count(n.module) > 0;
    std::vector<ExprPtr> flat;
    std::function<void(const ExprPtr&)> add = [&](const ExprPtr& x) {
      if (x->kind == ExprKind::Tuple || x->kind == ExprKind::List)
        for (auto& y : x->items) add(y);
      else
        flat.push_back(x);
    };
    add(t);
    if (!state) {
      c.targets = {flat[0]};
      return;
    }
    c.targets = {syntax::tuple(flat)};
    for (size_t i = 1; i < flat.size(); ++i)
      if (flat[i]->kind == ExprKind::Name && flat[i]->name != "_")
        post_.push_back(syntax::assign(syntax::name(flat[i]->name),
                                       syntax::call(O("expand_dims"), {syntax::pos(syntax::name(flat[i]->name)), syntax::pos(syntax::int_lit(0))})));
  }
  std::vector<StmtPtr> post_;

  bool is_root_forward(const Ctx& ctx) {
    (void)ctx;
    return current_class_ == M.root->class_name;
  }
  std::string current_class_;

  ExprPtr with_output_layout(const ExprPtr& v, Ctx& ctx) {
    if (LP.outputs_in_target_layout) return v;
    if (LP.output_permutations.size() == 1) return with_layout(v, LP.output_permutations[0], ctx);
    if (v->kind == ExprKind::Tuple && v->items.size() == LP.output_permutations.size()) {
      auto c = syntax::new_expr(*v);
      for (size_t i = 0; i < c->items.size(); ++i) c->items[i] = with_layout(c->items[i], LP.output_permutations[i], ctx);
      return c;
    }
    return v;
  }

  StmtPtr translate_function(const Stmt& s, Ctx ctx) {
    auto f = syntax::new_stmt(s);
    ctx.function = &s;
    f->params.clear();
    for (auto p : s.params) {
      if (p.default_value) p.default_value = translate(p.default_value, ctx);
      if (p.annotation) {
        std::set<std::string> names;
        collect_names(p.annotation, names);
        bool fw = std::any_of(names.begin(), names.end(), [&](const std::string& n) { return fw_names_.count(n) > 0; });
        p.annotation = fw ? nullptr : p.annotation;
      }
      f->params.push_back(p);
    }
    if (f->returns) {
      std::set<std::string> names;
      collect_names(f->returns, names);
      if (std::any_of(names.begin(), names.end(), [&](const std::string& n) { return fw_names_.count(n) > 0; }))
        f->returns = nullptr;
    }
    std::vector<StmtPtr> body;
    for (auto& st : s.body) {
      post_.clear();
      for (auto& x : translate_stmt_guarded(st, ctx)) body.push_back(x);
      body.insert(body.end(), post_.begin(), post_.end());
    }
    f->body = body;
    remove_dead_stores(f->body);
    if (std::none_of(f->body.begin(), f->body.end(), [](const StmtPtr& x) { return x->kind != StmtKind::Other; })) {
      auto p = syntax::new_stmt();
      p->kind = StmtKind::Pass;
      f->body.push_back(p);
    }
    return f;
  }

  // Locals that only fed arguments Keras does not need (`in_channels = v`) would be
  // dead stores in the migrated function: remove their pure assignments.
  void remove_dead_stores(std::vector<StmtPtr>& body) {
    auto pure_store = [&](const Stmt& s) {
      return s.kind == StmtKind::Assign && s.targets.size() == 1 && s.targets[0]->kind == ExprKind::Name &&
             pure(s.value);
    };
    for (bool changed = true; changed;) {
      changed = false;
      // Only the names of pure stores can be dead: the walk looks for loads of those (a set
      // of every name loaded in a long method cost more), and is skipped when there are none.
      std::set<std::string> candidates, loaded;
      std::function<void(const std::vector<StmtPtr>&)> stores = [&](const std::vector<StmtPtr>& b) {
        for (auto& s : b) {
          if (pure_store(*s)) candidates.insert(s->targets[0]->name);
          stores(s->body);
          stores(s->orelse);
        }
      };
      stores(body);
      if (candidates.empty()) return;
      auto load = [&](const std::string& n) {
        if (candidates.count(n)) loaded.insert(n);
      };
      std::function<void(const std::vector<StmtPtr>&)> walk = [&](const std::vector<StmtPtr>& b) {
        for (auto& s : b) {
          for_each_name(s->value, load);
          for (auto& t : s->targets) {
            if (s->kind == StmtKind::AugAssign && t->kind == ExprKind::Name) load(t->name);
            else if (t->kind != ExprKind::Name) for_each_name(t, load);
          }
          if (s->kind == StmtKind::For) for_each_name(s->targets[0], load);  // loop variables stay
          walk(s->body);
          walk(s->orelse);
          for (auto& d : s->decorators) for_each_name(d, load);
        }
      };
      walk(body);
      std::function<void(std::vector<StmtPtr>&)> prune = [&](std::vector<StmtPtr>& b) {
        for (auto it = b.begin(); it != b.end();) {
          const auto& s = *it;
          bool dead = pure_store(*s) && !loaded.count(s->targets[0]->name);
          if (dead) {
            it = b.erase(it);
            changed = true;
            continue;
          }
          prune((*it)->body);
          prune((*it)->orelse);
          ++it;
        }
      };
      prune(body);
    }
  }

  bool mentions_framework(const ExprPtr& e) {
    std::set<std::string> names;
    collect_names(e, names);
    return std::any_of(names.begin(), names.end(), [&](const std::string& n) { return fw_names_.count(n) > 0; });
  }

  bool pure(const ExprPtr& e) {
    if (!e) return true;
    if (e->kind == ExprKind::Call || e->kind == ExprKind::Lambda) return false;
    if (!pure(e->object)) return false;
    for (auto& x : e->items)
      if (!pure(x)) return false;
    for (auto& x : e->values)
      if (!pure(x)) return false;
    return true;
  }

  // ---- style changes -----------------------------------------------------------------

  // The graph must be a chain for a Sequential model.
  void check_chain() {
    int prev = M.inputs.size() == 1 ? M.inputs[0].value : -2;
    if (M.inputs.size() != 1)
      fail(M.root->loc, "a Sequential model takes one input; this model takes " + std::to_string(M.inputs.size()),
           "use --style subclass");
    std::map<int, int> uses;
    for (const auto& n : M.nodes)
      for (int v : n.inputs) uses[v]++;
    for (const auto& n : M.nodes) {
      if (n.inputs.size() != 1 || n.inputs[0] != prev || uses[prev] != 1)
        fail(n.loc, fmt::format("the model is not a chain of layers: `{}` here {}", n.module.empty() ? n.op : n.module,
                                n.inputs.size() != 1 ? "takes several inputs" : "uses a value that another step also uses"),
             "use --style subclass (a Keras Sequential model is a plain chain)");
      prev = n.outputs[0];
    }
    if (M.outputs.size() != 1 || M.outputs[0] != prev)
      fail(M.root->loc, "the model's output is not the last step of its chain", "use --style subclass");
  }

  std::vector<ExprPtr> flat_layers(const std::set<std::string>& allowed) {
    Ctx ctx;
    ctx.allowed = &allowed;
    std::vector<ExprPtr> out;
    for (const auto& n : M.nodes) {
      if (!n.input_permutations.empty() && !n.input_permutations[0].empty())
        out.push_back(permute_layer(n.input_permutations[0]));
      try {
        if (n.kind == "call") {
          auto l = M.find(n.module);
          const syntax::PivotCall* pc = l->site >= 0 && P.sites[l->site].call ? P.sites[l->site].call->pivot.get() : nullptr;
          for (auto& e : emit_layer(n.op, {l}, pc, n.loc, ctx)) out.push_back(e);
        } else {
          for (auto& e : op_as_layer(n)) out.push_back(e);
        }
      } catch (NotTranslatable& t) {
        fail(t.loc.known() ? t.loc : n.loc, "cannot migrate: " + t.what, "use --style subclass or rewrite the layer");
      }
    }
    if (!LP.outputs_in_target_layout && !LP.output_permutations.empty() && !LP.output_permutations[0].empty())
      out.push_back(permute_layer(LP.output_permutations[0]));
    return out;
  }

  // A functional operation of forward as a layer of a Sequential model.
  std::vector<ExprPtr> op_as_layer(const pivot::Node& n) {
    const auto* def = catalog::Catalog::get().op(n.op);
    auto a = [&](const std::string& k) {
      auto it = n.attrs.find(k);
      return it == n.attrs.end() ? Attr() : it->second;
    };
    if (def->kind == "activation") {
      pivot::LayerPtr fake = std::make_shared<pivot::Layer>();
      fake->op = n.op;
      fake->attrs = n.attrs;
      fake->input_shape = M.value(n.inputs[0]).shape;
      return {emit_activation_layer(*def, {fake}, nullptr, n.loc, Ctx{})};
    }
    const pivot::Value& in = M.value(n.inputs[0]);
    const pivot::Value& out = M.value(n.outputs[0]);
    if (n.op == "flatten" || n.op == "reshape") {
      if (out.shape.size() == 2) return {layer_call("Flatten", {})};
      std::vector<ExprPtr> dims;
      for (size_t i = 1; i < out.shape.size(); ++i) {
        if (out.shape[i] < 0) throw NotTranslatable{n.loc, "reshape to an unknown size"};
        dims.push_back(syntax::int_lit(out.shape[i]));
      }
      return {layer_call("Reshape", {syntax::pos(syntax::tuple(dims))})};
    }
    if (n.op == "permute") {
      std::vector<int> p;
      for (auto d : a("dims").as_ints()) p.push_back((int)(d < 0 ? d + in.shape.size() : d));
      if (p.empty() || p[0] != 0) throw NotTranslatable{n.loc, "a permutation that moves the batch axis"};
      return {permute_layer(p)};
    }
    if (n.op == "dropout") return {layer_call("Dropout", {syntax::pos(literal(a("rate")))})};
    throw NotTranslatable{n.loc, fmt::format("`{}` as a layer of a Sequential model", n.op)};
  }

  // class AlexNet(nn.Module) -> def AlexNet(num_classes=1000, ...): return keras.Sequential([...])
  StmtPtr sequential_factory(const Stmt& cls) {
    const Stmt* init = nullptr;
    for (auto& m : cls.body)
      if (m->kind == StmtKind::FunctionDef && m->name == "__init__") init = m.get();
    auto f = syntax::new_stmt();
    f->kind = StmtKind::FunctionDef;
    f->name = cls.name;
    f->loc = cls.loc;
    f->leading_comments = cls.leading_comments;
    f->blank_line_before = cls.blank_line_before;
    std::set<std::string> allowed;
    for (const auto& s : P.module.body) {
      if (s->kind == StmtKind::Assign)
        for (auto& t : s->targets) collect_names(t, allowed);
      if (s->kind == StmtKind::FunctionDef || s->kind == StmtKind::ClassDef) allowed.insert(s->name);
    }
    if (init)
      for (size_t i = 1; i < init->params.size(); ++i) {
        auto p = init->params[i];
        p.annotation = nullptr;
        f->params.push_back(p);
        allowed.insert(p.name);
      }
    for (auto& n : fw_names_) allowed.erase(n);
    sink.warn(cls.loc, fmt::format("class `{}` becomes a function returning a keras.Sequential (--style sequential)",
                                   cls.name));
    auto doc = syntax::new_stmt();
    f->body = {syntax::return_stmt(sequential(flat_layers(allowed)))};
    if (!cls.body.empty() && cls.body[0]->kind == StmtKind::Expr && cls.body[0]->value &&
        cls.body[0]->value->kind == ExprKind::String)
      f->body.insert(f->body.begin(), cls.body[0]);
    return f;
  }

  // model = nn.Sequential(...) -> class Model(keras.Model) + model = Model()
  std::vector<StmtPtr> subclass_from_sequential(const Stmt& s, const std::string& var) {
    if (!s.value || !s.value->pivot || s.value->pivot->op != "sequential")
      fail(s.loc, "--style subclass needs the Sequential model to be built right here", "use --style sequential");
    std::string cls = camel(var);
    if (cls == "Model" || cls == var) cls = "Sequential" + cls;
    // each top-level element becomes an attribute named after its layer type
    std::map<std::string, int> counters;
    std::vector<std::pair<std::string, ExprPtr>> attrs;
    const auto& root = M.root;
    Ctx ictx;
    ictx.in_model_class = true;
    std::vector<ExprPtr> elements;
    for (auto& a : s.value->args) {
      if (a.star || !a.name.empty()) fail(s.loc, "--style subclass needs the Sequential's layers written out",
                                          "use --style sequential");
      elements.push_back(a.value);
    }
    if (elements.size() != root->children.size())
      fail(s.loc, "the Sequential's elements could not be matched to its layers", "use --style sequential");
    std::vector<StmtPtr> init_body;
    auto sup = syntax::expr_stmt(syntax::call(syntax::attr(syntax::call(syntax::name("super"), {}), "__init__"), {}));
    init_body.push_back(sup);
    std::vector<StmtPtr> call_body;
    std::vector<StmtPtr> pre;
    Ctx cctx;
    cctx.pre = &pre;
    std::map<int, const pivot::Node*> permuted;  // child index -> the first node changing its input's layout
    for (const pivot::Node* n : graph_.chained_by(root->path))
      if (!n->input_permutations.empty() && !n->input_permutations[0].empty()) permuted.emplace(n->child_index, n);
    for (size_t i = 0; i < elements.size(); ++i) {
      const auto& child = root->children[i].second;
      std::string base = child->op;
      base = attribute_base(base);
      std::string name = root->children[i].first;
      if (std::isdigit((unsigned char)name[0])) name = base + std::to_string(++counters[base]);
      ExprPtr e;
      try {
        e = translate(elements[i], ictx);
      } catch (NotTranslatable& t) {
        fail(t.loc.known() ? t.loc : s.loc, "cannot migrate: " + t.what);
      }
      init_body.push_back(syntax::assign(syntax::attr(syntax::name("self"), name), e));
      // layout changes before this layer
      if (auto it = permuted.find((int)i); it != permuted.end())
        call_body.push_back(syntax::assign(syntax::name("x"), transpose_call(syntax::name("x"), it->second->input_permutations[0])));
      call_body.push_back(syntax::assign(syntax::name("x"), syntax::call(syntax::attr(syntax::name("self"), name), {syntax::pos(syntax::name("x"))})));
    }
    ExprPtr ret = syntax::name("x");
    if (!LP.outputs_in_target_layout && !LP.output_permutations.empty() && !LP.output_permutations[0].empty())
      ret = transpose_call(ret, LP.output_permutations[0]);
    call_body.push_back(syntax::return_stmt(ret));
    auto init = syntax::new_stmt();
    init->kind = StmtKind::FunctionDef;
    init->name = "__init__";
    init->params = {syntax::Parameter{"self", nullptr, nullptr, false, false}};
    init->body = init_body;
    auto callf = syntax::new_stmt();
    callf->kind = StmtKind::FunctionDef;
    callf->name = "call";
    callf->params = {syntax::Parameter{"self", nullptr, nullptr, false, false}, syntax::Parameter{"x", nullptr, nullptr, false, false}};
    callf->body = call_body;
    auto c = syntax::new_stmt();
    c->kind = StmtKind::ClassDef;
    c->name = cls;
    c->bases = {syntax::pos(syntax::dotted("keras.Model"))};
    c->body = {init, callf};
    c->leading_comments = s.leading_comments;
    sink.warn(s.loc, fmt::format("the Sequential model `{}` becomes class `{}` (--style subclass)", var, cls));
    auto assign = syntax::assign(syntax::name(var), syntax::call(syntax::name(cls), {}));
    return {c, assign};
  }

  // ---- helpers written into the generated file --------------------------------------

  std::vector<StmtPtr> helper_classes() {
    std::vector<StmtPtr> out;
    for (const auto& h : training_helpers_) {
      for (auto& st : helper_statements_of(keras_training_helper(h))) out.push_back(st);
    }
    for (const auto& h : helpers_) {
      bool is_max = h.find("Max") != std::string::npos;
      need_ops_ = true;
      std::string O_ = ops_name_ + ".";
      std::string L_ = layers_name_ + ".";
      need_layers_ = true;
      std::string src = keras_adaptive_pooling_source(h, L_, O_, is_max);
      for (auto& st : helper_statements_of(src)) out.push_back(st);
    }
    return out;
  }

  void drop_unused_imports(syntax::Module& m) {
    // The names the imports bind, and which of them the code uses (not a set of every name
    // of the file: that cost more than the walk); the walk ends when all are used.
    std::set<std::string> bound, used;
    for (auto& s : m.body)
      if (s->kind == StmtKind::Import || s->kind == StmtKind::ImportFrom)
        for (auto& [n, as] : s->names)
          bound.insert(!as.empty() ? as : s->kind == StmtKind::Import ? n.substr(0, n.find('.')) : n);
    auto use = [&](const std::string& n) {
      if (bound.count(n)) used.insert(n);
    };
    std::function<void(const std::vector<StmtPtr>&)> walk = [&](const std::vector<StmtPtr>& b) {
      for (auto& s : b) {
        if (used.size() == bound.size()) return;
        if (s->kind == StmtKind::Import || s->kind == StmtKind::ImportFrom) continue;
        for_each_name(s->value, use);
        for (auto& t : s->targets) for_each_name(t, use);
        for (auto& a : s->bases) for_each_name(a.value, use);
        for (auto& d : s->decorators) for_each_name(d, use);
        for (auto& p : s->params) {
          for_each_name(p.default_value, use);
          for_each_name(p.annotation, use);
        }
        for_each_name(s->returns, use);
        if (s->kind == StmtKind::Other) {
          // helper classes are printed verbatim: look for the names they use
          for (const char* n : {"keras", "layers", "ops"})
            if (s->text.find(std::string(n) + ".") != std::string::npos) use(n);
        }
        walk(s->body);
        walk(s->orelse);
      }
    };
    walk(m.body);
    std::vector<StmtPtr> out;
    for (auto& s : m.body) {
      if (s->kind == StmtKind::Import || s->kind == StmtKind::ImportFrom) {
        std::vector<std::pair<std::string, std::string>> keep;
        for (auto& [n, as] : s->names) {
          std::string bound = !as.empty() ? as : s->kind == StmtKind::Import ? n.substr(0, n.find('.')) : n;
          if (used.count(bound) || (s->kind == StmtKind::ImportFrom && s->module == "__future__")) keep.push_back({n, as});
        }
        if (keep.empty()) {
          if (!s->leading_comments.empty() && !m.body.empty()) {
            // keep the header comment
            auto next = std::find(m.body.begin(), m.body.end(), s);
            if (next + 1 != m.body.end()) (*(next + 1))->leading_comments.insert((*(next + 1))->leading_comments.begin(), s->leading_comments.begin(), s->leading_comments.end());
          }
          continue;
        }
        s->names = keep;
      }
      out.push_back(s);
    }
    m.body = out;
  }
};

}  // namespace

syntax::Module emit_keras(pivot::Program& program, pivot::Model& model, const passes::LayoutPlan& layout,
                          const EmitOptions& options, DiagnosticSink& sink) {
  syntax::NodeArenaScope arena;  // the generated file's nodes (syntax/arena.h)
  Emitter e(program, model, layout, options, sink);
  return e.run();
}

}  // namespace nnport::backends
