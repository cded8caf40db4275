// The Keras frontend, through `inspect`: spellings, model styles, input specifications,
// activation resolution and the Keras conventions it converts into the pivot.
#include "frontends/keras/keras_frontend.h"

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

// `layers.X(...)` as the one layer of a subclassed model applied to `inputs`.
std::string one_layer(const std::string& ctor, const std::string& extra_init = "", const std::string& params = "") {
  return "import keras\n"
         "from keras import layers\n"
         "\n"
         "class Net(keras.Model):\n"
         "    def __init__(self" + params + "):\n"
         "        super().__init__()\n" + extra_init +
         "        self.m = " + ctor + "\n"
         "\n"
         "    def call(self, inputs):\n"
         "        return self.m(inputs)\n";
}

json attrs_of(const std::string& source, const std::vector<std::string>& shapes, const std::string& path = "m") {
  json pj = pivot_json(source, opts(shapes));
  const json* l = find_layer(pj["modules"], path);
  EXPECT_TRUE(l) << pj.dump(1);
  return l ? l->at("attrs") : json::object();
}

std::vector<std::string> ops(const json& pj) {
  std::vector<std::string> out;
  for (const auto& n : pj.at("graph")) out.push_back(n["op"]);
  return out;
}

Result inspect_text(const std::string& source, const Options& o = {}) { return inspect(source, "model.py", o, "json"); }

TEST(KerasFrontend, EveryImportSpellingNamesTheSameLayer) {
  const std::vector<std::string> sources = {
      "import tensorflow as tf\nmodel = tf.keras.Sequential([tf.keras.layers.Dense(4, input_shape=(3,))])\n",
      "import keras\nmodel = keras.Sequential([keras.layers.Dense(4, input_shape=(3,))])\n",
      "from tensorflow.keras import layers, Sequential\nmodel = Sequential([layers.Dense(4, input_shape=(3,))])\n",
      "from keras.layers import Dense\nfrom keras.models import Sequential\n"
      "model = Sequential([Dense(4, input_shape=(3,))])\n",
      "from tensorflow.keras.models import Sequential\nfrom tensorflow.keras.layers import Dense\n"
      "model = Sequential()\nmodel.add(Dense(4, input_shape=(3,)))\n",
      "from tensorflow import keras\nmodel = keras.models.Sequential([keras.layers.Dense(4, input_dim=3)])\n",
  };
  for (const auto& s : sources) {
    json pj = pivot_json(s, opts({}));
    const json* l = find_layer(pj["modules"], "0");
    ASSERT_TRUE(l) << s;
    EXPECT_EQ(l->at("op"), "linear") << s;
    EXPECT_EQ(l->at("attrs")["in_features"], 3) << s;
    EXPECT_EQ(l->at("attrs")["out_features"], 4) << s;
  }
}

TEST(KerasFrontend, SequentialListAndAddGiveTheSameModel) {
  json a = pivot_json("import keras\nfrom keras import layers\n"
                      "model = keras.Sequential([keras.Input(shape=(8, 8, 3)), layers.Conv2D(4, 3), layers.Flatten()])\n",
                      opts({}));
  json b = pivot_json("import keras\nfrom keras import layers\n"
                      "model = keras.Sequential()\nmodel.add(layers.Conv2D(4, 3, input_shape=(8, 8, 3)))\n"
                      "model.add(layers.Flatten())\n",
                      opts({}));
  EXPECT_EQ(a["modules"], b["modules"]);
  EXPECT_EQ(ops(a), ops(b));
}

