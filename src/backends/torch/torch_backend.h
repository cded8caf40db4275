// emit (PyTorch): prints the pivot program as a PyTorch file. A Keras subclass keeps its
// classes, methods and statements (`call` becomes `forward`, layers become `nn` modules
// with the sizes shape inference found); a Sequential stays an `nn.Sequential`; a
// functional-API model becomes an `nn.Module` whose `forward` replays its graph. Layout
// permutes, explicit padding and Keras-convention recurrent layers are added where the
// passes say.
#pragma once

#include <map>
#include <string>

#include "backends/common/codegen.h"
#include "passes/layout.h"
#include "pivot/model.h"
#include "pivot/program.h"

namespace nnport::backends {

struct TorchOutput {
  syntax::Module module;
  // pivot module path -> the PyTorch module path holding its parameters ("fc1" -> "fc1",
  // "3" -> "5" when a Sequential gained permutes or activations), for the weight plan.
  std::map<std::string, std::string> module_paths;
};

TorchOutput emit_torch(pivot::Program& program, pivot::Model& model, const passes::LayoutPlan& layout,
                       const EmitOptions& options, DiagnosticSink& sink);

}  // namespace nnport::backends
