#include "frontends/torch/torch_training.h"

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <set>

#include "catalog/training.h"
#include "frontends/common/imported_names.h"
#include "syntax/parse.h"
#include "syntax/print.h"

namespace nnport::frontends {

namespace {

using pivot::Attr;
using syntax::Expr;
using syntax::ExprKind;
using syntax::ExprPtr;
using syntax::Stmt;
using syntax::StmtKind;
using syntax::StmtPtr;

// A training construct nnport cannot translate whole: why, and what the user can do.
struct Refusal {
  Location loc;
  std::string why;
  std::string hint;
};

// How users spell the torch names a training loop uses.
std::string canonical(const std::string& q) {
  for (const char* p : {"torch.nn.modules.loss.", "torch.nn.modules."})
    if (q.rfind(p, 0) == 0) return "torch.nn." + q.substr(std::string(p).size());
  for (const char* p : {"torch.utils.data.dataloader.", "torch.utils.data.dataset."})
    if (q.rfind(p, 0) == 0) return "torch.utils.data." + q.substr(std::string(p).size());
  if (q.rfind("torch.optim.", 0) == 0 && q.rfind("torch.optim.lr_scheduler.", 0) != 0 &&
      std::count(q.begin(), q.end(), '.') == 3)  // torch.optim.adam.Adam
    return "torch.optim." + q.substr(q.rfind('.') + 1);
  return q;
}

bool is_call(const ExprPtr& e) { return e && e->kind == ExprKind::Call && e->object; }
bool is_method_call(const ExprPtr& e, const std::string& method) {
  return is_call(e) && e->object->kind == ExprKind::Attribute && e->object->name == method;
}
bool is_name(const ExprPtr& e, const std::string& n = "") {
  return e && e->kind == ExprKind::Name && (n.empty() || e->name == n);
}
std::string text(const ExprPtr& e) { return e ? syntax::print_expr(*e) : ""; }
bool same_expr(const ExprPtr& a, const ExprPtr& b) { return a && b && text(a) == text(b); }

std::vector<ExprPtr> positional(const Expr& call) {
  std::vector<ExprPtr> out;
  for (auto& a : call.args)
    if (a.name.empty() && !a.star && !a.double_star) out.push_back(a.value);
  return out;
}
ExprPtr keyword(const Expr& call, const std::string& k) {
  for (auto& a : call.args)
    if (a.name == k) return a.value;
  return nullptr;
}
bool has_star_args(const Expr& call) {
  return std::any_of(call.args.begin(), call.args.end(), [](auto& a) { return a.star || a.double_star; });
}

bool is_literal_false(const ExprPtr& e) { return e && e->kind == ExprKind::Bool && !e->bool_value; }
bool is_literal_zero(const ExprPtr& e) {
  return e && ((e->kind == ExprKind::Int && e->int_value == 0) || (e->kind == ExprKind::Float && e->float_value == 0));
}

// A literal as a pivot attribute; any other expression as its source text.
Attr to_attr(const ExprPtr& e) {
  switch (e->kind) {
    case ExprKind::Int: return Attr(e->int_value);
    case ExprKind::Float: return Attr(e->float_value);
    case ExprKind::Bool: return Attr(e->bool_value);
    case ExprKind::UnaryOp:
      if (e->name == "-" && e->object && e->object->kind == ExprKind::Int) return Attr(-e->object->int_value);
      if (e->name == "-" && e->object && e->object->kind == ExprKind::Float) return Attr(-e->object->float_value);
      break;
    default: break;
  }
  return Attr(text(e));
}

bool is_torch_module(const std::string& m) { return m == "torch" || m.rfind("torch.", 0) == 0; }

class Recogniser {
 public:
  Recogniser(pivot::Program& p, pivot::Model& m, DiagnosticSink& s)
      : P(p), M(m), sink(s), names_(p.module, is_torch_module, canonical) {}

  void run() {
    collect_defs(P.module.body, nullptr);
    walk(P.module.body, nullptr);
    // model.train() / model.eval(): Keras has no such modes (fit trains, evaluate and
    // predict infer); where a recognised loop replaced the code around them they go
    // silently, elsewhere with a warning.
    for (auto& [s, scope] : modes_) {
      if (!scopes_with_loop_.count(scope))
        sink.warn(s->loc, fmt::format("`{}`: Keras models have no train/eval mode; left out", source_line(*s)),
                  "Keras sets the mode per call: fit() trains, evaluate(), predict() and model(x) infer");
      pivot::TrainingStep st;
      st.stmt = s;
      st.kind = "mode";
      st.model = syntax::clone(s->value->object->object);
      st.scope = scope;
      steps_.push_back(st);
    }
    std::sort(steps_.begin(), steps_.end(),
              [](const pivot::TrainingStep& a, const pivot::TrainingStep& b) { return a.stmt->loc.begin < b.stmt->loc.begin; });
    for (auto& st : steps_) P.training.push_back(st);
  }

 private:
  pivot::Program& P;
  pivot::Model& M;
  DiagnosticSink& sink;
  ImportedNames names_;
  struct Def {
    Stmt* stmt;
    const Stmt* scope;
  };
  std::map<std::string, std::vector<Def>> defs_;  // name -> its single-name assignments, in source order
  std::vector<std::pair<Stmt*, const Stmt*>> modes_;
  std::set<const Stmt*> scopes_with_loop_;
  std::set<const Stmt*> recorded_;
  std::vector<pivot::TrainingStep> steps_;

  // ---- names -------------------------------------------------------------------------

  std::string qualified(const ExprPtr& e) const { return names_.qualified(e); }
  std::string callee(const ExprPtr& e) { return is_call(e) ? qualified(e->object) : ""; }