TEST(KerasFrontend, InputShapeSources) {
  auto in_features = [](const std::string& src, const std::vector<std::string>& shapes) {
    json pj = pivot_json(src, opts(shapes));
    const json* l = find_layer(pj["modules"], "m");
    if (!l) l = find_layer(pj["modules"], "0");
    return l ? l->at("attrs")["in_features"] : json();
  };
  // --input-shape
  EXPECT_EQ(in_features(one_layer("layers.Dense(2)"), {"5"}), 5);
  // model.build((None, ...)) in the file
  EXPECT_EQ(in_features(one_layer("layers.Dense(2)") + "\nmodel = Net()\nmodel.build((None, 7))\n", {}), 7);
  // input_shape= on the first layer of a Sequential, and --input-shape wins over it
  std::string seq = "import keras\nmodel = keras.Sequential([keras.layers.Dense(2, input_shape=(6,))])\n";
  EXPECT_EQ(in_features(seq, {}), 6);
  EXPECT_EQ(in_features(seq, {"9"}), 9);
  // keras.Input in the functional API
  json pj = pivot_json("import keras\nx = keras.Input(shape=(11,))\ny = keras.layers.Dense(2)(x)\n"
                       "model = keras.Model(x, y)\n",
                       opts({}));
  EXPECT_EQ(pj["modules"]["children"][0]["layer"]["attrs"]["in_features"], 11);
}

TEST(KerasFrontend, MissingInputShapeLeavesSizesUnknownForTheBackendToReport) {
  json a = attrs_of(one_layer("layers.Dense(2)"), {});
  EXPECT_TRUE(a["in_features"].is_null());
}

TEST(KerasFrontend, FlattenAfterSameStrideTwoConvolutions) {
  // 32 -> 16 -> 8 with 'same' and stride 2; 15 -> 8 -> 4 (TensorFlow rounds up)
  std::string src =
      "import keras\nfrom keras import layers\n"
      "model = keras.Sequential([layers.Conv2D(8, 3, strides=2, padding='same'),\n"
      "                          layers.Conv2D(4, 5, strides=2, padding='same'),\n"
      "                          layers.Flatten(), layers.Dense(3)])\n";
  json a = pivot_json(src, opts({"32,32,3"}));
  EXPECT_EQ(find_layer(a["modules"], "3")->at("attrs")["in_features"], 8 * 8 * 4);
  EXPECT_EQ(find_layer(a["modules"], "1")->at("attrs")["in_channels"], 8);
  json b = pivot_json(src, opts({"15,15,3"}));
  EXPECT_EQ(find_layer(b["modules"], "3")->at("attrs")["in_features"], 4 * 4 * 4);
  // 'valid' with stride 2: floor((15 - 3) / 2) + 1 = 7
  std::string valid = "import keras\nfrom keras import layers\n"
                      "model = keras.Sequential([layers.Conv2D(8, 3, strides=2), layers.Flatten(), layers.Dense(3)])\n";
  EXPECT_EQ(find_layer(pivot_json(valid, opts({"15,15,3"}))["modules"], "2")->at("attrs")["in_features"], 7 * 7 * 8);
}

TEST(KerasFrontend, FillsEverySizePyTorchNeeds) {
  std::string src =
      "import keras\nfrom keras import layers\n"
      "model = keras.Sequential([layers.Embedding(50, 6), layers.Conv1D(4, 3), layers.BatchNormalization(),\n"
      "                          layers.LayerNormalization(), layers.LSTM(5, return_sequences=True),\n"
      "                          layers.GRU(3), layers.Dense(2)])\n";
  json pj = pivot_json(src, opts({"int64:10"}));
  EXPECT_EQ(find_layer(pj["modules"], "1")->at("attrs")["in_channels"], 6);
  EXPECT_EQ(find_layer(pj["modules"], "2")->at("op"), "batchnorm1d");
  EXPECT_EQ(find_layer(pj["modules"], "2")->at("attrs")["num_features"], 4);
  EXPECT_EQ(find_layer(pj["modules"], "3")->at("attrs")["normalized_shape"], 4);
  EXPECT_EQ(find_layer(pj["modules"], "4")->at("attrs")["input_size"], 4);
  EXPECT_EQ(find_layer(pj["modules"], "5")->at("attrs")["input_size"], 5);
  EXPECT_EQ(find_layer(pj["modules"], "6")->at("attrs")["in_features"], 3);
}

