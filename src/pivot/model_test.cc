#include "pivot/model.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "driver/driver.h"

namespace nnport::pivot {
namespace {

std::string example(const std::string& name) {
  std::ifstream in(std::string(NNPORT_SOURCE_DIR) + "/examples/torch/" + name);
  EXPECT_TRUE(in.good()) << name;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string inspect_json(const std::string& file, const std::string& entry, const std::string& shape,
                         const std::string& to = "") {
  Options o;
  o.entry = entry;
  o.to = to;
  o.input_shapes.push_back(parse_input_spec(shape));
  Result r = inspect(example(file), file, o, "json");
  EXPECT_TRUE(r.ok) << r.rendered_diagnostics;
  return r.output;
}

struct Example {
  const char* file;
  const char* entry;
  const char* shape;
};

const Example kExamples[] = {
    {"alexnet.py", "AlexNet(num_classes=10)", "3,64,64"},
    {"alexnet_seq.py", "", "3,64,64"},
    {"vgg16.py", "VGG(make_layers(cfgs['D']), num_classes=10)", "3,64,64"},
    {"vgg16_seq.py", "", "3,64,64"},
    {"resnet_small.py", "", "3,32,32"},
    {"lstm_classifier.py", "", "int64:20"},
};

class RoundTrip : public ::testing::TestWithParam<Example> {};

TEST_P(RoundTrip, ToJsonFromJsonToJsonIsByteIdentical) {
  const Example& e = GetParam();
  std::string text = inspect_json(e.file, e.entry, e.shape);
  ASSERT_FALSE(text.empty());
  if (!text.empty() && text.back() == '\n') text.pop_back();  // inspect adds a final newline
  Model m = from_json(text);
  EXPECT_EQ(to_json(m), text);
  EXPECT_NO_THROW(verify(m));
}

TEST_P(RoundTrip, WithLayoutPassAppliedIsByteIdenticalToo) {
  const Example& e = GetParam();
  std::string text = inspect_json(e.file, e.entry, e.shape, "keras");
  if (!text.empty() && text.back() == '\n') text.pop_back();
  EXPECT_EQ(to_json(from_json(text)), text);
}

INSTANTIATE_TEST_SUITE_P(Examples, RoundTrip, ::testing::ValuesIn(kExamples),
                         [](const ::testing::TestParamInfo<Example>& info) {
                           std::string n = info.param.file;
                           n = n.substr(0, n.find('.'));
                           return n;
                         });

TEST(PivotJson, HasTheVersionField) {
  nlohmann::json j = nlohmann::json::parse(inspect_json("alexnet.py", "AlexNet(num_classes=10)", "3,64,64"));
  EXPECT_EQ(j["version"], "nnport.pivot/1");
  EXPECT_EQ(j["name"], "AlexNet");
  EXPECT_EQ(j["framework"], "torch");
  EXPECT_EQ(j["style"], "subclass");
  EXPECT_EQ(j["entry"], "AlexNet(num_classes=10)");
  EXPECT_EQ(j["inputs"], nlohmann::json::parse(R"([{"name": "x", "value": 0}])"));
}

TEST(PivotJson, RejectsAnotherVersion) {
  EXPECT_THROW(from_json(R"({"version": "nnport.pivot/2"})"), std::runtime_error);
}

// A two-node model: x -> fc -> relu.
Model tiny() {
  Model m;
  m.name = "tiny";
  m.framework = "torch";
  m.style = "sequential";
  m.root = std::make_shared<Layer>();
  m.root->op = "sequential";
  auto fc = std::make_shared<Layer>();
  fc->op = "linear";
  fc->path = "0";
  fc->attrs = {{"in_features", 4}, {"out_features", 2}, {"bias", true}};
  m.root->children.emplace_back("0", fc);
  int x = m.new_value({-1, 4}, "x");
  m.inputs.push_back({"x", x});
  Node a;
  a.id = 0;
  a.kind = "call";
  a.op = "linear";
  a.module = "0";
  a.inputs = {x};
  a.outputs = {m.new_value({-1, 2})};
  m.nodes.push_back(a);
  Node b;
  b.id = 1;
  b.kind = "op";
  b.op = "relu";
  b.inputs = {a.outputs[0]};
  b.outputs = {m.new_value({-1, 2})};
  m.nodes.push_back(b);
  m.outputs = {b.outputs[0]};
  return m;
}

TEST(Verify, AcceptsAWellFormedModel) { EXPECT_NO_THROW(verify(tiny())); }

TEST(Verify, RejectsANodeUsingAValueBeforeItIsDefined) {
  Model m = tiny();
  m.nodes[0].inputs = {2};  // defined only by node 1
  try {
    verify(m);
    FAIL() << "verify accepted a use before definition";
  } catch (const MigrationError& e) {
    EXPECT_EQ(e.diagnostic.message, "pivot verifier: node 0 (linear) uses value %2 before it is defined");
  }
}

TEST(Verify, RejectsAValueIdOutOfRange) {
  Model m = tiny();
  m.nodes[1].inputs = {42};
  EXPECT_THROW(verify(m), MigrationError);
}

TEST(Verify, RejectsACallOfAnUnknownModule) {
  Model m = tiny();
  m.nodes[0].module = "nope";
  try {
    verify(m);
    FAIL();
  } catch (const MigrationError& e) {
    EXPECT_EQ(e.diagnostic.message, "pivot verifier: node 0 calls unknown module `nope`");
  }
}

TEST(Verify, RejectsAnUndefinedOutput) {
  Model m = tiny();
  m.outputs = {7};
  EXPECT_THROW(verify(m), MigrationError);
}

TEST(ToPython, FloatSpellingMatchesPythonRepr) {
  EXPECT_EQ(to_python(Attr(1e-05)), "1e-05");
  EXPECT_EQ(to_python(Attr(0.9)), "0.9");
  EXPECT_EQ(to_python(Attr(1.0)), "1.0");
  EXPECT_EQ(to_python(Attr(0.001)), "0.001");
  EXPECT_EQ(to_python(Attr(1e16)), "1e+16");
  EXPECT_EQ(to_python(Attr(-2.5)), "-2.5");
  EXPECT_EQ(to_python(Attr(0.0001)), "0.0001");
  EXPECT_EQ(to_python(Attr(123456.0)), "123456.0");
  EXPECT_EQ(to_python(Attr(1e15)), "1000000000000000.0");
  EXPECT_EQ(to_python(Attr(0.1 + 0.2)), "0.30000000000000004");
  EXPECT_EQ(to_python(Attr(2.5e-10)), "2.5e-10");
}

TEST(ToPython, OtherLiterals) {
  EXPECT_EQ(to_python(Attr()), "None");
  EXPECT_EQ(to_python(Attr(true)), "True");
  EXPECT_EQ(to_python(Attr(-3)), "-3");
  EXPECT_EQ(to_python(Attr("same")), "\"same\"");
  EXPECT_EQ(to_python(Attr("a\"b")), "\"a\\\"b\"");
  EXPECT_EQ(to_python(Attr(AttrList{3})), "(3,)");
  EXPECT_EQ(to_python(Attr(AttrList{3, 5})), "(3, 5)");
}

TEST(Attr, IntAndFloatCompareByValue) {
  EXPECT_EQ(Attr(1), Attr(1.0));
  EXPECT_NE(Attr(1), Attr(true));
  EXPECT_NE(Attr("1"), Attr(1));
  EXPECT_EQ(Attr(AttrList{1, 2}), Attr(AttrList{1, 2.0}));
  EXPECT_EQ(Attr(AttrList{2, 3}).as_ints(), (std::vector<long long>{2, 3}));
}

TEST(ShapeStr, UnknownDimsAreQuestionMarks) {
  EXPECT_EQ(shape_str({-1, 3, 4}), "(?, 3, 4)");
  EXPECT_EQ(shape_str({-1}), "(?,)");
}

TEST(ToText, ListsModulesAndGraph) {
  std::string t = to_text(tiny());
  EXPECT_NE(t.find("  0: linear (bias=True, in_features=4, out_features=2)\n"), std::string::npos) << t;
  EXPECT_NE(t.find("  %1 = call 0 (linear)(%0)  : (?, 2)\n"), std::string::npos) << t;
  EXPECT_NE(t.find("  %2 = relu(%1)  : (?, 2)\n"), std::string::npos) << t;
  EXPECT_NE(t.find("  return %2\n"), std::string::npos) << t;
}

// Model::find answers from an index (a walk of the module tree per call made every pass
// quadratic): the walk's answers, the first layer of a path in pre-order, while the tree
// grows and paths change as the frontends build it.
LayerPtr layer(const std::string& op, const std::string& path) {
  auto l = std::make_shared<Layer>();
  l->op = op;
  l->path = path;
  return l;
}

TEST(ModelFind, FirstLayerOfAPathInPreOrderOrNull) {
  Model m;
  EXPECT_EQ(m.find(""), nullptr);  // no tree
  m.root = layer("submodel", "");
  auto block = layer("sequential", "block");
  auto a = layer("linear", "block.0"), twin = layer("relu", "block.0");
  block->children = {{"0", a}};
  m.root->children = {{"block", block}, {"twin", twin}};
  EXPECT_EQ(m.find(""), m.root);
  EXPECT_EQ(m.find("block"), block);
  EXPECT_EQ(m.find("block.0"), a);  // before `twin`, which has the same path
  EXPECT_EQ(m.find("missing"), nullptr);
  EXPECT_EQ(m.find("block"), block);  // answers stay the same
}

TEST(ModelFind, FollowsATreeThatGrowsAndPathsThatChange) {
  Model m;
  m.root = layer("functional", "");
  for (int i = 0; i < 50; ++i) {  // functional code: a layer hung off the root, then looked up
    auto l = layer("linear", "dense_" + std::to_string(i));
    m.root->children.emplace_back(l->path, l);
    EXPECT_EQ(m.find(l->path), l);
  }
  auto deep = layer("relu", "inner");
  m.root->children[3].second->children.emplace_back("inner", deep);  // not at the root's end
  EXPECT_EQ(m.find("inner"), deep);
  deep->path = "renamed";
  EXPECT_EQ(m.find("inner"), nullptr);
  EXPECT_EQ(m.find("renamed"), deep);
  Model other;  // a new root is a new tree
  other.root = layer("sequential", "");
  other.root->children = {{"0", layer("linear", "0")}};
  m.root = other.root;
  EXPECT_EQ(m.find("dense_7"), nullptr);
  EXPECT_EQ(m.find("0"), other.root->children[0].second);
}

}  // namespace
}  // namespace nnport::pivot
