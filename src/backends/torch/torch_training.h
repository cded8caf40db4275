// emit (PyTorch training): writes the PyTorch counterpart of a Keras training statement
// the frontend recognised. compile() becomes an optimizer, a loss function and a metrics
// table; fit / evaluate / predict become calls of `train`, `evaluate`, `predict`
// functions written into the generated file, with Keras's semantics (per-epoch shuffling,
// the last partial batch, losses and metrics averaged over samples as Keras averages them).
#pragma once

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "diagnostics/diagnostic.h"
#include "pivot/program.h"

namespace nnport::backends {

struct TorchTraining {
  std::set<std::string> helpers;  // helper functions the statements call ("train", "as_tensor", ...)
  bool uses_functional = false;   // a helper calls F.*
  bool uses_math = false;         // a learning-rate schedule calls math.*
  std::vector<std::shared_ptr<syntax::Module>> keep;  // parsed snippets the statements point into
};

// The statements that replace a compile() statement, or go before a statement whose
// evaluate() needs the loss restated. `taken` holds the module-level names of the file,
// which the helper functions' names must not shadow.
std::vector<syntax::StmtPtr> torch_training_statements(const pivot::TrainingStep& step,
                                                       const std::set<std::string>& taken, TorchTraining& out);
// The helper call that replaces a fit / evaluate / predict call.
syntax::ExprPtr torch_training_call(const pivot::TrainingStep& step, const std::set<std::string>& taken,
                                    TorchTraining& out);

// The helper functions' source, in dependency order, for the names in `helpers`.
std::string torch_training_helpers(const std::set<std::string>& helpers, const std::set<std::string>& taken);

}  // namespace nnport::backends