TEST(KerasFrontend, ActivationForms) {
  auto act = [](const std::string& value, const std::string& init = "", const std::string& params = "",
                const std::string& head = "") {
    std::string src = one_layer("layers.Dense(4, activation=" + value + ")", init, params);
    src.insert(src.find("\nclass"), head);
    return attrs_of(src, {"3"})["actv_func"];
  };
  EXPECT_EQ(act("\"relu\""), "relu");
  EXPECT_EQ(act("'sigmoid'"), "sigmoid");
  EXPECT_EQ(act("None"), nullptr);
  EXPECT_EQ(act("'linear'"), nullptr);
  EXPECT_EQ(act("keras.activations.tanh"), "tanh");
  EXPECT_EQ(act("\"swish\""), "silu");
  EXPECT_EQ(act("tf.nn.relu", "", "", "\nimport tensorflow as tf\n"), "relu");
  EXPECT_EQ(act("tf.keras.activations.softmax", "", "", "\nimport tensorflow as tf\n"), "softmax");
  // through a module-level variable, a constructor parameter and an attribute
  EXPECT_EQ(act("ACT", "", "", "\nACT = 'elu'\n"), "elu");
  EXPECT_EQ(act("act", "", ", act='gelu'"), "gelu");
  EXPECT_EQ(act("self.act", "        self.act = act\n", ", act='selu'"), "selu");
}

TEST(KerasFrontend, UnresolvableActivationWarnsAndIsResolvedAtRunTime) {
  std::string src = one_layer("layers.Dense(4, activation=os.environ['ACT'])");
  src.insert(src.find("\nclass"), "\nimport os\n");
  Options o = opts({"3"});
  Result r = inspect_text(src, o);
  ASSERT_TRUE(r.ok) << r.rendered_diagnostics;
  EXPECT_EQ(json::parse(r.output)["modules"]["children"][0]["layer"]["attrs"]["actv_func"], "runtime:");
  ASSERT_FALSE(r.diagnostics.empty());
  EXPECT_NE(r.diagnostics[0].message.find("cannot be resolved statically"), std::string::npos);
  EXPECT_EQ(r.diagnostics[0].loc.line, 9u);
}

TEST(KerasFrontend, ActivationLayersBecomeTheirActivation) {
  EXPECT_EQ(pivot_json(one_layer("layers.Activation('tanh')"), opts({"3"}))["modules"]["children"][0]["layer"]["op"],
            "tanh");
  json leaky = pivot_json(one_layer("layers.LeakyReLU()"), opts({"3"}))["modules"]["children"][0]["layer"];
  EXPECT_EQ(leaky["op"], "leaky_relu");
  EXPECT_DOUBLE_EQ(leaky["attrs"]["negative_slope"].get<double>(), 0.3);  // Keras's default, not PyTorch's 0.01
  json fn = pivot_json(one_layer("layers.Activation('leaky_relu')"), opts({"3"}))["modules"]["children"][0]["layer"];
  EXPECT_DOUBLE_EQ(fn["attrs"]["negative_slope"].get<double>(), 0.2);  // keras.activations.leaky_relu
  EXPECT_EQ(pivot_json(one_layer("layers.ReLU(max_value=6.0)"), opts({"3"}))["modules"]["children"][0]["layer"]["op"],
            "relu6");
}

TEST(KerasFrontend, BatchNormalizationConventions) {
  json a = attrs_of(one_layer("layers.BatchNormalization()"), {"4,4,3"});
  EXPECT_DOUBLE_EQ(a["eps"].get<double>(), 1e-3);
  EXPECT_NEAR(a["momentum"].get<double>(), 0.01, 1e-12);  // PyTorch's momentum = 1 - Keras's
  EXPECT_EQ(a["num_features"], 3);                         // the last axis
  json b = attrs_of(one_layer("layers.BatchNormalization(momentum=0.9, epsilon=1e-5, center=False, scale=False)"),
                    {"3"});
  EXPECT_NEAR(b["momentum"].get<double>(), 0.1, 1e-12);
  EXPECT_EQ(b["affine"], false);
}

