#include "backends/torch/torch_backend.h"

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <optional>
#include <set>
#include <tuple>

#include "backends/common/graph_index.h"
#include "backends/torch/torch_helpers.h"
#include "backends/torch/torch_training.h"
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

bool is_keras_module(const std::string& n) {
  return n == "keras" || n.rfind("keras.", 0) == 0 || n == "tensorflow" || n.rfind("tensorflow.", 0) == 0;
}

// Attributes whose Keras source expression means the same thing in PyTorch, so the
// migrated constructor can reuse it (`layers.Dense(num_classes)` -> `nn.Linear(64, num_classes)`).
const WordSet kIdentityAttrs = {"out_features", "out_channels", "kernel_dim", "stride_dim", "dilation",
                                "groups",       "hidden_size",  "num_embeddings", "embedding_dim",
                                "rate",         "eps",          "negative_slope", "alpha"};



// Does generated code use the module `name` (as `name.` outside a longer identifier)?
bool mentions(const std::string& text, const std::string& name) {
  for (size_t p = text.find(name + "."); p != std::string::npos; p = text.find(name + ".", p + 1))
    if (p == 0 || !(std::isalnum((unsigned char)text[p - 1]) || text[p - 1] == '_' || text[p - 1] == '.')) return true;
  return false;
}

// `torch.nn.functional.relu` -> F.relu, `torch.nn.ReLU` -> nn.ReLU
ExprPtr torch_name(const std::string& q, bool& uses_functional) {
  if (q.rfind("torch.nn.functional.", 0) == 0) {
    uses_functional = true;
    return syntax::attr(syntax::name("F"), q.substr(20));
  }
  if (q.rfind("torch.nn.", 0) == 0) return syntax::attr(syntax::name("nn"), q.substr(9));
  return syntax::dotted(q);
}

}  // namespace

class TorchEmitter {
 public:
  TorchEmitter(pivot::Program& p, pivot::Model& m, const passes::LayoutPlan& lp, const EmitOptions& o,
               DiagnosticSink& s)
      : P(p), M(m), LP(lp), opt(o), sink(s), graph_(m) {
    for (size_t i = 0; i < P.sites.size(); ++i) site_of_[P.sites[i].call] = static_cast<int>(i);
    for (const auto& st : P.module.body) {
      if (st->kind == StmtKind::Import)
        for (auto& [n, as] : st->names)
          if (is_keras_module(n)) fw_names_.insert(as.empty() ? n.substr(0, n.find('.')) : as);
      if (st->kind == StmtKind::ImportFrom && is_keras_module(st->module))
        for (auto& [n, as] : st->names) fw_names_.insert(as.empty() ? n : as);
    }
    for (const auto& st : P.module.body) {
      if (st->kind == StmtKind::FunctionDef || st->kind == StmtKind::ClassDef) module_names_.insert(st->name);
      if (st->kind == StmtKind::Assign)
        for (auto& t : st->targets)
          if (t->kind == ExprKind::Name) module_names_.insert(t->name);
    }
    for (const auto& step : P.training) {
      training_.emplace(step.stmt, &step);
      if (step.call) training_calls_[step.call] = &step;
    }
    uses_.assign(M.values.size(), 0);
    for (const auto& n : M.nodes)
      for (int v : n.inputs) uses_.at(v)++;
    for (int v : M.outputs) uses_.at(v)++;
  }

  TorchOutput run() {
    std::vector<StmtPtr> body;
    std::string target = opt.style;
    std::string root_var = root_variable();
    if (M.style == "functional") {
      body = replace_model_statements(root_var, [&](const Stmt& s) { return model_from_graph(s, root_var, target); });
    } else if (M.style == "sequential" && target == "subclass") {
      body = replace_model_statements(root_var, [&](const Stmt& s) { return model_from_graph(s, root_var, target); });
    } else {
      Ctx ctx;
      for (const auto& s : P.module.body) {
        if (M.style == "subclass" && target == "sequential" && s->kind == StmtKind::ClassDef &&
            s->name == M.root->class_name) {
          body.push_back(sequential_factory(*s));
          continue;
        }
        for (auto& x : translate_stmt(s, ctx)) body.push_back(x);
      }
      collapse_sequential_adds(body);
    }
    TorchOutput out;
    out.module.file = P.module.file;
    std::vector<StmtPtr> head;
    auto imp = syntax::new_stmt();
    imp->kind = StmtKind::Import;
    imp->names = {{"torch", ""}};
    imp->leading_comments = {"# " + opt.header};
    head.push_back(imp);
    auto nn = syntax::new_stmt();
    nn->kind = StmtKind::ImportFrom;
    nn->module = "torch";
    nn->names = {{"nn", ""}};
    head.push_back(nn);
    std::vector<StmtPtr> rest;
    for (auto& s : body) {
      if (s->kind == StmtKind::Import || s->kind == StmtKind::ImportFrom) head.push_back(s);
      else rest.push_back(s);
    }
    // `import torch` stays when the code mentions `torch.`: most statements tell from their
    // syntax tree, the others are printed to see (printing them all cost as much as the
    // file's own printing)
    bool torch_used = std::any_of(rest.begin(), rest.end(), [](const StmtPtr& x) {
      Mention m = mentions_module(*x, "torch");
      return m == Mention::Yes ||
             (m == Mention::Maybe && mentions(syntax::print_module(syntax::Module{"", "", {x}, {}}), "torch"));
    });
    for (auto& h : helpers_) torch_used = torch_used || mentions(torch_helper_sources().at(h), "torch");
    torch_used = mentions(torch_training_helpers(training_out_.helpers, module_names_), "torch") || torch_used;
    uses_functional_ = uses_functional_ || training_out_.uses_functional;
    if (!torch_used) head.erase(head.begin());
    if (uses_functional_) {
      auto f = syntax::new_stmt();
      f->kind = StmtKind::Import;
      f->names = {{"torch.nn.functional", "F"}};
      bool has_torch = head[0]->kind == StmtKind::Import;
      head.insert(head.begin() + (has_torch ? 1 : 0), f);
    }
    if (training_out_.helpers.count("train") || training_out_.helpers.count("evaluate") ||
        training_out_.helpers.count("predict")) {
      auto data = syntax::new_stmt();
      data->kind = StmtKind::ImportFrom;
      data->module = "torch.utils.data";
      data->names = {{"DataLoader", ""}, {"TensorDataset", ""}};
      head.insert(std::find(head.begin(), head.end(), nn) + 1, data);
    }
    if (training_out_.uses_math) {
      auto math = syntax::new_stmt();
      math->kind = StmtKind::Import;
      math->names = {{"math", ""}};
      head.insert(head.begin(), math);
    }
    for (auto& h : helper_statements()) head.push_back(h);
    head[0]->leading_comments = {"# " + opt.header};
    for (size_t i = 1; i < head.size(); ++i) head[i]->leading_comments.clear();
    sort_imports(head);
    for (auto& st : rest)  // the header of the file this one was generated from
      st->leading_comments.erase(std::remove_if(st->leading_comments.begin(), st->leading_comments.end(),
                                                [](const std::string& c) { return c.rfind("# Generated by nnport", 0) == 0; }),
                                 st->leading_comments.end());
    if (!rest.empty() && rest[0]->kind == StmtKind::Expr && rest[0]->value && rest[0]->value->kind == ExprKind::String) {
      rest[0]->leading_comments.insert(rest[0]->leading_comments.begin(), head[0]->leading_comments.begin(),
                                       head[0]->leading_comments.end());
      head[0]->leading_comments.clear();
      head.insert(head.begin(), rest[0]);
      rest.erase(rest.begin());
    }
    one_line_after_imports(rest);
    out.module.body = head;
    out.module.body.insert(out.module.body.end(), rest.begin(), rest.end());
    move_children_paths(paths_);
    out.module_paths = paths_;
    // the model's own chain wins over a helper function translated after it (VGG's
    // `make_layers`, which the chain inlines) that builds the same layers
    for (const auto& [layer, path] : chain_paths_) out.module_paths[layer] = path;
    return out;
  }

 private:
  struct Ctx {
    bool in_model_class = false;
    bool in_forward = false;
    std::set<std::string> allowed;  // names a reused source expression may mention
    std::set<std::string> locals;   // names assigned in the enclosing function
  };

  pivot::Program& P;
  pivot::Model& M;
  const passes::LayoutPlan& LP;
  EmitOptions opt;
  DiagnosticSink& sink;
  GraphIndex graph_;
  SiteIndex site_of_;
  std::set<std::string> fw_names_;
  std::set<std::string> helpers_;
  bool uses_functional_ = false;
  std::map<std::string, std::string> paths_;
  std::map<std::string, std::string> chain_paths_;  // --style sequential: index in the chain
  std::vector<int> uses_;  // value id -> how many nodes (and outputs) read it
  std::multimap<const Stmt*, const pivot::TrainingStep*> training_;  // recognised training statements
  std::map<const Expr*, const pivot::TrainingStep*> training_calls_;  // their fit/evaluate/predict calls
  TorchTraining training_out_;
  std::set<std::string> module_names_;  // names the file defines at module level
  std::set<const pivot::Layer*> runtime_activation_layers_;  // built with Activation(<parameter>)
  // `.add` statements: the Sequential and index each layer is added at, and the modules
  // of the last container written (sequential_modules_for_child)
  std::optional<std::map<const pivot::Layer*, std::pair<LayerPtr, size_t>>> sequential_slots_;
  std::tuple<LayerPtr, Ctx, std::vector<std::vector<ExprPtr>>> add_groups_;

  std::string root_variable() {
    const std::string& e = M.entry;
    if (!e.empty() && std::all_of(e.begin(), e.end(), [](char c) { return std::isalnum((unsigned char)c) || c == '_'; }))
      return e;
    return "";
  }

  ExprPtr nn(const std::string& cls) { return syntax::attr(syntax::name("nn"), cls); }
  ExprPtr helper(const std::string& cls) {
    helpers_.insert(cls);
    if (cls.rfind("Keras", 0) == 0) helpers_.insert("KerasRecurrent");
    return syntax::name(cls);
  }
  ExprPtr permute_call(ExprPtr x, const std::vector<int>& perm) {
    std::vector<Argument> args;
    for (int p : perm) args.push_back(syntax::pos(syntax::int_lit(p)));
    return syntax::call(syntax::attr(std::move(x), "permute"), args);
  }
  ExprPtr permute_module(const std::vector<int>& perm) {
    std::vector<Argument> args;
    for (int p : perm) args.push_back(syntax::pos(syntax::int_lit(p)));
    return syntax::call(helper("Permute"), args);
  }

