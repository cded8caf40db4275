// The layout pass: where transposes go under --layout keep and native, and what the weight
// plan does about a channel-last Flatten.
#include "passes/layout.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "driver/driver.h"

namespace nnport {
namespace {

using nlohmann::json;

Options opts(const std::string& layout, const std::vector<std::string>& shapes) {
  Options o;
  o.to = "keras";
  o.layout = layout;
  for (const auto& s : shapes) o.input_shapes.push_back(parse_input_spec(s));
  return o;
}

json pivot_json(const std::string& source, const Options& o) {
  Result r = inspect(source, "model.py", o, "json");
  EXPECT_TRUE(r.ok) << r.rendered_diagnostics;
  if (!r.ok) return json::object({{"graph", json::array()}, {"values", json::array()}});
  return json::parse(r.output);
}

json plan_json(const std::string& source, const Options& o) {
  Result r = weight_plan(source, "model.py", o);
  EXPECT_TRUE(r.ok) << r.rendered_diagnostics;
  if (!r.ok) return json::object({{"inputs", json::array()}, {"layers", json::array()}});
  return json::parse(r.output);
}

// The first graph node with this op.
json node(const json& pj, const std::string& op) {
  for (const auto& n : pj.at("graph"))
    if (n["op"] == op) return n;
  ADD_FAILURE() << "no " << op << " node";
  return json::object();
}

json layer_plan(const json& plan, const std::string& path) {
  for (const auto& l : plan.at("layers"))
    if (l["path"] == path) return l;
  ADD_FAILURE() << "no plan for " << path;
  return json::object({{"targets", json::array({json::object({{"tensors", json::array({json::object()})}})})}});
}

const char* kConvFlattenLinear =
    "import torch.nn as nn\n"
    "\n"
    "model = nn.Sequential(\n"
    "    nn.Conv2d(3, 4, 3),\n"
    "    nn.ReLU(),\n"
    "    nn.Conv2d(4, 4, 3),\n"
    "    nn.Flatten(),\n"
    "    nn.Linear(4 * 4 * 4, 10),\n"
    ")\n";

TEST(Layout, PermutationHelpers) {
  EXPECT_EQ(passes::to_channels_last(4), (std::vector<int>{0, 2, 3, 1}));
  EXPECT_EQ(passes::to_channels_first(4), (std::vector<int>{0, 3, 1, 2}));
  EXPECT_EQ(passes::to_channels_last(3), (std::vector<int>{0, 2, 1}));
  EXPECT_EQ(passes::to_channels_first(5), (std::vector<int>{0, 4, 1, 2, 3}));
}

TEST(Layout, KeepTransposesBeforeTheFirstConvAndBeforeFlattenOnly) {
  json pj = pivot_json(kConvFlattenLinear, opts("keep", {"3,8,8"}));
  const json& g = pj["graph"];
  ASSERT_EQ(g.size(), 5u);
  EXPECT_EQ(g[0]["input_permutations"], json({{0, 2, 3, 1}}));  // first conv
  EXPECT_FALSE(g[1].contains("input_permutations"));            // relu
  EXPECT_FALSE(g[2].contains("input_permutations"));            // second conv: already channel-last
  EXPECT_EQ(g[3]["input_permutations"], json({{0, 3, 1, 2}}));  // flatten in the source's order
  EXPECT_FALSE(g[3].contains("attrs") && g[3]["attrs"].contains("flattened_layout"));
  EXPECT_FALSE(g[4].contains("input_permutations"));
  EXPECT_EQ(pj["values"][0]["target_layout"], "channels_first");
  EXPECT_EQ(pj["values"][1]["target_layout"], "channels_last");
}

TEST(Layout, KeepPlanHasNoInputPermutationAndNoRowPermutation) {
  json plan = plan_json(kConvFlattenLinear, opts("keep", {"3,8,8"}));
  EXPECT_EQ(plan["target"]["layout"], "keep");
  EXPECT_EQ(plan["inputs"][0]["target_permutation"], nullptr);
  json kernel = layer_plan(plan, "4")["targets"][0]["tensors"][0];
  EXPECT_EQ(kernel["steps"], json::parse(R"([{"op": "transpose", "perm": [1, 0]}])"));
}

TEST(Layout, NativePermutesTheInputAndFlattensChannelLast) {
  json pj = pivot_json(kConvFlattenLinear, opts("native", {"3,8,8"}));
  const json& g = pj["graph"];
  ASSERT_EQ(g.size(), 5u);
  for (const auto& n : g) EXPECT_FALSE(n.contains("input_permutations")) << n.dump();
  EXPECT_EQ(g[3]["attrs"]["flattened_layout"], "channels_last");
  EXPECT_EQ(pj["values"][0]["target_layout"], "channels_last");
}

TEST(Layout, NativePlanPermutesTheInputAndTheDenseRowsAfterFlatten) {
  json plan = plan_json(kConvFlattenLinear, opts("native", {"3,8,8"}));
  EXPECT_EQ(plan["target"]["layout"], "native");
  EXPECT_EQ(plan["inputs"][0]["target_permutation"], json({0, 2, 3, 1}));
  json kernel = layer_plan(plan, "4")["targets"][0]["tensors"][0];
  EXPECT_EQ(kernel["name"], "kernel");
  EXPECT_EQ(kernel["shape"], json({64, 10}));
  EXPECT_EQ(kernel["steps"], json::parse(R"([{"op": "transpose", "perm": [1, 0]},
      {"op": "permute_rows", "axis": 0, "from_shape": [4, 4, 4], "perm": [1, 2, 0]}])"));
  // the conv kernel is the usual OIHW -> HWIO
  EXPECT_EQ(layer_plan(plan, "0")["targets"][0]["tensors"][0]["steps"],
            json::parse(R"([{"op": "transpose", "perm": [2, 3, 1, 0]}])"));
}

TEST(Layout, NativeRowPermutationSeesThroughElementwiseLayers) {
  const char* src =
      "import torch.nn as nn\n"
      "\n"
      "model = nn.Sequential(nn.Conv2d(3, 2, 3), nn.Flatten(), nn.Dropout(), nn.Linear(2 * 3 * 3, 5))\n";
  json plan = plan_json(src, opts("native", {"3,5,5"}));
  json steps = layer_plan(plan, "3")["targets"][0]["tensors"][0]["steps"];
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(steps[1]["op"], "permute_rows");
  EXPECT_EQ(steps[1]["from_shape"], json({2, 3, 3}));
}

// BUG: Flatten of a tensor whose spatial axes are all 1 (after AdaptiveAvgPool2d(1)) gets a
// transpose under --layout keep and a `flattened_layout` (and a no-op permute_rows step in
// the plan) under native. trivial_spatial() in layout.cc indexes the *source* (channel-first)
// shape with the offsets of the *held* (channel-last) layout, so it looks at C and H instead
// of H and W. Repro: `nn.Sequential(nn.Conv2d(3, 8, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
// nn.Linear(8, 4))`, `nnport convert m.py --to keras --input-shape 3,16,16` emits
// `layers.Permute((3, 1, 2))` before `layers.Flatten()`.
const char* kGlobalPoolFlatten =
    "import torch.nn as nn\n"
    "\n"
    "model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 4))\n";

TEST(Layout, KeepFlattenOfOneByOneSpatialNeedsNoTranspose) {
  json pj = pivot_json(kGlobalPoolFlatten, opts("keep", {"3,16,16"}));
  EXPECT_FALSE(node(pj, "flatten").contains("input_permutations"));
}

TEST(Layout, NativeFlattenOfOneByOneSpatialNeedsNoRowPermutation) {
  json pj = pivot_json(kGlobalPoolFlatten, opts("native", {"3,16,16"}));
  EXPECT_FALSE(node(pj, "flatten").contains("attrs") && node(pj, "flatten")["attrs"].contains("flattened_layout"));
  json plan = plan_json(kGlobalPoolFlatten, opts("native", {"3,16,16"}));
  EXPECT_EQ(layer_plan(plan, "3")["targets"][0]["tensors"][0]["steps"].size(), 1u);
}

TEST(Layout, FlattenOfAOneChannelOneRowTensorNeedsNoTranspose) {
  // (C, H, W) = (1, 1, 6): either layout flattens to the same order.
  const char* src =
      "import torch.nn as nn\n"
      "\n"
      "model = nn.Sequential(nn.Conv2d(2, 1, (3, 1)), nn.Flatten(), nn.Linear(6, 2))\n";
  json pj = pivot_json(src, opts("keep", {"2,3,6"}));
  EXPECT_FALSE(node(pj, "flatten").contains("input_permutations"));
}

TEST(Layout, DenseOnlyModelHasNoTransposes) {
  const char* src = "import torch.nn as nn\n\nmodel = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))\n";
  for (const char* layout : {"keep", "native"}) {
    json pj = pivot_json(src, opts(layout, {"4"}));
    for (const auto& n : pj["graph"]) EXPECT_FALSE(n.contains("input_permutations")) << layout;
    json plan = plan_json(src, opts(layout, {"4"}));
    EXPECT_EQ(plan["inputs"][0]["target_permutation"], nullptr) << layout;
  }
}

TEST(Layout, ConvOutputIsHeldChannelLastAndOnlyTheNativePlanPermutesIt) {
  json pj = pivot_json("import torch.nn as nn\n\nmodel = nn.Sequential(nn.Conv2d(3, 4, 1))\n", opts("keep", {"3,5,5"}));
  // keep: the migrated model transposes back itself; native: the plan says how to compare
  json plan = plan_json("import torch.nn as nn\n\nmodel = nn.Sequential(nn.Conv2d(3, 4, 1))\n", opts("keep", {"3,5,5"}));
  EXPECT_EQ(plan["outputs"][0]["target_permutation"], nullptr);
  json native = plan_json("import torch.nn as nn\n\nmodel = nn.Sequential(nn.Conv2d(3, 4, 1))\n",
                          opts("native", {"3,5,5"}));
  EXPECT_EQ(native["outputs"][0]["target_permutation"], json({0, 3, 1, 2}));
  EXPECT_EQ(pj["values"][1]["target_layout"], "channels_last");
}

TEST(Layout, ResidualAddOfTwoConvBranchesStaysChannelLast) {
  const char* src =
      "import torch.nn as nn\n"
      "\n"
      "class Net(nn.Module):\n"
      "    def __init__(self):\n"
      "        super().__init__()\n"
      "        self.a = nn.Conv2d(4, 4, 3, padding=1)\n"
      "        self.b = nn.Conv2d(4, 4, 3, padding=1)\n"
      "\n"
      "    def forward(self, x):\n"
      "        y = self.a(x)\n"
      "        return self.b(y) + y\n";
  json pj = pivot_json(src, opts("keep", {"4,6,6"}));
  json add = node(pj, "add");
  EXPECT_FALSE(add.contains("input_permutations"));
  EXPECT_EQ(pj["values"][add["outputs"][0].get<int>()]["target_layout"], "channels_last");
}

}  // namespace
}  // namespace nnport
