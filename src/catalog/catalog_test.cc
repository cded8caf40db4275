#include "catalog/catalog.h"

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

namespace nnport::catalog {
namespace {

using pivot::Attr;

// --- parse_signature: the mini-language of catalog::Param ---------------------------------

TEST(ParseSignature, PlainNameIsRequiredAndBindsItsOwnAttribute) {
  auto ps = parse_signature("in_channels");
  ASSERT_EQ(ps.size(), 1u);
  EXPECT_EQ(ps[0].name, "in_channels");
  EXPECT_EQ(ps[0].attr, "in_channels");
  EXPECT_FALSE(ps[0].default_value.has_value());
  EXPECT_FALSE(ps[0].dropped);
  EXPECT_FALSE(ps[0].default_only);
  EXPECT_FALSE(ps[0].positional);
  EXPECT_FALSE(ps[0].keyword_only);
  EXPECT_EQ(ps[0].converter, "");
}

TEST(ParseSignature, NameColonAttrRenamesTheAttributeAndKeepsTheDefault) {
  auto ps = parse_signature("stride:stride_dim=1");
  ASSERT_EQ(ps.size(), 1u);
  EXPECT_EQ(ps[0].name, "stride");
  EXPECT_EQ(ps[0].attr, "stride_dim");
  ASSERT_TRUE(ps[0].default_value.has_value());
  EXPECT_TRUE(ps[0].default_value->is_int());
  EXPECT_EQ(ps[0].default_value->as_int(), 1);
}

TEST(ParseSignature, CaretMarksPositionalAndIdentifierRhsIsTheFeedingAttribute) {
  auto ps = parse_signature("^filters=out_channels, ^kernel_size=kernel_dim");
  ASSERT_EQ(ps.size(), 2u);
  EXPECT_TRUE(ps[0].positional);
  EXPECT_EQ(ps[0].name, "filters");
  EXPECT_EQ(ps[0].attr, "out_channels");
  EXPECT_FALSE(ps[0].default_value.has_value());  // `out_channels` is an attribute, not a default
  EXPECT_TRUE(ps[1].positional);
  EXPECT_EQ(ps[1].name, "kernel_size");
  EXPECT_EQ(ps[1].attr, "kernel_dim");
}

TEST(ParseSignature, TildeMarksDroppedWithNoAttribute) {
  auto ps = parse_signature("device=None~");
  ASSERT_EQ(ps.size(), 1u);
  EXPECT_EQ(ps[0].name, "device");
  EXPECT_TRUE(ps[0].dropped);
  EXPECT_FALSE(ps[0].default_only);
  EXPECT_EQ(ps[0].attr, "");
  ASSERT_TRUE(ps[0].default_value.has_value());
  EXPECT_TRUE(ps[0].default_value->is_none());
}

TEST(ParseSignature, BangMarksDefaultOnlyWithNoAttribute) {
  auto ps = parse_signature("padding_mode='zeros'!, proj_size=0!");
  ASSERT_EQ(ps.size(), 2u);
  EXPECT_TRUE(ps[0].default_only);
  EXPECT_FALSE(ps[0].dropped);
  EXPECT_EQ(ps[0].attr, "");
  ASSERT_TRUE(ps[0].default_value && ps[0].default_value->is_str());
  EXPECT_EQ(ps[0].default_value->as_str(), "zeros");
  EXPECT_TRUE(ps[1].default_only);
  EXPECT_EQ(ps[1].default_value->as_int(), 0);
}

TEST(ParseSignature, AtNamesTheConverter) {
  auto ps = parse_signature("padding@torch_padding=0");
  ASSERT_EQ(ps.size(), 1u);
  EXPECT_EQ(ps[0].name, "padding");
  EXPECT_EQ(ps[0].converter, "torch_padding");
  EXPECT_EQ(ps[0].default_value->as_int(), 0);
}

TEST(ParseSignature, NameAttrAndConverterTogether) {
  auto ps = parse_signature("strides:stride_dim@pool_strides=None");
  ASSERT_EQ(ps.size(), 1u);
  EXPECT_EQ(ps[0].name, "strides");
  EXPECT_EQ(ps[0].attr, "stride_dim");
  EXPECT_EQ(ps[0].converter, "pool_strides");
  EXPECT_TRUE(ps[0].default_value->is_none());
}

TEST(ParseSignature, StarMakesTheFollowingParametersKeywordOnly) {
  auto ps = parse_signature("input, *, dim=None, keepdim=False");
  ASSERT_EQ(ps.size(), 3u);  // `*` itself is not a parameter
  EXPECT_EQ(ps[0].name, "input");
  EXPECT_FALSE(ps[0].keyword_only);
  EXPECT_TRUE(ps[1].keyword_only);
  EXPECT_TRUE(ps[2].keyword_only);
  EXPECT_TRUE(ps[2].default_value->is_bool());
  EXPECT_FALSE(ps[2].default_value->as_bool());
}

TEST(ParseSignature, LiteralDefaultsKeepTheirTypes) {
  auto ps = parse_signature("eps=1e-05, momentum=0.1, affine=True, end_dim=-1, min_val=-1.0, mode=\"a\"");
  ASSERT_EQ(ps.size(), 6u);
  EXPECT_TRUE(ps[0].default_value->is_float());
  EXPECT_DOUBLE_EQ(ps[0].default_value->as_number(), 1e-05);
  EXPECT_TRUE(ps[1].default_value->is_float());
  EXPECT_DOUBLE_EQ(ps[1].default_value->as_number(), 0.1);
  EXPECT_TRUE(ps[2].default_value->is_bool());
  EXPECT_TRUE(ps[2].default_value->as_bool());
  EXPECT_TRUE(ps[3].default_value->is_int());
  EXPECT_EQ(ps[3].default_value->as_int(), -1);
  EXPECT_TRUE(ps[4].default_value->is_float());
  EXPECT_DOUBLE_EQ(ps[4].default_value->as_number(), -1.0);
  EXPECT_EQ(ps[5].default_value->as_str(), "a");
}

TEST(ParseSignature, CommasInsideQuotesDoNotSplit) {
  auto ps = parse_signature("sep=', ', last");
  ASSERT_EQ(ps.size(), 2u);
  EXPECT_EQ(ps[0].default_value->as_str(), ", ");
  EXPECT_EQ(ps[1].name, "last");
}

// BUG: the splitter keeps `(1, 2)` together (it tracks brackets), but parse_literal() cannot
// read a tuple or list default: it calls std::stoll("(1, 2)") and throws
// std::invalid_argument("stoll"). An entry with such a default in table.cc would make
// Catalog::get() throw during static initialisation. Repro: parse_signature("shape=(1, 2)").
TEST(ParseSignature, DISABLED_TupleDefaultIsAList) {
  std::vector<Param> ps;
  ASSERT_NO_THROW(ps = parse_signature("shape=(1, 2), last"));
  ASSERT_EQ(ps.size(), 2u);
  EXPECT_EQ(*ps[0].default_value, Attr(pivot::AttrList{1, 2}));
  EXPECT_EQ(ps[1].name, "last");
}

TEST(ParseSignature, EmptySpecHasNoParameters) { EXPECT_TRUE(parse_signature("").empty()); }

// --- the table ------------------------------------------------------------------------------

TEST(Catalog, EveryTorchSpellingNamesExactlyOneOp) {
  std::map<std::string, std::string> owner;
  for (const OpDef& d : Catalog::get().ops())
    for (const Signature& s : d.torch)
      for (const std::string& n : s.names) {
        auto [it, inserted] = owner.emplace(n, d.id);
        EXPECT_TRUE(inserted) << n << " is spelled by " << it->second << " and " << d.id;
      }
  EXPECT_GT(owner.size(), 50u);
}

TEST(Catalog, OpIdsAreUnique) {
  std::set<std::string> ids;
  for (const OpDef& d : Catalog::get().ops()) EXPECT_TRUE(ids.insert(d.id).second) << d.id;
}

TEST(Catalog, LookupTorchConv2dFindsTheConv2dModuleSignature) {
  auto m = Catalog::get().lookup("torch", "torch.nn.Conv2d");
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->op->id, "conv2d");
  EXPECT_EQ(m->op->rank, 2);
  EXPECT_EQ(m->op->layout, LayoutRule::Channels);
  EXPECT_FALSE(m->signature->takes_input);
  ASSERT_GE(m->signature->params.size(), 3u);
  EXPECT_EQ(m->signature->params[0].name, "in_channels");
  EXPECT_EQ(m->signature->params[1].name, "out_channels");
  EXPECT_EQ(m->signature->params[2].name, "kernel_size");
  EXPECT_EQ(m->signature->params[2].attr, "kernel_dim");
  const Param* pm = m->signature->find("padding_mode");
  ASSERT_NE(pm, nullptr);
  EXPECT_TRUE(pm->default_only);
}

TEST(Catalog, LookupFunctionalFormTakesTheInput) {
  auto m = Catalog::get().lookup("torch", "torch.nn.functional.relu");
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->op->id, "relu");
  EXPECT_TRUE(m->signature->takes_input);
}

