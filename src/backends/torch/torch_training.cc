#include "backends/torch/torch_training.h"

#include <fmt/format.h>

#include <map>

#include "backends/common/codegen.h"
#include "catalog/training.h"
#include "syntax/parse.h"
#include "syntax/print.h"

namespace nnport::backends {

namespace {

using syntax::ExprKind;
using syntax::ExprPtr;
using syntax::StmtPtr;

// The helper functions, as Python source. `@train@`, `@evaluate@`, `@predict@` stand for
// the functions' names (renamed when the file defines those names itself).
struct Helper {
  std::string name;
  std::vector<std::string> needs;
  bool functional = false;
  std::string source;
};
const std::vector<Helper> kHelpers = {
    {"as_tensor", {}, false, R"(def as_tensor(data):
    """NumPy data (or a list or tensor) as a tensor: floats as float32, integers as int64."""
    tensor = torch.as_tensor(data)
    return tensor.float() if tensor.is_floating_point() else tensor.long()
)"},
    {"match_labels", {}, false, R"(def match_labels(outputs, labels):
    """Labels shaped like the outputs, as Keras's losses shape them: labels of shape (batch,)
    against outputs of shape (batch, 1) gain the last axis; labels with the outputs' shape
    (one-hot rows, binary or regression targets) take their dtype."""
    if labels.dim() == outputs.dim() - 1 and outputs.shape[-1] == 1:
        labels = labels.unsqueeze(-1)
    if labels.dim() == outputs.dim():
        labels = labels.to(outputs.dtype)
    return labels
)"},
    {"sparse_categorical_accuracy", {}, false, R"(def sparse_categorical_accuracy(outputs, labels):
    """Keras's accuracy for class-index labels: the share of rows whose largest output is the label."""
    return (outputs.argmax(dim=-1) == labels).float().mean()
)"},
    {"categorical_accuracy", {}, false, R"(def categorical_accuracy(outputs, labels):
    """Keras's accuracy for one-hot labels: the share of rows whose largest output is the label's."""
    return (outputs.argmax(dim=-1) == labels.argmax(dim=-1)).float().mean()
)"},
    {"binary_accuracy", {}, false, R"(def binary_accuracy(outputs, labels):
    """Keras's accuracy for 0/1 labels: outputs above 0.5 count as 1 (on logits too, as in Keras)."""
    return ((outputs > 0.5).to(labels.dtype) == labels).float().mean()
)"},
    {"sparse_categorical_crossentropy", {}, true, R"(def sparse_categorical_crossentropy(probabilities, labels):
    """Keras's SparseCategoricalCrossentropy on probabilities (a softmax output): the negative
    log-likelihood, with the probabilities clipped to [1e-7, 1 - 1e-7] as Keras clips them."""
    return F.nll_loss(torch.log(probabilities.clamp(1e-7, 1 - 1e-7)), labels)
)"},
    {"categorical_crossentropy", {}, false, R"(def categorical_crossentropy(probabilities, labels):
    """Keras's CategoricalCrossentropy on probabilities (a softmax output) and one-hot labels,
    with the probabilities clipped to [1e-7, 1 - 1e-7] as Keras clips them."""
    return -(labels * torch.log(probabilities.clamp(1e-7, 1 - 1e-7))).sum(dim=-1).mean()
)"},
    {"binary_crossentropy", {}, true, R"(def binary_crossentropy(probabilities, labels):
    """Keras's BinaryCrossentropy on probabilities (a sigmoid output), with the probabilities
    clipped to [1e-7, 1 - 1e-7] as Keras clips them (BCELoss clips the log at -100 instead)."""
    return F.binary_cross_entropy(probabilities.clamp(1e-7, 1 - 1e-7), labels)
)"},
    {"KerasRMSprop", {}, false, R"(class KerasRMSprop(torch.optim.Optimizer):
    """RMSprop with Keras's update: epsilon inside the square root, w -= lr * g / sqrt(v + eps).
    torch.optim.RMSprop adds it outside (sqrt(v) + eps), which takes much larger steps where
    gradients are small. Same arguments as torch.optim.RMSprop (alpha is Keras's rho)."""

    def __init__(self, params, lr=0.01, alpha=0.99, eps=1e-08, momentum=0.0, centered=False):
        defaults = {"lr": lr, "alpha": alpha, "eps": eps, "momentum": momentum, "centered": centered}
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure=None):
        loss = None if closure is None else closure()
        for group in self.param_groups:
            rho = group["alpha"]
            for parameter in group["params"]:
                if parameter.grad is None:
                    continue
                grad, state = parameter.grad, self.state[parameter]
                if not state:
                    state["square_avg"] = torch.zeros_like(parameter)
                    state["grad_avg"] = torch.zeros_like(parameter)
                    state["momentum_buffer"] = torch.zeros_like(parameter)
                square_avg = state["square_avg"].mul_(rho).addcmul_(grad, grad, value=1 - rho)
                denominator = square_avg + group["eps"]
                if group["centered"]:
                    grad_avg = state["grad_avg"].mul_(rho).add_(grad, alpha=1 - rho)
                    denominator = denominator - grad_avg.square()
                increment = group["lr"] * grad / denominator.sqrt()
                if group["momentum"] > 0:
                    increment = state["momentum_buffer"].mul_(group["momentum"]).add_(increment)
                parameter.sub_(increment)
        return loss
)"},
    {"evaluate", {"as_tensor", "match_labels"}, false, R"(def @evaluate@(model, loss_fn, x, y, batch_size=32, metrics=None, verbose=1, return_dict=False):
    """Keras's `model.evaluate`: the loss and metrics over (x, y) in batches, in evaluation
    mode, averaged over the samples. Returns the loss, or [loss, *metrics] with metrics."""
    model.eval()
    metrics = metrics or {}
    loader = DataLoader(TensorDataset(as_tensor(x), as_tensor(y)), batch_size=batch_size)
    totals = dict.fromkeys(["loss", *metrics], 0.0)
    with torch.no_grad():
        for xb, yb in loader:
            outputs = model(xb)
            labels = match_labels(outputs, yb)
            totals["loss"] += loss_fn(outputs, labels).item() * len(xb)
            for name, metric in metrics.items():
                totals[name] += metric(outputs, labels).item() * len(xb)
    logs = dict(zip(totals, [total / len(loader.dataset) for total in totals.values()]))
    if verbose:
        print(" - ".join([f"{name}: {value:.4f}" for name, value in logs.items()]))
    if return_dict:
        return logs
    return list(logs.values()) if metrics else logs["loss"]
)"},
    {"train", {"as_tensor", "match_labels", "evaluate"}, false, R"(class History:
    """What Keras's `fit` returns: `history` maps each loss and metric to its per-epoch values."""

    def __init__(self, history):
        self.history = history


def @train@(
    model,
    optimizer,
    loss_fn,
    x,
    y,
    batch_size=32,
    epochs=1,
    verbose=1,
    validation_split=0.0,
    validation_data=None,
    shuffle=True,
    metrics=None,
    scheduler=None,
):
    """Keras's `model.fit`: `epochs` passes over (x, y) in batches of `batch_size`, reshuffled
    every epoch (unless `shuffle=False`), the last batch smaller when the data does not
    divide; each epoch's loss and metrics are averaged over its samples, as Keras reports
    them. `validation_split` holds out the last samples, before shuffling, as Keras does;
    a learning-rate `scheduler` steps after every batch, as a Keras schedule does."""
    x, y = as_tensor(x), as_tensor(y)
    metrics = metrics or {}
    if validation_split and validation_data is None:
        split_at = int(len(x) * (1.0 - validation_split))
        x, y, validation_data = x[:split_at], y[:split_at], (x[split_at:], y[split_at:])
    loader = DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=shuffle)
    history = {}
    for epoch in range(epochs):
        model.train()
        totals = dict.fromkeys(["loss", *metrics], 0.0)
        for xb, yb in loader:
            outputs = model(xb)
            labels = match_labels(outputs, yb)
            loss = loss_fn(outputs, labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            totals["loss"] += loss.item() * len(xb)
            with torch.no_grad():
                for name, metric in metrics.items():
                    totals[name] += metric(outputs, labels).item() * len(xb)
        logs = dict(zip(totals, [total / len(x) for total in totals.values()]))
        if validation_data is not None:
            results = @evaluate@(model, loss_fn, *validation_data, batch_size, metrics, verbose=0, return_dict=True)
            for name, value in results.items():
                logs["val_" + name] = value
        for name, value in logs.items():
            history.setdefault(name, []).append(value)
        if verbose:
            print(f"Epoch {epoch + 1}/{epochs} - " + " - ".join([f"{k}: {v:.4f}" for k, v in logs.items()]))
    return History(history)
)"},
    {"predict", {"as_tensor"}, false, R"(def @predict@(model, x, batch_size=32, verbose=1):
    """Keras's `model.predict`: the model's outputs for `x`, in batches, in evaluation mode,
    as a NumPy array."""
    model.eval()
    loader = DataLoader(TensorDataset(as_tensor(x)), batch_size=batch_size)
    with torch.no_grad():
        return torch.cat([model(xb) for (xb,) in loader]).numpy()
)"},
};

const Helper& helper(const std::string& name) {
  for (auto& h : kHelpers)
    if (h.name == name) return h;
  throw std::logic_error("no training helper " + name);
}

// `train`, or `keras_train` when the file defines a `train` of its own.
std::string helper_name(const std::string& name, const std::set<std::string>& taken) {
  return taken.count(name) ? "keras_" + name : name;
}

void need(const std::string& name, TorchTraining& out) {
  if (!out.helpers.insert(name).second) return;
  const Helper& h = helper(name);
  out.uses_functional = out.uses_functional || h.functional;
  for (auto& n : h.needs) need(n, out);
}

ExprPtr source_expr(const pivot::TrainingStep& step, const std::string& name) {
  ExprPtr e = step.arg(name);
  return e ? syntax::clone(e) : nullptr;
}

// torch.optim.X(model.parameters(), ...) with every default that differs from Keras's
// written out, each with a comment line above the statement.
StmtPtr optimizer_stmt(const pivot::TrainingStep& step, TorchTraining& out) {
  const pivot::Config& c = step.config;
  const catalog::OptimizerDef& od = *catalog::optimizer(c.optimizer);
  std::vector<std::string> comments;
  std::vector<syntax::Argument> args{
      syntax::pos(syntax::call(syntax::attr(syntax::clone(step.model), "parameters"), {}))};
  ExprPtr beta_1, beta_2;
  bool decoupled = false;
  for (const auto& p : od.params) {
    ExprPtr value = source_expr(step, "optimizer." + p.attr);
    if (p.attr == "weight_decay") {
      if (value && value->kind == ExprKind::None) continue;
      if (!value && p.keras_default.is_none()) continue;
      // Keras's weight decay is decoupled; PyTorch's Adam needs decoupled_weight_decay=True
      if (od.torch_decay_coupled) decoupled = true;
    }
    if (!value) {
      if (p.torch_default == p.keras_default || p.torch.empty()) continue;
      value = literal(p.keras_default);
      comments.push_back(fmt::format("# {}={}: {}", p.torch.substr(0, p.torch.find('.')),
                                     to_python(p.keras_default), p.why));
    }
    if (p.torch == "betas.0") beta_1 = value;
    else if (p.torch == "betas.1") beta_2 = value;
    else args.push_back(syntax::kw(p.torch, value));
  }
  if (beta_1 || beta_2) {
    auto default_of = [&](const char* attr) { return literal(od.param(attr)->keras_default); };
    auto betas = syntax::tuple({beta_1 ? beta_1 : default_of("beta_1"), beta_2 ? beta_2 : default_of("beta_2")});
    // betas go after lr, where PyTorch's signature has them
    args.insert(args.begin() + (args.size() > 1 && args[1].name == "lr" ? 2 : 1), syntax::kw("betas", betas));
  }
  if (decoupled) {
    args.push_back(syntax::kw("decoupled_weight_decay", syntax::bool_lit(true)));
    comments.push_back("# Keras's weight_decay is decoupled (AdamW-style): decoupled_weight_decay=True");
  }
  if (!od.torch_keras_update.empty()) {
    need(od.torch_keras_update, out);
    comments.push_back(fmt::format("# {}: torch.optim.{}'s arguments, Keras's update rule (see the class)",
                                   od.torch_keras_update, od.torch_class.substr(od.torch_class.rfind('.') + 1)));
  } else if (!od.note.empty()) {
    for (auto& line : wrap_words(od.note, 77)) comments.push_back("# " + line);
  }
  ExprPtr cls = od.torch_keras_update.empty() ? syntax::dotted(od.torch_class) : syntax::name(od.torch_keras_update);
  auto s = syntax::assign(syntax::name("optimizer"), syntax::call(cls, args));
  s->leading_comments = comments;
  return s;
}

// A Keras learning-rate schedule: LambdaLR with the schedule's factor in closed form,
// stepped after every batch by `train`.
StmtPtr scheduler_stmt(const pivot::TrainingStep& step, TorchTraining& out) {
  const catalog::KerasScheduleDef& sd = *catalog::keras_schedule(step.config.schedule);
  std::map<std::string, std::string> args;
  for (auto& [keyword, value] : step.args)
    if (keyword.rfind("schedule.", 0) == 0) args[keyword.substr(9)] = syntax::print_expr(*value);
  out.uses_math = out.uses_math || sd.uses_math;
  std::string text = "scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: " + sd.per_step(args) + ")\n";
  auto module = std::make_shared<syntax::Module>(syntax::parse_module(text, "<nnport schedule>"));
  StmtPtr s = module->body.at(0);
  out.keep.push_back(module);
  std::string name = sd.keras_class.substr(sd.keras_class.rfind('.') + 1);
  s->leading_comments = {fmt::format("# Keras's {}: the rate of each batch's step, as a factor of the initial one", name)};
  return s;
}

// The loss: a PyTorch loss module on logits, or a helper on probabilities (Keras's
// from_logits=False after a softmax / sigmoid output layer).
StmtPtr loss_stmt(const pivot::TrainingStep& step, const std::set<std::string>& taken, TorchTraining& out) {
  const pivot::Config& c = step.config;
  const catalog::LossDef& ld = *catalog::loss(c.loss);
  ExprPtr value;
  std::string why;
  if (c.from_logits) {
    std::vector<syntax::Argument> args;
    for (const auto& p : ld.params)
      if (ExprPtr v = source_expr(step, "loss." + p.attr)) args.push_back(syntax::kw(p.torch, v));
    value = syntax::call(syntax::dotted("nn." + ld.torch_logits.substr(ld.torch_logits.rfind('.') + 1)), args);
    if (ld.labels == "sparse") why = "logits and class-index labels, as Keras's from_logits=True";
    else if (ld.labels == "one_hot") why = "logits and one-hot (probability) labels, as Keras's from_logits=True";
    else if (ld.labels == "binary") why = "logits, as Keras's from_logits=True";
  } else {
    need(ld.id, out);
    (void)taken;
    value = syntax::name(ld.id);
    why = "the model outputs probabilities (Keras's from_logits=False)";
  }
  auto s = syntax::assign(syntax::name("loss_fn"), value);
  if (!why.empty()) s->leading_comments = {"# " + why};
  return s;
}

syntax::Argument kw_from(const pivot::TrainingStep& step, const std::string& name) {
  return syntax::kw(name, source_expr(step, name));
}

}  // namespace

