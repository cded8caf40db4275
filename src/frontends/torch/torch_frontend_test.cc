// The PyTorch frontend, through `inspect`: which layers and graph nodes each construct gives.
#include "frontends/torch/torch_frontend.h"

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

std::vector<std::string> ops(const json& pj) {
  std::vector<std::string> out;
  for (const auto& n : pj.at("graph")) out.push_back(n["op"]);
  return out;
}

json shape_of(const json& pj, int value) { return pj.at("values").at(value).at("shape"); }

// A one-layer model `self.m = <ctor>` applied to x, in the class style.
std::string one_layer(const std::string& ctor) {
  return "import torch.nn as nn\n"
         "\n"
         "class Net(nn.Module):\n"
         "    def __init__(self):\n"
         "        super().__init__()\n"
         "        self.m = " +
         ctor +
         "\n"
         "\n"
         "    def forward(self, x):\n"
         "        return self.m(x)\n";
}

TEST(TorchFrontend, PositionalAndKeywordArgumentsBindToTheSameAttributes) {
  json a = pivot_json(one_layer("nn.Conv2d(3, 8, 3, 2, 1, 1, 1, False)"), opts({"3,8,8"}));
  json b = pivot_json(one_layer("nn.Conv2d(in_channels=3, out_channels=8, kernel_size=3, stride=2, padding=1, "
                                "dilation=1, groups=1, bias=False)"),
                      opts({"3,8,8"}));
  json c = pivot_json(one_layer("nn.Conv2d(3, 8, kernel_size=3, bias=False, padding=1, stride=2)"), opts({"3,8,8"}));
  const json* la = find_layer(a["modules"], "m");
  const json* lb = find_layer(b["modules"], "m");
  const json* lc = find_layer(c["modules"], "m");
  ASSERT_TRUE(la && lb && lc);
  EXPECT_EQ(la->at("attrs"), lb->at("attrs"));
  EXPECT_EQ(la->at("attrs"), lc->at("attrs"));
  EXPECT_EQ(la->at("attrs")["stride_dim"], 2);
  EXPECT_EQ(la->at("attrs")["padding_amount"], 1);
  EXPECT_EQ(la->at("attrs")["bias"], false);
  EXPECT_EQ(la->at("output_shape"), json({-1, 8, 4, 4}));
}

TEST(TorchFrontend, PivotDefaultsFillUnstatedAttributes) {
  json pj = pivot_json(one_layer("nn.BatchNorm2d(4)"), opts({"4,2,2"}));
  const json& at = find_layer(pj["modules"], "m")->at("attrs");
  EXPECT_EQ(at["num_features"], 4);
  EXPECT_EQ(at["eps"], 1e-05);
  EXPECT_EQ(at["momentum"], 0.1);
  EXPECT_EQ(at["affine"], true);
}

TEST(TorchFrontend, PoolStrideDefaultsToKernel) {
  json pj = pivot_json(one_layer("nn.MaxPool2d(3)"), opts({"1,9,9"}));
  EXPECT_EQ(find_layer(pj["modules"], "m")->at("attrs")["stride_dim"], 3);
}

TEST(TorchFrontend, TooManyPositionalArgumentsIsAnError) {
  Result r = inspect(one_layer("nn.ReLU(True, 1)"), "model.py", opts({"4"}), "json");
  ASSERT_FALSE(r.ok);
  EXPECT_NE(r.diagnostics.back().message.find("positional"), std::string::npos) << r.diagnostics.back().message;
}

TEST(TorchFrontend, UnknownKeywordIsAnError) {
  Result r = inspect(one_layer("nn.Linear(4, 2, biass=False)"), "model.py", opts({"4"}), "json");
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.diagnostics.back().message, "`nn.Linear` has no parameter `biass`");
  EXPECT_EQ(r.diagnostics.back().loc.line, 6);
}

const char* kFlattens =
    "import torch\n"
    "import torch.nn as nn\n"
    "\n"
    "class Net(nn.Module):\n"
    "    def __init__(self):\n"
    "        super().__init__()\n"
    "        self.flat = nn.Flatten()\n"
    "\n"
    "    def forward(self, x):\n"
    "        a = torch.flatten(x, 1)\n"
    "        b = x.view(x.size(0), -1)\n"
    "        c = self.flat(x)\n"
    "        d = torch.flatten(x)\n"
    "        return a, b, c, d\n";