TEST(Catalog, TorchFlattenFunctionDefaultsToStartDimZero) {
  auto fn = Catalog::get().lookup("torch", "torch.flatten");
  auto mod = Catalog::get().lookup("torch", "torch.nn.Flatten");
  ASSERT_TRUE(fn && mod);
  EXPECT_EQ(fn->signature->find("start_dim")->default_value->as_int(), 0);
  EXPECT_EQ(mod->signature->find("start_dim")->default_value->as_int(), 1);
}

TEST(Catalog, LookupUnknownNamesAndWrongFrameworkFail) {
  EXPECT_FALSE(Catalog::get().lookup("torch", "torch.nn.Foo").has_value());
  EXPECT_FALSE(Catalog::get().lookup("torch", "keras.layers.Dense").has_value());
  EXPECT_FALSE(Catalog::get().lookup("keras", "torch.nn.Linear").has_value());
}

TEST(Catalog, KerasDenseIsLinear) {
  auto m = Catalog::get().lookup("keras", "keras.layers.Dense");
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->op->id, "linear");
}

TEST(Catalog, OpByIdAndMissingOp) {
  ASSERT_NE(Catalog::get().op("lstm"), nullptr);
  EXPECT_EQ(Catalog::get().op("lstm")->id, "lstm");
  EXPECT_EQ(Catalog::get().op("no_such_op"), nullptr);
}

