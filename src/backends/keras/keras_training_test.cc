// The Keras side of PyTorch training code: compile()/fit() at the loop's place, each
// default that differs between the frameworks written out with its reason.
#include "backends/keras/keras_training.h"

#include <gtest/gtest.h>

#include <string>

#include "catalog/training.h"
#include "driver/driver.h"

namespace nnport {
namespace {

#define EXPECT_CONTAINS(haystack, needle) \
  EXPECT_NE((haystack).find(needle), std::string::npos) << "missing: " << (needle) << "\nin:\n" << (haystack)
#define EXPECT_LACKS(haystack, needle) \
  EXPECT_EQ((haystack).find(needle), std::string::npos) << "unexpected: " << (needle) << "\nin:\n" << (haystack)

Result run(const std::string& source) {
  Options o;
  o.to = "keras";
  o.input_shapes.push_back(parse_input_spec("4"));
  Result r = convert(source, "train.py", o);
  EXPECT_TRUE(r.ok) << r.rendered_diagnostics;
  return r;
}

// A model and a training function in the common idiom.
std::string training(const std::string& optimizer, const std::string& criterion = "nn.CrossEntropyLoss()",
                     const std::string& loader = "DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True)") {
  return "import torch\n"
         "import torch.nn as nn\n"
         "from torch.utils.data import DataLoader, TensorDataset\n"
         "\n"
         "\n"
         "class Net(nn.Module):\n"
         "    def __init__(self):\n"
         "        super().__init__()\n"
         "        self.fc = nn.Linear(4, 3)\n"
         "\n"
         "    def forward(self, x):\n"
         "        return self.fc(x)\n"
         "\n"
         "\n"
         "def train(model, x, y, num_epochs=3):\n"
         "    loader = " + loader + "\n"
         "    optimizer = " + optimizer + "\n"
         "    criterion = " + criterion + "\n"
         "    model.train()\n"
         "    for epoch in range(num_epochs):\n"
         "        for xb, yb in loader:\n"
         "            optimizer.zero_grad()\n"
         "            loss = criterion(model(xb), yb)\n"
         "            loss.backward()\n"
         "            optimizer.step()\n"
         "    return model\n"
         "\n"
         "\n"
         "model = Net()\n";
}

std::string keras(const std::string& optimizer, const std::string& criterion = "nn.CrossEntropyLoss()") {
  return run(training(optimizer, criterion)).output;
}

TEST(KerasTraining, TheLoopBecomesCompileAndFit) {
  Result r = run(training("torch.optim.Adam(model.parameters(), lr=1e-3)"));
  EXPECT_CONTAINS(r.output,
                  "def train(model, x, y, num_epochs=3):\n"
                  "    # keras.optimizers.Adam: Keras adds epsilon to sqrt(v) before bias correction,\n"
                  "    # PyTorch after it; the two agree once 1 - beta_2**t is near 1 (a few thousand\n");
  EXPECT_CONTAINS(r.output,
                  "    model.compile(\n"
                  "        optimizer=keras.optimizers.Adam(\n"
                  "            learning_rate=1e-3,\n"
                  "            epsilon=1e-08,  # Keras's default epsilon is 1e-7, PyTorch's 1e-8\n"
                  "        ),\n");
  EXPECT_CONTAINS(r.output, "    model.fit(x, y, epochs=num_epochs, batch_size=16, shuffle=True)\n    return model\n");
  // what compile/fit replaced is gone
  for (const char* gone : {"DataLoader", "TensorDataset", "torch.optim", "criterion", "model.train()", "backward",
                           "zero_grad", "not migrated"})
    EXPECT_LACKS(r.output, gone);
  EXPECT_TRUE(r.diagnostics.empty()) << r.rendered_diagnostics;
}

// One test per optimizer: each default that differs and that the source left implicit.
TEST(KerasTraining, AdamEpsilon) {
  EXPECT_CONTAINS(keras("torch.optim.Adam(model.parameters())"),
                  "epsilon=1e-08  # Keras's default epsilon is 1e-7, PyTorch's 1e-8");
}

TEST(KerasTraining, AdamWEpsilonAndWeightDecay) {
  std::string out = keras("torch.optim.AdamW(model.parameters(), lr=0.01)");
  EXPECT_CONTAINS(out, "keras.optimizers.AdamW(");
  EXPECT_CONTAINS(out, "epsilon=1e-08,");
  EXPECT_CONTAINS(out, "weight_decay=0.01,  # Keras's AdamW decays by 0.004 by default, PyTorch's by 0.01");
  EXPECT_CONTAINS(keras("torch.optim.AdamW(model.parameters(), weight_decay=0.1)"), "weight_decay=0.1");
}

TEST(KerasTraining, AdamaxLearningRate) {
  std::string out = keras("torch.optim.Adamax(model.parameters())");
  EXPECT_CONTAINS(out, "keras.optimizers.Adamax(");
  EXPECT_CONTAINS(out, "learning_rate=0.002,  # the frameworks' default learning rates differ");
}

TEST(KerasTraining, SgdLearningRateMomentumNesterov) {
  std::string out = keras("torch.optim.SGD(model.parameters(), momentum=0.9, nesterov=True)");
  EXPECT_CONTAINS(out, "keras.optimizers.SGD(");
  EXPECT_CONTAINS(out, "learning_rate=0.001,  # the frameworks' default learning rates differ");
  EXPECT_CONTAINS(out, "momentum=0.9");
  EXPECT_CONTAINS(out, "nesterov=True");
  // plain SGD: coupled L2 and Keras's decoupled decay make the same step
  EXPECT_CONTAINS(keras("torch.optim.SGD(model.parameters(), lr=0.1, weight_decay=1e-4)"), "weight_decay=1e-4");
}

TEST(KerasTraining, RmspropRhoEpsilonLearningRate) {
  std::string out = keras("torch.optim.RMSprop(model.parameters())");
  // PyTorch's update (epsilon outside the square root) in a helper with Keras's arguments
  EXPECT_CONTAINS(out, "optimizer=TorchRMSprop(");
  EXPECT_CONTAINS(out, "class TorchRMSprop(keras.optimizers.Optimizer):");
  EXPECT_CONTAINS(out, "step = gradient / (keras.ops.sqrt(average) + self.epsilon)");
  EXPECT_CONTAINS(out, "learning_rate=0.01,  # the frameworks' default learning rates differ");
  EXPECT_CONTAINS(out, "rho=0.99,  # the squared-gradient average: Keras's rho defaults to 0.9, PyTorch's alpha to 0.99");
  EXPECT_CONTAINS(out, "epsilon=1e-08,");
  EXPECT_CONTAINS(keras("torch.optim.RMSprop(model.parameters(), alpha=0.9)"), "rho=0.9");
}

TEST(KerasTraining, AdagradAccumulatorEpsilonLearningRate) {
  std::string out = keras("torch.optim.Adagrad(model.parameters(), lr=0.1)");
  EXPECT_CONTAINS(out, "keras.optimizers.Adagrad(");
  EXPECT_CONTAINS(out, "learning_rate=0.1");
  EXPECT_CONTAINS(out, "initial_accumulator_value=0.0,  # Keras starts the accumulator at 0.1, PyTorch at 0");
  EXPECT_CONTAINS(out, "epsilon=1e-10,  # Keras's default epsilon is 1e-7, PyTorch's 1e-10");
}

TEST(KerasTraining, EveryOptimizerInTheCatalogStatesItsDifferingDefaults) {
  for (const auto& od : catalog::optimizers()) {
    std::string cls = od.torch_class;
    std::string out = keras(cls + "(model.parameters())");
    EXPECT_CONTAINS(out, (od.keras_torch_update.empty() ? od.keras_class : od.keras_torch_update) + "(");
    for (const auto& p : od.params)
      if (p.torch_default != p.keras_default && !p.why.empty()) {
        EXPECT_CONTAINS(out, p.keras + "=");
        EXPECT_CONTAINS(out, "  # " + p.why);
      }
  }
}

// One test per loss.
TEST(KerasTraining, CrossEntropyLossOnClassIndices) {
  EXPECT_CONTAINS(keras("torch.optim.Adam(model.parameters())", "nn.CrossEntropyLoss()"),
                  "        # CrossEntropyLoss takes logits and class-index labels\n"
                  "        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),\n");
}

TEST(KerasTraining, NllLossIsCrossEntropyOnLogSoftmaxOutputs) {
  std::string out = keras("torch.optim.Adam(model.parameters())", "nn.NLLLoss()");
  EXPECT_CONTAINS(out,
                  "        # NLLLoss on log_softmax outputs: log_softmax of log-probabilities is the identity, so "
                  "cross-entropy on them as logits is exact\n"
                  "        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),\n");
}

TEST(KerasTraining, BinaryLosses) {
  EXPECT_CONTAINS(keras("torch.optim.Adam(model.parameters())", "nn.BCEWithLogitsLoss()"),
                  "        # BCEWithLogitsLoss takes logits\n"
                  "        loss=keras.losses.BinaryCrossentropy(from_logits=True),\n");
  std::string out = keras("torch.optim.Adam(model.parameters())", "nn.BCELoss()");
  EXPECT_CONTAINS(out,
                  "        # BCELoss takes probabilities (a sigmoid output)\n"
                  "        loss=keras.losses.BinaryCrossentropy(),\n");
}

TEST(KerasTraining, RegressionLosses) {
  EXPECT_CONTAINS(keras("torch.optim.Adam(model.parameters())", "nn.MSELoss()"),
                  "loss=keras.losses.MeanSquaredError(),\n");
  EXPECT_CONTAINS(keras("torch.optim.Adam(model.parameters())", "nn.L1Loss()"),
                  "loss=keras.losses.MeanAbsoluteError(),\n");
  EXPECT_CONTAINS(keras("torch.optim.Adam(model.parameters())", "nn.HuberLoss(delta=0.5)"),
                  "loss=keras.losses.Huber(delta=0.5),\n");
}

TEST(KerasTraining, LoaderDefaultsAreWrittenOut) {
  // DataLoader: batch_size 1, no shuffling; fit(): 32 and shuffling
  Result r = run(training("torch.optim.Adam(model.parameters())", "nn.MSELoss()", "DataLoader(TensorDataset(x, y))"));
  EXPECT_CONTAINS(r.output, "model.fit(x, y, epochs=num_epochs, batch_size=1, shuffle=False)");
}

TEST(KerasTraining, ARefusedLoopStaysAsACommentWithOneWarning) {
  Result r = run(training("torch.optim.Adam(model.parameters(), weight_decay=1e-4)"));
  EXPECT_CONTAINS(r.output,
                  "    # nnport: not migrated (training loop):\n"
                  "    # for epoch in range(num_epochs):\n"
                  "    #     for xb, yb in loader:\n");
  int loop_warnings = 0;
  for (auto& d : r.diagnostics)
    if (d.message.find("training loop") != std::string::npos) ++loop_warnings;
  EXPECT_EQ(loop_warnings, 1) << r.rendered_diagnostics;
  EXPECT_LACKS(r.output, "model.fit(");
}

TEST(KerasTraining, AnEvaluationLoopBecomesEvaluate) {
  std::string src =
      "import torch\n"
      "import torch.nn as nn\n"
      "from torch.utils.data import DataLoader, TensorDataset\n"
      "\n"
      "\n"
      "class Net(nn.Module):\n"
      "    def __init__(self):\n"
      "        super().__init__()\n"
      "        self.fc = nn.Linear(4, 3)\n"
      "\n"
      "    def forward(self, x):\n"
      "        return self.fc(x)\n"
      "\n"
      "\n"
      "def test(model, x, y):\n"
      "    loader = DataLoader(TensorDataset(x, y), batch_size=256)\n"
      "    criterion = nn.CrossEntropyLoss()\n"
      "    model.eval()\n"
      "    with torch.no_grad():\n"
      "        for xb, yb in loader:\n"
      "            loss = criterion(model(xb), yb)\n"
      "\n"
      "\n"
      "model = Net()\n";
  Result r = run(src);
  EXPECT_CONTAINS(r.output,
                  "def test(model, x, y):\n"
                  "    # evaluate() needs a compiled model: the loss of the evaluation loop\n"
                  "    model.compile(\n"
                  "        # CrossEntropyLoss takes logits and class-index labels\n"
                  "        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True)\n"
                  "    )\n"
                  "    model.evaluate(x, y, batch_size=256)\n");
  EXPECT_LACKS(r.output, "no_grad");
  EXPECT_TRUE(r.diagnostics.empty()) << r.rendered_diagnostics;
}

TEST(KerasTraining, ASchedulerBecomesALearningRateSchedulerCallback) {
  std::string src = training("torch.optim.SGD(model.parameters(), lr=0.1)");
  src.replace(src.find("    model.train()\n"), 0,
              "    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=10, gamma=0.5)\n");
  src.replace(src.find("    return model\n"), 0, "        scheduler.step()\n");
  Result r = run(src);
  EXPECT_CONTAINS(r.output,
                  "        # PyTorch's StepLR, stepped once per epoch\n"
                  "        callbacks=[\n"
                  "            keras.callbacks.LearningRateScheduler(\n"
                  "                lambda epoch: 0.1 * 0.5 ** (epoch // 10)\n"
                  "            )\n"
                  "        ],\n");
  EXPECT_LACKS(r.output, "StepLR(");
  EXPECT_TRUE(r.diagnostics.empty()) << r.rendered_diagnostics;
  // stepped before the epoch's batches: each epoch trains with the next epoch's rate
  std::string before = training("torch.optim.SGD(model.parameters(), lr=0.1)");
  before.replace(before.find("    model.train()\n"), 0,
                 "    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.9)\n");
  before.replace(before.find("        for xb, yb in loader:\n"), 0, "        scheduler.step()\n");
  EXPECT_CONTAINS(run(before).output, "lambda epoch: 0.1 * 0.9 ** (epoch + 1)");
}

TEST(KerasTraining, CosineAnnealingBecomesItsClosedFormWithMath) {
  std::string src = training("torch.optim.SGD(model.parameters(), lr=0.1)");
  src.replace(src.find("    model.train()\n"), 0,
              "    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=20, eta_min=0.001)\n");
  src.replace(src.find("    return model\n"), 0, "        scheduler.step()\n");
  Result r = run(src);
  EXPECT_TRUE(r.diagnostics.empty()) << r.rendered_diagnostics;
  EXPECT_CONTAINS(r.output, "0.001 + (0.1 - 0.001) * (1 + math.cos(math.pi * epoch / 20)) / 2");
  EXPECT_CONTAINS(r.output, "import math\n\nimport keras\n");  // isort's order: the standard library first
  // without a schedule that needs it, no import of math
  EXPECT_LACKS(run(training("torch.optim.SGD(model.parameters(), lr=0.1)")).output, "import math");
}

TEST(KerasTraining, AValidationLoopAfterEachEpochBecomesValidationData) {
  std::string src = training("torch.optim.Adam(model.parameters())");
  src.replace(src.find("def train(model, x, y, num_epochs=3):\n"), std::string("def train(model, x, y, num_epochs=3):\n").size(),
              "def train(model, x, y, x_val, y_val, num_epochs=3):\n"
              "    val_loader = DataLoader(TensorDataset(x_val, y_val), batch_size=64)\n");
  src.replace(src.find("    return model\n"), 0,
              "        model.eval()\n"
              "        with torch.no_grad():\n"
              "            for xb, yb in val_loader:\n"
              "                val_loss = criterion(model(xb), yb)\n"
              "                print(val_loss.item())\n");
  Result r = run(src);
  EXPECT_CONTAINS(r.output,
                  "        validation_data=(x_val, y_val),\n"
                  "        validation_batch_size=64,\n");
  EXPECT_LACKS(r.output, "val_loader");
  ASSERT_EQ(r.diagnostics.size(), 1u) << r.rendered_diagnostics;
  EXPECT_EQ(r.diagnostics[0].message, "`print(val_loss.item())`: evaluation code nnport does not recognise; left out");
  EXPECT_EQ(r.diagnostics[0].loc.line, 31);
}

}  // namespace
}  // namespace nnport