  // ---- attribute values --------------------------------------------------------------

  const syntax::PivotCall* pivot_of(const LayerPtr& l) {
    if (l->site < 0) return nullptr;
    auto* call = P.sites[l->site].call;
    return call ? call->pivot.get() : nullptr;
  }

  ExprPtr source_expr(const syntax::PivotCall* pc, const std::string& attr) {
    if (!pc) return nullptr;
    for (auto& [k, e] : pc->attrs)
      if (k == attr) return e;
    return nullptr;
  }

  bool reusable(const ExprPtr& e, const Ctx& ctx) {
    if (is_literal(e)) return true;
    std::set<std::string> names;
    collect_names(e, names);
    for (auto& n : names)
      if ((!ctx.allowed.count(n) && !ctx.locals.count(n)) || fw_names_.count(n)) return false;
    return e->kind == ExprKind::Name || e->kind == ExprKind::BinOp;
  }

  // The one value an attribute has for every layer built at a site.
  Attr require(const std::vector<LayerPtr>& inst, const std::string& attr, const Location& loc) {
    static const Attr kNone;
    const Attr* v = nullptr;  // (no copies: this runs for every attribute of every layer)
    for (const auto& l : inst) {
      auto it = l->attrs.find(attr);
      const Attr* a = it == l->attrs.end() ? &kNone : &it->second;
      if (v && *v != *a)
        throw NotTranslatable{loc, fmt::format("`{}` differs between the layers built here and PyTorch needs one value",
                                               attr)};
      v = a;
    }
    return v ? *v : Attr();
  }

  ExprPtr value_expr(const std::vector<LayerPtr>& inst, const std::string& attr, const syntax::PivotCall* pc,
                     const Ctx& ctx, const Location& loc) {
    if (kIdentityAttrs.count(attr))
      if (ExprPtr e = source_expr(pc, attr); e && reusable(e, ctx)) return syntax::clone(e);
    return literal(require(inst, attr, loc));
  }

  // ---- modules -----------------------------------------------------------------------

  // What a Keras layer becomes: optional padding in front, the module, an activation after.
  struct Modules {
    ExprPtr pre;   // module form of explicit padding
    std::vector<long long> pads;  // F.pad amounts (last axis first), when pre is set
    double pad_value = 0;
    ExprPtr main;  // null: the layer has no module (merge layers are operators in forward)
    std::string activation;  // pivot activation applied after the layer ("" = none)
    ExprPtr runtime_activation;  // source expression of an activation resolved at run time
  };

  // The pads TensorFlow's padding="same" adds on each side of each spatial axis.
  std::vector<std::pair<long long, long long>> same_pads(const std::vector<LayerPtr>& inst, int rank,
                                                         const Location& loc) {
    std::optional<std::vector<std::pair<long long, long long>>> result;
    for (const auto& l : inst) {
      auto k = passes::expand(l->attrs["kernel_dim"], rank, 1);
      auto s = passes::expand(l->attrs["stride_dim"], rank, 1);
      auto d = l->attrs.count("dilation") ? passes::expand(l->attrs["dilation"], rank, 1) : std::vector<long long>(rank, 1);
      std::vector<std::pair<long long, long long>> pads;
      for (int i = 0; i < rank; ++i) {
        long long total;
        if (s[i] == 1) {
          total = d[i] * (k[i] - 1);
        } else {
          if (l->input_shape.size() != (size_t)rank + 2 || l->input_shape[1 + i] < 0)
            throw NotTranslatable{loc, "padding='same' with a stride needs the input size (give --input-shape)"};
          long long in = l->input_shape[1 + i];  // channel-last source shape
          long long out = (in + s[i] - 1) / s[i];
          total = std::max((out - 1) * s[i] + d[i] * (k[i] - 1) + 1 - in, 0LL);
        }
        pads.push_back({total / 2, total - total / 2});
      }
      if (result && *result != pads) throw NotTranslatable{loc, "padding='same' pads differently for the layers built here"};
      result = pads;
    }
    return result ? *result : std::vector<std::pair<long long, long long>>{};
  }

  // Generic constructor from the catalog's PyTorch signature: required parameters
  // positionally, others by keyword when they differ from PyTorch's default.
  ExprPtr generic_module(const catalog::OpDef& def, const std::vector<LayerPtr>& inst, const syntax::PivotCall* pc,
                         const Ctx& ctx, const Location& loc, const std::map<std::string, ExprPtr>& overrides = {},
                         const std::string& cls_override = "") {
    const catalog::Signature& sig = def.torch.at(0);
    std::vector<Argument> args;
    bool positional = true;
    for (const auto& p : sig.params) {
      if (p.dropped || p.default_only || p.attr.empty()) {
        if (overrides.count(p.name) && overrides.at(p.name)) args.push_back(syntax::kw(p.name, overrides.at(p.name)));
        positional = false;
        continue;
      }
      ExprPtr e;
      if (overrides.count(p.name)) {
        e = overrides.at(p.name);
        if (!e) {  // left out: a lazy module's inferred size keeps the rest positional
          if (p.default_value) positional = false;
          continue;
        }
      } else if (ExprPtr varying = size_by_name(inst, p.attr, ctx)) {
        e = varying;
      } else if (ExprPtr src = kIdentityAttrs.count(p.attr) ? source_expr(pc, p.attr) : nullptr;
                 src && reusable(src, ctx) && !is_literal(src)) {
        e = syntax::clone(src);  // the source's own expression (a parameter), whatever its value here
      } else {
        Attr v = require(inst, p.attr, loc);
        if (p.default_value && v == *p.default_value) {
          positional = false;
          continue;
        }
        if (v.is_none() && !p.default_value) missing_size(inst, p.attr, def, loc);
        e = value_expr(inst, p.attr, pc, ctx, loc);
      }
      if (!p.default_value && positional) args.push_back(syntax::pos(e));
      else {
        positional = false;
        args.push_back(syntax::kw(p.name, e));
      }
    }
    bool f = false;
    ExprPtr callee = cls_override.empty() ? torch_name(sig.names.at(0), f) : nn(cls_override);
    return syntax::call(callee, args);
  }

  // A size PyTorch needs that differs between the layers one line builds (a block class
  // used with several widths): the local name that holds it every time, if there is one.
  ExprPtr size_by_name(const std::vector<LayerPtr>& inst, const std::string& attr, const Ctx& ctx) {
    static const WordSet kSizes = {"in_features", "in_channels", "num_features", "input_size",
                                   "normalized_shape"};
    if (inst.size() < 2 || !kSizes.count(attr)) return nullptr;
    std::set<long long> values;
    for (const auto& l : inst) {
      auto it = l->attrs.find(attr);
      if (it == l->attrs.end() || !it->second.is_int()) return nullptr;
      values.insert(it->second.as_int());
    }
    if (values.size() < 2) return nullptr;
    for (const auto& [name, value] : inst[0]->scope) {
      if (!ctx.allowed.count(name) && !ctx.locals.count(name)) continue;
      bool always = std::all_of(inst.begin(), inst.end(), [&](const LayerPtr& l) {
        auto it = l->scope.find(name);
        return it != l->scope.end() && it->second == l->attrs.at(attr).as_int();
      });
      if (always) return syntax::name(name);
    }
    return nullptr;
  }

  [[noreturn]] void missing_size(const std::vector<LayerPtr>& inst, const std::string& attr, const catalog::OpDef& def,
                                 const Location& loc) {
    std::string path = inst.empty() ? def.id : inst[0]->path;
    bool lazy = def.id == "linear" || def.id.rfind("conv", 0) == 0 || def.id.rfind("batchnorm", 0) == 0;
    throw MigrationError(Diagnostic{
        Severity::Error, loc,
        fmt::format("PyTorch needs `{}` of layer `{}`, which depends on an input shape nothing in the file states",
                    attr, path),
        std::string("give the model's input shape without the batch axis with --input-shape (e.g. --input-shape "
                    "32,32,3), or state it in the file (keras.Input(shape=...), input_shape=, model.build(...))") +
            (lazy ? "; or pass --lazy to emit PyTorch's lazy module, which infers it on the first call" : "")});
  }

  bool unknown_size(const std::vector<LayerPtr>& inst, const std::string& attr) {
    for (const auto& l : inst)
      if (!l->attrs.count(attr) || l->attrs.at(attr).is_none()) return true;
    return varies(inst, attr);
  }

  bool varies(const std::vector<LayerPtr>& inst, const std::string& attr) {
    for (const auto& l : inst)
      if (l->attrs.count(attr) && inst[0]->attrs.count(attr) && l->attrs.at(attr) != inst[0]->attrs.at(attr)) return true;
    return false;
  }

  // A size that differs between the layers one line builds and that no name in scope
  // holds (VGG's make_layers: the previous layer's width): PyTorch's lazy module infers it.
  bool lazy_fallback(const std::vector<LayerPtr>& inst, const std::string& attr, const Ctx& ctx, const Location& loc) {
    if (!varies(inst, attr) || size_by_name(inst, attr, ctx)) return false;
    std::string values;
    for (const auto& l : inst) values += (values.empty() ? "" : ", ") + pivot::to_python(l->attrs.at(attr));
    sink.warn(loc, fmt::format("`{}` differs between the layers this line builds ({}) and no name here holds it; "
                               "the migrated code uses PyTorch's lazy module, which infers it on the first call",
                               attr, values));
    return true;
  }