TEST(Catalog, BatchNormPivotDefaultsFollowPyTorchAndKerasSpellsEpsilon) {
  const OpDef* bn = Catalog::get().op("batchnorm2d");
  ASSERT_NE(bn, nullptr);
  std::map<std::string, Attr> attrs(bn->attrs.begin(), bn->attrs.end());
  EXPECT_DOUBLE_EQ(attrs.at("eps").as_number(), 1e-5);
  EXPECT_DOUBLE_EQ(attrs.at("momentum").as_number(), 0.1);
  const Param* eps = bn->keras.at(0).find("epsilon");
  ASSERT_NE(eps, nullptr);
  EXPECT_EQ(eps->attr, "eps");
  EXPECT_DOUBLE_EQ(eps->default_value->as_number(), 0.001);
}

TEST(Catalog, LinearKernelIsTransposed) {
  const OpDef* lin = Catalog::get().op("linear");
  ASSERT_EQ(lin->keras_weights.size(), 2u);
  EXPECT_EQ(lin->keras_weights[0].name, "kernel");
  ASSERT_EQ(lin->keras_weights[0].steps.size(), 1u);
  EXPECT_EQ(lin->keras_weights[0].steps[0].op, "transpose");
  EXPECT_EQ(lin->keras_weights[0].steps[0].perm, (std::vector<int>{1, 0}));
  EXPECT_EQ(lin->keras_weights[1].name, "bias");
  EXPECT_TRUE(lin->keras_weights[1].steps.empty());
}

