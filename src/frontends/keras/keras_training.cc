#include "frontends/keras/keras_training.h"

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <map>
#include <set>

#include "catalog/training.h"
#include "frontends/common/imported_names.h"
#include "frontends/keras/keras_frontend.h"
#include "syntax/print.h"

namespace nnport::frontends {

namespace {

using syntax::Expr;
using syntax::ExprKind;
using syntax::ExprPtr;
using syntax::Stmt;
using syntax::StmtKind;
using syntax::StmtPtr;

// Keras's parameter order for the methods nnport translates, and what each parameter is
// in the pivot ("" = accepted and dropped: it changes printing only). Parameters not
// listed make the statement untranslatable.
struct Method {
  std::vector<std::pair<std::string, std::string>> params;  // keyword -> pivot name
};
const std::map<std::string, Method> kMethods = {
    {"compile", {{{"optimizer", "optimizer"}, {"loss", "loss"}, {"loss_weights", "!"}, {"metrics", "metrics"}}}},
    {"fit",
     {{{"x", "x"},
       {"y", "y"},
       {"batch_size", "batch_size"},
       {"epochs", "epochs"},
       {"verbose", "verbose"},
       {"callbacks", "!"},
       {"validation_split", "validation_split"},
       {"validation_data", "validation_data"},
       {"shuffle", "shuffle"}}}},
    {"evaluate", {{{"x", "x"}, {"y", "y"}, {"batch_size", "batch_size"}, {"verbose", "verbose"}}}},
    {"predict", {{{"x", "x"}, {"batch_size", "batch_size"}, {"verbose", "verbose"}}}},
};

// The metrics compile() may name that the generated code computes.
const std::set<std::string> kAccuracy = {"accuracy", "acc"};

pivot::Attr literal_attr(const ExprPtr& e) {
  switch (e->kind) {
    case ExprKind::Int: return pivot::Attr(e->int_value);
    case ExprKind::Float: return pivot::Attr(e->float_value);
    case ExprKind::Bool: return pivot::Attr(e->bool_value);
    case ExprKind::String: return pivot::Attr(e->text);
    case ExprKind::None: return pivot::Attr();
    case ExprKind::UnaryOp:
      if (e->name == "-" && (e->object->kind == ExprKind::Int || e->object->kind == ExprKind::Float)) {
        pivot::Attr a = literal_attr(e->object);
        return a.is_int() ? pivot::Attr(-a.as_int()) : pivot::Attr(-a.as_number());
      }
      break;
    default: break;
  }
  return pivot::Attr(syntax::print_expr(*e));  // a name or expression: its source text
}

class Recogniser {
 public:
  Recogniser(pivot::Program& p, pivot::Model& m, DiagnosticSink& s)
      : P(p), M(m), sink(s), names_(p.module, [](const std::string&) { return true; }, keras_canonical) {}

  void run() { walk(P.module.body, nullptr); }

 private:
  pivot::Program& P;
  pivot::Model& M;
  DiagnosticSink& sink;
  ImportedNames names_;
  // names bound in a scope to an optimizer or loss object: `opt = keras.optimizers.Adam(...)`
  std::map<std::pair<const Stmt*, std::string>, std::pair<ExprPtr, Stmt*>> bound_;

  std::string qualified(const ExprPtr& e) const { return names_.qualified(e); }


  void walk(const std::vector<StmtPtr>& body, const Stmt* scope) {
    for (const auto& s : body) {
      switch (s->kind) {
        case StmtKind::FunctionDef: walk(s->body, s.get()); break;
        case StmtKind::ClassDef: break;  // model classes: their methods are the model, not its training
        case StmtKind::If:
        case StmtKind::For:
        case StmtKind::While:
        case StmtKind::With:
          walk(s->body, scope);
          walk(s->orelse, scope);
          break;
        default: statement(*s, scope);
      }
    }
  }

  static bool is_method_call(const Expr* v) {
    return v && v->kind == ExprKind::Call && v->object && v->object->kind == ExprKind::Attribute &&
           kMethods.count(v->object->name);
  }
  // The training-method calls in a statement's expressions, outermost first:
  // `h = model.fit(...)`, `print(model.evaluate(...))`.
  static void method_calls(const ExprPtr& e, std::vector<Expr*>& out) {
    syntax::walk_exprs(e, [&](const ExprPtr& x) {
      if (is_method_call(x.get())) out.push_back(x.get());
    });
  }