  bool mentions_torch(const ExprPtr& e) {
    if (!e) return false;
    if (e->kind == ExprKind::Name && names_.binds(e->name)) return true;
    if (mentions_torch(e->object) || mentions_torch(e->element)) return true;
    for (auto& x : e->items)
      if (mentions_torch(x)) return true;
    for (auto& x : e->values)
      if (mentions_torch(x)) return true;
    for (auto& a : e->args)
      if (mentions_torch(a.value)) return true;
    return false;
  }

  std::string source_line(const Stmt& s) {
    const std::string& t = P.module.text;
    if (s.loc.end <= s.loc.begin || s.loc.end > t.size()) return "...";
    std::string line = t.substr(s.loc.begin, s.loc.end - s.loc.begin);
    size_t nl = line.find('\n');
    bool cut = nl != std::string::npos;
    if (cut) line = line.substr(0, nl);
    while (!line.empty() && (line.back() == ' ' || line.back() == ':')) line.pop_back();
    if (line.size() > 60) {
      line = line.substr(0, 57);
      cut = true;
    }
    return cut ? line + " ..." : line;
  }

  // ---- definitions -------------------------------------------------------------------

  void collect_defs(const std::vector<StmtPtr>& body, const Stmt* scope) {
    for (const auto& s : body) {
      if (s->kind == StmtKind::Assign && s->targets.size() == 1 && is_name(s->targets[0]))
        defs_[s->targets[0]->name].push_back({s.get(), scope});
      const Stmt* inner = s->kind == StmtKind::FunctionDef ? s.get() : scope;
      collect_defs(s->body, inner);
      collect_defs(s->orelse, inner);
    }
  }

  // The assignment that gives `name` its value at `at` in `scope`: the last one before it
  // in the same function, else one at module level.
  Stmt* lookup(const std::string& name, const Stmt* scope, unsigned at) {
    auto it = defs_.find(name);
    if (it == defs_.end()) return nullptr;
    Stmt* found = nullptr;
    for (auto& d : it->second)
      if (d.scope == scope && d.stmt->loc.begin < at) found = d.stmt;
    if (found || !scope) return found;
    for (auto& d : it->second)
      if (!d.scope) found = d.stmt;
    return found;
  }

  // `name` as the value of a torch call of one of the `kinds` of class (by prefix),
  // through its assignment. Refuses with a readable reason otherwise.
  std::pair<ExprPtr, Stmt*> resolve(const ExprPtr& e, const Stmt* scope, unsigned at, const std::string& what,
                                    const std::function<bool(const std::string&)>& accept) {
    if (is_call(e) && accept(callee(e))) return {e, nullptr};
    if (is_call(e))
      throw Refusal{e->loc, fmt::format("{} `{}` is not one nnport recognises", what, text(e)),
                    "migrate this loop by hand"};
    if (!is_name(e))
      throw Refusal{e->loc, fmt::format("nnport cannot trace {} `{}` to its construction", what, text(e)),
                    fmt::format("assign {} to a name in the function that trains", what)};
    Stmt* d = lookup(e->name, scope, at);
    if (!d) {
      bool param = scope && std::any_of(scope->params.begin(), scope->params.end(),
                                        [&](const syntax::Parameter& p) { return p.name == e->name; });
      throw Refusal{e->loc,
                    param ? fmt::format("{} `{}` is a parameter of `{}`: nnport cannot see what it holds", what,
                                        e->name, scope->name)
                          : fmt::format("nnport cannot find where {} `{}` is built", what, e->name),
                    fmt::format("build {} in the function that trains, or migrate this loop by hand", what)};
    }
    if (!is_call(d->value) || !accept(callee(d->value)))
      throw Refusal{d->value->loc,
                    fmt::format("{} `{}` is `{}`, which nnport does not recognise", what, e->name, text(d->value)),
                    "migrate this loop by hand"};
    return {d->value, d};
  }

  // torch.tensor(x, dtype=...), torch.from_numpy(x).float(), x.to(device) -> x
  ExprPtr strip_casts(ExprPtr e) {
    const auto& casts = catalog::torch_tensor_casts();
    const auto& conv = catalog::torch_array_conversions();
    for (;;) {
      if (is_call(e) && e->object->kind == ExprKind::Attribute &&
          std::find(casts.begin(), casts.end(), e->object->name) != casts.end() && !qualified(e->object).size()) {
        e = e->object->object;
        continue;
      }
      if (is_call(e) && std::find(conv.begin(), conv.end(), callee(e)) != conv.end() && !positional(*e).empty()) {
        e = positional(*e)[0];
        continue;
      }
      return e;
    }
  }

  // ---- walking -----------------------------------------------------------------------

  static bool contains_method_stmt(const std::vector<StmtPtr>& body, const std::string& method) {
    for (auto& s : body) {
      if (s->kind == StmtKind::Expr && is_method_call(s->value, method)) return true;
      if (contains_method_stmt(s->body, method) || contains_method_stmt(s->orelse, method)) return true;
    }
    return false;
  }

  bool is_mode_stmt(const Stmt& s) {
    if (s.kind != StmtKind::Expr || !(is_method_call(s.value, "train") || is_method_call(s.value, "eval"))) return false;
    const Expr& c = *s.value;
    bool args_ok = c.args.empty() || (c.args.size() == 1 && c.args[0].value->kind == ExprKind::Bool &&
                                      s.value->object->name == "train");
    ExprPtr recv = c.object->object;
    bool recv_ok = is_name(recv) || (recv->kind == ExprKind::Attribute && is_name(recv->object, "self"));
    return args_ok && recv_ok && qualified(recv).empty();
  }

