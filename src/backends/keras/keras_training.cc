#include "backends/keras/keras_training.h"

#include <fmt/format.h>

#include "backends/common/codegen.h"
#include "catalog/training.h"
#include "syntax/parse.h"
#include "syntax/print.h"

namespace nnport::backends {

namespace {

using syntax::Argument;
using syntax::ExprKind;
using syntax::ExprPtr;
using syntax::StmtPtr;

// Helper optimizers: Keras classes with PyTorch's update rule where Keras's own differs in a
// way no argument reconciles (catalog OptimizerDef::keras_torch_update).
const char* kTorchRMSprop = R"(class TorchRMSprop(keras.optimizers.Optimizer):
    """RMSprop with PyTorch's update: w -= lr * g / (sqrt(v) + epsilon), epsilon outside the
    square root (keras.optimizers.RMSprop adds it inside, which takes much smaller steps
    where gradients are small), on the dense gradient. Same arguments as Keras's RMSprop."""

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-07, centered=False, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.rho = rho
        self.momentum = momentum
        self.epsilon = epsilon
        self.centered = centered

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self.square_avgs = [self.add_variable_from_reference(v, "square_avg") for v in variables]
        self.grad_avgs = [self.add_variable_from_reference(v, "grad_avg") for v in variables]
        self.momentum_buffers = [self.add_variable_from_reference(v, "momentum_buffer") for v in variables]

    def update_step(self, gradient, variable, learning_rate):
        lr = keras.ops.cast(learning_rate, variable.dtype)
        gradient = keras.ops.convert_to_tensor(gradient, variable.dtype)
        index = self._get_variable_index(variable)
        square_avg = self.square_avgs[index]
        self.assign(square_avg, self.rho * square_avg + (1 - self.rho) * keras.ops.square(gradient))
        average = square_avg
        if self.centered:
            grad_avg = self.grad_avgs[index]
            self.assign(grad_avg, self.rho * grad_avg + (1 - self.rho) * gradient)
            average = square_avg - keras.ops.square(grad_avg)
        step = gradient / (keras.ops.sqrt(average) + self.epsilon)
        if self.momentum > 0:
            buffer = self.momentum_buffers[index]
            self.assign(buffer, self.momentum * buffer + step)
            step = buffer
        self.assign_sub(variable, lr * step)

