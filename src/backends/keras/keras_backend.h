// emit (Keras 3): prints the pivot program as a Keras file. The source's classes,
// functions and module-level names are kept; each recognised framework call becomes
// its Keras form, built from the catalog's Keras spelling and the entry's concrete
// attributes; layout transposes and helper layers are added where the passes say.
#pragma once

#include <string>

#include "backends/common/codegen.h"
#include "passes/layout.h"
#include "pivot/model.h"
#include "pivot/program.h"

namespace nnport::backends {

syntax::Module emit_keras(pivot::Program& program, pivot::Model& model, const passes::LayoutPlan& layout,
                          const EmitOptions& options, DiagnosticSink& sink);

}  // namespace nnport::backends