std::vector<StmtPtr> torch_training_statements(const pivot::TrainingStep& step, const std::set<std::string>& taken,
                                               TorchTraining& out) {
  const syntax::Stmt& s = *step.stmt;
  if (step.kind != "compile" && !step.restates_compile) return {};
  const pivot::Config& c = step.config;
  std::vector<StmtPtr> body{loss_stmt(step, taken, out)};
  if (step.kind == "compile" && !c.schedule.empty()) body.insert(body.begin(), scheduler_stmt(step, out));
  if (step.kind == "compile") body.insert(body.begin(), optimizer_stmt(step, out));
  if (!c.metrics.empty()) {
    const catalog::LossDef& ld = *catalog::loss(c.loss);
    need(ld.metric, out);
    auto table = syntax::new_expr();
    table->kind = ExprKind::Dict;
    table->items = {syntax::str_lit("accuracy")};
    table->values = {syntax::name(ld.metric)};
    body.push_back(syntax::assign(syntax::name("metrics"), table));
  }
  if (step.kind == "compile") {  // the statement's comments and spacing go to its replacement
    body[0]->leading_comments.insert(body[0]->leading_comments.begin(), s.leading_comments.begin(),
                                     s.leading_comments.end());
    body[0]->blank_line_before = s.blank_line_before;
    body[0]->empty_lines_before = s.empty_lines_before;
  }
  body[0]->loc = s.loc;
  return body;
}

