// emit (Keras training): writes the Keras counterpart of the PyTorch training steps a
// frontend recognised (Program::training). At a training loop's place: `model.compile(...)`
// with the optimizer and loss from the training catalog, every default that differs
// between the frameworks and that the source left implicit written out with a comment
// saying why, then `model.fit(x, y, epochs=..., batch_size=..., shuffle=...)` with the
// source's own expressions. The optimizer, loss and DataLoader assignments the fit
// replaced and model.train()/eval() calls are dropped; a loop the frontend refused is
// kept as a comment.
#pragma once

#include <optional>
#include <vector>

#include "diagnostics/diagnostic.h"
#include "pivot/program.h"
#include "syntax/ast.h"

namespace nnport::backends {

// The statements that replace `s`, or nullopt when `s` is no recognised training step.
std::optional<std::vector<syntax::StmtPtr>> keras_training_stmt(const pivot::Program& program, const syntax::Stmt& s,
                                                                 DiagnosticSink& sink);

}  // namespace nnport::backends