  Modules modules_for(const std::vector<LayerPtr>& inst, const syntax::PivotCall* pc, const Ctx& ctx,
                      const Location& loc) {
    const auto& cat = catalog::Catalog::get();
    const std::string& op = inst.at(0)->op;
    for (const auto& l : inst)
      if (l->op != op) throw NotTranslatable{loc, "the layers built here are of different kinds"};
    const catalog::OpDef* def = cat.op(op);
    Modules m;
    if (inst[0]->attrs.count("actv_func")) {
      ExprPtr e = source_expr(pc, "actv_func");
      if (e && e->kind == ExprKind::Name && reusable(e, ctx) && !ctx.allowed.empty()) {
        // `activation=activation`, a constructor parameter: the migrated class keeps taking it
        m.runtime_activation = e;
        for (const auto& l : inst) runtime_activation_layers_.insert(l.get());
      } else {
        Attr a = require(inst, "actv_func", loc);
        if (a.is_str() && a.as_str().rfind("runtime:", 0) == 0) {
          m.runtime_activation = e;
          if (!m.runtime_activation) throw NotTranslatable{loc, "an activation nnport could not resolve"};
        } else if (a.is_str()) {
          m.activation = a.as_str();
        }
      }
    }
    if (runtime_activation_layers_.count(inst[0].get()) && !m.runtime_activation) m.activation.clear();
    int rank = def->rank;
    if (op.rfind("conv", 0) == 0 || op.rfind("maxpool", 0) == 0 || op.rfind("avgpool", 0) == 0) {
      std::map<std::string, ExprPtr> ov;
      std::string ptype = require(inst, "padding_type", loc).as_str();
      bool conv = op.rfind("conv", 0) == 0;
      if (ptype == "same") {
        auto pads = same_pads(inst, rank, loc);
        bool symmetric = std::all_of(pads.begin(), pads.end(), [](auto& p) { return p.first == p.second; });
        auto strides = passes::expand(require(inst, "stride_dim", loc), rank, 1);
        bool unit_stride = std::all_of(strides.begin(), strides.end(), [](long long s) { return s == 1; });
        if (conv && unit_stride && !symmetric) {
          ov["padding"] = syntax::str_lit("same");  // PyTorch pads an even kernel like TensorFlow
        } else if (symmetric) {
          std::vector<long long> p;
          for (auto& x : pads) p.push_back(x.first);
          if (std::any_of(p.begin(), p.end(), [](long long x) { return x != 0; })) ov["padding"] = ints_expr(p, true);
          else ov["padding"] = nullptr;
        } else {
          // TensorFlow puts the odd pixel at the end; PyTorch pads symmetrically: pad first.
          if (op.rfind("avgpool", 0) == 0)
            throw NotTranslatable{loc, "average pooling with padding='same' that pads one side more (TensorFlow "
                                       "averages over the real elements only)"};
          for (int i = rank - 1; i >= 0; --i) {
            m.pads.push_back(pads[i].first);
            m.pads.push_back(pads[i].second);
          }
          m.pad_value = conv ? 0.0 : -INFINITY;
          std::vector<ExprPtr> items;
          for (auto x : m.pads) items.push_back(syntax::int_lit(x));
          if (conv) {
            m.pre = syntax::call(nn("ZeroPad" + std::to_string(rank) + "d"), {syntax::pos(syntax::tuple(items))});
          } else {
            m.pre = syntax::call(nn("ConstantPad" + std::to_string(rank) + "d"),
                                 {syntax::pos(syntax::tuple(items)),
                                  syntax::pos(syntax::call(syntax::name("float"), {syntax::pos(syntax::str_lit("-inf"))}))});
          }
          ov["padding"] = nullptr;
        }
      } else if (ptype == "explicit") {
        auto amount = passes::expand(require(inst, "padding_amount", loc), rank, 0);
        bool any = std::any_of(amount.begin(), amount.end(), [](long long x) { return x != 0; });
        ov["padding"] = any ? ints_expr(amount, true) : nullptr;
      } else {
        ov["padding"] = nullptr;
      }
      if (!conv) {
        if (passes::expand(require(inst, "stride_dim", loc), rank, 1) ==
            passes::expand(require(inst, "kernel_dim", loc), rank, 1))
          ov["stride"] = nullptr;
        if (op.rfind("avgpool", 0) == 0) {
          bool padded = ov.count("padding") && ov["padding"];
          ov["count_include_pad"] = padded ? syntax::bool_lit(false) : nullptr;
        }
      }
      if (conv && (opt.lazy || lazy_fallback(inst, "in_channels", ctx, loc)) && unknown_size(inst, "in_channels")) {
        ov["in_channels"] = nullptr;
        m.main = generic_module(*def, inst, pc, ctx, loc, ov, "LazyConv" + std::to_string(rank) + "d");
        return m;
      }
      m.main = generic_module(*def, inst, pc, ctx, loc, ov);
      return m;
    }
    if (op.rfind("global_", 0) == 0) {
      bool is_max = op.find("max") != std::string::npos;
      ExprPtr pool = syntax::call(nn(std::string(is_max ? "AdaptiveMaxPool" : "AdaptiveAvgPool") + std::to_string(rank) + "d"),
                                  {syntax::pos(syntax::int_lit(1))});
      if (require(inst, "keepdims", loc).as_bool()) m.main = pool;
      else m.main = syntax::call(nn("Sequential"), {syntax::pos(pool), syntax::pos(syntax::call(nn("Flatten"), {}))});
      return m;
    }
    if (op.rfind("zeropad", 0) == 0) {
      const auto& pads = require(inst, "padding", loc).as_list();
      std::vector<ExprPtr> items;
      for (int i = rank - 1; i >= 0; --i)
        for (auto x : pads.at(i).as_ints()) items.push_back(syntax::int_lit(x));
      m.main = syntax::call(nn("ZeroPad" + std::to_string(rank) + "d"), {syntax::pos(syntax::tuple(items))});
      return m;
    }
    if (op == "linear" && (opt.lazy || lazy_fallback(inst, "in_features", ctx, loc)) && unknown_size(inst, "in_features")) {
      m.main = generic_module(*def, inst, pc, ctx, loc, {{"in_features", nullptr}}, "LazyLinear");
      return m;
    }
    if (op.rfind("batchnorm", 0) == 0) {
      std::map<std::string, ExprPtr> ov;
      if ((opt.lazy || lazy_fallback(inst, "num_features", ctx, loc)) && unknown_size(inst, "num_features")) {
        ov["num_features"] = nullptr;
        m.main = generic_module(*def, inst, pc, ctx, loc, ov, "LazyBatchNorm" + std::to_string(rank) + "d");
        return m;
      }
      m.main = generic_module(*def, inst, pc, ctx, loc);
      return m;
    }
    if (op == "lstm" || op == "gru" || op == "rnn") {
      std::map<std::string, ExprPtr> ov{{"batch_first", nullptr}};
      std::string cls = op == "lstm" ? "KerasLSTM" : op == "gru" ? "KerasGRU" : "KerasSimpleRNN";
      // nn.GRU is Keras's reset_after=True; reset_after=False needs its own recurrence
      if (op == "gru" && !require(inst, "reset_after", loc).as_bool()) {
        cls = "KerasGRUResetBefore";
        helpers_.insert("GRUResetBefore");
      }
      ExprPtr call = generic_module(*def, inst, pc, ctx, loc, ov);
      call->object = helper(cls);
      if (require(inst, "return_sequences", loc).as_bool())
        call->args.push_back(syntax::kw("return_sequences", syntax::bool_lit(true)));
      if (require(inst, "return_state", loc).as_bool())
        call->args.push_back(syntax::kw("return_state", syntax::bool_lit(true)));
      Attr merge = inst[0]->attrs.count("merge_mode") ? require(inst, "merge_mode", loc) : Attr();
      if (merge.is_str() && merge.as_str() != "concat")
        call->args.push_back(syntax::kw("merge_mode", syntax::str_lit(merge.as_str())));
      m.main = call;
      return m;
    }
    if (op == "reshape") {
      const auto& shape = require(inst, "shape", loc).as_list();
      std::vector<Argument> args;
      for (size_t i = 1; i < shape.size(); ++i) args.push_back(syntax::pos(literal(shape[i])));
      m.main = syntax::call(helper("Reshape"), args);
      return m;
    }
    if (op == "permute") {
      auto dims = require(inst, "dims", loc).as_ints();
      m.main = permute_module(std::vector<int>(dims.begin(), dims.end()));
      return m;
    }
    if (op == "concat" || op == "add" || op == "sub" || op == "mul") return m;  // operators in forward
    if (op == "flatten") {
      m.main = syntax::call(nn("Flatten"), {});
      return m;
    }
    if (def->kind == "activation") {
      m.main = activation_module(op, inst[0]->attrs, loc);
      return m;
    }
    if (def->torch.empty()) throw NotTranslatable{loc, fmt::format("`{}` has no PyTorch form in the catalog", op)};
    m.main = generic_module(*def, inst, pc, ctx, loc);
    return m;
  }

  // nn.ReLU(), nn.LeakyReLU(0.2), nn.Softmax(dim=-1) ...
  ExprPtr activation_module(const std::string& op, const pivot::Attrs& attrs, const Location& loc) {
    const auto* def = catalog::Catalog::get().op(op);
    if (!def || def->torch.empty()) throw NotTranslatable{loc, "activation " + op + " has no PyTorch form"};
    return syntax::call(torch_name(def->torch[0].names[0], uses_functional_), activation_args(*def, attrs, 0));
  }

  // The functional form: F.relu(x), torch.sigmoid(x), F.softmax(x, dim=-1)
  ExprPtr activation_function(const std::string& op, const pivot::Attrs& attrs, ExprPtr x, const Location& loc) {
    const auto* def = catalog::Catalog::get().op(op);
    if (!def || def->torch.size() < 2) throw NotTranslatable{loc, "activation " + op + " has no PyTorch function"};
    auto args = activation_args(*def, attrs, 1);
    args.insert(args.begin(), syntax::pos(std::move(x)));
    return syntax::call(torch_name(def->torch[1].names[0], uses_functional_), args);
  }

  std::vector<Argument> activation_args(const catalog::OpDef& def, const pivot::Attrs& attrs, size_t sig) {
    std::vector<Argument> args;
    for (const auto& p : def.torch[sig].params) {
      if (p.attr.empty() || p.dropped || p.name == "input") continue;
      auto it = attrs.find(p.attr);
      if (it == attrs.end()) continue;
      bool always = p.name == "dim";  // PyTorch warns when softmax's dim is implicit
      if (!always && p.default_value && it->second == *p.default_value) continue;
      args.push_back(syntax::kw(p.name, literal(it->second)));
    }
    return args;
  }

  // Keras activation functions' parameters (keras.activations.leaky_relu has slope 0.2).
  pivot::Attrs function_defaults(const std::string& op, int dim) {
    pivot::Attrs a;
    for (const auto& [k, v] : catalog::Catalog::get().op(op)->attrs) a[k] = v;
    if (op == "leaky_relu") a["negative_slope"] = Attr(0.2);
    if (op == "softmax" || op == "log_softmax") a["dim"] = Attr(dim);
    return a;
  }