    def get_config(self):
        config = super().get_config()
        config.update(rho=self.rho, momentum=self.momentum, epsilon=self.epsilon, centered=self.centered)
        return config
)";

// `keras.optimizers.Adam(learning_rate=..., epsilon=1e-08  # why)`
ExprPtr optimizer_expr(const pivot::TrainingStep& st, const catalog::OptimizerDef& od) {
  std::vector<Argument> args;
  for (const auto& p : od.params) {
    if (p.keras.empty()) continue;
    if (ExprPtr given = st.arg("optimizer." + p.attr)) {
      args.push_back(syntax::kw(p.keras, syntax::clone(given)));
      continue;
    }
    // a default the source left implicit that Keras would set differently
    if (p.torch_default == p.keras_default || p.why.empty() || p.torch_default.is_none()) continue;
    ExprPtr v = literal(p.torch_default);
    v->comment = "# " + p.why;
    args.push_back(syntax::kw(p.keras, v));
  }
  ExprPtr cls = od.keras_torch_update.empty() ? syntax::dotted(od.keras_class) : syntax::name(od.keras_torch_update);
  return syntax::call(cls, std::move(args));
}

// `keras.losses.SparseCategoricalCrossentropy(from_logits=True)`
ExprPtr loss_expr(const pivot::TrainingStep& st, const catalog::LossDef& ld, bool from_logits) {
  std::vector<Argument> args;
  if (ld.labels != "regression" && from_logits) args.push_back(syntax::kw("from_logits", syntax::bool_lit(true)));
  for (const auto& p : ld.params)
    if (ExprPtr given = st.arg("loss." + p.attr)) args.push_back(syntax::kw(p.keras, syntax::clone(given)));
  return syntax::call(syntax::dotted(ld.keras_class), std::move(args));
}

// `callbacks=[keras.callbacks.LearningRateScheduler(lambda epoch: 0.001 * 0.1 ** (epoch // 10))]`:
// the catalog's closed form of a PyTorch scheduler stepped once per epoch, set by Keras at
// the start of each epoch.
ExprPtr scheduler_callback(const pivot::TrainingStep& st) {
  const catalog::SchedulerDef* sd = catalog::scheduler_by_torch(st.arg("schedule")->text);
  auto operand = [](const ExprPtr& e) {
    std::string t = syntax::print_expr(*e);
    bool atom = e->kind == ExprKind::Name || e->kind == ExprKind::Int || e->kind == ExprKind::Float ||
                e->kind == ExprKind::Attribute || e->kind == ExprKind::Call || e->kind == ExprKind::Subscript;
    return atom ? t : "(" + t + ")";
  };
  std::string body = sd->per_epoch;
  auto replace = [&](const std::string& key, const std::string& value) {
    for (size_t p = body.find(key); p != std::string::npos; p = body.find(key, p + value.size()))
      body.replace(p, key.size(), value);
  };
  if (st.arg("schedule.offset")) replace("epoch", "(epoch + 1)");
  replace("{lr}", operand(st.arg("schedule.lr")));
  for (const auto& [k, dflt] : sd->params) replace("{" + k + "}", operand(st.arg("schedule." + k)));
  syntax::Module m = syntax::parse_module("lambda epoch: " + body, "<nnport>");
  ExprPtr lambda = m.body.at(0)->value;
  ExprPtr cb = syntax::call(syntax::dotted("keras.callbacks.LearningRateScheduler"), {syntax::pos(lambda)});
  ExprPtr list = syntax::list({cb});
  std::string cls = sd->torch_class.substr(sd->torch_class.rfind('.') + 1);
  list->comment = "# PyTorch's " + cls + ", stepped once per epoch\n";
  return list;
}

std::vector<StmtPtr> train_loop(const pivot::TrainingStep& st, std::set<std::string>& helpers) {
  const catalog::OptimizerDef* od = catalog::optimizer(st.config.optimizer);
  const catalog::LossDef* ld = catalog::loss(st.config.loss);
  ExprPtr loss_class = st.arg("loss_class");
  auto tl = loss_class ? catalog::loss_by_torch(loss_class->text) : std::nullopt;
  ExprPtr opt = optimizer_expr(st, *od);
  ExprPtr loss = loss_expr(st, *ld, st.config.from_logits);
  if (tl && !tl->why.empty()) loss->comment = "# " + tl->why + "\n";  // on its own line above `loss=`
  std::vector<Argument> compile_args{syntax::kw("optimizer", opt), syntax::kw("loss", loss)};
  auto compile = syntax::expr_stmt(syntax::call(syntax::attr(syntax::clone(st.model), "compile"), compile_args));
  if (!od->keras_torch_update.empty()) {
    helpers.insert(od->keras_torch_update);
    compile->leading_comments.push_back(fmt::format("# {}: Keras's {} arguments, PyTorch's update rule (see the class)",
                                                    od->keras_torch_update, od->keras_class));
  } else if (!od->note.empty()) {
    for (auto& line : wrap_words(fmt::format("{}: {}", od->keras_class, od->note), 76))
      compile->leading_comments.push_back("# " + line);
  }
  // Keras's fit() defaults (batch_size 32, shuffle True) differ from DataLoader's (1,
  // False): both are always written.
  std::vector<Argument> fit_args{syntax::pos(syntax::clone(st.arg("x"))), syntax::pos(syntax::clone(st.arg("y"))),
                                 syntax::kw("epochs", syntax::clone(st.arg("epochs"))),
                                 syntax::kw("batch_size", syntax::clone(st.arg("batch_size"))),
                                 syntax::kw("shuffle", syntax::clone(st.arg("shuffle")))};
  if (ExprPtr vx = st.arg("validation_x")) {
    fit_args.push_back(syntax::kw("validation_data", syntax::tuple({syntax::clone(vx), syntax::clone(st.arg("validation_y"))})));
    fit_args.push_back(syntax::kw("validation_batch_size", syntax::clone(st.arg("validation_batch_size"))));
  }
  if (st.arg("schedule")) fit_args.push_back(syntax::kw("callbacks", scheduler_callback(st)));
  auto fit = syntax::expr_stmt(syntax::call(syntax::attr(syntax::clone(st.model), "fit"), fit_args));
  return {compile, fit};
}

// with torch.no_grad(): for xb, yb in loader: ... -> model.evaluate(x, y, batch_size=...)
std::vector<StmtPtr> eval_loop(const pivot::TrainingStep& st) {
  std::vector<StmtPtr> out;
  if (st.arg("restate_compile")) {
    const catalog::LossDef* ld = catalog::loss(st.config.loss);
    ExprPtr loss_class = st.arg("loss_class");
    auto tl = loss_class ? catalog::loss_by_torch(loss_class->text) : std::nullopt;
    ExprPtr loss = loss_expr(st, *ld, st.config.from_logits);
    if (tl && !tl->why.empty()) loss->comment = "# " + tl->why + "\n";
    auto compile = syntax::expr_stmt(
        syntax::call(syntax::attr(syntax::clone(st.model), "compile"), {syntax::kw("loss", loss)}));
    compile->leading_comments.push_back("# evaluate() needs a compiled model: the loss of the evaluation loop");
    out.push_back(compile);
  }
  out.push_back(syntax::expr_stmt(syntax::call(
      syntax::attr(syntax::clone(st.model), "evaluate"),
      {syntax::pos(syntax::clone(st.arg("x"))), syntax::pos(syntax::clone(st.arg("y"))),
       syntax::kw("batch_size", syntax::clone(st.arg("batch_size")))})));
  return out;
}

}  // namespace

std::string keras_training_helper(const std::string& name) { return name == "TorchRMSprop" ? kTorchRMSprop : ""; }

std::optional<std::vector<StmtPtr>> keras_training_stmt(const pivot::Program& program, const syntax::Stmt& s,
                                                        DiagnosticSink& sink, std::set<std::string>& helpers) {
  const pivot::TrainingStep* st = nullptr;
  for (const auto& t : program.training)
    if (t.stmt == &s) st = &t;
  if (!st || program.framework != "torch") return std::nullopt;
  std::vector<StmtPtr> out;
  if (st->kind == "train_loop") {
    out = train_loop(*st, helpers);
  } else if (st->kind == "eval_loop") {
    out = eval_loop(*st);
  } else if (st->kind == "unrecognised") {
    // the frontend said why; the loop stays visible as a comment
    DiagnosticSink already_reported;
    out = commented_out(s, program.module.text, NotTranslatable{s.loc, s.kind == syntax::StmtKind::With ? "evaluation loop" : "training loop"}, already_reported);
    return out;
  } else {
    (void)sink;
    return out;  // optimizer, loss, loader, mode: their work is in compile() / fit()
  }
  if (!out.empty()) {
    out[0]->leading_comments.insert(out[0]->leading_comments.begin(), s.leading_comments.begin(),
                                    s.leading_comments.end());
    out[0]->blank_line_before = s.blank_line_before;
    out[0]->empty_lines_before = s.empty_lines_before;
  }
  return out;
}

}  // namespace nnport::backends