TEST(KerasFrontend, PoolingStridesDefaultToThePoolSize) {
  json a = attrs_of(one_layer("layers.MaxPooling2D(3)"), {"9,9,2"});
  EXPECT_EQ(a["stride_dim"], 3);
  json b = attrs_of(one_layer("layers.AveragePooling2D((2, 2), strides=1, padding='same')"), {"9,9,2"});
  EXPECT_EQ(b["stride_dim"], 1);
  EXPECT_EQ(b["count_include_pad"], false);  // TensorFlow averages over the real elements
}

TEST(KerasFrontend, RecurrentOutputsFollowKeras) {
  std::string src =
      "import keras\nfrom keras import layers\n"
      "class Net(keras.Model):\n"
      "    def __init__(self):\n"
      "        super().__init__()\n"
      "        self.a = layers.Bidirectional(layers.LSTM(4, return_sequences=True), merge_mode='sum')\n"
      "        self.b = layers.GRU(3, return_state=True)\n"
      "\n"
      "    def call(self, x):\n"
      "        y = self.a(x)\n"
      "        out, state = self.b(y)\n"
      "        return out + state\n";
  json pj = pivot_json(src, opts({"7,5"}));
  const json* a = find_layer(pj["modules"], "a");
  EXPECT_EQ(a->at("attrs")["bidirectional"], true);
  EXPECT_EQ(a->at("attrs")["merge_mode"], "sum");
  EXPECT_EQ(a->at("output_shape"), json({-1, 7, 4}));  // summed directions keep 4 features
  EXPECT_EQ(find_layer(pj["modules"], "b")->at("output_shape"), json({-1, 3}));
  EXPECT_EQ(ops(pj), (std::vector<std::string>{"lstm", "gru", "add"}));
}

TEST(KerasFrontend, FunctionalModelWithSharedLayerAndTwoInputs) {
  std::string src =
      "import keras\nfrom keras import layers\n"
      "a = keras.Input(shape=(4,), name='a')\n"
      "b = keras.Input(shape=(4,), name='b')\n"
      "shared = layers.Dense(3, name='shared')\n"
      "merged = layers.add([shared(a), shared(b)])\n"
      "unused = layers.Dense(9)(a)\n"
      "model = keras.Model(inputs=[a, b], outputs=layers.Dense(1)(merged))\n";
  json pj = pivot_json(src, opts({}));
  EXPECT_EQ(pj["modules"]["children"].size(), 2u);  // shared and dense_1: the unused layer is not the model's
  EXPECT_EQ(ops(pj), (std::vector<std::string>{"linear", "linear", "add", "linear"}));
  EXPECT_EQ(pj["inputs"].size(), 2u);
}

TEST(KerasFrontend, UnsupportedConstructsAreLocatedErrors) {
  Result r = inspect_text(one_layer("layers.Conv2D(4, 3, data_format='channels_first')"), opts({"3,8,8"}));
  ASSERT_FALSE(r.ok);
  EXPECT_NE(r.rendered_diagnostics.find("model.py:7:"), std::string::npos) << r.rendered_diagnostics;
  EXPECT_NE(r.rendered_diagnostics.find("channels_first"), std::string::npos);
  Result m = inspect_text(one_layer("layers.Embedding(10, 4, mask_zero=True)"), opts({"int64:5"}));
  ASSERT_FALSE(m.ok);
  EXPECT_NE(m.rendered_diagnostics.find("mask_zero"), std::string::npos);
  Result u = inspect_text(one_layer("layers.Conv2D(4, 3, padding='causal')"), opts({"8,8,3"}));
  ASSERT_FALSE(u.ok);
  EXPECT_NE(u.rendered_diagnostics.find("padding"), std::string::npos);
}

}  // namespace
}  // namespace nnport