  void walk(const std::vector<StmtPtr>& body, const Stmt* scope) {
    for (const auto& sp : body) {
      Stmt& s = *sp;
      switch (s.kind) {
        case StmtKind::FunctionDef: walk(s.body, &s); break;
        case StmtKind::ClassDef: walk(s.body, scope); break;
        case StmtKind::For:
          if (contains_method_stmt(s.body, "backward")) {
            train_loop(s, scope);
            break;
          }
          walk(s.body, scope);
          walk(s.orelse, scope);
          break;
        case StmtKind::Expr:
          if (is_mode_stmt(s)) modes_.push_back({&s, scope});
          break;
        case StmtKind::With:
          if (is_no_grad(s) && std::any_of(s.body.begin(), s.body.end(), [](const StmtPtr& x) {
                return x->kind == StmtKind::For;
              })) {
            eval_loop(s, scope);
            break;
          }
          walk(s.body, scope);
          break;
        default:
          walk(s.body, scope);
          walk(s.orelse, scope);
      }
    }
  }

  bool is_no_grad(const Stmt& s) {
    if (s.kind != StmtKind::With || s.targets.size() != 1 || !s.names.empty() && !s.names[0].second.empty())
      return false;
    std::string q = callee(s.targets[0]);
    return q == "torch.no_grad" || q == "torch.inference_mode";
  }

  // ---- what a replaced loop computes -------------------------------------------------

  static void names_in(const ExprPtr& e, std::set<std::string>& out) {
    syntax::walk_exprs(e, [&](const ExprPtr& x) {
      if (x->kind == ExprKind::Name) out.insert(x->name);
    });
  }
  // Names a block binds or mutates: assignment and loop targets, `xs.append(...)` receivers.
  static void bound_in(const std::vector<StmtPtr>& body, std::set<std::string>& out) {
    for (auto& s : body) {
      if (s->kind == StmtKind::Assign || s->kind == StmtKind::AugAssign || s->kind == StmtKind::AnnAssign ||
          s->kind == StmtKind::For)
        for (auto& t : s->targets) {
          ExprPtr base = t;
          while (base && (base->kind == ExprKind::Subscript || base->kind == ExprKind::Attribute)) base = base->object;
          if (base && (base->kind == ExprKind::Name)) out.insert(base->name);
          else if (t->kind == ExprKind::Tuple || t->kind == ExprKind::List) names_in(t, out);
        }
      static const std::set<std::string> kTrainingMethods = {"train", "eval", "zero_grad", "backward", "step"};
      if (s->kind == StmtKind::Expr && is_call(s->value) && s->value->object->kind == ExprKind::Attribute &&
          is_name(s->value->object->object) && !kTrainingMethods.count(s->value->object->name))
        out.insert(s->value->object->object->name);
      bound_in(s->body, out);
      bound_in(s->orelse, out);
    }
  }
  static void used_after(const std::vector<StmtPtr>& body, unsigned after, std::map<std::string, const Stmt*>& out) {
    for (auto& s : body) {
      if (s->kind == StmtKind::FunctionDef || s->kind == StmtKind::ClassDef) continue;
      if (s->loc.begin >= after) {
        std::set<std::string> n;
        names_in(s->value, n);
        for (auto& t : s->targets) names_in(t, n);
        for (auto& x : n) out.emplace(x, s.get());
      }
      used_after(s->body, after, out);
      used_after(s->orelse, after, out);
    }
  }
  // A value the loop computes that code after it reads (`return total`, `losses` plotted
  // later) would be undefined or stale once fit()/evaluate() replace the loop.
  void check_nothing_used_after(const Stmt& loop, const Stmt* scope, const std::string& by) {
    std::set<std::string> bound;
    bound_in({std::shared_ptr<Stmt>(const_cast<Stmt*>(&loop), [](Stmt*) {})}, bound);
    for (auto& s : loop.body) bound_in({s}, bound);
    std::map<std::string, const Stmt*> used;
    used_after(scope ? scope->body : P.module.body, loop.loc.end, used);
    for (auto& [name, s] : used)
      if (bound.count(name))
        throw Refusal{s->loc,
                      fmt::format("`{}` is computed in the loop and used after it (`{}`); {} cannot reproduce it",
                                  name, source_line(*s), by),
                      by == "model.fit()" ? "use the History model.fit() returns (history.history[\"loss\"]), or "
                                            "migrate this loop by hand"
                                          : "use the mean loss model.evaluate() returns, or migrate this loop by hand"};
  }

  // ---- the evaluation loop -----------------------------------------------------------

  // with torch.no_grad(): for xb, yb in loader: loss = criterion(model(xb), yb) ...
  // ---- the training loop -------------------------------------------------------------

  struct Batch {
    ExprPtr model;          // the model called on the batch
    std::string out;        // `out = model(xb)`: the output's name ("" when the call is inline)
    std::string loss;       // `loss = criterion(...)`: the loss's name
    ExprPtr criterion;      // the criterion expression called
    int zero_grad = -1, backward = -1, step = -1, forward = -1;
    std::string zero_grad_on, step_on;
  };

  void left_out(const Stmt& s) {
    sink.warn(s.loc, fmt::format("`{}`: training code nnport does not recognise; left out", source_line(s)),
              "nnport replaced the training loop with model.fit(...); carry this over by hand (a Keras "
              "callback, or code after fit)");
  }

  // A loop that cannot be translated whole: one warning, and the backend keeps it as a comment.
  void leave_out(Stmt& loop, const Stmt* scope, const char* what, const Refusal& r) {
    sink.warn(r.loc.known() ? r.loc : loop.loc, fmt::format("{} loop left out: {}", what, r.why),
              r.hint + "; the loop stays in the generated file as a comment");
    pivot::TrainingStep st;
    st.stmt = &loop;
    st.kind = "unrecognised";
    st.scope = scope;
    steps_.push_back(st);
  }