  // The axis PyTorch's softmax must use for a Keras softmax over the last axis of `value`.
  int last_axis_in_target(int value) {
    const auto& v = M.value(value);
    if (v.shape.size() >= 3 && v.source_layout == pivot::Layout::ChannelsLast &&
        v.target_layout == pivot::Layout::ChannelsFirst)
      return 1;
    return -1;
  }

  // ---- forward expressions ----------------------------------------------------------

  // The expression computing node `n` from its input expressions; `callee` is the module
  // for a layer call (`self.fc1`).
  // `layer_modules`: what modules_for gave for the layers, when the caller has it already.
  ExprPtr node_expr(const pivot::Node& n, std::vector<ExprPtr> ins, const ExprPtr& callee, const Location& loc,
                    const std::map<const pivot::Layer*, Modules>* layer_modules = nullptr) {
    for (size_t i = 0; i < ins.size() && i < n.input_permutations.size(); ++i)
      if (!n.input_permutations[i].empty()) ins[i] = permute_call(ins[i], n.input_permutations[i]);
    const std::string& op = n.op;
    LayerPtr layer = n.kind == "call" ? M.find(n.module) : nullptr;
    // the operators read (and complete) a copy of the attributes; a layer call reads none
    bool layer_call = layer && op != "concat" && op != "add" && op != "sub" && op != "mul";
    pivot::Attrs attrs = layer_call ? pivot::Attrs{} : layer ? layer->attrs : n.attrs;
    if (op == "concat") {
      long long dim = attrs["dim"].is_int() ? attrs["dim"].as_int() : -1;
      return syntax::call(syntax::dotted("torch.cat"), {syntax::pos(syntax::list(ins)), syntax::kw("dim", syntax::int_lit(dim))});
    }
    if (op == "add" || op == "sub" || op == "mul") {
      std::string sym = op == "add" ? "+" : op == "sub" ? "-" : "*";
      if (attrs.count("scalar")) {
        ExprPtr s = literal(attrs["scalar"]);
        bool first = attrs.count("scalar_first") && attrs["scalar_first"].as_bool();
        return first ? syntax::binop(s, sym, ins.at(0)) : syntax::binop(ins.at(0), sym, s);
      }
      ExprPtr e = ins.at(0);
      for (size_t i = 1; i < ins.size(); ++i) e = syntax::binop(e, sym, ins[i]);
      return e;
    }
    if (n.kind == "op") {
      const auto* def = catalog::Catalog::get().op(op);
      if (def && def->kind == "activation") {
        if (attrs.count("dim") && attrs["dim"].is_int() && attrs["dim"].as_int() == -1)
          attrs["dim"] = Attr(last_axis_in_target(n.inputs[0]));
        return activation_function(op, attrs, ins.at(0), loc);
      }
      if (op == "getitem") return getitem_expr(ins.at(0), attrs["index"], loc);
      if (op == "reshape") {
        std::vector<Argument> args;
        for (const auto& d : attrs["shape"].as_list())
          args.push_back(syntax::pos(d.is_str() ? syntax::subscript(syntax::attr(ins[0], "shape"), syntax::int_lit(0))
                                                : literal(d)));
        return syntax::call(syntax::attr(ins[0], "reshape"), args);
      }
      if (op == "permute") {
        auto dims = attrs["dims"].as_ints();
        return permute_call(ins[0], std::vector<int>(dims.begin(), dims.end()));
      }
      if (op == "flatten") {
        std::vector<Argument> args{syntax::pos(ins[0])};
        long long sd = attrs["start_dim"].is_int() ? attrs["start_dim"].as_int() : 1;
        long long ed = attrs["end_dim"].is_int() ? attrs["end_dim"].as_int() : -1;
        args.push_back(syntax::pos(syntax::int_lit(sd)));
        if (ed != -1) args.push_back(syntax::pos(syntax::int_lit(ed)));
        return syntax::call(syntax::dotted("torch.flatten"), args);
      }
      if (op == "mean") {
        std::vector<Argument> args;
        if (!attrs["dim"].is_none()) args.push_back(syntax::kw("dim", literal(attrs["dim"])));
        if (attrs["keepdim"].is_bool() && attrs["keepdim"].as_bool()) args.push_back(syntax::kw("keepdim", syntax::bool_lit(true)));
        return syntax::call(syntax::attr(ins[0], "mean"), args);
      }
      throw NotTranslatable{loc, fmt::format("the operation `{}` has no PyTorch form in nnport yet", op)};
    }
    // a layer call: explicit padding, the module, its activation
    const Modules* known = nullptr;
    if (layer_modules) {
      auto it = layer_modules->find(layer.get());
      if (it != layer_modules->end()) known = &it->second;
    }
    Modules mods = known ? *known : modules_for({layer}, pivot_of(layer), Ctx{}, loc);
    ExprPtr x = ins.at(0);
    if (mods.pre) {
      std::vector<ExprPtr> items;
      for (auto p : mods.pads) items.push_back(syntax::int_lit(p));
      std::vector<Argument> args{syntax::pos(x), syntax::pos(syntax::tuple(items))};
      if (mods.pad_value != 0)
        args.push_back(syntax::kw("value", syntax::call(syntax::name("float"), {syntax::pos(syntax::str_lit("-inf"))})));
      uses_functional_ = true;
      x = syntax::call(syntax::dotted("F.pad"), args);
    }
    ExprPtr y = syntax::call(callee, {syntax::pos(x)});
    if (!mods.activation.empty()) {
      int dim = last_axis_in_target(n.outputs[0]);
      y = activation_function(mods.activation, function_defaults(mods.activation, dim), y, loc);
    }
    return y;
  }

  ExprPtr getitem_expr(const ExprPtr& x, const Attr& index, const Location& loc) {
    std::vector<ExprPtr> parts;
    for (const auto& it : index.as_list()) {
      if (it.is_int()) parts.push_back(syntax::int_lit(it.as_int()));
      else if (it.is_str() && it.as_str() == "newaxis") parts.push_back(syntax::none_lit());
      else if (it.is_str() && it.as_str() == "...") {
        auto e = syntax::new_expr();
        e->kind = ExprKind::Ellipsis;
        parts.push_back(e);
      } else if (it.is_list()) {
        auto sl = syntax::new_expr();
        sl->kind = ExprKind::Slice;
        for (const auto& b : it.as_list()) sl->items.push_back(b.is_none() ? nullptr : literal(b));
        if (sl->items.size() == 3 && !sl->items[2]) sl->items.resize(2);  // `a:b`, not `a:b:`
        parts.push_back(sl);
      } else {
        throw NotTranslatable{loc, "an index nnport cannot write"};
      }
    }
    if (parts.size() == 1) return syntax::subscript(x, parts[0]);
    auto index_tuple = syntax::new_expr();  // `x[:, -1, :]`: a tuple without parentheses
    index_tuple->kind = ExprKind::Tuple;
    index_tuple->items = parts;
    return syntax::subscript(x, index_tuple);
  }

  // ---- statement translation (subclass -> subclass, Sequential -> Sequential) ----------

  bool mentions_framework(const ExprPtr& e) {
    std::set<std::string> names;
    collect_names(e, names);
    return std::any_of(names.begin(), names.end(), [&](const std::string& n) { return fw_names_.count(n) > 0; });
  }

  const pivot::Site* site(const Expr* e) {
    auto it = site_of_.find(e);
    return it == site_of_.end() ? nullptr : &P.sites[it->second];
  }

  ExprPtr translate(const ExprPtr& e, Ctx& ctx) {
    if (!e) return e;
    if (auto it = training_calls_.find(e.get()); it != training_calls_.end())
      return torch_training_call(*it->second, module_names_, training_out_);
    if (const pivot::Site* s = site(e.get())) {
      if (!s->layers.empty() && e->kind == ExprKind::Call) return translate_constructor(e, *s, ctx);
      if (!s->nodes.empty()) return translate_graph_expr(e, *s, ctx);
      if (e->pivot) throw NotTranslatable{e->loc, "a framework call the entry's model never runs"};
    }
    if (e->kind == ExprKind::Name && fw_names_.count(e->name))
      throw NotTranslatable{e->loc, fmt::format("`{}` (a Keras/TensorFlow name) has no PyTorch translation here", e->name)};
    if (e->kind == ExprKind::Attribute && mentions_framework(e))
      throw NotTranslatable{e->loc, fmt::format("`{}` has no PyTorch translation in nnport", syntax::print_expr(*e))};
    auto c = syntax::new_expr(*e);
    c->object = translate(e->object, ctx);
    c->element = translate(e->element, ctx);
    for (auto& x : c->items) x = translate(x, ctx);
    for (auto& x : c->values) x = translate(x, ctx);
    for (auto& a : c->args) a.value = translate(a.value, ctx);
    return c;
  }

  // An expression translated without looking at its own site (an operand of `+=`).
  ExprPtr translate_plain(const ExprPtr& e, Ctx& ctx) {
    auto c = syntax::new_expr(*e);
    c->object = translate(e->object, ctx);
    for (auto& x : c->items) x = translate(x, ctx);
    for (auto& a : c->args) a.value = translate(a.value, ctx);
    return c;
  }

  ExprPtr translate_constructor(const ExprPtr& e, const pivot::Site& s, Ctx& ctx) {
    if (s.op == "sequential") return sequential_expr(e, s, ctx);
    Modules m = modules_for(s.layers, e->pivot.get(), ctx, e->loc);
    if (!m.main) return nullptr;  // no module: the statement goes
    if (m.runtime_activation) {
      ExprPtr act = syntax::call(helper("Activation"), {syntax::pos(translate(m.runtime_activation, ctx))});
      for (const auto& l : s.layers) paths_[l->path] = l->path + ".0";
      return syntax::call(nn("Sequential"), {syntax::pos(m.main), syntax::pos(act)});
    }
    bool chained =
        std::any_of(s.layers.begin(), s.layers.end(), [&](const LayerPtr& l) { return graph_.chained_call(l->path); });
    if (chained && (m.pre || !m.activation.empty())) {
      // a layer put into a Sequential elsewhere: its padding and activation go with it
      std::vector<Argument> parts;
      if (m.pre) parts.push_back(syntax::pos(m.pre));
      size_t at = parts.size();
      parts.push_back(syntax::pos(m.main));
      if (!m.activation.empty())
        parts.push_back(syntax::pos(activation_module(m.activation, function_defaults(m.activation, -1), e->loc)));
      for (const auto& l : s.layers) paths_[l->path] = l->path + "." + std::to_string(at);
      return syntax::call(nn("Sequential"), parts);
    }
    for (const auto& l : s.layers) paths_[l->path] = l->path;
    return m.main;
  }

