// recognise (Keras training): finds `model.compile(...)`, `model.fit(...)`,
// `model.evaluate(...)` and `model.predict(...)` statements, binds their arguments to
// pivot names (Keras's own parameter order), resolves the optimizer and loss through the
// training catalog, and records them as Program::training steps and the model's Config.
//
// A statement it cannot translate whole (callbacks, sample weights, an optimizer or loss
// the catalog lacks) is left out with a warning naming the construct, never half-done.
#pragma once

#include "diagnostics/diagnostic.h"
#include "pivot/program.h"

namespace nnport::frontends {

void recognise_keras_training(pivot::Program& program, pivot::Model& model, DiagnosticSink& sink);

}  // namespace nnport::frontends