  void train_loop(Stmt& outer, const Stmt* scope) {
    scopes_with_loop_.insert(scope);  // its model.train() goes with it, recognised or not
    try {
      pivot::TrainingStep step = match_train_loop(outer, scope);
      if (!M.config) M.config = step.config;
      steps_.push_back(step);
    } catch (const Refusal& r) {
      leave_out(outer, scope, "training", r);
    }
  }

  void record(Stmt* s, const std::string& kind, const ExprPtr& model, const Stmt* scope) {
    if (!s || recorded_.count(s)) return;
    recorded_.insert(s);
    pivot::TrainingStep st;
    st.stmt = s;
    st.kind = kind;
    st.model = syntax::clone(model);
    st.scope = scope;
    steps_.push_back(st);
  }

  // The batches a loop iterates: `for xb, yb in loader` over DataLoader(TensorDataset(x, y)).
  struct Data {
    std::string xb, yb;
    ExprPtr x, y, batch_size, shuffle;
    Stmt* loader_def = nullptr;
    Stmt* dataset_def = nullptr;
  };
  Data data(Stmt& inner, const Stmt* scope, unsigned at) {
    Data d;
    // for xb, yb in loader / for i, (xb, yb) in enumerate(loader)
    ExprPtr target = inner.targets[0], iter = inner.value;
    if (is_call(iter) && is_name(iter->object, "enumerate") && positional(*iter).size() == 1 && target->kind == ExprKind::Tuple &&
        target->items.size() == 2) {
      iter = positional(*iter)[0];
      target = target->items[1];
    }
    if (target->kind != ExprKind::Tuple || target->items.size() != 2 || !is_name(target->items[0]) ||
        !is_name(target->items[1]))
      throw Refusal{target->loc, fmt::format("the batch `{}` is not an (inputs, labels) pair", text(inner.targets[0])),
                    "unpack the batch in the loop: `for xb, yb in loader:`"};
    d.xb = target->items[0]->name;
    d.yb = target->items[1]->name;
    auto [loader, loader_def] = resolve(iter, scope, at, "the loader",
                                        [](const std::string& q) { return q == "torch.utils.data.DataLoader"; });
    ExprPtr dataset_arg = keyword(*loader, "dataset");
    auto lp = positional(*loader);
    if (has_star_args(*loader)) throw Refusal{loader->loc, "the DataLoader takes *args or **kwargs", "spell its arguments out"};
    if (!dataset_arg && !lp.empty()) dataset_arg = lp[0];
    if (!dataset_arg) throw Refusal{loader->loc, "the DataLoader has no dataset", "pass TensorDataset(x, y)"};
    ExprPtr& batch_size = d.batch_size;
    batch_size = keyword(*loader, "batch_size");
    if (!batch_size && lp.size() > 1) batch_size = lp[1];
    ExprPtr& shuffle = d.shuffle;
    shuffle = keyword(*loader, "shuffle");
    if (!shuffle && lp.size() > 2) shuffle = lp[2];
    if (lp.size() > 3) throw Refusal{loader->loc, "the DataLoader's positional arguments after shuffle", "pass them by keyword"};
    catalog::LoaderDefaults ld;
    if (!batch_size) batch_size = syntax::int_lit(ld.batch_size);
    if (!shuffle) shuffle = syntax::bool_lit(ld.shuffle);
    if (is_literal_false(shuffle)) shuffle = syntax::bool_lit(false);
    for (auto& a : loader->args) {
      if (a.name.empty() || a.name == "dataset" || a.name == "batch_size" || a.name == "shuffle") continue;
      const auto& perf = catalog::loader_performance_keywords();
      if (std::find(perf.begin(), perf.end(), a.name) != perf.end()) continue;
      if (a.name == "drop_last" && (is_literal_false(a.value) == !ld.drop_last)) continue;
      throw Refusal{a.value->loc,
                    a.name == "drop_last"
                        ? "the DataLoader drops the last partial batch (drop_last), which model.fit() never does"
                        : fmt::format("the DataLoader's `{}` has no model.fit() counterpart", a.name),
                    "migrate this loop by hand"};
    }
    auto [dataset, dataset_def] = resolve(dataset_arg, scope, at, "the dataset",
                                          [](const std::string& q) { return q == "torch.utils.data.TensorDataset"; });
    auto dp = positional(*dataset);
    if (dp.size() != 2 || dataset->args.size() != 2)
      throw Refusal{dataset->loc, "the TensorDataset does not hold exactly (inputs, labels)",
                    "model.fit() takes one input array and one label array"};
    d.x = strip_casts(dp[0]);
    d.y = strip_casts(dp[1]);
    d.loader_def = loader_def;
    d.dataset_def = dataset_def;
    for (auto& e : {d.x, d.y})
      if (mentions_torch(e))
        throw Refusal{e->loc, fmt::format("the data `{}` is computed with torch calls", text(e)),
                      "build the arrays with NumPy and wrap them in torch.tensor(...) in the TensorDataset"};

    return d;
  }

