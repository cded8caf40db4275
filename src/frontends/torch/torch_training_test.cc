// The PyTorch training recogniser: which steps, arguments and warnings each idiom gives.
#include "frontends/torch/torch_training.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "syntax/parse.h"
#include "syntax/print.h"

namespace nnport {
namespace {

struct Recognised {
  pivot::Program program;
  pivot::Model model;
  DiagnosticSink sink;
  std::vector<std::string> kinds() const {
    std::vector<std::string> k;
    for (auto& s : program.training) k.push_back(s.kind);
    return k;
  }
  const pivot::TrainingStep* step(const std::string& kind) const {
    for (auto& s : program.training)
      if (s.kind == kind) return &s;
    return nullptr;
  }
  std::string arg(const std::string& name) const {
    const pivot::TrainingStep* s = step("train_loop");
    if (!s || !s->arg(name)) return "<none>";
    return syntax::print_expr(*s->arg(name));
  }
  std::string warnings() const {
    std::string out;
    for (auto& d : sink.items)
      out += std::to_string(d.loc.line) + ":" + std::to_string(d.loc.column) + ": " + d.message + "\n";
    return out;
  }
};

std::unique_ptr<Recognised> recognise(const std::string& source) {
  auto r = std::make_unique<Recognised>();
  r->program.module = syntax::parse_module(source, "train.py");
  r->program.framework = "torch";
  frontends::recognise_torch_training(r->program, r->model, r->sink);
  return r;
}

// A training function in the common idiom; each piece can be replaced.
std::string training(const std::string& optimizer = "torch.optim.Adam(model.parameters(), lr=1e-3)",
                     const std::string& criterion = "nn.CrossEntropyLoss()",
                     const std::string& batch_body =
                         "            optimizer.zero_grad()\n"
                         "            loss = criterion(model(xb), yb)\n"
                         "            loss.backward()\n"
                         "            optimizer.step()\n",
                     const std::string& loader = "DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True)") {
  return "import torch\n"                                   // 1
         "import torch.nn as nn\n"                          // 2
         "from torch.utils.data import DataLoader, TensorDataset\n"  // 3
         "\n"                                               // 4
         "\n"                                               // 5
         "def train(model, x, y, num_epochs=3):\n"          // 6
         "    loader = " + loader + "\n"                    // 7
         "    optimizer = " + optimizer + "\n"              // 8
         "    criterion = " + criterion + "\n"              // 9
         "    model.train()\n"                              // 10
         "    for epoch in range(num_epochs):\n"            // 11
         "        for xb, yb in loader:\n"                  // 12
         + batch_body +                                     // 13...
         "    return model\n";
}

#define EXPECT_CONTAINS(haystack, needle) \
  EXPECT_NE((haystack).find(needle), std::string::npos) << "missing: " << (needle) << "\nin:\n" << (haystack)

TEST(TorchTrainingRecognise, TheCommonIdiomGivesItsSteps) {
  auto r = recognise(training());
  EXPECT_EQ(r->kinds(), (std::vector<std::string>{"loader", "optimizer", "loss", "mode", "train_loop"}));
  EXPECT_TRUE(r->sink.items.empty()) << r->warnings();
  EXPECT_EQ(r->arg("x"), "x");
  EXPECT_EQ(r->arg("y"), "y");
  EXPECT_EQ(r->arg("epochs"), "num_epochs");
  EXPECT_EQ(r->arg("batch_size"), "16");
  EXPECT_EQ(r->arg("shuffle"), "True");
  EXPECT_EQ(r->arg("optimizer.learning_rate"), "1e-3");
  EXPECT_EQ(syntax::print_expr(*r->step("train_loop")->model), "model");
  EXPECT_EQ(r->step("train_loop")->scope->name, "train");
  ASSERT_TRUE(r->model.config);
  EXPECT_EQ(r->model.config->optimizer, "adam");
  EXPECT_EQ(r->model.config->loss, "sparse_categorical_crossentropy");
  EXPECT_TRUE(r->model.config->from_logits);
  EXPECT_EQ(r->model.config->optimizer_args.at("learning_rate"), pivot::Attr(1e-3));
  EXPECT_EQ(r->model.config->fit.at("epochs"), pivot::Attr("num_epochs"));
}

TEST(TorchTrainingRecognise, SpellingsOfTheImportsAndOfTheBatchLoop) {
  std::string src =
      "import torch\n"
      "import torch.nn as nn\n"
      "import torch.optim as optim\n"
      "import torch.utils.data as data\n"
      "\n"
      "def fit(net, features, labels):\n"
      "    ds = data.TensorDataset(torch.tensor(features, dtype=torch.float32), torch.from_numpy(labels).long())\n"
      "    dl = data.DataLoader(ds, 64)\n"
      "    opt = optim.SGD(net.parameters(), 0.1, momentum=0.9)\n"
      "    loss_fn = nn.MSELoss()\n"
      "    for epoch in range(1, 11):\n"
      "        for i, (inputs, targets) in enumerate(dl):\n"
      "            inputs, targets = inputs.to(device), targets.to(device)\n"
      "            outputs = net(inputs)\n"
      "            loss = loss_fn(outputs, targets)\n"
      "            opt.zero_grad()\n"
      "            loss.backward()\n"
      "            opt.step()\n";
  auto r = recognise(src);
  EXPECT_TRUE(r->sink.items.empty()) << r->warnings();
  ASSERT_TRUE(r->step("train_loop"));
  EXPECT_EQ(r->arg("x"), "features");  // torch.tensor(...) / torch.from_numpy(...).long() unwrapped
  EXPECT_EQ(r->arg("y"), "labels");
  EXPECT_EQ(r->arg("epochs"), "10");
  EXPECT_EQ(r->arg("batch_size"), "64");
  EXPECT_EQ(r->arg("shuffle"), "False");  // DataLoader's default, stated
  EXPECT_EQ(r->arg("optimizer.learning_rate"), "0.1");
  EXPECT_EQ(r->arg("optimizer.momentum"), "0.9");
  EXPECT_EQ(r->model.config->loss, "mean_squared_error");
}

TEST(TorchTrainingRecognise, BetasBecomeBetaOneAndTwo) {
  auto r = recognise(training("torch.optim.AdamW(model.parameters(), betas=(0.8, 0.99), weight_decay=0.05)"));
  EXPECT_EQ(r->arg("optimizer.beta_1"), "0.8");
  EXPECT_EQ(r->arg("optimizer.beta_2"), "0.99");
  EXPECT_EQ(r->arg("optimizer.weight_decay"), "0.05");
  EXPECT_EQ(r->model.config->optimizer, "adamw");
}

TEST(TorchTrainingRecognise, LossesMapThroughTheCatalog) {
  struct Case {
    const char* torch;
    const char* loss;
    bool from_logits;
  } cases[] = {{"nn.CrossEntropyLoss()", "sparse_categorical_crossentropy", true},
               {"nn.NLLLoss()", "sparse_categorical_crossentropy", true},
               {"nn.BCEWithLogitsLoss()", "binary_crossentropy", true},
               {"nn.BCELoss()", "binary_crossentropy", false},
               {"nn.MSELoss()", "mean_squared_error", false},
               {"nn.L1Loss()", "mean_absolute_error", false},
               {"nn.HuberLoss(delta=2.0)", "huber", false}};
  for (auto& c : cases) {
    auto r = recognise(training("torch.optim.Adam(model.parameters())", c.torch));
    ASSERT_TRUE(r->model.config) << c.torch << "\n" << r->warnings();
    EXPECT_EQ(r->model.config->loss, c.loss) << c.torch;
    EXPECT_EQ(r->model.config->from_logits, c.from_logits) << c.torch;
  }
  EXPECT_EQ(recognise(training("torch.optim.Adam(model.parameters())", "nn.HuberLoss(delta=2.0)"))->arg("loss.delta"),
            "2.0");
}

TEST(TorchTrainingRecognise, UnrecognisedStatementsInTheLoopAreLeftOutWithAWarningEach) {
  auto r = recognise(training("torch.optim.Adam(model.parameters(), lr=1e-3)", "nn.CrossEntropyLoss()",
                              "            optimizer.zero_grad()\n"                          // 13
                              "            loss = criterion(model(xb), yb)\n"                // 14
                              "            loss.backward()\n"                                // 15
                              "            nn.utils.clip_grad_norm_(model.parameters(), 1.0)\n"  // 16
                              "            optimizer.step()\n"                               // 17
                              "            running_loss += loss.item()\n"));                 // 18
  ASSERT_TRUE(r->step("train_loop")) << r->warnings();
  EXPECT_EQ(r->warnings(),
            "16:13: `nn.utils.clip_grad_norm_(model.parameters(), 1.0)`: training code nnport does not "
            "recognise; left out\n"
            "18:13: `running_loss += loss.item()`: training code nnport does not recognise; left out\n");
}

TEST(TorchTrainingRecognise, StatementsOfTheEpochLoopAreLeftOutWithAWarning) {
  std::string src = training();
  src.replace(src.find("    return model\n"), 0, "        print(f\"epoch {epoch}\")\n");
  auto r = recognise(src);
  ASSERT_TRUE(r->step("train_loop"));
  EXPECT_EQ(r->warnings(), "17:9: `print(f\"epoch {epoch}\")`: training code nnport does not recognise; left out\n");
}

TEST(TorchTrainingRecognise, CoupledWeightDecayLeavesTheLoopOut) {
  for (const char* opt : {"torch.optim.Adam(model.parameters(), weight_decay=1e-4)",
                          "torch.optim.RMSprop(model.parameters(), weight_decay=1e-4)",
                          "torch.optim.Adagrad(model.parameters(), weight_decay=1e-4)",
                          "torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)"}) {
    auto r = recognise(training(opt));
    EXPECT_FALSE(r->step("train_loop")) << opt;
    ASSERT_TRUE(r->step("unrecognised")) << opt;
    EXPECT_EQ(r->step("unrecognised")->stmt->loc.line, 11);
    ASSERT_EQ(r->sink.items.size(), 1u) << r->warnings();
    EXPECT_CONTAINS(r->sink.items[0].message, "training loop left out: ");
    EXPECT_CONTAINS(r->sink.items[0].message, "no exact counterpart");
    EXPECT_EQ(r->sink.items[0].loc.line, 8);
    EXPECT_FALSE(r->model.config);
  }
  // plain SGD: L2 in the gradient is the same step as decoupled decay
  auto r = recognise(training("torch.optim.SGD(model.parameters(), lr=0.1, weight_decay=1e-4)"));
  EXPECT_TRUE(r->step("train_loop")) << r->warnings();
  EXPECT_EQ(r->arg("optimizer.weight_decay"), "1e-4");
}

TEST(TorchTrainingRecognise, WholeLoopRefusals) {
  struct Case {
    std::string source;
    const char* says;
  } cases[] = {
      {training("torch.optim.LBFGS(model.parameters())"), "`torch.optim.LBFGS` is not in nnport's training catalog"},
      {training("torch.optim.Adam(model.parameters())", "nn.KLDivLoss()"), "`nn.KLDivLoss` is not in nnport's"},
      {training("torch.optim.Adam(model.parameters())", "nn.CrossEntropyLoss(label_smoothing=0.1)"),
       "`label_smoothing=0.1`"},
      {training("torch.optim.Adam(model.parameters(), foreach=True)"), "`foreach` has no Keras counterpart"},
      {training("torch.optim.Adam(model.parameters())", "nn.CrossEntropyLoss()",
                "            loss = criterion(model(xb), yb)\n"
                "            loss.backward()\n"
                "            optimizer.step()\n"),
       "no zero_grad()"},
      {training("torch.optim.Adam(model.parameters())", "nn.CrossEntropyLoss()",
                "            optimizer.zero_grad()\n"
                "            loss = criterion(model(xb), yb)\n"
                "            loss.backward()\n"
                "            optimizer.step()\n",
                "DataLoader(TensorDataset(x, y), batch_size=16, drop_last=True)"),
       "drop_last"},
      {training("torch.optim.Adam(model.parameters())", "nn.CrossEntropyLoss()",
                "            optimizer.zero_grad()\n"
                "            loss = criterion(model(xb), yb)\n"
                "            loss.backward()\n"
                "            optimizer.step()\n",
                "DataLoader(ImageFolder('data'), batch_size=16)"),
       "the dataset `ImageFolder(\"data\")` is not one nnport recognises"},
  };
  for (auto& c : cases) {
    auto r = recognise(c.source);
    EXPECT_FALSE(r->step("train_loop")) << c.says;
    EXPECT_TRUE(r->step("unrecognised")) << c.says;
    ASSERT_EQ(r->sink.items.size(), 1u) << r->warnings();
    EXPECT_CONTAINS(r->sink.items[0].message, c.says);
  }
}

TEST(TorchTrainingRecognise, ALoaderPassedInIsRefusedByName) {
  std::string src =
      "import torch\n"
      "import torch.nn as nn\n"
      "\n"
      "def train_epoch(model, loader, optimizer, criterion):\n"
      "    for xb, yb in loader:\n"
      "        optimizer.zero_grad()\n"
      "        loss = criterion(model(xb), yb)\n"
      "        loss.backward()\n"
      "        optimizer.step()\n";
  auto r = recognise(src);
  ASSERT_EQ(r->sink.items.size(), 1u);
  EXPECT_EQ(r->sink.items[0].message,
            "training loop left out: the loader `loader` is a parameter of `train_epoch`: nnport cannot see what it "
            "holds");
  EXPECT_EQ(r->sink.items[0].loc.line, 5);
}

TEST(TorchTrainingRecognise, ModeCallsOutsideATrainingLoopAreLeftOutWithAWarning) {
  std::string src =
      "import torch.nn as nn\n"
      "\n"
      "model = nn.Linear(3, 2)\n"
      "model.eval()\n";
  auto r = recognise(src);
  EXPECT_EQ(r->kinds(), std::vector<std::string>{"mode"});
  EXPECT_EQ(r->warnings(), "4:1: `model.eval()`: Keras models have no train/eval mode; left out\n");
}

TEST(TorchTrainingRecognise, ANoGradLoopWithALossIsAnEvaluation) {
  std::string src =
      "import torch\n"
      "import torch.nn as nn\n"
      "from torch.utils.data import DataLoader, TensorDataset\n"
      "\n"
      "def test(model, x, y):\n"
      "    loader = DataLoader(TensorDataset(x, y), batch_size=256)\n"
      "    criterion = nn.NLLLoss()\n"
      "    model.eval()\n"
      "    with torch.no_grad():\n"
      "        for xb, yb in loader:\n"
      "            out = model(xb)\n"
      "            loss = criterion(out, yb)\n"
      "            print(loss.item())\n";
  auto r = recognise(src);
  EXPECT_EQ(r->kinds(), (std::vector<std::string>{"loader", "loss", "mode", "eval_loop"}));
  const pivot::TrainingStep* e = r->step("eval_loop");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->stmt->loc.line, 9);
  EXPECT_EQ(syntax::print_expr(*e->arg("batch_size")), "256");
  EXPECT_TRUE(e->arg("restate_compile"));  // no training loop in `test`
  EXPECT_EQ(e->config.loss, "sparse_categorical_crossentropy");
  EXPECT_EQ(r->warnings(), "13:13: `print(loss.item())`: evaluation code nnport does not recognise; left out\n");
}

TEST(TorchTrainingRecognise, AValueTheLoopComputesAndCodeAfterItReadsLeavesTheLoopOut) {
  std::string src = training("torch.optim.Adam(model.parameters())", "nn.CrossEntropyLoss()",
                             "            optimizer.zero_grad()\n"
                             "            loss = criterion(model(xb), yb)\n"
                             "            loss.backward()\n"
                             "            optimizer.step()\n"
                             "        losses.append(loss.item())\n");
  src.replace(src.find("    return model\n"), std::string("    return model\n").size(), "    return losses\n");
  auto r = recognise(src);
  EXPECT_FALSE(r->step("train_loop"));
  ASSERT_EQ(r->sink.items.size(), 1u) << r->warnings();
  EXPECT_EQ(r->sink.items[0].message,
            "training loop left out: `losses` is computed in the loop and used after it (`return losses`); "
            "model.fit() cannot reproduce it");
  EXPECT_EQ(r->sink.items[0].loc.line, 18);
}

TEST(TorchTrainingRecognise, AModuleLevelScriptAndABatchLoopWithoutEpochs) {
  std::string src =
      "import torch\n"
      "from torch import nn, optim\n"
      "from torch.utils.data import DataLoader, TensorDataset\n"
      "\n"
      "net = nn.Linear(4, 1)\n"
      "opt = optim.RMSprop(net.parameters(), lr=0.01, alpha=0.9)\n"
      "crit = nn.BCEWithLogitsLoss()\n"
      "for xb, yb in DataLoader(TensorDataset(features, labels), batch_size=8, shuffle=True, num_workers=2):\n"
      "    opt.zero_grad()\n"
      "    out = net(xb)\n"
      "    loss = crit(out, yb)\n"
      "    loss.backward()\n"
      "    opt.step()\n";
  auto r = recognise(src);
  EXPECT_TRUE(r->sink.items.empty()) << r->warnings();
  const pivot::TrainingStep* t = r->step("train_loop");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->scope, nullptr);
  EXPECT_EQ(r->arg("epochs"), "1");
  EXPECT_EQ(r->arg("x"), "features");
  EXPECT_EQ(r->arg("optimizer.rho"), "0.9");
  EXPECT_EQ(r->model.config->optimizer, "rmsprop");
  EXPECT_EQ(r->model.config->loss, "binary_crossentropy");
}