TEST(TorchFrontend, ThreeWaysToFlattenGiveTheSameShape) {
  json pj = pivot_json(kFlattens, opts({"2,3,4"}));
  ASSERT_EQ(ops(pj), (std::vector<std::string>{"flatten", "reshape", "flatten", "flatten"}));
  const json& g = pj["graph"];
  EXPECT_EQ(g[0]["kind"], "op");
  EXPECT_EQ(g[0]["attrs"]["start_dim"], 1);
  EXPECT_EQ(g[1]["attrs"]["shape"], json({"batch", -1}));
  EXPECT_EQ(g[2]["kind"], "call");
  EXPECT_EQ(g[2]["module"], "flat");
  EXPECT_EQ(find_layer(pj["modules"], "flat")->at("attrs")["start_dim"], 1);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(shape_of(pj, g[i]["outputs"][0]), json({-1, 24})) << i;
}

TEST(TorchFrontend, TorchFlattenWithoutStartDimFlattensFromAxisZero) {
  json pj = pivot_json(kFlattens, opts({"2,3,4"}));
  const json& d = pj["graph"][3];
  EXPECT_EQ(d["attrs"]["start_dim"], 0);
  EXPECT_EQ(d["attrs"]["end_dim"], -1);
  EXPECT_EQ(shape_of(pj, d["outputs"][0]), json({-1}));  // includes the unknown batch
}

TEST(TorchFrontend, ReluAsFunctionTorchFunctionAndTensorMethod) {
  const char* src =
      "import torch\n"
      "import torch.nn as nn\n"
      "import torch.nn.functional as F\n"
      "\n"
      "class Net(nn.Module):\n"
      "    def forward(self, x):\n"
      "        return x.relu(), F.relu(x), torch.relu(x)\n";
  json pj = pivot_json(src, opts({"4"}));
  EXPECT_EQ(ops(pj), (std::vector<std::string>{"relu", "relu", "relu"}));
  for (const auto& n : pj["graph"]) {
    EXPECT_EQ(n["kind"], "op");
    EXPECT_EQ(n["inputs"], json({0}));
  }
  EXPECT_EQ(pj["outputs"], json({1, 2, 3}));
}

TEST(TorchFrontend, TorchCatConcatenatesAlongTheGivenAxis) {
  const char* src =
      "import torch\n"
      "import torch.nn as nn\n"
      "\n"
      "class Net(nn.Module):\n"
      "    def forward(self, x):\n"
      "        return torch.cat([x, x, x], dim=1)\n";
  json pj = pivot_json(src, opts({"2,5"}));
  ASSERT_EQ(ops(pj), (std::vector<std::string>{"concat"}));
  EXPECT_EQ(pj["graph"][0]["inputs"], json({0, 0, 0}));
  EXPECT_EQ(pj["graph"][0]["attrs"]["dim"], 1);
  EXPECT_EQ(shape_of(pj, 1), json({-1, 6, 5}));
}

TEST(TorchFrontend, ResidualAdditionHasBothOperands) {
  const char* src =
      "import torch.nn as nn\n"
      "\n"
      "class Net(nn.Module):\n"
      "    def __init__(self):\n"
      "        super().__init__()\n"
      "        self.fc = nn.Linear(4, 4)\n"
      "\n"
      "    def forward(self, x):\n"
      "        y = self.fc(x)\n"
      "        return x + y\n";
  json pj = pivot_json(src, opts({"4"}));
  ASSERT_EQ(ops(pj), (std::vector<std::string>{"linear", "add"}));
  EXPECT_EQ(pj["graph"][1]["inputs"], json({0, 1}));
  EXPECT_FALSE(pj["graph"][1].contains("attrs"));
}