  // The loss a criterion expression names: `criterion` assigned `nn.CrossEntropyLoss()`.
  struct Loss {
    std::string loss_class;
    catalog::TorchLoss torch;
    std::vector<std::pair<std::string, ExprPtr>> args;
    Stmt* def = nullptr;
  };
  Loss loss(const ExprPtr& crit_expr, const Stmt* scope, unsigned at) {
    Loss l;
    if (std::string q = qualified(crit_expr); !q.empty())
      throw Refusal{crit_expr->loc, fmt::format("the functional loss `{}` is not one nnport recognises", text(crit_expr)),
                    "use the loss module (nn.CrossEntropyLoss() for F.cross_entropy)"};
    auto [crit, crit_def] = resolve(crit_expr, scope, at, "the loss",
                                    [](const std::string& q) { return q.rfind("torch.nn.", 0) == 0; });
    l.loss_class = callee(crit);
    l.def = crit_def;
    auto tl = catalog::loss_by_torch(l.loss_class);
    if (!tl)
      throw Refusal{crit->loc, fmt::format("the loss `{}` is not in nnport's training catalog", text(crit->object)),
                    "use one `nnport catalog` lists, or migrate this loop by hand"};
        for (auto& a : crit->args) {
      if (a.name == "reduction" && a.value->kind == ExprKind::String && a.value->text == "mean") continue;
      const catalog::OptimizerParam* p = nullptr;
      for (auto& q : tl->loss->params)
        if (!a.name.empty() && q.torch == a.name) p = &q;
      if (!p)
        throw Refusal{a.value->loc,
                      a.name.empty() ? fmt::format("a positional argument of `{}`", text(crit->object))
                                     : fmt::format("`{}={}` of `{}` has no Keras counterpart in nnport's catalog",
                                                   a.name, text(a.value), text(crit->object)),
                      "migrate this loop by hand"};
      l.args.emplace_back(p->attr, a.value);
    }

    l.torch = *tl;
    return l;
  }

  // The batches, model and loss of `with torch.no_grad(): for xb, yb in loader: loss =
  // criterion(model(xb), yb) ...`; the statements it does not recognise go to `leftovers`.
  struct Eval {
    Data d;
    Loss l;
    ExprPtr model;
  };
  Eval match_eval(Stmt& w, const Stmt* scope, std::vector<const Stmt*>& leftovers) {
    Stmt* loop = nullptr;
    for (auto& s : w.body) {
      if (s->kind == StmtKind::For && !loop) loop = s.get();
      else if (is_mode_stmt(*s)) record(s.get(), "mode", s->value->object->object, scope);
      else if (s->kind != StmtKind::Pass) leftovers.push_back(s.get());
    }
    if (!loop) throw Refusal{w.loc, "no loop over the batches of a DataLoader", "write `for xb, yb in loader:`"};
    if (!loop->orelse.empty()) throw Refusal{loop->loc, "the loop has an else clause", "migrate it by hand"};
    unsigned at = w.loc.begin;
    Data d = data(*loop, scope, at);
    Batch b;
    for (size_t i = 0; i < loop->body.size(); ++i) {
      Stmt& s = *loop->body[i];
      bool ok = batch_statement(s, static_cast<int>(i), d.xb, d.yb, b, scope);
      if (!ok || b.zero_grad == static_cast<int>(i) || b.backward == static_cast<int>(i) || b.step == static_cast<int>(i))
        leftovers.push_back(&s);
    }
    if (b.forward < 0 || !b.model)
      throw Refusal{loop->loc, fmt::format("no call of the model on `{}` in the loop", d.xb), "call `model(xb)`"};
    if (!b.criterion)
      throw Refusal{loop->loc, "no loss computed in the loop (model.evaluate() reports the loss)",
                    "write `loss = criterion(model(xb), yb)`"};
    return Eval{d, loss(b.criterion, scope, at), b.model};
  }

  void warn_evaluation_leftovers(std::vector<const Stmt*>& leftovers) {
    std::sort(leftovers.begin(), leftovers.end(),
              [](const Stmt* a, const Stmt* c) { return a->loc.begin < c->loc.begin; });
    for (auto* s : leftovers)
      sink.warn(s->loc, fmt::format("`{}`: evaluation code nnport does not recognise; left out", source_line(*s)),
                "nnport replaced the evaluation loop with model.evaluate(...) (or fit's validation_data), which "
                "reports the mean loss; compute other quantities from model.predict(x) by hand");
  }

  void eval_loop(Stmt& w, const Stmt* scope) {
    scopes_with_loop_.insert(scope);
    try {
      pivot::TrainingStep st;
      st.stmt = &w;
      st.kind = "eval_loop";
      st.scope = scope;
      std::vector<const Stmt*> leftovers;
      Eval e = match_eval(w, scope, leftovers);
      Data& d = e.d;
      Loss& l = e.l;
      ExprPtr model = e.model;
      check_nothing_used_after(w, scope, "model.evaluate()");
      st.model = syntax::clone(model);
      st.args = {{"x", d.x}, {"y", d.y}, {"batch_size", d.batch_size}};
      for (auto& [k, v] : l.args) st.args.emplace_back("loss." + k, v);
      st.args.emplace_back("loss_class", syntax::str_lit(l.loss_class));
      // evaluate() needs a compiled model: without a training loop before it in this
      // function, the step restates compile() with the loss (a loss holds no state)
      bool trained_here = std::any_of(steps_.begin(), steps_.end(), [&](const pivot::TrainingStep& t) {
        return t.kind == "train_loop" && t.scope == scope && same_expr(t.model, model);
      });
      if (!trained_here) st.args.emplace_back("restate_compile", syntax::bool_lit(true));
      st.config.loss = l.torch.loss->id;
      st.config.from_logits = l.torch.from_logits;
      st.config.fit["batch_size"] = to_attr(d.batch_size);
      st.config.loc = w.loc;
      warn_evaluation_leftovers(leftovers);
      record(l.def, "loss", model, scope);
      record(d.loader_def, "loader", model, scope);
      record(d.dataset_def, "loader", model, scope);
      steps_.push_back(st);
    } catch (const Refusal& r) {
      leave_out(w, scope, "evaluation", r);
    }
  }

