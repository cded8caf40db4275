// The training catalog's entries. Defaults are those of keras 3.15 and torch 2.13 (read
// off their signatures); the update rules behind each `note` are in keras/src/optimizers
// and torch/optim.
#include "catalog/training.h"

#include <nlohmann/json.hpp>
#include <string_view>

namespace nnport::catalog {

namespace {

using pivot::Attr;

OptimizerParam same(std::string attr, std::string torch, std::string keras, Attr value) {
  return OptimizerParam{std::move(attr), std::move(torch), std::move(keras), value, value, ""};
}
OptimizerParam differs(std::string attr, std::string torch, std::string keras, Attr torch_default,
                       Attr keras_default, std::string why) {
  return OptimizerParam{std::move(attr), std::move(torch), std::move(keras), torch_default, keras_default,
                        std::move(why)};
}

const char* kAdamEpsilon =
    "Keras adds epsilon to sqrt(v) before bias correction, PyTorch after it; the two agree once "
    "1 - beta_2**t is near 1 (a few thousand steps)";

std::vector<OptimizerDef> make_optimizers() {
  std::vector<OptimizerDef> t;
  auto adam_like = [](std::string id, std::string torch_name, std::string keras_name, Attr torch_lr, Attr keras_lr) {
    OptimizerDef d;
    d.id = id;
    d.torch_class = "torch.optim." + torch_name;
    d.keras_class = "keras.optimizers." + keras_name;
    d.keras_names = {id};
    d.params = {differs("learning_rate", "lr", "learning_rate", torch_lr, keras_lr,
                        "the frameworks' default learning rates differ"),
                same("beta_1", "betas.0", "beta_1", 0.9), same("beta_2", "betas.1", "beta_2", 0.999),
                differs("epsilon", "eps", "epsilon", 1e-8, 1e-7, "Keras's default epsilon is 1e-7, PyTorch's 1e-8")};
    d.note = kAdamEpsilon;
    return d;
  };
  {
    OptimizerDef d = adam_like("adam", "Adam", "Adam", 0.001, 0.001);
    d.params.push_back(same("amsgrad", "amsgrad", "amsgrad", false));
    d.params.push_back(differs("weight_decay", "weight_decay", "weight_decay", 0, Attr(), ""));
    t.push_back(d);
  }
  {
    OptimizerDef d = adam_like("adamw", "AdamW", "AdamW", 0.001, 0.001);
    // Keras's AdamW takes weight_decay second
    d.params.insert(d.params.begin() + 1, differs("weight_decay", "weight_decay", "weight_decay", 0.01, 0.004,
                                                  "Keras's AdamW decays by 0.004 by default, PyTorch's by 0.01"));
    d.params.push_back(same("amsgrad", "amsgrad", "amsgrad", false));
    d.torch_decay_coupled = false;
    t.push_back(d);
  }
  {
    OptimizerDef d = adam_like("adamax", "Adamax", "Adamax", 0.002, 0.001);
    d.params.push_back(differs("weight_decay", "weight_decay", "weight_decay", 0, Attr(), ""));
    d.note = "Keras adds epsilon to the infinity norm when it divides, PyTorch inside the maximum; "
             "they agree while gradients are large against epsilon";
    t.push_back(d);
  }
  {
    OptimizerDef d;
    d.id = "sgd";
    d.torch_class = "torch.optim.SGD";
    d.keras_class = "keras.optimizers.SGD";
    d.keras_names = {"sgd"};
    // Keras keeps m = momentum * m - lr * g and adds it; PyTorch keeps b = momentum * b + g
    // and subtracts lr * b: the same steps while the learning rate is constant.
    d.params = {differs("learning_rate", "lr", "learning_rate", 0.001, 0.01, "the frameworks' default learning rates differ"),
                same("momentum", "momentum", "momentum", 0.0), same("nesterov", "nesterov", "nesterov", false),
                differs("weight_decay", "weight_decay", "weight_decay", 0, Attr(), "")};
    t.push_back(d);
  }
  {
    OptimizerDef d;
    d.id = "rmsprop";
    d.torch_class = "torch.optim.RMSprop";
    d.keras_class = "keras.optimizers.RMSprop";
    d.keras_names = {"rmsprop"};
    d.params = {differs("learning_rate", "lr", "learning_rate", 0.01, 0.001, "the frameworks' default learning rates differ"),
                differs("rho", "alpha", "rho", 0.99, 0.9,
                        "the squared-gradient average: Keras's rho defaults to 0.9, PyTorch's alpha to 0.99"),
                same("momentum", "momentum", "momentum", 0.0),
                differs("epsilon", "eps", "epsilon", 1e-8, 1e-7, "Keras's default epsilon is 1e-7, PyTorch's 1e-8"),
                same("centered", "centered", "centered", false),
                differs("weight_decay", "weight_decay", "weight_decay", 0, Attr(), "")};
    d.note = "Keras adds epsilon inside the square root, PyTorch outside it; they agree while the "
             "squared-gradient average is large against epsilon";
    // parameters with small gradients take steps up to sqrt(epsilon) / epsilon times larger
    // outside the root: one epoch of the digits example differs by 3e-3 in the loss
    d.torch_keras_update = "KerasRMSprop";
    d.keras_torch_update = "TorchRMSprop";
    t.push_back(d);
  }
  {
    OptimizerDef d;
    d.id = "adagrad";
    d.torch_class = "torch.optim.Adagrad";
    d.keras_class = "keras.optimizers.Adagrad";
    d.keras_names = {"adagrad"};
    d.params = {differs("learning_rate", "lr", "learning_rate", 0.01, 0.001, "the frameworks' default learning rates differ"),
                differs("initial_accumulator_value", "initial_accumulator_value", "initial_accumulator_value", 0.0, 0.1,
                        "Keras starts the accumulator at 0.1, PyTorch at 0"),
                differs("epsilon", "eps", "epsilon", 1e-10, 1e-7, "Keras's default epsilon is 1e-7, PyTorch's 1e-10"),
                differs("weight_decay", "weight_decay", "weight_decay", 0, Attr(), "")};
    d.note = "Keras adds epsilon inside the square root, PyTorch outside it; they agree while the "
             "accumulator is large against epsilon";
    t.push_back(d);
  }
  return t;
}

std::vector<LossDef> make_losses() {
  std::vector<LossDef> t;
  t.push_back({"sparse_categorical_crossentropy", "keras.losses.SparseCategoricalCrossentropy",
               {"sparse_categorical_crossentropy"}, "sparse", "torch.nn.CrossEntropyLoss", "torch.nn.NLLLoss",
               "sparse_categorical_accuracy", {}});
  t.push_back({"categorical_crossentropy", "keras.losses.CategoricalCrossentropy", {"categorical_crossentropy"},
               "one_hot", "torch.nn.CrossEntropyLoss", "", "categorical_accuracy", {}});
  t.push_back({"binary_crossentropy", "keras.losses.BinaryCrossentropy", {"binary_crossentropy"}, "binary",
               "torch.nn.BCEWithLogitsLoss", "torch.nn.BCELoss", "binary_accuracy", {}});
  t.push_back({"mean_squared_error", "keras.losses.MeanSquaredError", {"mse", "mean_squared_error"}, "regression",
               "torch.nn.MSELoss", "", "", {}});
  t.push_back({"mean_absolute_error", "keras.losses.MeanAbsoluteError", {"mae", "mean_absolute_error"},
               "regression", "torch.nn.L1Loss", "", "", {}});
  t.push_back({"huber", "keras.losses.Huber", {"huber"}, "regression", "torch.nn.HuberLoss", "", "",
               {same("delta", "delta", "delta", 1.0)}});
  return t;
}

std::string strip_tf(const std::string& q) {
  // tf.keras.X, tensorflow.keras.X -> keras.X
  for (const char* p : {"tf.keras.", "tensorflow.keras."})
    if (q.rfind(p, 0) == 0) return "keras." + q.substr(std::string(p).size());
  return q;
}

}  // namespace

const OptimizerParam* OptimizerDef::param(const std::string& attr) const {
  for (auto& p : params)
    if (p.attr == attr) return &p;
  return nullptr;
}
const OptimizerParam* OptimizerDef::torch_param(const std::string& keyword) const {
  for (auto& p : params)
    if (!p.torch.empty() && (p.torch == keyword || p.torch.substr(0, p.torch.find('.')) == keyword)) return &p;
  return nullptr;
}
const OptimizerParam* OptimizerDef::keras_param(const std::string& keyword) const {
  for (auto& p : params)
    if (p.keras == keyword) return &p;
  return nullptr;
}

const std::vector<OptimizerDef>& optimizers() {
  static const std::vector<OptimizerDef> t = make_optimizers();
  return t;
}
const std::vector<LossDef>& losses() {
  static const std::vector<LossDef> t = make_losses();
  return t;
}

const OptimizerDef* optimizer(const std::string& id) {
  for (auto& d : optimizers())
    if (d.id == id) return &d;
  return nullptr;
}
const OptimizerDef* optimizer_by_torch(const std::string& q) {
  for (auto& d : optimizers())
    if (d.torch_class == q) return &d;
  return nullptr;
}
const OptimizerDef* optimizer_by_keras(const std::string& name) {
  std::string q = strip_tf(name);
  if (q.rfind("keras.optimizers.legacy.", 0) == 0) q = "keras.optimizers." + q.substr(24);
  for (auto& d : optimizers()) {
    if (d.keras_class == q) return &d;
    for (auto& n : d.keras_names)
      if (n == name) return &d;
  }
  return nullptr;
}
const LossDef* loss(const std::string& id) {
  for (auto& d : losses())
    if (d.id == id) return &d;
  return nullptr;
}
const LossDef* loss_by_keras(const std::string& name) {
  std::string q = strip_tf(name);
  // keras.losses.sparse_categorical_crossentropy (compared in place: this runs for every
  // assignment of a call in a Keras file)
  const std::string_view prefix = "keras.losses.";
  bool prefixed = q.compare(0, prefix.size(), prefix) == 0;
  for (auto& d : losses()) {
    if (d.keras_class == q) return &d;
    for (auto& n : d.keras_names)
      if (n == name || (prefixed && q.compare(prefix.size(), std::string::npos, n) == 0)) return &d;
  }
  return nullptr;
}
std::optional<TorchLoss> loss_by_torch(const std::string& q) {
  // CrossEntropyLoss appears twice (sparse and one-hot labels): class indices are by far the
  // common case, and the backends say so in a comment.
  for (auto& d : losses()) {
    if (d.torch_logits == q) {
      std::string why = d.labels == "sparse"   ? "CrossEntropyLoss takes logits and class-index labels"
                        : d.labels == "binary" ? "BCEWithLogitsLoss takes logits"
                                               : "";
      return TorchLoss{&d, d.labels != "regression", why};
    }
    if (d.torch_probabilities == q) {
      if (q == "torch.nn.NLLLoss")
        return TorchLoss{&d, true,
                         "NLLLoss on log_softmax outputs: log_softmax of log-probabilities is the identity, so "
                         "cross-entropy on them as logits is exact"};
      return TorchLoss{&d, false, "BCELoss takes probabilities (a sigmoid output)"};
    }
  }
  return std::nullopt;
}

const std::vector<std::string>& loader_performance_keywords() {
  static const std::vector<std::string> k = {"num_workers", "pin_memory", "persistent_workers", "prefetch_factor",
                                             "pin_memory_device", "timeout", "multiprocessing_context"};
  return k;
}
const std::vector<std::string>& torch_array_conversions() {
  static const std::vector<std::string> k = {"torch.tensor", "torch.as_tensor", "torch.from_numpy", "torch.Tensor",
                                             "torch.FloatTensor", "torch.LongTensor", "torch.asarray"};
  return k;
}
const std::vector<std::string>& torch_tensor_casts() {
  static const std::vector<std::string> k = {"to", "cuda", "cpu", "float", "long", "double", "int"};
  return k;
}

const std::vector<SchedulerDef>& schedulers() {
  // torch/optim/lr_scheduler.py: the closed forms of StepLR, ExponentialLR and CosineAnnealingLR
  static const std::vector<SchedulerDef> t = {
      {"torch.optim.lr_scheduler.StepLR", {{"step_size", ""}, {"gamma", "0.1"}},
       "{lr} * {gamma} ** (epoch // {step_size})"},
      {"torch.optim.lr_scheduler.ExponentialLR", {{"gamma", ""}}, "{lr} * {gamma} ** epoch"},
      {"torch.optim.lr_scheduler.CosineAnnealingLR", {{"T_max", ""}, {"eta_min", "0.0"}},
       "{eta_min} + ({lr} - {eta_min}) * (1 + math.cos(math.pi * epoch / {T_max})) / 2"},
  };
  return t;
}
const SchedulerDef* scheduler_by_torch(const std::string& q) {
  for (auto& d : schedulers())
    if (d.torch_class == q) return &d;
  return nullptr;
}

const std::vector<KerasScheduleDef>& keras_schedules() {
  // keras/src/optimizers/schedules/learning_rate_schedule.py
  static const std::vector<KerasScheduleDef> t = {
      {"keras.optimizers.schedules.ExponentialDecay",
       {{"initial_learning_rate", ""}, {"decay_steps", ""}, {"decay_rate", ""}, {"staircase", "False"}, {"name", "None"}},
       [](const std::map<std::string, std::string>& a) {
         bool staircase = a.count("staircase") && a.at("staircase") == "True";
         return a.at("decay_rate") + " ** (step " + (staircase ? "//" : "/") + " " + a.at("decay_steps") + ")";
       },
       false},
      {"keras.optimizers.schedules.CosineDecay",
       {{"initial_learning_rate", ""}, {"decay_steps", ""}, {"alpha", "0.0"}, {"name", "None"},
        {"warmup_target", "!"}, {"warmup_steps", "!"}},
       [](const std::map<std::string, std::string>& a) {
         std::string steps = a.at("decay_steps");
         std::string cosine = "0.5 * (1 + math.cos(math.pi * min(step, " + steps + ") / " + steps + "))";
         if (!a.count("alpha")) return cosine;
         return "(1 - " + a.at("alpha") + ") * " + cosine + " + " + a.at("alpha");
       },
       true},
  };
  return t;
}
const KerasScheduleDef* keras_schedule(const std::string& q) {
  std::string k = strip_tf(q);
  for (auto& d : keras_schedules())
    if (d.keras_class == k) return &d;
  return nullptr;
}

std::string training_json() {
  using nlohmann::json;
  auto attr = [](const Attr& a) -> json {
    if (a.is_none()) return nullptr;
    if (a.is_bool()) return a.as_bool();
    if (a.is_int()) return a.as_int();
    return a.as_number();
  };
  json j;
  j["optimizers"] = json::array();
  for (auto& d : optimizers()) {
    json o = {{"id", d.id}, {"torch", d.torch_class}, {"keras", d.keras_class}, {"keras_names", d.keras_names},
              {"torch_weight_decay", d.torch_decay_coupled ? "coupled" : "decoupled"}, {"note", d.note},
              {"torch_keras_update", d.torch_keras_update}, {"keras_torch_update", d.keras_torch_update}};
    o["params"] = json::array();
    for (auto& p : d.params)
      o["params"].push_back({{"attr", p.attr}, {"torch", p.torch}, {"keras", p.keras},
                             {"torch_default", attr(p.torch_default)}, {"keras_default", attr(p.keras_default)},
                             {"why", p.why}});
    j["optimizers"].push_back(o);
  }
  j["losses"] = json::array();
  for (auto& d : losses())
    j["losses"].push_back({{"id", d.id}, {"keras", d.keras_class}, {"keras_names", d.keras_names},
                           {"labels", d.labels}, {"torch_logits", d.torch_logits},
                           {"torch_probabilities", d.torch_probabilities}, {"accuracy", d.metric}});
  j["torch_schedulers"] = json::array();
  for (auto& d : schedulers())
    j["torch_schedulers"].push_back({{"torch", d.torch_class}, {"params", d.params}, {"per_epoch", d.per_epoch}});
  j["keras_schedules"] = json::array();
  for (auto& d : keras_schedules()) {
    std::map<std::string, std::string> names;
    for (auto& [keyword, value] : d.params) names[keyword] = keyword;
    j["keras_schedules"].push_back({{"keras", d.keras_class}, {"params", d.params}, {"per_step", d.per_step(names)}});
  }
  return j.dump(2);
}

}  // namespace nnport::catalog
