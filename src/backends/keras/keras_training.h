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
#include <set>
#include <string>
#include <vector>

#include "diagnostics/diagnostic.h"
#include "pivot/program.h"
#include "syntax/ast.h"

namespace nnport::backends {

// The statements that replace `s`, or nullopt when `s` is no recognised training step.
// `helpers` gains the helper classes the statements use (TorchRMSprop).
std::optional<std::vector<syntax::StmtPtr>> keras_training_stmt(const pivot::Program& program, const syntax::Stmt& s,
                                                                 DiagnosticSink& sink, std::set<std::string>& helpers);

// The source of a helper class keras_training_stmt asked for ("" = not a training helper).
std::string keras_training_helper(const std::string& name);

}  // namespace nnport::backends