ExprPtr torch_training_call(const pivot::TrainingStep& step, const std::set<std::string>& taken, TorchTraining& out) {
  std::vector<syntax::Argument> args{syntax::pos(syntax::clone(step.model))};
  if (step.kind == "fit") args.push_back(syntax::pos(syntax::name("optimizer")));
  if (step.kind != "predict") args.push_back(syntax::pos(syntax::name("loss_fn")));
  std::string helper = step.kind == "fit" ? "train" : step.kind;
  need(helper, out);
  for (const char* a : {"x", "y"})
    if (step.arg(a)) args.push_back(syntax::pos(source_expr(step, a)));
  for (const char* a : {"batch_size", "epochs", "verbose", "validation_split", "validation_data", "shuffle"})
    if (step.arg(a)) args.push_back(kw_from(step, a));
  if (!step.config.metrics.empty() && step.kind != "predict")
    args.push_back(syntax::kw("metrics", syntax::name("metrics")));
  if (!step.config.schedule.empty() && step.kind == "fit")
    args.push_back(syntax::kw("scheduler", syntax::name("scheduler")));
  auto call = syntax::call(syntax::name(helper_name(helper, taken)), args);
  call->loc = step.call ? step.call->loc : step.stmt->loc;
  return call;
}

std::string torch_training_helpers(const std::set<std::string>& helpers, const std::set<std::string>& taken) {
  std::string text;
  for (const auto& h : kHelpers) {
    if (!helpers.count(h.name)) continue;
    std::string src = h.source;
    for (const char* n : {"train", "evaluate", "predict"}) {
      std::string token = fmt::format("@{}@", n), name = helper_name(n, taken);
      for (size_t at; (at = src.find(token)) != std::string::npos;) src.replace(at, token.size(), name);
    }
    text += src;
  }
  return text;
}

}  // namespace nnport::backends