  void statement(Stmt& s, const Stmt* scope) {
    if (s.kind == StmtKind::Assign && s.targets.size() == 1 && s.targets[0]->kind == ExprKind::Name && s.value &&
        s.value->kind == ExprKind::Call) {
      std::string q = qualified(s.value->object);
      if (catalog::optimizer_by_keras(q) || catalog::loss_by_keras(q) || catalog::keras_schedule(q)) {
        bound_[{scope, s.targets[0]->name}] = {s.value, &s};
        return;
      }
    }
    if (s.kind == StmtKind::Expr && is_method_call(s.value.get()) && s.value->object->name == "compile")
      return method(s, s.value.get(), scope);
    std::vector<Expr*> calls;
    method_calls(s.value, calls);
    for (auto& t : s.targets) method_calls(t, calls);
    size_t before = P.training.size();
    for (Expr* call : calls) {
      method(s, call, scope);
      if (P.training.size() > before && P.training.back().kind == "unrecognised") return;  // the statement goes
    }
  }

  void method(Stmt& s, Expr* call, const Stmt* scope) {
    const std::string& method = call->object->name;
    pivot::TrainingStep step;
    step.stmt = &s;
    step.call = call;
    step.kind = method;
    step.model = call->object->object;
    step.scope = scope;
    std::string model = syntax::print_expr(*step.model);
    if (method != "compile" && call != s.value.get() && !is_model(model))
      return;  // `scaler.fit(x)` inside an expression: not a Keras model's training
    const Method& m = kMethods.at(method);
    size_t position = 0;
    for (const auto& a : call->args) {
      std::string keyword = a.name;
      if (a.star || a.double_star) return refuse(s, method, a.value->loc, "unpacked arguments");
      if (keyword.empty()) {
        if (position >= m.params.size()) return refuse(s, method, a.value->loc, "a positional argument past the known ones");
        keyword = m.params[position++].first;
      }
      auto it = std::find_if(m.params.begin(), m.params.end(), [&](auto& p) { return p.first == keyword; });
      if (it == m.params.end() || it->second == "!")
        return refuse(s, method, a.value->loc, fmt::format("`{}=`", keyword));
      step.args.emplace_back(it->second, a.value);
    }
    if (method == "compile" && !compile(step, scope)) return;
    if (method != "compile") {
      // the compile() in this function or at module level: its names are in scope here
      auto it = compiled_.find({scope, model});
      if (it == compiled_.end()) it = compiled_.find({nullptr, model});
      if (it == compiled_.end() && method != "fit")
        for (auto i = compiled_.begin(); i != compiled_.end(); ++i)
          if (i->first.second == model) {
            it = i;
            step.restates_compile = method == "evaluate";
            break;
          }
      if (it != compiled_.end()) {
        step.config = it->second;
      } else if (method != "predict") {  // predict() needs no compile(), in Keras as here
        return refuse(s, method, call->loc,
                      fmt::format("`{}` without a recognised compile() in the same function or at module level", model));
      }
    }
    if ((method == "fit" || method == "evaluate") && !step.arg("y"))
      return refuse(s, method, call->loc,
                    "no `y` (a tf.data.Dataset or a generator; nnport translates arrays x and y)");
    if (method == "fit") {
      pivot::Attrs fit;
      for (auto& [k, v] : step.args)
        if (k != "x" && k != "y" && k != "validation_data" && k != "verbose") fit[k] = literal_attr(v);
      if (M.config && M.config->fit.empty()) M.config->fit = fit;
    }
    P.training.push_back(std::move(step));
  }

  // A model the file compiles, or one it binds at module level.
  bool is_model(const std::string& expr) const {
    for (auto& [key, config] : compiled_)
      if (key.second == expr) return true;
    return std::count(P.model_classes.begin(), P.model_classes.end(), expr) > 0;
  }