  // The nodes a container chains its i-th child with.
  const pivot::Node* chained_node(const std::string& container, size_t i) { return graph_.chained(container, (int)i); }

  // A Keras Sequential's layers as the modules of an nn.Sequential, with permutes,
  // explicit padding and activations in between: one group of modules per layer (the
  // last group also restores the output's layout).
  std::vector<std::vector<ExprPtr>> sequential_groups(const LayerPtr& container, const std::vector<ExprPtr>& elements,
                                                      Ctx& ctx, const Location& loc) {
    std::vector<std::vector<ExprPtr>> groups;
    size_t count = 0;
    std::optional<std::vector<long long>> folded;  // a ZeroPadding folded into the next convolution
    for (size_t i = 0; i < container->children.size(); ++i) {
      std::vector<ExprPtr> out;
      LayerPtr child = container->children[i].second;
      if (auto pads = foldable_padding(container, i)) {
        folded = pads;
        groups.push_back(out);  // nothing: the convolution pads
        continue;
      }
      if (folded) {
        child = std::make_shared<pivot::Layer>(*child);
        child->attrs["padding_type"] = Attr("explicit");
        pivot::AttrList amount;
        for (auto p : *folded) amount.push_back(Attr(p));
        child->attrs["padding_amount"] = Attr(amount);
        folded.reset();
      }
      const pivot::Node* n = chained_node(container->path, i);
      if (n && !n->input_permutations.empty() && !n->input_permutations[0].empty())
        out.push_back(permute_module(n->input_permutations[0]));
      ExprPtr source = i < elements.size() ? elements[i] : nullptr;
      Location at = source ? source->loc : loc;
      std::string prefix = container->path.empty() ? "" : container->path + ".";
      if (child->op == "submodel") {  // an instance of a class of the file: written as the source wrote it
        if (!source) throw NotTranslatable{at, "a model class instance added to a Sequential"};
        paths_[child->path] = prefix + std::to_string(count + out.size());
        out.push_back(translate(source, ctx));
        count += out.size();
        groups.push_back(out);
        continue;
      }
      Modules m = modules_for({child}, pivot_of(child), ctx, at);
      if (!m.main) throw NotTranslatable{at, fmt::format("`{}` has no PyTorch module to put in an nn.Sequential", child->op)};
      if (m.pre) out.push_back(m.pre);
      paths_[child->path] = prefix + std::to_string(count + out.size());
      out.push_back(m.main);
      if (m.runtime_activation) out.push_back(syntax::call(helper("Activation"), {syntax::pos(translate(m.runtime_activation, ctx))}));
      if (!m.activation.empty()) {
        int dim = n ? last_axis_in_target(n->outputs[0]) : -1;
        out.push_back(activation_module(m.activation, function_defaults(m.activation, dim), at));
      }
      count += out.size();
      groups.push_back(out);
    }
    if (container == M.root && !groups.empty() && !LP.outputs_in_target_layout && !LP.output_permutations.empty() &&
        !LP.output_permutations[0].empty())
      groups.back().push_back(permute_module(LP.output_permutations[0]));
    return groups;
  }

  // A Sequential built by a function called several times (a block factory): each
  // element is translated once, for every instance it built.
  std::vector<ExprPtr> shared_sequential(const std::vector<LayerPtr>& containers, const std::vector<ExprPtr>& elements,
                                         Ctx& ctx, const Location& loc) {
    std::vector<ExprPtr> out;
    std::vector<size_t> index_of(elements.size());
    std::optional<std::vector<long long>> folded;
    for (size_t i = 0; i < elements.size(); ++i) {
      std::optional<std::vector<long long>> pads;
      for (const auto& c : containers) {
        auto p = foldable_padding(c, i);
        if (!p || (pads && *pads != *p)) {
          pads.reset();
          break;
        }
        pads = p;
      }
      if (pads) {
        folded = pads;
        continue;
      }
      const pivot::Site* es = site(elements[i].get());
      if ((!es || es->layers.empty()) && elements[i]->kind == ExprKind::Call &&
          std::all_of(containers.begin(), containers.end(),
                      [&](const LayerPtr& c) { return c->children.size() > i && c->children[i].second->op == "submodel"; })) {
        index_of[i] = out.size();  // instances of a class of the file
        out.push_back(translate(elements[i], ctx));
        continue;
      }
      if (!es || es->layers.empty())
        throw NotTranslatable{elements[i]->loc, "a Sequential built several times needs its layers written out"};
      for (const auto& c : containers) {
        if (c->children.size() != elements.size())
          throw NotTranslatable{loc, "a Sequential built several times with different layers"};
        const pivot::Node* n = chained_node(c->path, i);
        if (n && !n->input_permutations.empty() && !n->input_permutations[0].empty())
          throw NotTranslatable{loc, "a Sequential built several times that needs layout changes inside"};
      }
      std::vector<LayerPtr> inst = es->layers;
      if (folded) {
        for (auto& l : inst) {
          l = std::make_shared<pivot::Layer>(*l);
          l->attrs["padding_type"] = Attr("explicit");
          pivot::AttrList amount;
          for (auto p : *folded) amount.push_back(Attr(p));
          l->attrs["padding_amount"] = Attr(amount);
        }
        folded.reset();
      }
      Modules m = modules_for(inst, elements[i]->pivot.get(), ctx, elements[i]->loc);
      if (!m.main) throw NotTranslatable{elements[i]->loc, "a layer with no PyTorch module in an nn.Sequential"};
      if (m.pre) out.push_back(m.pre);
      index_of[i] = out.size();
      out.push_back(m.main);
      if (!m.activation.empty()) out.push_back(activation_module(m.activation, function_defaults(m.activation, -1), loc));
      if (m.runtime_activation) throw NotTranslatable{loc, "a run-time activation in a shared Sequential"};
    }
    for (const auto& c : containers)
      for (size_t i = 0; i < elements.size(); ++i)
        paths_[c->children[i].second->path] =
            out.size() == 1 ? c->path : (c->path.empty() ? "" : c->path + ".") + std::to_string(index_of[i]);
    return out;
  }

  // ZeroPadding right before a 'valid' convolution of the same rank, the same amount on
  // both sides: PyTorch's convolution pads itself (nn.Conv2d(..., padding=2)).
  std::optional<std::vector<long long>> foldable_padding(const LayerPtr& container, size_t i) {
    if (i + 1 >= container->children.size()) return std::nullopt;
    const LayerPtr& pad = container->children[i].second;
    const LayerPtr& conv = container->children[i + 1].second;
    if (pad->op.rfind("zeropad", 0) != 0 || conv->op != "conv" + pad->op.substr(7)) return std::nullopt;
    if (!conv->attrs.count("padding_type") || conv->attrs.at("padding_type") != Attr("valid")) return std::nullopt;
    const pivot::Node* next = chained_node(container->path, i + 1);
    if (!next || (!next->input_permutations.empty() && !next->input_permutations[0].empty())) return std::nullopt;
    std::vector<long long> amount;
    for (const auto& p : pad->attrs.at("padding").as_list()) {
      auto v = p.as_ints();
      if (v.size() != 2 || v[0] != v[1]) return std::nullopt;
      amount.push_back(v[0]);
    }
    return amount;
  }

  ExprPtr sequential_expr(const ExprPtr& e, const pivot::Site& s, Ctx& ctx) {
    std::vector<ExprPtr> elements;
    for (auto& a : e->args)
      if (a.name.empty() || a.name == "layers") {
        if (a.value && (a.value->kind == ExprKind::List || a.value->kind == ExprKind::Tuple)) {
          elements = a.value->items;
        } else if (a.value) {
          // a list built by the code before (make_layers' loop): its statements are translated
          for (const auto& c : s.layers)
            for (size_t i = 0; i < c->children.size(); ++i)
              if (const pivot::Node* n = chained_node(c->path, i);
                  n && !n->input_permutations.empty() && !n->input_permutations[0].empty())
                throw NotTranslatable{e->loc, "a Sequential of a list built elsewhere that needs layout changes inside"};
          auto star = syntax::pos(translate(a.value, ctx));
          star.star = true;
          return syntax::call(nn("Sequential"), {star});
        }
      }
    // keras.Input(...) / InputLayer elements are not layers
    std::vector<ExprPtr> layer_elements;
    for (auto& x : elements)
      if (!is_input_spec(x)) layer_elements.push_back(x);
    std::vector<Argument> args;
    if (e->args.empty()) return syntax::call(nn("Sequential"), args);  // filled by the .add(...) calls that follow
    if (s.layers.size() == 1) {
      for (auto& g : sequential_groups(s.layers[0], layer_elements, ctx, e->loc))
        for (auto& m : g) args.push_back(syntax::pos(m));
    } else {
      for (auto& m : shared_sequential(s.layers, layer_elements, ctx, e->loc)) args.push_back(syntax::pos(m));
      if (args.size() == 1 && layer_elements.size() == 2) return args[0].value;  // a padded convolution
    }
    // [ZeroPadding, Conv] became one padded convolution: no container needed
    if (args.size() == 1 && layer_elements.size() == 2 && !s.layers.empty() && s.layers[0]->children.size() == 2 &&
        s.layers[0]->children[0].second->op.rfind("zeropad", 0) == 0) {
      for (const auto& c : s.layers) paths_[c->children[1].second->path] = c->path;
      return args[0].value;
    }
    if (args.size() > 1) {
      auto c = syntax::call(nn("Sequential"), args);
      c->magic_trailing_comma = true;
      return c;
    }
    return syntax::call(nn("Sequential"), args);
  }