// training() with `scheduler = <ctor>` before the loop and `scheduler.step()` after the batches
std::string scheduled(const std::string& ctor, bool before_batches = false) {
  std::string src = training("torch.optim.SGD(model.parameters(), lr=0.1)");
  src.replace(src.find("    model.train()\n"), 0, "    scheduler = " + ctor + "\n");
  if (before_batches) src.replace(src.find("        for xb, yb in loader:\n"), 0, "        scheduler.step()\n");
  else src.replace(src.find("    return model\n"), 0, "        scheduler.step()\n");
  return src;
}

TEST(TorchTrainingRecognise, SchedulersSteppedPerEpochFromTheCatalog) {
  auto r = recognise(scheduled("torch.optim.lr_scheduler.StepLR(optimizer, step_size=10)"));
  EXPECT_TRUE(r->sink.items.empty()) << r->warnings();
  EXPECT_EQ(r->arg("schedule"), "\"torch.optim.lr_scheduler.StepLR\"");
  EXPECT_EQ(r->arg("schedule.lr"), "0.1");
  EXPECT_EQ(r->arg("schedule.step_size"), "10");
  EXPECT_EQ(r->arg("schedule.gamma"), "0.1");  // StepLR's default, stated
  EXPECT_EQ(r->arg("schedule.offset"), "<none>");
  EXPECT_TRUE(r->step("scheduler"));
  auto before = recognise(scheduled("torch.optim.lr_scheduler.ExponentialLR(optimizer, 0.9)", true));
  EXPECT_EQ(before->arg("schedule.gamma"), "0.9");
  EXPECT_EQ(before->arg("schedule.offset"), "1");
}

TEST(TorchTrainingRecognise, ASchedulerOutsideTheCatalogIsLeftOutWithAWarning) {
  auto r = recognise(scheduled("torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, total_steps=100)"));
  ASSERT_TRUE(r->step("train_loop"));
  EXPECT_EQ(r->arg("schedule"), "<none>");
  EXPECT_EQ(r->warnings(), "18:9: `scheduler.step()`: training code nnport does not recognise; left out\n");
}

}  // namespace
}  // namespace nnport