  pivot::TrainingStep match_train_loop(Stmt& outer, const Stmt* scope) {
    pivot::TrainingStep st;
    st.stmt = &outer;
    st.kind = "train_loop";
    st.scope = scope;
    std::vector<const Stmt*> leftovers;  // warned only once the loop is recognised whole
    Stmt* batch_loop = &outer;
    ExprPtr epochs = syntax::int_lit(1);
    std::vector<std::pair<Stmt*, bool>> scheduler_steps;  // `scheduler.step()`, after the batch loop
    Stmt* validation = nullptr;  // `with torch.no_grad(): for xb, yb in val_loader: ...` after the batches
    if (is_call(outer.value) && is_name(outer.value->object, "range") && !names_.binds("range")) {
      auto r = positional(*outer.value);
      if (r.empty() || r.size() > 2 || !outer.value->args.size() || has_star_args(*outer.value) ||
          r.size() != outer.value->args.size())
        throw Refusal{outer.value->loc, "the epoch loop's range is not range(epochs) or range(start, stop)",
                      "loop with `for epoch in range(epochs):`"};
      epochs = r.size() == 1 ? r[0] : epoch_count(r[0], r[1]);
      batch_loop = nullptr;
      for (auto& s : outer.body) {
        if (s->kind == StmtKind::For && contains_method_stmt(s->body, "backward") && !batch_loop) {
          batch_loop = s.get();
        } else if (is_mode_stmt(*s)) {
          record(s.get(), "mode", s->value->object->object, scope);
        } else if (s->kind == StmtKind::Expr && is_method_call(s->value, "step") && s->value->args.empty() &&
                   is_name(s->value->object->object)) {
          scheduler_steps.emplace_back(s.get(), batch_loop != nullptr);
        } else if (is_no_grad(*s) && batch_loop && !validation) {
          validation = s.get();
        } else if (s->kind != StmtKind::Pass) {
          if (contains_method_stmt({s}, "backward"))
            throw Refusal{s->loc, "the backward pass is not in a loop over the batches of a DataLoader",
                          "write the batch loop as `for xb, yb in loader:`"};
          leftovers.push_back(s.get());
        }
      }
      if (!batch_loop)
        throw Refusal{outer.loc, "no loop over the batches inside the epoch loop", "write `for xb, yb in loader:`"};
      if (!outer.orelse.empty()) throw Refusal{outer.loc, "the epoch loop has an else clause", "migrate it by hand"};
    }
    Stmt& inner = *batch_loop;
    if (!inner.orelse.empty()) throw Refusal{inner.loc, "the batch loop has an else clause", "migrate it by hand"};
    unsigned at = outer.loc.begin;
    Data d = data(inner, scope, at);
    const std::string &xb = d.xb, &yb = d.yb;

    // the batch body
    Batch b;
    for (size_t i = 0; i < inner.body.size(); ++i) {
      Stmt& s = *inner.body[i];
      int idx = static_cast<int>(i);
      if (!batch_statement(s, idx, xb, yb, b, scope)) leftovers.push_back(&s);
    }
    if (b.forward < 0 || !b.model) throw Refusal{inner.loc, fmt::format("no call of the model on `{}` in the batch loop", xb), "call `model(xb)`"};
    if (!b.criterion) throw Refusal{inner.loc, "no loss computed in the batch loop", "write `loss = criterion(model(xb), yb)`"};
    if (b.backward < 0) throw Refusal{inner.loc, fmt::format("no `{}.backward()` in the batch loop", b.loss), "call backward() on the loss"};
    if (b.step < 0) throw Refusal{inner.loc, "no `optimizer.step()` after the backward pass", "call optimizer.step()"};
    if (b.zero_grad < 0)
      throw Refusal{inner.loc, "no zero_grad() in the batch loop: the gradients accumulate over batches, which model.fit() never does",
                    "call optimizer.zero_grad() in each step"};
    if (b.step < b.backward || (b.zero_grad > b.backward && b.zero_grad < b.step))
      throw Refusal{inner.body[b.step]->loc, "the order of zero_grad(), backward() and step() differs from one plain step per batch",
                    "write zero_grad(), the loss, backward(), step() in this order"};
    if (b.zero_grad_on != b.step_on && !same_expr(syntax::name(b.zero_grad_on), b.model))
      throw Refusal{inner.body[b.zero_grad]->loc, fmt::format("zero_grad() is called on `{}`, step() on `{}`", b.zero_grad_on, b.step_on),
                    "zero the gradients of the optimizer that steps"};

    // the optimizer
    auto [opt, opt_def] = resolve(syntax::name(b.step_on), scope, at, "the optimizer",
                                  [](const std::string& q) { return q.rfind("torch.optim.", 0) == 0; });
    const catalog::OptimizerDef* od = catalog::optimizer_by_torch(callee(opt));
    if (!od)
      throw Refusal{opt->loc, fmt::format("the optimizer `{}` is not in nnport's training catalog", text(opt->object)),
                    "use one `nnport catalog` lists, or migrate this loop by hand"};
    auto op = positional(*opt);
    if (has_star_args(*opt)) throw Refusal{opt->loc, "the optimizer takes *args or **kwargs", "spell its arguments out"};
    ExprPtr params = op.empty() ? keyword(*opt, "params") : op[0];
    if (!params || !is_method_call(params, "parameters") || !same_expr(params->object->object, b.model))
      throw Refusal{opt->loc, fmt::format("the optimizer does not update `{}.parameters()`", text(b.model)),
                    "model.fit() trains all of the model's weights"};
    std::vector<std::pair<std::string, ExprPtr>> opt_args;
    if (op.size() > 2) throw Refusal{opt->loc, "the optimizer's positional arguments after lr", "pass them by keyword"};
    if (op.size() == 2) opt_args.emplace_back("learning_rate", op[1]);
    for (auto& a : opt->args) {
      if (a.name.empty() || a.name == "params") continue;
      const catalog::OptimizerParam* p = od->torch_param(a.name);
      if (!p)
        throw Refusal{a.value->loc, fmt::format("the optimizer argument `{}` has no Keras counterpart in nnport's catalog", a.name),
                      "migrate this loop by hand"};
      if (p->torch.find('.') != std::string::npos) {  // betas=(b1, b2)
        if (a.value->kind != ExprKind::Tuple && a.value->kind != ExprKind::List)
          throw Refusal{a.value->loc, fmt::format("`{}` is not written as a pair", a.name), "write the pair out"};
        for (auto& q : od->params)
          if (q.torch.rfind(a.name + ".", 0) == 0) {
            size_t i = std::stoul(q.torch.substr(a.name.size() + 1));
            if (i >= a.value->items.size()) throw Refusal{a.value->loc, fmt::format("`{}` has too few items", a.name), ""};
            opt_args.emplace_back(q.attr, a.value->items[i]);
          }
        continue;
      }
      opt_args.emplace_back(p->attr, a.value);
    }
    auto given = [&](const std::string& attr) -> ExprPtr {
      for (auto& [k, v] : opt_args)
        if (k == attr) return v;
      return nullptr;
    };
    if (ExprPtr wd = given("weight_decay"); wd && !is_literal_zero(wd) && od->torch_decay_coupled) {
      // Coupled L2 (decay * w added to the gradient) equals Keras's decoupled decay
      // (w -= lr * decay * w before the step) only for a plain gradient step.
      ExprPtr momentum = given("momentum");
      bool plain = od->id == "sgd" && (!momentum || is_literal_zero(momentum));
      if (!plain)
        throw Refusal{wd->loc,
                      fmt::format("`{}`'s weight_decay is an L2 term added to the gradient; Keras's weight_decay "
                                  "shrinks the weights after the step, so there is no exact counterpart",
                                  text(opt->object)),
                      "use torch.optim.AdamW (decoupled decay) in the source, or migrate this loop by hand"};
    }

    // the loss
    Loss l = loss(b.criterion, scope, at);

    check_nothing_used_after(outer, scope, "model.fit()");

    // the step
    st.model = syntax::clone(b.model);
    st.args = {{"x", d.x}, {"y", d.y}, {"epochs", epochs}, {"batch_size", d.batch_size}, {"shuffle", d.shuffle}};
    for (auto& [k, v] : opt_args) st.args.emplace_back("optimizer." + k, v);
    for (auto& [k, v] : l.args) st.args.emplace_back("loss." + k, v);
    st.args.emplace_back("loss_class", syntax::str_lit(l.loss_class));
    st.config.optimizer = od->id;
    for (auto& [k, v] : opt_args) st.config.optimizer_args[k] = to_attr(v);
    st.config.loss = l.torch.loss->id;
    st.config.from_logits = l.torch.from_logits;
    st.config.fit["epochs"] = to_attr(epochs);
    st.config.fit["batch_size"] = to_attr(d.batch_size);
    st.config.fit["shuffle"] = to_attr(d.shuffle);
    st.config.loc = opt->loc;
    // a learning-rate scheduler stepped once per epoch; one nnport cannot write is left out
    // with a warning like any other statement
    bool scheduled = false;
    for (auto& [s, after] : scheduler_steps) {
      if (!scheduled && scheduler(*s, after, b.step_on, od, opt_args, scope, at, st)) scheduled = true;
      else leftovers.push_back(s);
    }
    // a validation loop after each epoch's batches: fit's validation_data, evaluated with the
    // compiled loss at the end of each epoch
    if (validation) {
      std::vector<const Stmt*> val_leftovers;
      std::optional<Eval> v;
      try {
        v = match_eval(*validation, scope, val_leftovers);
      } catch (const Refusal&) {
      }
      if (v && same_expr(v->model, b.model) && v->l.loss_class == l.loss_class) {
        st.args.emplace_back("validation_x", v->d.x);
        st.args.emplace_back("validation_y", v->d.y);
        st.args.emplace_back("validation_batch_size", v->d.batch_size);
        warn_evaluation_leftovers(val_leftovers);
        record(v->d.loader_def, "loader", b.model, scope);
        record(v->d.dataset_def, "loader", b.model, scope);
      } else {
        leftovers.push_back(validation);
      }
    }
    std::sort(leftovers.begin(), leftovers.end(),
              [](const Stmt* a, const Stmt* b) { return a->loc.begin < b->loc.begin; });
    for (auto* s : leftovers) left_out(*s);
    record(opt_def, "optimizer", b.model, scope);
    record(l.def, "loss", b.model, scope);
    record(d.loader_def, "loader", b.model, scope);
    record(d.dataset_def, "loader", b.model, scope);
    return st;
  }