  // A layer call or tensor operation in `call` / functional code.
  ExprPtr translate_graph_expr(const ExprPtr& e, const pivot::Site& s, Ctx& ctx) {
    const pivot::Node& n = M.nodes.at(s.nodes[0]);
    for (int id : s.nodes)
      if (M.nodes[id].input_permutations != n.input_permutations)
        throw NotTranslatable{e->loc, "this call needs different layout changes each time it runs"};
    std::vector<ExprPtr> ins;
    ExprPtr callee;
    if (e->kind == ExprKind::BinOp) {
      for (auto& x : e->items)
        if (!(is_literal(x))) ins.push_back(translate(x, ctx));
    } else if (e->kind == ExprKind::UnaryOp) {
      ins.push_back(translate(e->object, ctx));
    } else if (e->kind == ExprKind::Subscript) {
      ins.push_back(translate(e->object, ctx));
    } else if (e->kind == ExprKind::Call) {
      if (n.kind == "call") callee = translate(e->object, ctx);
      ExprPtr first;
      for (auto& a : e->args)
        if (a.name.empty() || a.name == "inputs" || a.name == "x") {
          first = a.value;
          break;
        }
      if (!first) throw NotTranslatable{e->loc, "a call without its input"};
      if (first->kind == ExprKind::List || first->kind == ExprKind::Tuple)
        for (auto& x : first->items) ins.push_back(translate(x, ctx));
      else
        ins.push_back(translate(first, ctx));
    }
    if (ins.size() != n.inputs.size())
      throw NotTranslatable{e->loc, "this expression's operands could not be matched to the model's graph"};
    return node_expr(n, ins, callee, e->loc);
  }

  std::vector<StmtPtr> translate_block(const std::vector<StmtPtr>& body, Ctx& ctx) {
    std::vector<StmtPtr> out;
    for (auto& s : body)
      for (auto& x : translate_stmt(s, ctx)) out.push_back(x);
    return out;
  }

  bool is_framework_import(const Stmt& s) {
    if (s.kind == StmtKind::Import)
      return std::all_of(s.names.begin(), s.names.end(), [](auto& n) { return is_keras_module(n.first); });
    return s.kind == StmtKind::ImportFrom && is_keras_module(s.module);
  }

  // `model.summary()`, `model.build(...)`: Keras calls with no PyTorch counterpart.
  bool is_keras_only_call(const Stmt& s) {
    if (s.kind != StmtKind::Expr || !s.value || s.value->kind != ExprKind::Call || !s.value->object ||
        s.value->object->kind != ExprKind::Attribute)
      return false;
    static const std::set<std::string> kMethods = {"build", "summary", "compile", "fit", "evaluate", "predict",
                                                   "save", "save_weights", "load_weights"};
    return kMethods.count(s.value->object->name) > 0;
  }

  std::vector<StmtPtr> translate_stmt(const StmtPtr& sp, Ctx& ctx) {
    const Stmt& s = *sp;
    if (is_framework_import(s)) return {};
    if (s.kind == StmtKind::ClassDef &&
        std::count(P.helper_classes.begin(), P.helper_classes.end(), s.name))  // nnport's Keras helper layers
      return {};
    if (s.kind == StmtKind::Expr && s.value && s.value->kind == ExprKind::Call && s.value->object &&
        s.value->object->kind == ExprKind::Attribute && s.value->object->name == "add" && s.value->args.size() == 1 &&
        is_input_spec(s.value->args[0].value))
      return {};  // model.add(keras.Input(...)): the input's shape is known statically
    std::vector<StmtPtr> before;  // compile()'s replacement, or the loss an evaluate() restates
    for (auto [it, end] = training_.equal_range(&s); it != end; ++it) {
      const pivot::TrainingStep& step = *it->second;
      if (step.kind == "unrecognised" || step.kind == "binding") return {};
      for (auto& x : torch_training_statements(step, module_names_, training_out_)) before.push_back(x);
      if (step.kind == "compile") return before;
    }
    if (!before.empty()) {
      auto rest = translate_stmt_body(sp, ctx);
      before[0]->leading_comments = s.leading_comments;
      before[0]->blank_line_before = s.blank_line_before;
      before[0]->empty_lines_before = s.empty_lines_before;
      if (!rest.empty()) {
        rest[0] = syntax::new_stmt(*rest[0]);
        rest[0]->leading_comments.clear();
        rest[0]->blank_line_before = false;
        rest[0]->empty_lines_before = 0;
      }
      before.insert(before.end(), rest.begin(), rest.end());
      return before;
    }
    return translate_stmt_body(sp, ctx);
  }

  std::vector<StmtPtr> translate_stmt_body(const StmtPtr& sp, Ctx& ctx) {
    const Stmt& s = *sp;
    if (is_keras_only_call(s) && !training_calls_.count(s.value.get())) {
      const std::string& method = s.value->object->name;
      if (method != "build" && method != "summary")
        sink.warn(s.loc, fmt::format("`.{}(...)`: Keras code nnport does not recognise here; left out", method),
                  "write it by hand in PyTorch (model-level compile/fit/evaluate/predict statements are migrated)");
      return {};
    }
    auto c = syntax::new_stmt(s);
    try {
      switch (s.kind) {
        case StmtKind::ClassDef: return {translate_class(s, ctx)};
        case StmtKind::FunctionDef: return {translate_function(s, ctx)};
        case StmtKind::Expr:
        case StmtKind::Return:
        case StmtKind::Assign:
        case StmtKind::AugAssign:
        case StmtKind::AnnAssign: {
          if (s.kind == StmtKind::Expr && is_sequential_add(s)) return {translate_add(s, ctx)};
          if (s.kind == StmtKind::AugAssign && site(s.value.get()) && !site(s.value.get())->nodes.empty()) {
            // `out += identity`: the operation's site is the statement's value
            const pivot::Node& n = M.nodes.at(site(s.value.get())->nodes[0]);
            std::vector<ExprPtr> ins{translate(s.targets[0], ctx), translate_plain(s.value, ctx)};
            return {syntax::assign(syntax::clone(s.targets[0]), node_expr(n, ins, nullptr, s.loc))};
          }
          c->value = translate(s.value, ctx);
          if (s.value && !c->value) return {};  // a layer without a module (merge layers)
          for (auto& t : c->targets) t = translate(t, ctx);
          return {c};
        }
        case StmtKind::If:
        case StmtKind::For:
        case StmtKind::While:
          c->value = translate(s.value, ctx);
          for (auto& t : c->targets) t = translate(t, ctx);
          c->body = translate_block(s.body, ctx);
          c->orelse = translate_block(s.orelse, ctx);
          for (auto* b : {&c->body, &c->orelse})
            if (!b->empty() && std::all_of(b->begin(), b->end(), [](auto& x) { return x->kind == StmtKind::Other; }))
              b->push_back(pass_stmt());
          if (c->body.empty()) c->body.push_back(pass_stmt());
          return {c};
        default: return {c};
      }
    } catch (const NotTranslatable& t) {
      // Code the entry's model runs must migrate, or the output would compute something
      // else; code it never reaches is kept as a comment with a warning.
      if (!reached(s, P, site_of_)) return commented_out(s, P.module.text, t, sink);
      fail(t.loc.known() ? t.loc : s.loc, "cannot migrate to PyTorch: " + t.what,
           "rewrite this part with layers nnport supports (`nnport catalog`), or report it");
    }
  }

  StmtPtr pass_stmt() {
    auto p = syntax::new_stmt();
    p->kind = StmtKind::Pass;
    return p;
  }

  // `keras.Input(shape=...)` / `layers.InputLayer(...)`: an input specification, no layer
  bool is_input_spec(const ExprPtr& e) {
    if (!e || e->kind != ExprKind::Call || !e->object) return false;
    // The callee's printed form must end in `Input` or `InputLayer` after a '.' or nothing:
    // only a name or an attribute of that name, without parentheses (most calls are not;
    // printing each callee to see cost a good part of the emit).
    const Expr& f = *e->object;
    if (f.parenthesized || (f.kind != ExprKind::Name && f.kind != ExprKind::Attribute) ||
        (f.name != "Input" && f.name != "InputLayer"))
      return false;
    std::string callee = syntax::print_expr(f);
    auto ends = [&](const std::string& suffix) {
      return callee.size() >= suffix.size() && callee.compare(callee.size() - suffix.size(), suffix.size(), suffix) == 0 &&
             (callee.size() == suffix.size() || callee[callee.size() - suffix.size() - 1] == '.');
    };
    return mentions_framework(e->object) || fw_names_.count(callee) ? ends("Input") || ends("InputLayer") : false;
  }

  bool is_sequential_add(const Stmt& s) {
    return s.value && s.value->kind == ExprKind::Call && s.value->object &&
           s.value->object->kind == ExprKind::Attribute && s.value->object->name == "add" && s.value->args.size() == 1 &&
           site(s.value->args[0].value.get());
  }

  // `model.add(layer)` -> `model.append(module)` (collapse_sequential_adds folds runs of
  // them into the nn.Sequential(...) they follow).
  StmtPtr translate_add(const Stmt& s, Ctx& ctx) {
    const pivot::Site* ls = site(s.value->args[0].value.get());
    // the container is the Sequential this layer is a child of
    LayerPtr child = ls->layers.empty() ? nullptr : ls->layers[0];
    if (!child) return nullptr;
    if (!sequential_slots_) {  // once, not a walk of the model per `.add`
      sequential_slots_.emplace();
      std::function<void(const LayerPtr&)> walk = [&](const LayerPtr& l) {
        for (size_t i = 0; i < l->children.size(); ++i) {
          if (l->op == "sequential") (*sequential_slots_)[l->children[i].second.get()] = {l, i};  // the last one wins
          walk(l->children[i].second);
        }
      };
      walk(M.root);
    }
    auto slot = sequential_slots_->find(child.get());
    if (slot == sequential_slots_->end())
      throw NotTranslatable{s.loc, "a layer added to a Sequential the model does not use"};
    const auto& [container, index] = slot->second;
    auto modules = sequential_modules_for_child(container, index, s.value->args[0].value, ctx);
    auto block = syntax::new_stmt();
    block->kind = StmtKind::Other;  // placeholder carrying several appends
    std::vector<StmtPtr> appends;
    for (auto& m : modules)
      appends.push_back(syntax::expr_stmt(
          syntax::call(syntax::attr(translate(s.value->object->object, ctx), "append"), {syntax::pos(m)})));
    appends[0]->leading_comments = s.leading_comments;
    appends[0]->blank_line_before = s.blank_line_before;
    appends[0]->empty_lines_before = s.empty_lines_before;
    appends.back()->trailing_comment = s.trailing_comment;
    block->body = appends;
    block->text = "\x01appends";
    return block;
  }