  // Leaves the statement out (the backends drop it) with a warning that says why.
  void refuse(Stmt& s, const std::string& method, const Location& at, const std::string& what) {
    (void)at;
    pivot::TrainingStep dropped;
    dropped.stmt = &s;
    dropped.kind = "unrecognised";
    P.training.push_back(dropped);
    sink.warn(s.loc, fmt::format("`.{}(...)` with {}: training code nnport does not recognise; left out", method, what),
              "the rest of the file is migrated; write this step by hand in the target framework");
  }

  // An optimizer or loss argument: a string identifier, a constructor call, or a name bound to
  // one in this scope or at module level.
  ExprPtr resolve(const ExprPtr& e, const Stmt* scope, std::vector<Stmt*>& bindings) {
    if (e->kind != ExprKind::Name) return e;
    for (const Stmt* sc : {scope, static_cast<const Stmt*>(nullptr)}) {
      auto it = bound_.find({sc, e->name});
      if (it != bound_.end()) {
        bindings.push_back(it->second.second);
        return it->second.first;
      }
    }
    return e;
  }

  // Keras decays weights after the step (decoupled); PyTorch has that in AdamW and in
  // Adam(decoupled_weight_decay=True), and plain SGD's L2 term gives the same step.
  static bool decay_translatable(const catalog::OptimizerDef& od, const pivot::Attrs& args) {
    auto wd = args.find("weight_decay");
    if (wd == args.end() || wd->second.is_none() || !od.torch_decay_coupled || od.id == "adam") return true;
    auto momentum = args.find("momentum");
    bool no_momentum = momentum == args.end() || ((momentum->second.is_int() || momentum->second.is_float()) &&
                                                  momentum->second.as_number() == 0);
    return od.id == "sgd" && no_momentum;
  }

  // learning_rate=keras.optimizers.schedules.X(...): its arguments as "schedule.<keyword>".
  bool schedule(pivot::TrainingStep& step, pivot::Config& c, const ExprPtr& call) {
    std::string q = qualified(call->object);
    const catalog::KerasScheduleDef* sd = catalog::keras_schedule(q);
    if (!sd) {
      refuse(*step.stmt, "compile", call->loc,
             fmt::format("the learning-rate schedule `{}` (nnport translates ExponentialDecay and CosineDecay)", q));
      return false;
    }
    c.schedule = sd->keras_class;
    size_t position = 0;
    for (auto& a : call->args) {
      std::string keyword = a.name.empty() && position < sd->params.size() ? sd->params[position++].first : a.name;
      auto it = std::find_if(sd->params.begin(), sd->params.end(), [&](auto& p) { return p.first == keyword; });
      if (it == sd->params.end() || it->second == "!") {
        refuse(*step.stmt, "compile", a.value->loc, fmt::format("`{}=` of {}", keyword, sd->keras_class));
        return false;
      }
      if (keyword == "name") continue;
      c.schedule_args[keyword] = literal_attr(a.value);
      step.args.emplace_back("schedule." + keyword, a.value);
    }
    for (auto& [keyword, default_value] : sd->params)
      if (default_value.empty() && !step.arg("schedule." + keyword)) {
        refuse(*step.stmt, "compile", call->loc, fmt::format("{} without `{}`", sd->keras_class, keyword));
        return false;
      }
    return true;
  }