TEST(Catalog, ConvKernelsGoOIHWToHWIO) {
  EXPECT_EQ(Catalog::get().op("conv1d")->keras_weights[0].steps[0].perm, (std::vector<int>{2, 1, 0}));
  EXPECT_EQ(Catalog::get().op("conv2d")->keras_weights[0].steps[0].perm, (std::vector<int>{2, 3, 1, 0}));
  EXPECT_EQ(Catalog::get().op("conv3d")->keras_weights[0].steps[0].perm, (std::vector<int>{2, 3, 4, 1, 0}));
}

TEST(Catalog, GruReordersGatesAndStacksBiases) {
  const OpDef* gru = Catalog::get().op("gru");
  ASSERT_EQ(gru->keras_weights.size(), 3u);
  const TensorRule& bias = gru->keras_weights[2];
  EXPECT_EQ(bias.combine, "stack");
  EXPECT_EQ(bias.from, (std::vector<std::string>{"bias_ih_l{l}{d}", "bias_hh_l{l}{d}"}));
  ASSERT_EQ(gru->keras_weights[0].steps.size(), 2u);
  EXPECT_EQ(gru->keras_weights[0].steps[1].op, "reorder_blocks");
  EXPECT_EQ(gru->keras_weights[0].steps[1].blocks, 3);
  EXPECT_EQ(gru->keras_weights[0].steps[1].order, (std::vector<int>{1, 0, 2}));
}

TEST(Catalog, EveryOpWithTorchTensorsHasKerasWeights) {
  for (const OpDef& d : Catalog::get().ops()) {
    if (!d.torch_tensor_params.empty()) {
      EXPECT_FALSE(d.keras_weights.empty()) << d.id;
    }
  }
}

// --- JSON export ----------------------------------------------------------------------------

TEST(CatalogJson, IsValidJsonWithVersionAndEveryOp) {
  nlohmann::json j = nlohmann::json::parse(Catalog::get().to_json());
  EXPECT_EQ(j.at("version"), "nnport.catalog/1");
  ASSERT_TRUE(j.at("ops").is_array());
  EXPECT_EQ(j["ops"].size(), Catalog::get().ops().size());
  std::set<std::string> ids;
  for (const auto& op : j["ops"]) ids.insert(op.at("id").get<std::string>());
  EXPECT_TRUE(ids.count("conv2d"));
  EXPECT_TRUE(ids.count("lstm"));
  EXPECT_TRUE(ids.count("linear"));
}

TEST(CatalogJson, LinearEntryCarriesSignaturesAndWeights) {
  nlohmann::json j = nlohmann::json::parse(Catalog::get().to_json());
  const nlohmann::json* lin = nullptr;
  for (const auto& op : j["ops"])
    if (op["id"] == "linear") lin = &op;
  ASSERT_NE(lin, nullptr);
  EXPECT_EQ((*lin)["kind"], "layer");
  EXPECT_EQ((*lin)["layout"], "last_axis");
  EXPECT_EQ((*lin)["torch"][0]["names"][0], "torch.nn.Linear");
  EXPECT_EQ((*lin)["torch"][0]["params"][0]["name"], "in_features");
  EXPECT_EQ((*lin)["torch"][0]["params"][0]["required"], true);
  EXPECT_EQ((*lin)["torch"][0]["params"][2]["name"], "bias");
  EXPECT_EQ((*lin)["torch"][0]["params"][2]["default"], true);
  EXPECT_EQ((*lin)["keras"][0]["names"][0], "keras.layers.Dense");
  EXPECT_EQ((*lin)["keras"][0]["params"][0]["positional"], true);
  EXPECT_EQ((*lin)["torch_tensors"], nlohmann::json({"weight", "bias"}));
  EXPECT_EQ((*lin)["keras_weights"][0]["steps"][0], nlohmann::json({{"op", "transpose"}, {"perm", {1, 0}}}));
}

}  // namespace
}  // namespace nnport::catalog