  // The modules for one child come from the groups of the whole container, which are the
  // same for each of its `.add` statements: they are computed once per container and
  // context, not once per statement (quadratic in the Sequential's length).
  std::vector<ExprPtr> sequential_modules_for_child(const LayerPtr& container, size_t index, const ExprPtr& source,
                                                    Ctx& ctx) {
    auto& [for_container, for_ctx, groups] = add_groups_;
    if (for_container != container || for_ctx.allowed != ctx.allowed || for_ctx.locals != ctx.locals ||
        for_ctx.in_model_class != ctx.in_model_class || for_ctx.in_forward != ctx.in_forward) {
      for_container = nullptr;  // until the groups are complete (sequential_groups may throw)
      groups = sequential_groups(container, {}, ctx, source->loc);
      for_container = container;
      for_ctx = ctx;
    }
    return groups.at(index);
  }

  // `model = nn.Sequential()` followed by appends in the same block: one nn.Sequential(...).
  void collapse_sequential_adds(std::vector<StmtPtr>& body) {
    std::vector<StmtPtr> out;
    for (size_t i = 0; i < body.size(); ++i) {
      StmtPtr s = body[i];
      if (s->kind == StmtKind::Other && s->text == "\x01appends") {
        for (auto& a : s->body) out.push_back(a);
        continue;
      }
      bool empty_seq = s->kind == StmtKind::Assign && s->targets.size() == 1 &&
                       s->targets[0]->kind == ExprKind::Name && s->value && s->value->kind == ExprKind::Call &&
                       s->value->args.empty() && syntax::print_expr(*s->value->object) == "nn.Sequential";
      if (empty_seq) {
        std::string var = s->targets[0]->name;
        size_t j = i + 1;
        while (j < body.size() && body[j]->kind == StmtKind::Other && body[j]->text == "\x01appends" &&
               syntax::print_expr(*body[j]->body[0]->value->object->object) == var) {
          for (auto& a : body[j]->body) {
            auto arg = syntax::pos(a->value->args[0].value);
            arg.value->comment = "";
            s->value->args.push_back(arg);
          }
          ++j;
        }
        if (j > i + 1) s->value->magic_trailing_comma = true;
        out.push_back(s);
        i = j - 1;
        continue;
      }
      for (auto& x : {&s->body, &s->orelse}) collapse_sequential_adds(*x);
      out.push_back(s);
    }
    body = out;
  }

  bool is_model_class(const Stmt& s) {
    return std::find(P.model_classes.begin(), P.model_classes.end(), s.name) != P.model_classes.end();
  }

  StmtPtr translate_class(const Stmt& s, Ctx ctx) {
    auto c = syntax::new_stmt(s);
    bool model = is_model_class(s);
    if (model) {
      c->bases = {syntax::pos(nn("Module"))};
      ctx.in_model_class = true;
    }
    c->body.clear();
    for (auto& m : s.body) {
      if (m->kind == StmtKind::FunctionDef) {
        Ctx mctx = ctx;
        auto f = translate_function(*m, mctx);
        if (model && m->name == "call") f->name = "forward";
        c->body.push_back(f);
      } else {
        for (auto& x : translate_stmt(m, ctx)) c->body.push_back(x);
      }
    }
    if (c->body.empty()) c->body.push_back(pass_stmt());
    return c;
  }

  StmtPtr translate_function(const Stmt& s, Ctx ctx) {
    auto f = syntax::new_stmt(s);
    ctx.in_forward = ctx.in_model_class && s.name == "call";
    f->params.clear();
    for (auto p : s.params) {
      // Keras's `training` / `mask` arguments have no role in a PyTorch forward
      if (ctx.in_forward && (p.name == "training" || p.name == "mask")) continue;
      if (p.annotation && mentions_framework(p.annotation)) p.annotation = nullptr;
      if (p.default_value) p.default_value = translate(p.default_value, ctx);
      f->params.push_back(p);
      ctx.allowed.insert(p.name);
    }
    if (f->returns && mentions_framework(f->returns)) f->returns = nullptr;
    std::function<void(const std::vector<StmtPtr>&)> assigned = [&](const std::vector<StmtPtr>& b) {
      for (auto& st : b) {
        if (st->kind == StmtKind::Assign || st->kind == StmtKind::For || st->kind == StmtKind::AugAssign)
          for (auto& t : st->targets) collect_names(t, ctx.locals);
        assigned(st->body);
        assigned(st->orelse);
      }
    };
    assigned(s.body);
    for (const auto& st : P.module.body)
      if (st->kind == StmtKind::Assign)
        for (auto& t : st->targets) collect_names(t, ctx.allowed);
    std::vector<StmtPtr> body;
    for (auto& st : s.body) {
      if (ctx.in_model_class && s.name == "__init__" && is_super_init(*st)) {
        body.push_back(syntax::expr_stmt(
            syntax::call(syntax::attr(syntax::call(syntax::name("super"), {}), "__init__"), {})));
        body.back()->leading_comments = st->leading_comments;
        continue;
      }
      for (auto& x : translate_stmt(st, ctx)) body.push_back(x);
    }
    collapse_sequential_adds(body);
    if (body.empty() || std::all_of(body.begin(), body.end(), [](auto& x) { return x->kind == StmtKind::Other; }))
      body.push_back(pass_stmt());
    f->body = body;
    return f;
  }

  bool is_super_init(const Stmt& s) {
    if (s.kind != StmtKind::Expr || !s.value || s.value->kind != ExprKind::Call) return false;
    auto callee = s.value->object;
    return callee && callee->kind == ExprKind::Attribute && callee->name == "__init__" && callee->object &&
           callee->object->kind == ExprKind::Call && callee->object->object &&
           callee->object->object->kind == ExprKind::Name && callee->object->object->name == "super";
  }

  // ---- models built from the pivot graph --------------------------------------------

  // Replaces the statements that build the entry's model (functional code, a Sequential
  // and its adds) by what `make` returns, at the place of the statement binding the model.
  std::vector<StmtPtr> replace_model_statements(const std::string& var,
                                                const std::function<std::vector<StmtPtr>(const Stmt&)>& make) {
    std::set<std::string> tainted;
    std::vector<StmtPtr> body;
    bool done = false;
    Ctx ctx;
    for (const auto& s : P.module.body) {
      if (is_framework_import(*s)) continue;
      std::set<std::string> names;
      collect_names(s->value, names);
      bool builds = s->kind != StmtKind::FunctionDef && s->kind != StmtKind::ClassDef &&
                    std::any_of(names.begin(), names.end(), [&](const std::string& n) {
                      return fw_names_.count(n) || tainted.count(n);
                    });
      bool binds_model = s->kind == StmtKind::Assign && s->targets.size() == 1 &&
                         s->targets[0]->kind == ExprKind::Name && s->targets[0]->name == var;
      if (builds || binds_model) {
        for (auto& t : s->targets) collect_names(t, tainted);
        if (binds_model && !done) {
          for (auto& x : make(*s)) body.push_back(x);
          done = true;
        }
        continue;
      }
      if (s->kind == StmtKind::Expr && s->value && mentions_any(s->value, tainted)) continue;  // model.add(...)
      for (auto& x : translate_stmt(s, ctx)) body.push_back(x);
    }
    if (!done)
      fail(M.root->loc, "--style subclass needs the model bound to a module-level name (`model = ...`)",
           "build the model at module level, or keep the source's style");
    return body;
  }

  bool mentions_any(const ExprPtr& e, const std::set<std::string>& names) {
    std::set<std::string> n;
    collect_names(e, n);
    return std::any_of(n.begin(), n.end(), [&](const std::string& x) { return names.count(x) > 0; });
  }

  std::string attribute_name(const LayerPtr& l, std::map<std::string, int>& counters) {
    std::string name = l->path;
    if (name.empty() || std::isdigit((unsigned char)name[0])) {
      std::string base = attribute_base(l->op);
      int k = ++counters[base];
      // conv1, conv2, fc1 ... but flatten, dropout (then dropout2) for layers named after their op
      name = base == l->op && k == 1 ? base : base + std::to_string(k);
    }
    for (auto& ch : name)
      if (!std::isalnum((unsigned char)ch)) ch = '_';
    return name;
  }