  // `scheduler.step()` in the epoch loop, `scheduler` a catalog scheduler of the optimizer:
  // its class and arguments as step args ("schedule.<param>", "schedule.lr").
  bool scheduler(Stmt& s, bool after, const std::string& optimizer, const catalog::OptimizerDef* od,
                 const std::vector<std::pair<std::string, ExprPtr>>& opt_args, const Stmt* scope, unsigned at,
                 pivot::TrainingStep& st) {
    Stmt* def = lookup(s.value->object->object->name, scope, at);
    if (!def || !is_call(def->value)) return false;
    const Expr& call = *def->value;
    std::string q = callee(def->value);
    const catalog::SchedulerDef* sd = catalog::scheduler_by_torch(q);
    if (!sd || has_star_args(call)) return false;
    auto pos = positional(call);
    ExprPtr first = pos.empty() ? keyword(call, "optimizer") : pos[0];
    if (!is_name(first, optimizer) || pos.size() > 1 + sd->params.size()) return false;
    std::vector<std::pair<std::string, ExprPtr>> args;
    for (size_t i = 0; i < sd->params.size(); ++i) {
      const auto& [k, dflt] = sd->params[i];
      ExprPtr v = i + 1 < pos.size() ? pos[i + 1] : keyword(call, k);
      if (!v && dflt.empty()) return false;
      if (!v) v = syntax::parse_module(dflt, "<catalog>").body.at(0)->value;
      args.emplace_back(k, v);
    }
    for (auto& a : call.args) {
      if (a.name.empty() || a.name == "optimizer") continue;
      bool known = std::any_of(sd->params.begin(), sd->params.end(), [&](auto& p) { return p.first == a.name; });
      bool default_last_epoch = a.name == "last_epoch" && a.value->kind == ExprKind::UnaryOp && a.value->object &&
                                a.value->object->kind == ExprKind::Int && a.value->object->int_value == 1;
      if (!known && !default_last_epoch) return false;
    }
    ExprPtr lr;
    for (auto& [k, v] : opt_args)
      if (k == "learning_rate") lr = v;
    if (!lr) lr = syntax::parse_module(pivot::to_python(od->param("learning_rate")->torch_default), "<catalog>").body.at(0)->value;
    st.args.emplace_back("schedule", syntax::str_lit(q));
    st.args.emplace_back("schedule.lr", lr);
    for (auto& [k, v] : args) st.args.emplace_back("schedule." + k, v);
    // stepped before the epoch's batches: the epoch trains with the next epoch's rate
    if (!after) st.args.emplace_back("schedule.offset", syntax::int_lit(1));
    record(def, "scheduler", st.model, scope);
    (void)s;
    return true;
  }