TEST(TorchFrontend, ScalarOperandIsAnAttribute) {
  const char* src =
      "import torch.nn as nn\n"
      "\n"
      "class Net(nn.Module):\n"
      "    def forward(self, x):\n"
      "        return 2 * x\n";
  json pj = pivot_json(src, opts({"4"}));
  ASSERT_EQ(ops(pj), (std::vector<std::string>{"mul"}));
  EXPECT_EQ(pj["graph"][0]["inputs"], json({0}));
  EXPECT_EQ(pj["graph"][0]["attrs"]["scalar"], 2);
  EXPECT_EQ(pj["graph"][0]["attrs"]["scalar_first"], true);
}

TEST(TorchFrontend, LstmReturnsOutputAndHiddenCellTuple) {
  const char* src =
      "import torch.nn as nn\n"
      "\n"
      "class Net(nn.Module):\n"
      "    def __init__(self):\n"
      "        super().__init__()\n"
      "        self.lstm = nn.LSTM(8, 16, batch_first=True)\n"
      "\n"
      "    def forward(self, x):\n"
      "        out, (h, c) = self.lstm(x)\n"
      "        return out, h, c\n";
  json pj = pivot_json(src, opts({"10,8"}));
  ASSERT_EQ(pj["graph"].size(), 1u);
  const json& n = pj["graph"][0];
  EXPECT_EQ(n["op"], "lstm");
  EXPECT_EQ(n["outputs"], json({1, 2, 3}));
  EXPECT_EQ(pj["outputs"], json({1, 2, 3}));
  EXPECT_EQ(shape_of(pj, 1), json({-1, 10, 16}));
  EXPECT_EQ(shape_of(pj, 2), json({1, -1, 16}));
  EXPECT_EQ(shape_of(pj, 3), json({1, -1, 16}));
  EXPECT_EQ(find_layer(pj["modules"], "lstm")->at("attrs")["input_size"], 8);
}

TEST(TorchFrontend, GruReturnsOutputAndHidden) {
  const char* src =
      "import torch.nn as nn\n"
      "\n"
      "class Net(nn.Module):\n"
      "    def __init__(self):\n"
      "        super().__init__()\n"
      "        self.gru = nn.GRU(8, 6, num_layers=2, batch_first=True)\n"
      "\n"
      "    def forward(self, x):\n"
      "        out, h = self.gru(x)\n"
      "        return h\n";
  json pj = pivot_json(src, opts({"10,8"}));
  EXPECT_EQ(pj["graph"][0]["outputs"], json({1, 2}));
  EXPECT_EQ(pj["outputs"], json({2}));
  EXPECT_EQ(shape_of(pj, 2), json({2, -1, 6}));
}

TEST(TorchFrontend, ImportSpellingsAreCanonicalised) {
  const char* src =
      "from torch.nn import Linear, Sequential\n"
      "from torch.nn.modules.activation import ReLU\n"
      "\n"
      "model = Sequential(Linear(4, 3), ReLU())\n";
  json pj = pivot_json(src, opts({"4"}));
  EXPECT_EQ(ops(pj), (std::vector<std::string>{"linear", "relu"}));
}

TEST(TorchFrontend, FunctionalDropoutIsAnOpWithItsRate) {
  const char* src =
      "import torch.nn as nn\n"
      "import torch.nn.functional as F\n"
      "\n"
      "class Net(nn.Module):\n"
      "    def forward(self, x):\n"
      "        return F.dropout(x, 0.25, self.training)\n";
  json pj = pivot_json(src, opts({"4"}));
  ASSERT_EQ(ops(pj), (std::vector<std::string>{"dropout"}));
  EXPECT_EQ(pj["graph"][0]["attrs"]["rate"], 0.25);
}

TEST(TorchFrontend, SlicingRecordsTheIndex) {
  const char* src =
      "import torch.nn as nn\n"
      "\n"
      "class Net(nn.Module):\n"
      "    def forward(self, x):\n"
      "        return x[:, -1, :]\n";
  json pj = pivot_json(src, opts({"10,8"}));
  ASSERT_EQ(ops(pj), (std::vector<std::string>{"getitem"}));
  EXPECT_EQ(pj["graph"][0]["attrs"]["index"], json({{nullptr, nullptr, nullptr}, -1, {nullptr, nullptr, nullptr}}));
  EXPECT_EQ(shape_of(pj, 1), json({-1, 8}));
}

}  // namespace
}  // namespace nnport