  // class Name(nn.Module) whose forward replays the graph, and `var = Name()`.
  std::vector<StmtPtr> model_from_graph(const Stmt& s, const std::string& var, const std::string& target) {
    std::string cls = camel(M.root->class_name.empty() ? var : M.root->class_name);
    if (cls.empty() || cls == var) cls = "Model";
    if (target == "sequential") {
      auto seq = syntax::call(nn("Sequential"), {});
      for (auto& m : chain_modules(s.loc)) seq->args.push_back(syntax::pos(m));
      seq->magic_trailing_comma = true;
      auto a = syntax::assign(syntax::name(var), seq);
      a->leading_comments = s.leading_comments;
      return {a};
    }
    std::map<std::string, int> counters;
    std::unordered_map<std::string, std::string> attr_of;  // pivot path -> attribute
    std::vector<StmtPtr> init{syntax::expr_stmt(
        syntax::call(syntax::attr(syntax::call(syntax::name("super"), {}), "__init__"), {}))};
    Ctx ctx;
    std::map<const pivot::Layer*, Modules> layer_modules;  // again for their calls in forward (node_expr)
    for (auto& [name, l] : M.root->children) {
      Modules m = modules_for({l}, pivot_of(l), ctx, l->loc);
      layer_modules.emplace(l.get(), m);
      if (!m.main) continue;
      std::string a = attribute_name(l, counters);
      attr_of[l->path] = a;
      ExprPtr module = m.main;
      if (m.runtime_activation) {
        module = syntax::call(nn("Sequential"), {syntax::pos(module), syntax::pos(syntax::call(helper("Activation"), {syntax::pos(syntax::clone(m.runtime_activation))}))});
        paths_[l->path] = a + ".0";
      } else {
        paths_[l->path] = a;
      }
      init.push_back(syntax::assign(syntax::attr(syntax::name("self"), a), module));
    }
    // forward: one statement per node; a value used once by the next node keeps its name
    // value id -> its variable: a std::map's behaviour (operator[] binds, at() throws) over a
    // vector, as the ids are dense and it is read for every node
    struct {
      std::vector<std::string> names;
      std::vector<bool> bound;
      std::string& operator[](int v) {
        bound.at(v) = true;
        return names[v];
      }
      const std::string& at(int v) const {
        if (v < 0 || v >= (int)bound.size() || !bound[v]) throw std::out_of_range("map::at");
        return names[v];
      }
    } var_of{std::vector<std::string>(M.values.size()), std::vector<bool>(M.values.size(), false)};
    std::vector<syntax::Parameter> params{syntax::Parameter{"self", nullptr, nullptr, false, false}};
    for (const auto& in : M.inputs) {
      std::string n = in.name.empty() ? "x" : in.name;
      var_of[in.value] = n;
      params.push_back(syntax::Parameter{n, nullptr, nullptr, false, false});
    }
    std::set<std::string> taken;
    for (const auto& in : M.inputs) taken.insert(var_of.at(in.value));
    // x, x1, x2, ...: the first one not taken. Names are only ever added, so the search
    // resumes where the last one stopped instead of starting from x each time.
    int next_fresh = 0;
    auto fresh = [&]() {
      for (int& k = next_fresh;; ++k) {
        std::string n = k == 0 ? "x" : "x" + std::to_string(k);
        if (taken.insert(n).second) return n;
      }
    };
    std::vector<StmtPtr> fwd;
    std::set<std::string> inputs_names;
    for (const auto& in : M.inputs) inputs_names.insert(var_of[in.value]);
    for (const auto& n : M.nodes) {
      std::vector<ExprPtr> ins;
      for (int v : n.inputs) ins.push_back(syntax::name(var_of.at(v)));
      ExprPtr callee;
      if (n.kind == "call") {
        auto attribute = attr_of.find(n.module);
        if (attribute == attr_of.end() && M.find(n.module)->op != "concat" && M.find(n.module)->op != "add" &&
            M.find(n.module)->op != "sub" && M.find(n.module)->op != "mul")
          fail(n.loc, "internal: layer without attribute " + n.module);
        if (attribute != attr_of.end()) callee = syntax::attr(syntax::name("self"), attribute->second);
      }
      ExprPtr e;
      try {
        e = node_expr(n, ins, callee, n.loc, &layer_modules);
      } catch (const NotTranslatable& t) {
        fail(t.loc.known() ? t.loc : n.loc, "cannot migrate to PyTorch: " + t.what);
      }
      std::vector<ExprPtr> targets;
      for (size_t i = 0; i < n.outputs.size(); ++i) {
        std::string name;
        int in0 = n.inputs.empty() ? -1 : n.inputs[0];
        bool input_name = in0 >= 0 && inputs_names.count(var_of[in0]) > 0;
        if (i == 0 && n.outputs.size() == 1 && in0 >= 0 && uses_[in0] == 1 && (!input_name || M.inputs.size() == 1))
          name = var_of[in0];
        else
          name = fresh();
        var_of[n.outputs[i]] = name;
        targets.push_back(syntax::name(name));
      }
      fwd.push_back(syntax::assign(targets.size() == 1 ? targets[0] : syntax::tuple(targets), e));
    }
    std::vector<ExprPtr> outs;
    for (size_t i = 0; i < M.outputs.size(); ++i) {
      ExprPtr o = syntax::name(var_of.at(M.outputs[i]));
      if (!LP.outputs_in_target_layout && i < LP.output_permutations.size() && !LP.output_permutations[i].empty())
        o = permute_call(o, LP.output_permutations[i]);
      outs.push_back(o);
    }
    // `x = expr; return x` reads better as `return expr`
    ExprPtr ret = outs.size() == 1 ? outs[0] : syntax::tuple(outs);
    if (outs.size() == 1 && outs[0]->kind == ExprKind::Name && !fwd.empty() &&
        fwd.back()->targets[0]->kind == ExprKind::Name && fwd.back()->targets[0]->name == outs[0]->name) {
      ret = fwd.back()->value;
      fwd.pop_back();
    }
    fwd.push_back(syntax::return_stmt(ret));
    auto init_f = syntax::new_stmt();
    init_f->kind = StmtKind::FunctionDef;
    init_f->name = "__init__";
    init_f->params = {syntax::Parameter{"self", nullptr, nullptr, false, false}};
    init_f->body = init;
    auto fwd_f = syntax::new_stmt();
    fwd_f->kind = StmtKind::FunctionDef;
    fwd_f->name = "forward";
    fwd_f->params = params;
    fwd_f->body = fwd;
    fwd_f->blank_line_before = true;
    auto c = syntax::new_stmt();
    c->kind = StmtKind::ClassDef;
    c->name = cls;
    c->bases = {syntax::pos(nn("Module"))};
    c->body = {init_f, fwd_f};
    c->leading_comments = s.leading_comments;
    c->empty_lines_before = 2;
    c->blank_line_before = true;
    sink.warn(s.loc, fmt::format("the {} model `{}` becomes class `{}`", M.style, var, cls));
    auto assign = syntax::assign(syntax::name(var), syntax::call(syntax::name(cls), {}));
    assign->empty_lines_before = 2;
    assign->blank_line_before = true;
    return {c, assign};
  }

  // The model as a chain of modules (--style sequential from a subclass or functional model).
  std::vector<ExprPtr> chain_modules(const Location& loc) {
    Ctx ctx;
    return chain_modules(loc, ctx);
  }

  // A tensor operation of the chain (`ops.reshape(x, (-1, 9216))`, `tf.nn.relu(x)`) as the
  // layer whose module computes it: a reshape to (batch, features) is a Flatten.
  LayerPtr op_as_layer(const pivot::Node& n) {
    auto l = std::make_shared<pivot::Layer>();
    l->op = n.op;
    l->attrs = n.attrs;
    l->input_shape = M.value(n.inputs[0]).shape;
    l->output_shape = M.value(n.outputs[0]).shape;
    if ((n.op == "reshape" || n.op == "flatten") && l->output_shape.size() == 2) {
      l->op = "flatten";
      l->attrs.clear();
    }
    return l;
  }

  std::vector<ExprPtr> chain_modules(const Location& loc, const Ctx& ctx) {
    int prev = M.inputs.size() == 1 ? M.inputs[0].value : -1;
    std::vector<ExprPtr> out;
    for (const auto& n : M.nodes) {
      if (n.inputs.size() != 1 || n.inputs[0] != prev || n.outputs.size() != 1)
        fail(n.loc.known() ? n.loc : loc, "--style sequential needs a model whose layers form one chain",
             "this model branches or merges here; use --style subclass");
      LayerPtr l = n.kind == "call" ? M.find(n.module) : op_as_layer(n);
      if (l->op == "submodel" || l->op == "sequential")
        fail(n.loc, "--style sequential cannot inline a nested model", "use --style subclass");
      if (!n.input_permutations.empty() && !n.input_permutations[0].empty())
        out.push_back(permute_module(n.input_permutations[0]));
      Modules m;
      try {
        m = modules_for({l}, n.kind == "call" ? pivot_of(l) : nullptr, ctx, n.loc);
      } catch (const NotTranslatable& t) {
        fail(t.loc.known() ? t.loc : n.loc, "cannot migrate to PyTorch: " + t.what);
      }
      if (!m.main) fail(n.loc, fmt::format("`{}` has no PyTorch module to put in an nn.Sequential", l->op));
      if (m.pre) out.push_back(m.pre);
      if (n.kind == "call") chain_paths_[l->path] = std::to_string(out.size());
      out.push_back(m.main);
      if (m.runtime_activation) out.push_back(syntax::call(helper("Activation"), {syntax::pos(syntax::clone(m.runtime_activation))}));
      if (!m.activation.empty())
        out.push_back(activation_module(m.activation, function_defaults(m.activation, last_axis_in_target(n.outputs[0])), n.loc));
      prev = n.outputs[0];
    }
    if (M.outputs.size() != 1 || M.outputs[0] != prev)
      fail(loc, "--style sequential needs a model with one input and one output", "use --style subclass");
    if (!LP.outputs_in_target_layout && !LP.output_permutations.empty() && !LP.output_permutations[0].empty())
      out.push_back(permute_module(LP.output_permutations[0]));
    return out;
  }

  // class Net(keras.Model) -> def Net(<init params>): return nn.Sequential(...)
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
    f->empty_lines_before = cls.empty_lines_before;
    Ctx ctx;  // the factory's parameters may be written where the class used them
    if (init)
      for (size_t i = 1; i < init->params.size(); ++i) {
        auto p = init->params[i];
        p.annotation = nullptr;
        if (p.double_star || p.star) continue;
        f->params.push_back(p);
        ctx.allowed.insert(p.name);
      }
    sink.warn(cls.loc, fmt::format("class `{}` becomes a function returning an nn.Sequential (--style sequential); its "
                                   "layers are fixed for the entry `{}`",
                                   cls.name, M.entry));
    auto seq = syntax::call(nn("Sequential"), {});
    for (auto& m : chain_modules(cls.loc, ctx)) seq->args.push_back(syntax::pos(m));
    seq->magic_trailing_comma = true;
    f->body = {syntax::return_stmt(seq)};
    if (!cls.body.empty() && cls.body[0]->kind == StmtKind::Expr && cls.body[0]->value &&
        cls.body[0]->value->kind == ExprKind::String)
      f->body.insert(f->body.begin(), cls.body[0]);
    return f;
  }

  std::vector<StmtPtr> helper_statements() {
    std::vector<StmtPtr> out;
    // base classes first
    std::vector<std::string> order;
    for (const char* h : {"Permute", "Reshape", "Activation", "KerasRecurrent", "KerasLSTM", "KerasGRU", "KerasSimpleRNN",
                          "GRUResetBefore", "KerasGRUResetBefore"})
      if (helpers_.count(h)) order.push_back(h);
    std::vector<std::string> sources;
    for (const auto& h : order) sources.push_back(torch_helper_sources().at(h));
    if (!training_out_.helpers.empty()) sources.push_back(torch_training_helpers(training_out_.helpers, module_names_));
    for (const auto& source : sources) {
      for (auto& st : helper_statements_of(source)) {
        st->empty_lines_before = 2;
        st->blank_line_before = true;
        out.push_back(st);
      }
    }
    return out;
  }
};

TorchOutput emit_torch(pivot::Program& program, pivot::Model& model, const passes::LayoutPlan& layout,
                       const EmitOptions& options, DiagnosticSink& sink) {
  syntax::NodeArenaScope arena;  // the generated file's nodes (syntax/arena.h)
  TorchEmitter e(program, model, layout, options, sink);
  return e.run();
}

}  // namespace nnport::backends
