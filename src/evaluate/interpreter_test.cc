// The static evaluator, driven through the public API: what it resolves shows up as
// layer attributes and graph nodes in the pivot JSON of `inspect`.
#include "evaluate/interpreter.h"
#include "evaluate/names.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "driver/driver.h"
#include "driver/test_support.h"

namespace nnport {
namespace {

using nlohmann::json;
using namespace test_support;

// Attribute `attr` of the layer at `path` (null json when absent).
json attr(const json& pj, const std::string& path, const std::string& a) {
  const json* l = find_layer(pj.at("modules"), path);
  if (!l) {
    ADD_FAILURE() << "no layer " << path;
    return json();
  }
  return l->at("attrs").value(a, json());
}

// Children names of the container at `path`.
std::vector<std::string> children(const json& pj, const std::string& path) {
  std::vector<std::string> out;
  const json* l = find_layer(pj.at("modules"), path);
  if (l && l->contains("children"))
    for (const auto& c : (*l)["children"]) out.push_back(c["name"]);
  return out;
}

// The module paths the graph calls, in order.
std::vector<std::string> calls(const json& pj) {
  std::vector<std::string> out;
  for (const auto& n : pj.at("graph"))
    if (n["kind"] == "call") out.push_back(n["module"]);
  return out;
}

TEST(Evaluate, NamesBoundToLiteralsAndArithmetic) {
  const char* src =
      "import torch.nn as nn\n"
      "\n"
      "HIDDEN = 32\n"
      "model = nn.Sequential(nn.Linear(256 * 6 * 6, HIDDEN), nn.Linear(HIDDEN, HIDDEN // 4 + 1))\n";
  json pj = pivot_json(src, opts({"9216"}));
  EXPECT_EQ(attr(pj, "0", "in_features"), 9216);
  EXPECT_EQ(attr(pj, "0", "out_features"), 32);
  EXPECT_EQ(attr(pj, "1", "in_features"), 32);
  EXPECT_EQ(attr(pj, "1", "out_features"), 9);
}

TEST(Evaluate, ConstructorDefaultIsUsedWithoutEntryArguments) {
  const char* src =
      "import torch.nn as nn\n"
      "\n"
      "class Net(nn.Module):\n"
      "    def __init__(self, num_classes=1000):\n"
      "        super().__init__()\n"
      "        self.fc = nn.Linear(4, num_classes)\n"
      "\n"
      "    def forward(self, x):\n"
      "        return self.fc(x)\n";
  json pj = pivot_json(src, opts({"4"}));
  EXPECT_EQ(pj["entry"], "Net()");
  EXPECT_EQ(attr(pj, "fc", "out_features"), 1000);
}

TEST(Evaluate, EntryKeywordOverridesConstructorDefault) {
  const char* src =
      "import torch.nn as nn\n"
      "\n"
      "class Net(nn.Module):\n"
      "    def __init__(self, num_classes=1000):\n"
      "        super().__init__()\n"
      "        self.fc = nn.Linear(4, num_classes)\n"
      "\n"
      "    def forward(self, x):\n"
      "        return self.fc(x)\n";
  json pj = pivot_json(src, opts({"4"}, "Net(num_classes=7)"));
  EXPECT_EQ(pj["entry"], "Net(num_classes=7)");
  EXPECT_EQ(attr(pj, "fc", "out_features"), 7);
}

TEST(Evaluate, SelfFieldsFlowIntoLaterLayers) {
  const char* src =
      "import torch.nn as nn\n"
      "\n"
      "class Net(nn.Module):\n"
      "    def __init__(self, width=5):\n"
      "        super().__init__()\n"
      "        self.hidden = width * 2\n"
      "        self.a = nn.Linear(3, self.hidden)\n"
      "        self.b = nn.Linear(self.hidden, self.a.out_features + 1)\n"
      "\n"
      "    def forward(self, x):\n"
      "        return self.b(self.a(x))\n";
  json pj = pivot_json(src, opts({"3"}));
  EXPECT_EQ(attr(pj, "a", "out_features"), 10);
  EXPECT_EQ(attr(pj, "b", "in_features"), 10);
  EXPECT_EQ(attr(pj, "b", "out_features"), 11);
  // plain attributes are not sub-modules
  EXPECT_EQ(children(pj, ""), (std::vector<std::string>{"a", "b"}));
}

TEST(Evaluate, ListAndTupleLiteralsAsAttributes) {
  const char* src =
      "import torch.nn as nn\n"
      "\n"
      "KERNEL = (3, 5)\n"
      "PAD = [1, 2]\n"
      "model = nn.Sequential(nn.Conv2d(3, 8, KERNEL, padding=tuple(PAD)))\n";
  json pj = pivot_json(src, opts({"3,16,16"}));
  EXPECT_EQ(attr(pj, "0", "kernel_dim"), json({3, 5}));
  EXPECT_EQ(attr(pj, "0", "padding_amount"), json({1, 2}));
  EXPECT_EQ(attr(pj, "0", "padding_type"), "explicit");
}

TEST(Evaluate, ForLoopOverConfigAppendsLayersLikeVggMakeLayers) {
  const char* src =
      "import torch.nn as nn\n"
      "\n"
      "def make_layers(cfg):\n"
      "    layers = []\n"
      "    in_channels = 3\n"
      "    for v in cfg:\n"
      "        if v == \"M\":\n"
      "            layers += [nn.MaxPool2d(kernel_size=2, stride=2)]\n"
      "        else:\n"
      "            layers += [nn.Conv2d(in_channels, v, kernel_size=3, padding=1), nn.ReLU(inplace=True)]\n"
      "            in_channels = v\n"
      "    return nn.Sequential(*layers)\n"
      "\n"
      "cfgs = {\"S\": [8, \"M\", 16]}\n";
  json pj = pivot_json(src, opts({"3,8,8"}, "make_layers(cfgs['S'])"));
  EXPECT_EQ(pj["style"], "sequential");
  const json* root = find_layer(pj["modules"], "");
  ASSERT_NE(root, nullptr);
  std::vector<std::string> ops;
  for (const auto& c : (*root)["children"]) ops.push_back(c["layer"]["op"]);
  EXPECT_EQ(ops, (std::vector<std::string>{"conv2d", "relu", "maxpool2d", "conv2d", "relu"}));
  EXPECT_EQ(attr(pj, "0", "in_channels"), 3);
  EXPECT_EQ(attr(pj, "0", "out_channels"), 8);
  EXPECT_EQ(attr(pj, "3", "in_channels"), 8);
  EXPECT_EQ(attr(pj, "3", "out_channels"), 16);
}

TEST(Evaluate, StarUnpackingIntoSequentialKeepsOrderAndIndices) {
  const char* src =
      "import torch.nn as nn\n"
      "\n"
      "layers = [nn.Linear(4, 5), nn.ReLU()]\n"
      "layers.append(nn.Linear(5, 6))\n"
      "model = nn.Sequential(*layers)\n";
  json pj = pivot_json(src, opts({"4"}));
  EXPECT_EQ(children(pj, ""), (std::vector<std::string>{"0", "1", "2"}));
  EXPECT_EQ(attr(pj, "2", "out_features"), 6);
  EXPECT_EQ(calls(pj), (std::vector<std::string>{"0", "1", "2"}));
}

TEST(Evaluate, ModuleListAppendAndIterationInForward) {
  const char* src =
      "import torch.nn as nn\n"
      "\n"
      "class Net(nn.Module):\n"
      "    def __init__(self, widths=(4, 6, 8)):\n"
      "        super().__init__()\n"
      "        self.blocks = nn.ModuleList()\n"
      "        for a, b in zip(widths[:-1], widths[1:]):\n"
      "            self.blocks.append(nn.Linear(a, b))\n"
      "\n"
      "    def forward(self, x):\n"
      "        for block in self.blocks:\n"
      "            x = block(x)\n"
      "        return x\n";
  json pj = pivot_json(src, opts({"4"}));
  EXPECT_EQ(attr(pj, "blocks", "in_features"), json());  // a container has no attributes
  EXPECT_EQ(find_layer(pj["modules"], "blocks")->at("op"), "module_list");
  EXPECT_EQ(children(pj, "blocks"), (std::vector<std::string>{"0", "1"}));
  EXPECT_EQ(attr(pj, "blocks.1", "in_features"), 6);
  EXPECT_EQ(attr(pj, "blocks.1", "out_features"), 8);
  EXPECT_EQ(calls(pj), (std::vector<std::string>{"blocks.0", "blocks.1"}));
}

TEST(Evaluate, ListComprehensionBuildsLayers) {
  const char* src =
      "import torch.nn as nn\n"
      "\n"
      "SIZES = [4, 8, 6]\n"
      "model = nn.Sequential(*[nn.Linear(a, b) for a, b in zip(SIZES, SIZES[1:]) if b > 0])\n";
  json pj = pivot_json(src, opts({"4"}));
  EXPECT_EQ(children(pj, ""), (std::vector<std::string>{"0", "1"}));
  EXPECT_EQ(attr(pj, "0", "out_features"), 8);
  EXPECT_EQ(attr(pj, "1", "in_features"), 8);
  EXPECT_EQ(attr(pj, "1", "out_features"), 6);
}

TEST(Evaluate, OrderedDictSequentialUsesTheGivenNames) {
  const char* src =
      "import torch.nn as nn\n"
      "from collections import OrderedDict\n"
      "\n"
      "model = nn.Sequential(OrderedDict([(\"fc1\", nn.Linear(4, 3)), (\"act\", nn.ReLU()), (\"fc2\", nn.Linear(3, 2))]))\n";
  json pj = pivot_json(src, opts({"4"}));
  EXPECT_EQ(children(pj, ""), (std::vector<std::string>{"fc1", "act", "fc2"}));
  EXPECT_EQ(attr(pj, "fc2", "out_features"), 2);
  EXPECT_EQ(calls(pj), (std::vector<std::string>{"fc1", "act", "fc2"}));
}

TEST(Evaluate, FStringNamesInAddModule) {
  const char* src =
      "import torch.nn as nn\n"
      "\n"
      "class Net(nn.Module):\n"
      "    def __init__(self):\n"
      "        super().__init__()\n"
      "        self.body = nn.Sequential()\n"
      "        for i in range(3):\n"
      "            self.body.add_module(f\"fc{i}_{i * 2}\", nn.Linear(4, 4))\n"
      "\n"
      "    def forward(self, x):\n"
      "        return self.body(x)\n";
  json pj = pivot_json(src, opts({"4"}));
  EXPECT_EQ(children(pj, "body"), (std::vector<std::string>{"fc0_0", "fc1_2", "fc2_4"}));
  EXPECT_EQ(calls(pj), (std::vector<std::string>{"body.fc0_0", "body.fc1_2", "body.fc2_4"}));
}

// BUG: `self.add_module(name, layer)` on the model being analysed registers the child but
// does not bind `self.<name>`, so `self.fc(x)` in forward fails with "`.fc()` on a submodel
// is not supported by nnport". Repro: class Net(nn.Module): __init__: self.add_module("fc",
// nn.Linear(4, 2)); forward: return self.fc(x).  `nnport inspect m.py --input-shape 4`.
TEST(Evaluate, AddModuleOnSelfBindsTheAttribute) {
  const char* src =
      "import torch.nn as nn\n"
      "\n"
      "class Net(nn.Module):\n"
      "    def __init__(self):\n"
      "        super().__init__()\n"
      "        self.add_module(\"fc\", nn.Linear(4, 2))\n"
      "\n"
      "    def forward(self, x):\n"
      "        return self.fc(x)\n";
  json pj = pivot_json(src, opts({"4"}));
  EXPECT_EQ(calls(pj), (std::vector<std::string>{"fc"}));
}

// BUG: module-level names are not visible to code that runs while the module's top level
// is being executed: a module-level `model = Net()` (or `model = make()`) fails with
// "name `nn` is not defined" inside Net.__init__, and a default `def __init__(self, act=ACT)`
// of a class body fails the same way. The interpreter fills `globals_` only after
// run_module() finishes. Repro: "import torch.nn as nn\ndef make():\n    return
// nn.Sequential(nn.Linear(4, 2))\nmodel = make()\n", `nnport inspect m.py --input-shape 4`.
TEST(Evaluate, ModuleLevelModelBuiltByAClassSeesModuleNames) {
  const char* src =
      "import torch.nn as nn\n"
      "\n"
      "class Net(nn.Module):\n"
      "    def __init__(self):\n"
      "        super().__init__()\n"
      "        self.fc = nn.Linear(4, 2)\n"
      "\n"
      "    def forward(self, x):\n"
      "        return self.fc(x)\n"
      "\n"
      "model = Net()\n";
  json pj = pivot_json(src, opts({"4"}));
  EXPECT_EQ(pj["entry"], "model");
  EXPECT_EQ(calls(pj), (std::vector<std::string>{"fc"}));
}

TEST(Evaluate, ModuleLevelModelBuiltByAFunctionSeesModuleNames) {
  const char* src =
      "import torch.nn as nn\n"
      "\n"
      "def make():\n"
      "    return nn.Sequential(nn.Linear(4, 2))\n"
      "\n"
      "model = make()\n";
  json pj = pivot_json(src, opts({"4"}));
  EXPECT_EQ(attr(pj, "0", "out_features"), 2);
}

TEST(Evaluate, ClassLevelDefaultMayNameAModuleConstant) {
  const char* src =
      "import torch.nn as nn\n"
      "\n"
      "WIDTH = 6\n"
      "\n"
      "class Net(nn.Module):\n"
      "    def __init__(self, width=WIDTH):\n"
      "        super().__init__()\n"
      "        self.fc = nn.Linear(4, width)\n"
      "\n"
      "    def forward(self, x):\n"
      "        return self.fc(x)\n";
  json pj = pivot_json(src, opts({"4"}));
  EXPECT_EQ(attr(pj, "fc", "out_features"), 6);
}

TEST(Evaluate, ConditionalExpressionOnAConstructorArgument) {
  const char* src =
      "import torch.nn as nn\n"
      "\n"
      "class Net(nn.Module):\n"
      "    def __init__(self, act=\"tanh\"):\n"
      "        super().__init__()\n"
      "        self.act = nn.Tanh() if act == \"tanh\" else nn.ReLU()\n"
      "\n"
      "    def forward(self, x):\n"
      "        return self.act(x)\n";
  EXPECT_EQ(find_layer(pivot_json(src, opts({"4"}))["modules"], "act")->at("op"), "tanh");
  EXPECT_EQ(find_layer(pivot_json(src, opts({"4"}, "Net(act='relu')"))["modules"], "act")->at("op"), "relu");
}

TEST(Evaluate, MainBlockIsSkipped) {
  const char* src =
      "import torch.nn as nn\n"
      "\n"
      "model = nn.Sequential(nn.Linear(4, 2))\n"
      "\n"
      "if __name__ == \"__main__\":\n"
      "    n = int(input())\n"
      "    print(undefined_name, nn.Foo(n))\n"
      "    model = nn.Sequential(nn.Linear(n, 3))\n";
  json pj = pivot_json(src, opts({"4"}));
  EXPECT_EQ(pj["entry"], "model");
  EXPECT_EQ(attr(pj, "0", "out_features"), 2);
}

TEST(Evaluate, TensorShapeIsReadableInForward) {
  const char* src =
      "import torch.nn as nn\n"
      "\n"
      "class Net(nn.Module):\n"
      "    def __init__(self):\n"
      "        super().__init__()\n"
      "        self.fc = nn.Linear(12, 2)\n"
      "\n"
      "    def forward(self, x):\n"
      "        c, h, w = x.shape[1], x.shape[2], x.size(3)\n"
      "        return self.fc(x.reshape(-1, c * h * w))\n";
  json pj = pivot_json(src, opts({"3,2,2"}));
  ASSERT_EQ(pj["graph"].size(), 2u);
  EXPECT_EQ(pj["graph"][0]["op"], "reshape");
  EXPECT_EQ(pj["graph"][0]["attrs"]["shape"], json({-1, 12}));
}

// Scopes find names through an index once they hold more than a few (a scan per lookup was
// quadratic): rebinding keeps a name's place, and the order of first binding is kept.
TEST(Names, RebindInPlaceAndKeepTheOrderPastTheIndexThreshold) {
  evaluate::Names names;
  for (int i = 0; i < 20; ++i) EXPECT_EQ(names.set("n" + std::to_string(i), evaluate::integer(i)), size_t(i));
  EXPECT_EQ(names.set("n3", evaluate::integer(33)), 3u);
  EXPECT_EQ(names.set("n15", evaluate::integer(55)), 15u);
  ASSERT_EQ(names.size(), 20u);
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(names[i].first, "n" + std::to_string(i));
    ASSERT_NE(names.find(names[i].first), nullptr);
    EXPECT_EQ((*names.find(names[i].first))->i, i == 3 ? 33 : i == 15 ? 55 : i);
  }
  EXPECT_EQ(names.find("n20"), nullptr);
  EXPECT_EQ(names.position("n7"), 7u);
  EXPECT_EQ(names.position("x"), evaluate::Names::npos);
}

// A module-level function sees the module's names as they are after each statement (the
// module copies only the names a statement set into its globals, not all of them).
TEST(Evaluate, ModuleFunctionsSeeNamesBoundByEarlierStatements) {
  std::string src = "import torch.nn as nn\n\n\ndef width():\n    return w\n\n\n";
  for (int i = 0; i < 30; ++i) src += "unused" + std::to_string(i) + " = " + std::to_string(i) + "\n";
  src += "w = 4\nw = w + 2\nmodel = nn.Sequential(nn.Linear(3, width()), nn.Linear(width(), unused29))\n";
  json pj = pivot_json(src, opts({"3"}));
  EXPECT_EQ(attr(pj, "0", "out_features"), 6);
  EXPECT_EQ(attr(pj, "1", "in_features"), 6);
  EXPECT_EQ(attr(pj, "1", "out_features"), 29);
}

}  // namespace
}  // namespace nnport
