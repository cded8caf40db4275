// The program half of the pivot: the source file's structure (classes, functions,
// module-level names, statements) as a framework-neutral syntax tree whose framework
// calls a frontend has replaced by PivotCall annotations. Backends print it back in
// the target framework, which is how the migrated file keeps the source's shape.
#pragma once

#include <string>
#include <vector>

#include "pivot/model.h"
#include "syntax/ast.h"

namespace nnport::pivot {

// One place in the source where a layer is constructed or an operation applied,
// with every instance the entry's evaluation produced there.
struct Site {
  syntax::Expr* call = nullptr;
  std::string op;
  std::vector<LayerPtr> layers;  // constructor sites: the layers built here
  std::vector<int> nodes;        // graph nodes created here (module calls, tensor ops)
  // a call a frontend folded into the layer it feeds (`F.pad` before a convolution that
  // now pads itself): backends write its first argument in its place
  bool folded = false;
};

// A training statement a frontend recognised (paper 3.2). Backends replace the statement
// with its counterpart in the target framework. Arguments are the source expressions,
// keyed by pivot names (x, y, epochs, batch_size, ...), so that names and expressions the
// user wrote (`epochs=num_epochs`) carry over.
struct TrainingStep {
  syntax::Stmt* stmt = nullptr;
  syntax::Expr* call = nullptr;  // fit / evaluate / predict: the call, anywhere in `stmt`, that backends replace
  // Keras source: "compile", "fit", "evaluate", "predict", "binding" (`opt = keras.optimizers.Adam()`
  // used by a compile).
  // Either source: "unrecognised" (a training statement left out; the frontend warned).
  // PyTorch source: "optimizer", "loss", "loader", "train_loop", "eval_loop", "mode" (model.train()/eval()).
  std::string kind;
  syntax::ExprPtr model;  // the model the step trains (`model`, `self.net`)
  std::vector<std::pair<std::string, syntax::ExprPtr>> args;
  Config config;                        // "compile" / "train_loop": optimizer, loss, metrics
  const syntax::Stmt* scope = nullptr;  // the enclosing function (nullptr: module level)
  // evaluate/predict in a function without the compile(): the step restates the loss and
  // metrics it needs (they hold no state, unlike the optimizer)
  bool restates_compile = false;
  syntax::ExprPtr arg(const std::string& name) const {
    for (auto& [k, v] : args)
      if (k == name) return v;
    return nullptr;
  }
};

struct Program {
  std::string framework;  // source framework
  syntax::Module module;
  std::vector<Site> sites;
  // Names the source defines at module level that build models: classes deriving from the
  // framework's module base, and variables bound to models.
  std::vector<std::string> model_classes;
  // Classes that are nnport's own helpers from an earlier migration (KerasLSTM,
  // AdaptiveAveragePooling2D, ...): they stand for catalog layers, and backends drop them.
  std::vector<std::string> helper_classes;
  std::vector<TrainingStep> training;  // in source order
  int add_site(syntax::Expr* call, std::string op) {
    sites.push_back(Site{call, std::move(op), {}, {}});
    return static_cast<int>(sites.size()) - 1;
  }
};

}  // namespace nnport::pivot