  bool compile(pivot::TrainingStep& step, const Stmt* scope) {
    Stmt& s = *step.stmt;
    pivot::Config c;
    c.loc = s.loc;
    std::vector<Stmt*> bindings;
    // optimizer (Keras's default: "rmsprop")
    ExprPtr opt = step.arg("optimizer");
    const catalog::OptimizerDef* od = nullptr;
    if (!opt) {
      od = catalog::optimizer("rmsprop");
    } else {
      opt = resolve(opt, scope, bindings);
      if (opt->kind == ExprKind::String) {
        od = catalog::optimizer_by_keras(opt->text);
      } else if (opt->kind == ExprKind::Call) {
        od = catalog::optimizer_by_keras(qualified(opt->object));
        if (od) {
          size_t position = 0;
          for (auto& a : opt->args) {
            std::string keyword = a.name;
            if (keyword.empty() && position < od->params.size()) keyword = od->params[position++].keras;
            const catalog::OptimizerParam* p = od->keras_param(keyword);
            if (!p) {
              refuse(s, "compile", a.value->loc,
                     fmt::format("the optimizer argument `{}=` (nnport translates {})", keyword, od->keras_class));
              return false;
            }
            ExprPtr value = a.value;
            if (p->attr == "learning_rate") {
              value = resolve(value, scope, bindings);
              if (value->kind == ExprKind::Call && qualified(value->object).find(".schedules.") != std::string::npos) {
                if (!schedule(step, c, value)) return false;
                value = step.arg("schedule.initial_learning_rate");
              }
            }
            c.optimizer_args[p->attr] = literal_attr(value);
            step.args.emplace_back("optimizer." + p->attr, value);
          }
        }
      }
      if (!od) {
        refuse(s, "compile", opt->loc, fmt::format("the optimizer `{}`", syntax::print_expr(*opt)));
        return false;
      }
    }
    c.optimizer = od->id;
    if (!decay_translatable(*od, c.optimizer_args)) {
      refuse(s, "compile", s.loc,
             fmt::format("{}'s weight_decay (decoupled in Keras; {}'s is an L2 term added to the gradient, "
                         "which differs with this optimizer)", od->keras_class, od->torch_class));
      return false;
    }
    // loss
    ExprPtr loss = step.arg("loss");
    if (!loss) {
      refuse(s, "compile", s.loc, "no loss");
      return false;
    }
    loss = resolve(loss, scope, bindings);
    const catalog::LossDef* ld = nullptr;
    bool from_logits = false;
    if (loss->kind == ExprKind::String) {
      ld = catalog::loss_by_keras(loss->text);
    } else if (loss->kind == ExprKind::Call) {
      ld = catalog::loss_by_keras(qualified(loss->object));
      for (auto& a : loss->args) {
        if (a.name == "from_logits" && (a.value->kind == ExprKind::Bool)) {
          from_logits = a.value->bool_value;
        } else if (ld && a.name == "delta" && !ld->params.empty()) {
          c.loss_args[a.name] = literal_attr(a.value);
          step.args.emplace_back("loss." + a.name, a.value);
        } else {
          refuse(s, "compile", a.value->loc,
                 fmt::format("the loss argument `{}` (nnport translates from_logits=True/False)",
                             a.name.empty() ? syntax::print_expr(*a.value) : a.name + "="));
          return false;
        }
      }
    } else if (loss->kind == ExprKind::Attribute) {  // keras.losses.sparse_categorical_crossentropy
      ld = catalog::loss_by_keras(qualified(loss));
    }
    if (!ld) {
      refuse(s, "compile", loss->loc, fmt::format("the loss `{}`", syntax::print_expr(*loss)));
      return false;
    }
    c.loss = ld->id;
    c.from_logits = ld->labels == "regression" || from_logits;
    // metrics
    if (ExprPtr metrics = step.arg("metrics")) {
      if (metrics->kind != ExprKind::List && metrics->kind != ExprKind::Tuple) {
        refuse(s, "compile", metrics->loc, "metrics that are not a list");
        return false;
      }
      for (auto& x : metrics->items) {
        if (x->kind != ExprKind::String || !kAccuracy.count(x->text) || ld->metric.empty()) {
          refuse(s, "compile", x->loc, fmt::format("the metric `{}` (nnport translates \"accuracy\")", syntax::print_expr(*x)));
          return false;
        }
        c.metrics.push_back("accuracy");
      }
    }
    step.config = c;
    if (!M.config) M.config = c;
    compiled_[{scope, syntax::print_expr(*step.model)}] = c;
    // the statements binding the optimizer / loss objects go with the compile()
    for (Stmt* b : bindings) {
      pivot::TrainingStep bound;
      bound.stmt = b;
      bound.kind = "binding";
      bound.scope = scope;
      P.training.push_back(bound);
    }
    return true;
  }

  // (scope, model expression) -> the configuration its recognised compile() set
  std::map<std::pair<const Stmt*, std::string>, pivot::Config> compiled_;
};

}  // namespace

void recognise_keras_training(pivot::Program& program, pivot::Model& model, DiagnosticSink& sink) {
  Recogniser(program, model, sink).run();
}

}  // namespace nnport::frontends
