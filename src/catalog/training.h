// The training catalog: optimizers and losses, how each framework spells them, and the
// defaults that differ between frameworks (paper 3.2). Like the layer catalog, it is the
// one home of these facts: frontends read it to recognise training code, backends to
// write it, and tests check each reconciliation against it.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "pivot/model.h"

namespace nnport::catalog {

// One optimizer argument. `torch` names the keyword; "betas.0" is the first item of the
// tuple keyword `betas`. A default that differs between the frameworks is written out
// explicitly by the backends, with `why` as the comment.
struct OptimizerParam {
  std::string attr;   // pivot name: learning_rate, beta_1, epsilon, momentum, ...
  std::string torch;  // PyTorch keyword ("" = PyTorch has no such argument)
  std::string keras;  // Keras keyword ("" = Keras has no such argument)
  pivot::Attr torch_default, keras_default;
  std::string why;  // when the defaults differ: what the difference is
};

struct OptimizerDef {
  std::string id;                     // "adam", "sgd", ...
  std::string torch_class;            // "torch.optim.Adam"
  std::string keras_class;            // "keras.optimizers.Adam"
  std::vector<std::string> keras_names;  // string identifiers compile() accepts: "adam"
  std::vector<OptimizerParam> params;    // in Keras's order
  // PyTorch's weight_decay adds `decay * w` to the gradient (coupled L2); Keras's
  // weight_decay shrinks the weights after the step (decoupled, as AdamW). torch
  // optimizers with decoupled decay: AdamW, and Adam(decoupled_weight_decay=True).
  bool torch_decay_coupled = true;
  // Remaining differences in the update rule that no argument can reconcile; the
  // backends write it as a comment.
  std::string note;
  // Keras -> PyTorch: a helper optimizer class the PyTorch backend writes instead of
  // torch_class, with torch_class's signature and Keras's update rule, where torch_class
  // cannot express that rule and the difference shows in training ("" = torch_class).
  std::string torch_keras_update;
  // PyTorch -> Keras: likewise, a helper optimizer class the Keras backend writes instead of
  // keras_class, with keras_class's signature and PyTorch's update rule.
  std::string keras_torch_update;
  const OptimizerParam* param(const std::string& attr) const;
  const OptimizerParam* torch_param(const std::string& keyword) const;
  const OptimizerParam* keras_param(const std::string& keyword) const;
};

// A loss. Cross-entropy comes in three label forms (sparse class indices, one-hot rows,
// binary 0/1) and two prediction forms (logits, or probabilities from a final softmax /
// sigmoid); each framework spells those combinations differently.
struct LossDef {
  std::string id;                        // "sparse_categorical_crossentropy", "mse", ...
  std::string keras_class;               // "keras.losses.SparseCategoricalCrossentropy"
  std::vector<std::string> keras_names;  // "sparse_categorical_crossentropy", "mse"
  std::string labels;                    // "sparse", "one_hot", "binary", "regression"
  std::string torch_logits;      // PyTorch loss on logits ("torch.nn.CrossEntropyLoss"); regression losses: the loss
  std::string torch_probabilities;  // PyTorch loss on probabilities ("torch.nn.BCELoss"); "" = none
  std::string metric;            // the function Keras's "accuracy" resolves to for this loss ("" = none)
  std::vector<OptimizerParam> params;  // further arguments (Huber's delta)
};

const std::vector<OptimizerDef>& optimizers();
const std::vector<LossDef>& losses();
// By id, by PyTorch class ("torch.optim.Adam"), by Keras class or string identifier.
const OptimizerDef* optimizer(const std::string& id);
const OptimizerDef* optimizer_by_torch(const std::string& qualified);
const OptimizerDef* optimizer_by_keras(const std::string& qualified_or_name);
const LossDef* loss(const std::string& id);
const LossDef* loss_by_keras(const std::string& qualified_or_name);
// PyTorch loss class -> the loss and whether it takes logits ("torch.nn.NLLLoss" takes
// log-probabilities, which cross-entropy on logits treats exactly as logits).
struct TorchLoss {
  const LossDef* loss = nullptr;
  bool from_logits = true;
  std::string why;  // how the PyTorch loss maps onto the Keras one (a comment in generated code)
};
std::optional<TorchLoss> loss_by_torch(const std::string& qualified);

// Keras's fit/evaluate/predict defaults the generated PyTorch helpers follow.
struct FitDefaults {
  long long batch_size = 32;
  long long epochs = 1;
  bool shuffle = true;
};

// PyTorch's data pipeline as a training loop reads it (torch.utils.data): DataLoader's
// defaults, which differ from fit()'s (FitDefaults), and the keywords that change only how
// batches are produced (worker processes, pinned memory), not which.
struct LoaderDefaults {
  long long batch_size = 1;
  bool shuffle = false;
  bool drop_last = false;
};
const std::vector<std::string>& loader_performance_keywords();  // num_workers, pin_memory, ...
// Calls that turn arrays into tensors (`torch.tensor(x, dtype=...)`, `torch.from_numpy(x)`)
// and tensor methods that only move or cast (`.to(device)`, `.float()`): fit() takes the
// arrays themselves.
const std::vector<std::string>& torch_array_conversions();
const std::vector<std::string>& torch_tensor_casts();

// Learning-rate schedulers stepped once per epoch (`scheduler.step()` in the epoch loop):
// the learning rate of each epoch in closed form, which the Keras side sets with a
// LearningRateScheduler callback at the start of the epoch.
struct SchedulerDef {
  std::string torch_class;  // "torch.optim.lr_scheduler.StepLR"
  // the arguments after the optimizer, in PyTorch's order: keyword and default (a Python
  // literal; "" = required)
  std::vector<std::pair<std::string, std::string>> params;
  std::string per_epoch;  // Python over `epoch` (0-based), {lr} and {param}s
};
const std::vector<SchedulerDef>& schedulers();
const SchedulerDef* scheduler_by_torch(const std::string& qualified);

// Keras learning-rate schedules (`learning_rate=keras.optimizers.schedules.X(...)`): the
// rate of optimizer step `step` (0-based) as a factor of the initial rate, which PyTorch's
// LambdaLR applies when the scheduler steps after every batch, as Keras steps the schedule.
struct KerasScheduleDef {
  std::string keras_class;  // "keras.optimizers.schedules.ExponentialDecay"
  // the arguments in Keras's order: keyword and default (a Python literal; "" = required;
  // "!" = supported with its default only)
  std::vector<std::pair<std::string, std::string>> params;
  // Python over `step` (and `math`), from the arguments' source text by keyword
  std::string (*per_step)(const std::map<std::string, std::string>& args);
  bool uses_math = false;
};
const std::vector<KerasScheduleDef>& keras_schedules();
const KerasScheduleDef* keras_schedule(const std::string& qualified);

std::string training_json();  // both tables, for `nnport catalog --format json`

}  // namespace nnport::catalog
