// Keras training code -> PyTorch: one test per optimizer and loss mapping of the training
// catalog. Each default that differs between the frameworks must be written out; without
// its reconciliation the expectation on the generated text fails.
#include "backends/torch/torch_training.h"

#include <gtest/gtest.h>

#include <string>

#include "driver/driver.h"

namespace nnport {
namespace {

#define EXPECT_CONTAINS(haystack, needle) \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) << "missing: " << (needle) << "\n" << (haystack)
#define EXPECT_LACKS(haystack, needle) \
  EXPECT_EQ(std::string(haystack).find(needle), std::string::npos) << "unexpected: " << (needle) << "\n" << (haystack)

const char* kModel =
    "import keras\n"
    "from keras import layers\n\n"
    "model = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(3)])\n"
    "x = y = x_train = y_train = x_test = y_test = lr = num_epochs = stop = None\n";

// The code with every bracketed construct on one line (the printer wraps long calls as ruff
// does), so a test can name a whole statement.
std::string flat(const std::string& code) {
  std::string out;
  int depth = 0;
  for (size_t i = 0; i < code.size(); ++i) {
    char c = code[i];
    if (c == '(' || c == '[' || c == '{') ++depth;
    if (c == ')' || c == ']' || c == '}') --depth;
    if (c == '\n' && depth > 0) {
      while (i + 1 < code.size() && code[i + 1] == ' ') ++i;
      char next = i + 1 < code.size() ? code[i + 1] : ' ';
      if (next == ')' || next == ']' || next == '}') {
        if (!out.empty() && out.back() == ',') out.pop_back();
      } else if (!out.empty() && out.back() != '(' && out.back() != '[' && out.back() != '{') {
        out += ' ';
      }
      continue;
    }
    out += c;
  }
  return out;
}

Result migrate(const std::string& training) {
  Options o;
  o.to = "torch";
  return convert(std::string(kModel) + training, "model.py", o);
}

std::string torch(const std::string& training) {
  Result r = migrate(training);
  EXPECT_TRUE(r.ok) << r.rendered_diagnostics;
  return flat(r.output);
}

// The optimizer statement alone.
std::string optimizer_line(const std::string& optimizer) {
  std::string out = torch("model.compile(optimizer=" + optimizer + ", loss='mse')\n");
  size_t at = out.find("optimizer = ");
  return at == std::string::npos ? out : out.substr(at, out.find('\n', at) - at);
}

TEST(TorchTraining, AdamWritesKerasEpsilon) {
  EXPECT_EQ(optimizer_line("'adam'"), "optimizer = torch.optim.Adam(model.parameters(), eps=1e-07)");
  std::string out = torch("model.compile(optimizer='adam', loss='mse')\n");
  EXPECT_CONTAINS(out, "# eps=1e-07: Keras's default epsilon is 1e-7, PyTorch's 1e-8");
}

TEST(TorchTraining, StatedArgumentsKeepTheirExpressions) {
  EXPECT_EQ(optimizer_line("keras.optimizers.Adam(learning_rate=lr, beta_1=0.8, epsilon=1e-8)"),
            "optimizer = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.8, 0.999), eps=1e-8)");
  // positional learning rate, tf.keras spelling
  std::string out = torch("import tensorflow as tf\nmodel.compile(tf.keras.optimizers.Adam(0.01), 'mse')\n");
  EXPECT_CONTAINS(out, "torch.optim.Adam(model.parameters(), lr=0.01, eps=1e-07)");
}

TEST(TorchTraining, AdamWWritesKerasWeightDecay) {
  EXPECT_EQ(optimizer_line("keras.optimizers.AdamW()"),
            "optimizer = torch.optim.AdamW(model.parameters(), weight_decay=0.004, eps=1e-07)");
}

TEST(TorchTraining, AdamWeightDecayIsDecoupled) {
  EXPECT_EQ(optimizer_line("keras.optimizers.Adam(weight_decay=0.01)"),
            "optimizer = torch.optim.Adam(model.parameters(), eps=1e-07, weight_decay=0.01, "
            "decoupled_weight_decay=True)");
}

TEST(TorchTraining, RMSpropWritesRhoEpsilonAndLearningRateAndKerasUpdate) {
  EXPECT_EQ(optimizer_line("'rmsprop'"),
            "optimizer = KerasRMSprop(model.parameters(), lr=0.001, alpha=0.9, eps=1e-07)");
  std::string out = torch("model.compile(optimizer='rmsprop', loss='mse')\n");
  EXPECT_CONTAINS(out, "# alpha=0.9: the squared-gradient average");
  // epsilon inside the square root, as Keras adds it
  EXPECT_CONTAINS(out, "class KerasRMSprop(torch.optim.Optimizer):");
  EXPECT_CONTAINS(out, "denominator = square_avg + group[\"eps\"]");
  EXPECT_CONTAINS(out, "increment = group[\"lr\"] * grad / denominator.sqrt()");
}

TEST(TorchTraining, CompileWithoutOptimizerIsKerasRMSprop) {
  EXPECT_CONTAINS(torch("model.compile(loss='mse')\n"), "optimizer = KerasRMSprop(");
}

TEST(TorchTraining, SGDWritesKerasLearningRateAndKeepsMomentum) {
  EXPECT_EQ(optimizer_line("'sgd'"), "optimizer = torch.optim.SGD(model.parameters(), lr=0.01)");
  EXPECT_EQ(optimizer_line("keras.optimizers.SGD(0.1, momentum=0.9, nesterov=True)"),
            "optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)");
}

TEST(TorchTraining, AdagradWritesAccumulatorAndEpsilon) {
  EXPECT_EQ(optimizer_line("'adagrad'"),
            "optimizer = torch.optim.Adagrad(model.parameters(), lr=0.001, initial_accumulator_value=0.1, "
            "eps=1e-07)");
}

TEST(TorchTraining, CoupledWeightDecayIsRefusedNotHalfTranslated) {
  for (const char* opt : {"keras.optimizers.RMSprop(weight_decay=0.01)",
                          "keras.optimizers.SGD(momentum=0.9, weight_decay=0.01)"}) {
    Result r = migrate(std::string("model.compile(optimizer=") + opt + ", loss='mse')\nmodel.fit(x, y)\n");
    ASSERT_TRUE(r.ok) << r.rendered_diagnostics;
    EXPECT_LACKS(r.output, "optimizer");
    EXPECT_LACKS(r.output, "train(");
    ASSERT_EQ(r.diagnostics.size(), 2u) << r.rendered_diagnostics;  // compile, then the fit that needs it
    EXPECT_CONTAINS(r.diagnostics[0].message, "weight_decay");
    EXPECT_EQ(r.diagnostics[0].loc.line, 6);
  }
  // plain SGD: L2 in the gradient is the same step as Keras's decoupled decay
  EXPECT_CONTAINS(optimizer_line("keras.optimizers.SGD(weight_decay=0.01)"), "weight_decay=0.01");
}

// The loss statement alone.
std::string loss_line(const std::string& loss, const std::string& metrics = "") {
  std::string out = torch("model.compile(optimizer='sgd', loss=" + loss + metrics + ")\n");
  size_t at = out.find("loss_fn = ");
  return at == std::string::npos ? out : out.substr(at, out.find('\n', at) - at);
}

TEST(TorchTraining, SparseCrossEntropyOnLogitsIsCrossEntropyLoss) {
  EXPECT_CONTAINS(torch("model.compile('sgd', keras.losses.SparseCategoricalCrossentropy(from_logits=True))\n"),
                  "# logits and class-index labels, as Keras's from_logits=True\nloss_fn = nn.CrossEntropyLoss()");
}

TEST(TorchTraining, SparseCrossEntropyOnProbabilitiesIsTheLogLikelihoodOfClippedProbabilities) {
  std::string out = torch("model.compile(optimizer='sgd', loss='sparse_categorical_crossentropy')\n");
  EXPECT_CONTAINS(out, "# the model outputs probabilities (Keras's from_logits=False)\nloss_fn = sparse_categorical_crossentropy");
  EXPECT_CONTAINS(out, "F.nll_loss(torch.log(probabilities.clamp(1e-7, 1 - 1e-7)), labels)");
  EXPECT_CONTAINS(out, "import torch.nn.functional as F");
}

TEST(TorchTraining, OneHotCrossEntropy) {
  EXPECT_CONTAINS(torch("model.compile('sgd', keras.losses.CategoricalCrossentropy(from_logits=True))\n"),
                  "# logits and one-hot (probability) labels, as Keras's from_logits=True\nloss_fn = nn.CrossEntropyLoss()");
  std::string out = torch("model.compile(optimizer='sgd', loss='categorical_crossentropy')\n");
  EXPECT_CONTAINS(out, "-(labels * torch.log(probabilities.clamp(1e-7, 1 - 1e-7))).sum(dim=-1).mean()");
}

TEST(TorchTraining, BinaryCrossEntropyOnLogitsOrProbabilities) {
  EXPECT_CONTAINS(loss_line("keras.losses.BinaryCrossentropy(from_logits=True)"), "nn.BCEWithLogitsLoss()");
  std::string out = torch("model.compile(optimizer='sgd', loss='binary_crossentropy')\n");
  EXPECT_CONTAINS(out, "loss_fn = binary_crossentropy");
  EXPECT_CONTAINS(out, "F.binary_cross_entropy(probabilities.clamp(1e-7, 1 - 1e-7), labels)");
}

TEST(TorchTraining, RegressionLosses) {
  EXPECT_EQ(loss_line("'mse'"), "loss_fn = nn.MSELoss()");
  EXPECT_EQ(loss_line("keras.losses.MeanAbsoluteError()"), "loss_fn = nn.L1Loss()");
  EXPECT_EQ(loss_line("keras.losses.Huber(delta=2.0)"), "loss_fn = nn.HuberLoss(delta=2.0)");
}

TEST(TorchTraining, AccuracyFollowsTheLossLabels) {
  EXPECT_CONTAINS(torch("model.compile('sgd', keras.losses.SparseCategoricalCrossentropy(from_logits=True), "
                        "metrics=['accuracy'])\n"),
                  "metrics = {\"accuracy\": sparse_categorical_accuracy}");
  EXPECT_CONTAINS(torch("model.compile('sgd', 'categorical_crossentropy', metrics=['acc'])\n"),
                  "metrics = {\"accuracy\": categorical_accuracy}");
  EXPECT_CONTAINS(torch("model.compile('sgd', 'binary_crossentropy', metrics=['accuracy'])\n"),
                  "metrics = {\"accuracy\": binary_accuracy}");
}

TEST(TorchTraining, FitEvaluatePredictBecomeHelperCallsWithTheSourceExpressions) {
  std::string out = torch(
      "model.compile(optimizer='adam', loss='mse')\n"
      "history = model.fit(x_train, y_train, epochs=num_epochs, validation_split=0.2, shuffle=False, verbose=0)\n"
      "score = model.evaluate(x_test, y_test, batch_size=64)\n"
      "out = model.predict(x_test)\n");
  EXPECT_CONTAINS(out, "history = train(");
  EXPECT_CONTAINS(out, "epochs=num_epochs,");
  EXPECT_CONTAINS(out, "validation_split=0.2,");
  EXPECT_CONTAINS(out, "shuffle=False");
  EXPECT_CONTAINS(out, "score = evaluate(model, loss_fn, x_test, y_test, batch_size=64)");
  EXPECT_CONTAINS(out, "out = predict(model, x_test)");
  EXPECT_CONTAINS(out, "from torch.utils.data import DataLoader, TensorDataset");
  EXPECT_CONTAINS(out, "loader = DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=shuffle)");
}

TEST(TorchTraining, EvaluateInAnotherFunctionRestatesTheLoss) {
  std::string out = torch(
      "def fit(model, x, y):\n    model.compile(optimizer='adam', loss='mse')\n    model.fit(x, y)\n\n\n"
      "def score(model, x, y):\n    return model.evaluate(x, y)\n");
  EXPECT_CONTAINS(out, "def score(model, x, y):\n    loss_fn = nn.MSELoss()\n    return evaluate(model, loss_fn, x, y)");
}

TEST(TorchTraining, HelperNamesDoNotShadowTheFilesOwn) {
  std::string out = torch("def train(model, x, y):\n    model.compile(optimizer='adam', loss='mse')\n"
                          "    model.fit(x, y)\n");
  EXPECT_CONTAINS(out, "def keras_train(");
  EXPECT_CONTAINS(out, "    keras_train(model, optimizer, loss_fn, x, y)");
  EXPECT_CONTAINS(out, "def train(model, x, y):");
}

TEST(TorchTraining, UnrecognisedTrainingCodeIsLeftOutWithLocatedWarnings) {
  Result r = migrate(
      "model.compile(optimizer='adam', loss='mse')\n"
      "model.fit(x, y, callbacks=[stop])\n"
      "model.compile(optimizer='adam', loss=keras.losses.KLDivergence())\n"
      "model.fit(x, y, epochs=2)\n");
  ASSERT_TRUE(r.ok) << r.rendered_diagnostics;
  ASSERT_EQ(r.diagnostics.size(), 2u) << r.rendered_diagnostics;
  EXPECT_EQ(r.diagnostics[0].loc.line, 7);
  EXPECT_CONTAINS(r.diagnostics[0].message, "`callbacks=`");
  EXPECT_EQ(r.diagnostics[1].loc.line, 8);
  EXPECT_CONTAINS(r.diagnostics[1].message, "the loss `keras.losses.KLDivergence()`");
  EXPECT_LACKS(r.output, "callbacks");
  EXPECT_LACKS(r.output, "KLDivergence");
  // the last fit uses the first compile, the one nnport recognised
  EXPECT_CONTAINS(r.output, "train(model, optimizer, loss_fn, x, y, epochs=2)");
}

TEST(TorchTraining, LearningRateSchedulesStepAfterEveryBatch) {
  std::string out = torch(
      "schedule = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=100, decay_rate=0.5, staircase=True)\n"
      "model.compile(optimizer=keras.optimizers.SGD(learning_rate=schedule), loss='mse')\n"
      "model.fit(x, y)\n");
  EXPECT_LACKS(out, "keras");
  EXPECT_CONTAINS(out, "optimizer = torch.optim.SGD(model.parameters(), lr=0.1)");
  EXPECT_CONTAINS(out, "scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 0.5 ** (step // 100))");
  EXPECT_CONTAINS(out, "train(model, optimizer, loss_fn, x, y, scheduler=scheduler)");
  EXPECT_CONTAINS(out, "            if scheduler is not None:\n                scheduler.step()");
  out = torch("model.compile(optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(0.001, 1000)), "
              "loss='mse')\n");
  EXPECT_CONTAINS(out, "import math\n");
  EXPECT_CONTAINS(out, "lambda step: 0.5 * (1 + math.cos(math.pi * min(step, 1000) / 1000))");
  Result warmup = migrate(
      "model.compile(optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(0.1, 10, warmup_steps=5)), "
      "loss='mse')\n");
  ASSERT_EQ(warmup.diagnostics.size(), 1u) << warmup.rendered_diagnostics;
  EXPECT_CONTAINS(warmup.diagnostics[0].message, "`warmup_steps=` of keras.optimizers.schedules.CosineDecay");
  EXPECT_LACKS(warmup.output, "optimizer =");
}

TEST(TorchTraining, FitOnADatasetIsLeftOut) {
  Result r = migrate("model.compile(optimizer='adam', loss='mse')\nmodel.fit(x, epochs=3)\n");
  ASSERT_TRUE(r.ok) << r.rendered_diagnostics;
  ASSERT_EQ(r.diagnostics.size(), 1u) << r.rendered_diagnostics;
  EXPECT_CONTAINS(r.diagnostics[0].message, "no `y` (a tf.data.Dataset");
  EXPECT_EQ(r.diagnostics[0].loc.line, 7);
  EXPECT_LACKS(r.output, "train(model");
}

TEST(TorchTraining, PivotConfigHoldsTheTrainingSetup) {
  Options o;
  o.to = "torch";
  Result r = inspect(std::string(kModel) +
                         "model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9), "
                         "loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=['accuracy'])\n"
                         "model.fit(x, y, epochs=3, batch_size=16)\n",
                     "model.py", o, "json");
  ASSERT_TRUE(r.ok) << r.rendered_diagnostics;
  EXPECT_CONTAINS(r.output, "\"optimizer\": \"sgd\"");
  EXPECT_CONTAINS(r.output, "\"loss\": \"sparse_categorical_crossentropy\"");
  EXPECT_CONTAINS(r.output, "\"from_logits\": true");
  EXPECT_CONTAINS(r.output, "\"momentum\"");
  EXPECT_CONTAINS(r.output, "\"epochs\"");
  Result text = inspect(std::string(kModel) +
                            "model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9), loss='mse')\n"
                            "model.fit(x, y, epochs=3)\n",
                        "model.py", o, "text");
  EXPECT_CONTAINS(text.output,
                  "training:\n  optimizer sgd (learning_rate=0.1, momentum=0.9)\n"
                  "  loss mean_squared_error on logits\n  fit (epochs=3)\n");
}

}  // namespace
}  // namespace nnport
