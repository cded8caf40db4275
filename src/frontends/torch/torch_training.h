// recognise (PyTorch training): a static pass over the file that finds the common
// training idioms — `optimizer = torch.optim.X(model.parameters(), ...)`,
// `criterion = nn.XLoss()`, `loader = DataLoader(TensorDataset(x, y), batch_size=...)`,
// the epoch loop `for epoch in range(E): for xb, yb in loader: zero_grad / forward / loss /
// backward / step`, and `model.train()` / `model.eval()` — resolves the optimizer and loss
// through the training catalog, and records them as Program::training steps (and the
// model's Config, from the first training loop).
//
// Statements inside a recognised loop that it does not recognise (printing, running
// losses, schedulers, gradient clipping) are left out, each with a warning at its
// location. A loop it cannot translate whole (a loader it cannot trace to
// DataLoader(TensorDataset(x, y)), an optimizer or loss the catalog lacks, PyTorch's
// coupled weight decay) is left out whole, with one warning saying why.
#pragma once

#include "diagnostics/diagnostic.h"
#include "pivot/program.h"

namespace nnport::frontends {

void recognise_torch_training(pivot::Program& program, pivot::Model& model, DiagnosticSink& sink);

}  // namespace nnport::frontends