  // range(start, stop) -> stop - start, written simply where it can be
  ExprPtr epoch_count(const ExprPtr& start, const ExprPtr& stop) {
    if (is_literal_zero(start)) return stop;
    if (start->kind == ExprKind::Int && stop->kind == ExprKind::Int) return syntax::int_lit(stop->int_value - start->int_value);
    if (start->kind == ExprKind::Int && stop->kind == ExprKind::BinOp && stop->name == "+" &&
        stop->items[1]->kind == ExprKind::Int && stop->items[1]->int_value == start->int_value)
      return stop->items[0];  // range(1, epochs + 1)
    return syntax::binop(stop, "-", start);
  }

  // One statement of the batch loop: true when it is part of the plain training step.
  bool batch_statement(Stmt& s, int idx, const std::string& xb, const std::string& yb, Batch& b, const Stmt* scope) {
    auto is_batch_input = [&](const ExprPtr& e) { return is_name(strip_casts(e), xb); };
    auto is_labels = [&](const ExprPtr& e) { return is_name(strip_casts(e), yb); };
    // model(xb) -> the model expression
    auto model_call = [&](const ExprPtr& e) -> ExprPtr {
      if (!is_call(e) || e->args.size() != 1 || !e->args[0].name.empty() || !is_batch_input(e->args[0].value)) return nullptr;
      if (!is_name(e->object) && !(e->object->kind == ExprKind::Attribute && is_name(e->object->object, "self")))
        return nullptr;
      if (!qualified(e->object).empty()) return nullptr;
      return e->object;
    };
    if (s.kind == StmtKind::Expr) {
      const ExprPtr& v = s.value;
      if (is_mode_stmt(s)) {
        record(&s, "mode", v->object->object, scope);
        return true;
      }
      if (is_method_call(v, "zero_grad") && is_name(v->object->object)) {
        b.zero_grad = idx;
        b.zero_grad_on = v->object->object->name;
        return true;
      }
      if (is_method_call(v, "backward") && v->args.empty() && is_name(v->object->object) && v->object->object->name == b.loss) {
        b.backward = idx;
        return true;
      }
      if (is_method_call(v, "step") && v->args.empty() && is_name(v->object->object) && b.backward >= 0 && b.step < 0) {
        b.step = idx;
        b.step_on = v->object->object->name;
        return true;
      }
      return false;
    }
    if (s.kind != StmtKind::Assign || s.targets.size() != 1) return false;
    const ExprPtr& t = s.targets[0];
    // xb, yb = xb.to(device), yb.to(device)   /   xb = xb.to(device)
    if (t->kind == ExprKind::Tuple && s.value->kind == ExprKind::Tuple && t->items.size() == s.value->items.size()) {
      for (size_t i = 0; i < t->items.size(); ++i)
        if (!is_name(t->items[i]) || !(t->items[i]->name == xb || t->items[i]->name == yb) ||
            !is_name(strip_casts(s.value->items[i]), t->items[i]->name))
          return false;
      return b.forward < 0;
    }
    if (!is_name(t)) return false;
    if (is_name(strip_casts(s.value), t->name) && (t->name == xb || t->name == yb) && b.forward < 0) return true;
    if (ExprPtr m = model_call(s.value); m && b.forward < 0) {
      b.forward = idx;
      b.model = m;
      b.out = t->name;
      return true;
    }
    // loss = criterion(out, yb) / criterion(model(xb), yb)
    if (is_call(s.value) && s.value->args.size() == 2 && s.value->args[0].name.empty() &&
        s.value->args[1].name.empty() && is_labels(s.value->args[1].value) && !b.criterion) {
      const ExprPtr& pred = s.value->args[0].value;
      bool from_out = b.forward >= 0 && !b.out.empty() && is_name(pred, b.out);
      ExprPtr inline_model = b.forward < 0 ? model_call(pred) : nullptr;
      if (!from_out && !inline_model) return false;
      if (inline_model) {
        b.forward = idx;
        b.model = inline_model;
      }
      b.criterion = s.value->object;
      b.loss = t->name;
      return true;
    }
    return false;
  }
};

}  // namespace

void recognise_torch_training(pivot::Program& program, pivot::Model& model, DiagnosticSink& sink) {
  Recogniser(program, model, sink).run();
}

}  // namespace nnport::frontends
