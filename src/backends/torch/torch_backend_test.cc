// The PyTorch backend: exact pieces of the generated code for each construct and trap
// of the Keras -> PyTorch direction.
#include "backends/torch/torch_backend.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "driver/driver.h"

namespace nnport {
namespace {

Options opts(const std::vector<std::string>& shapes, const std::string& style = "", const std::string& layout = "keep") {
  Options o;
  o.to = "torch";
  o.style = style;
  o.layout = layout;
  for (const auto& s : shapes) o.input_shapes.push_back(parse_input_spec(s));
  return o;
}

std::string torch(const std::string& source, const Options& o) {
  Result r = convert(source, "model.py", o);
  EXPECT_TRUE(r.ok) << r.rendered_diagnostics;
  return r.output;
}

// `model = keras.Sequential([<layers>])`, in the sequential style.
std::string seq(const std::string& layers, const std::string& shape, const std::string& layout = "keep") {
  return torch("import keras\nfrom keras import layers\n\nmodel = keras.Sequential([" + layers + "])\n",
               opts({shape}, "", layout));
}

// A subclass applying `self.m` (built by `ctor`) to its input.
std::string sub(const std::string& ctor, const std::string& shape) {
  return torch("import keras\nfrom keras import layers\n\n\nclass Net(keras.Model):\n    def __init__(self):\n"
               "        super().__init__()\n        self.m = " + ctor + "\n\n    def call(self, x):\n"
               "        return self.m(x)\n",
               opts({shape}));
}

#define EXPECT_CONTAINS(haystack, needle) \
  EXPECT_NE((haystack).find(needle), std::string::npos) << "missing: " << (needle) << "\nin:\n" << (haystack)
#define EXPECT_LACKS(haystack, needle) \
  EXPECT_EQ((haystack).find(needle), std::string::npos) << "unexpected: " << (needle) << "\nin:\n" << (haystack)

TEST(TorchBackend, DenseGetsItsInferredInFeatures) {
  EXPECT_CONTAINS(seq("layers.Dense(5)", "12"), "nn.Linear(12, 5)");
  EXPECT_CONTAINS(seq("layers.Dense(5, use_bias=False)", "12"), "nn.Linear(12, 5, bias=False)");
}

TEST(TorchBackend, ActivationArgumentBecomesAModuleInSequentialAndAFunctionInForward) {
  std::string s = seq("layers.Dense(5, activation='relu')", "3");
  EXPECT_CONTAINS(s, "nn.Linear(3, 5),\n    nn.ReLU(),");
  std::string c = sub("layers.Dense(5, activation='relu')", "3");
  EXPECT_CONTAINS(c, "return F.relu(self.m(x))");
  EXPECT_CONTAINS(c, "import torch.nn.functional as F");
  EXPECT_CONTAINS(sub("layers.Dense(5, activation='softmax')", "3"), "F.softmax(self.m(x), dim=-1)");
  EXPECT_CONTAINS(sub("layers.Dense(5, activation='sigmoid')", "3"), "torch.sigmoid(self.m(x))");
}

TEST(TorchBackend, KerasDefaultsThatDifferFromPyTorchAreWrittenOut) {
  // LeakyReLU: Keras's layer default slope 0.3, the leaky_relu function's 0.2, PyTorch's 0.01
  EXPECT_CONTAINS(seq("layers.LeakyReLU()", "3"), "nn.LeakyReLU(negative_slope=0.3)");
  EXPECT_CONTAINS(seq("layers.Dense(2, activation='leaky_relu')", "3"), "nn.LeakyReLU(negative_slope=0.2)");
  // BatchNormalization: epsilon 1e-3 and momentum 0.99 (PyTorch: 1e-5 and 0.1 with the opposite meaning)
  EXPECT_CONTAINS(seq("layers.BatchNormalization()", "4,4,3"), "nn.BatchNorm2d(3, eps=0.001, momentum=0.01)");
  EXPECT_CONTAINS(seq("layers.LayerNormalization()", "6"), "nn.LayerNorm(6, eps=0.001)");
}

TEST(TorchBackend, SamePaddingWithStrideTwoPadsTheEndLikeTensorFlow) {
  // 28 wide, kernel 3, stride 2: TensorFlow pads 0 before and 1 after
  std::string s = sub("layers.Conv2D(4, 3, strides=2, padding='same')", "28,28,1");
  EXPECT_CONTAINS(s, "nn.Conv2d(1, 4, 3, stride=2)");
  EXPECT_CONTAINS(s, "F.pad(x.permute(0, 3, 1, 2), (0, 1, 0, 1))");
  std::string q = seq("layers.Conv2D(4, 3, strides=2, padding='same')", "28,28,1");
  EXPECT_CONTAINS(q, "nn.ZeroPad2d((0, 1, 0, 1))");
  // 27 wide: the padding is symmetric, PyTorch's own padding does it
  EXPECT_CONTAINS(seq("layers.Conv2D(4, 3, strides=2, padding='same')", "27,27,1"), "nn.Conv2d(1, 4, 3, stride=2, padding=1)");
  // stride 1: PyTorch's padding="same" pads like TensorFlow
  EXPECT_CONTAINS(seq("layers.Conv2D(4, 4, padding='same')", "8,8,1"), "nn.Conv2d(1, 4, 4, padding=\"same\")");
  // max pooling pads with -inf, which TensorFlow's 'same' ignores as well
  EXPECT_CONTAINS(seq("layers.MaxPooling2D(2, padding='same')", "5,5,1"), "nn.ConstantPad2d((0, 1, 0, 1), float(\"-inf\"))");
}

TEST(TorchBackend, PoolingKeepsKerasStridesAndAveragesRealElements) {
  EXPECT_CONTAINS(seq("layers.MaxPooling2D((2, 2))", "8,8,3"), "nn.MaxPool2d((2, 2))");
  EXPECT_CONTAINS(seq("layers.MaxPooling2D(3, strides=2)", "9,9,3"), "nn.MaxPool2d(3, stride=2)");
  EXPECT_CONTAINS(seq("layers.AveragePooling2D(3, strides=1, padding='same')", "9,9,3"),
                  "nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)");
  EXPECT_CONTAINS(seq("layers.GlobalAveragePooling2D()", "4,4,3"), "nn.AdaptiveAvgPool2d(1), nn.Flatten()");
}

TEST(TorchBackend, KeepLayoutPermutesOnlyAtTheConvolutionRegionsEdges) {
  std::string s = seq("layers.Conv2D(4, 3), layers.ReLU(), layers.Conv2D(4, 3), layers.Flatten(), layers.Dense(2)",
                      "8,8,3");
  EXPECT_CONTAINS(s, "Permute(0, 3, 1, 2),\n    nn.Conv2d(3, 4, 3),");
  EXPECT_CONTAINS(s, "Permute(0, 2, 3, 1),\n    nn.Flatten(),");  // Flatten in Keras's element order
  EXPECT_EQ(s.find("Permute(0, 3, 1, 2),", s.find("nn.ReLU()")), std::string::npos);
  // native: channel-first input, no permutes; the weight plan reorders the Dense
  std::string n = seq("layers.Conv2D(4, 3), layers.Flatten(), layers.Dense(2)", "8,8,3", "native");
  EXPECT_LACKS(n, "Permute(");
  EXPECT_CONTAINS(n, "nn.Linear(144, 2)");
}

TEST(TorchBackend, RecurrentLayersKeepKerasOutputs) {
  std::string s = sub("layers.LSTM(4)", "7,3");
  EXPECT_CONTAINS(s, "self.m = KerasLSTM(3, 4)");
  EXPECT_CONTAINS(s, "class KerasLSTM(KerasRecurrent, nn.LSTM):");
  EXPECT_CONTAINS(s, "super().__init__(*args, batch_first=True, **kwargs)");
  EXPECT_CONTAINS(sub("layers.GRU(4, return_sequences=True)", "7,3"), "KerasGRU(3, 4, return_sequences=True)");
  EXPECT_CONTAINS(sub("layers.Bidirectional(layers.SimpleRNN(4), merge_mode='ave')", "7,3"),
                  "KerasSimpleRNN(3, 4, bidirectional=True, merge_mode=\"ave\")");
  // nn.GRU is reset_after=True; reset_after=False gets its own recurrence, same parameters
  std::string g = seq("layers.GRU(4, reset_after=False)", "7,3");
  EXPECT_CONTAINS(g, "KerasGRUResetBefore(3, 4)");
  EXPECT_CONTAINS(g, "class GRUResetBefore(nn.GRU):");
  EXPECT_CONTAINS(g, "n = torch.tanh(x_n + nn.functional.linear(r * h, w_hn, b_hn))");
}

TEST(TorchBackend, UnknownInputSizeNamesTheLayerTheAttributeAndTheFlags) {
  Result r = convert("import keras\nfrom keras import layers\n\n\nclass Net(keras.Model):\n    def __init__(self):\n"
                     "        super().__init__()\n        self.fc = layers.Dense(5)\n\n    def call(self, x):\n"
                     "        return self.fc(x)\n",
                     "model.py", opts({}));
  ASSERT_FALSE(r.ok);
  EXPECT_CONTAINS(r.rendered_diagnostics, "`in_features` of layer `fc`");
  EXPECT_CONTAINS(r.rendered_diagnostics, "--input-shape");
  EXPECT_CONTAINS(r.rendered_diagnostics, "--lazy");
  Options lazy = opts({});
  lazy.lazy = true;
  Result l = convert("import keras\nfrom keras import layers\nmodel = keras.Sequential([layers.Dense(5)])\n", "model.py",
                     lazy);
  ASSERT_TRUE(l.ok) << l.rendered_diagnostics;
  EXPECT_CONTAINS(l.output, "nn.LazyLinear(5)");
}

TEST(TorchBackend, SubclassKeepsNamesSignaturesAndParameterExpressions) {
  std::string s = torch(
      "import keras\nfrom keras import layers\n\n\nclass Net(keras.Model):\n"
      "    def __init__(self, units=8, num_classes=3, **kwargs):\n"
      "        super().__init__(**kwargs)\n"
      "        self.hidden = layers.Dense(units, activation='tanh')\n"
      "        self.drop = layers.Dropout(0.25)\n"
      "        self.out = layers.Dense(num_classes)\n\n"
      "    def call(self, inputs, training=False):\n"
      "        x = self.hidden(inputs)\n"
      "        x = self.drop(x, training=training)\n"
      "        return self.out(x)\n",
      opts({"4"}));
  EXPECT_CONTAINS(s, "class Net(nn.Module):");
  EXPECT_CONTAINS(s, "def __init__(self, units=8, num_classes=3, **kwargs):");
  EXPECT_CONTAINS(s, "super().__init__()\n");
  EXPECT_CONTAINS(s, "self.hidden = nn.Linear(4, units)");
  EXPECT_CONTAINS(s, "self.out = nn.Linear(8, num_classes)");
  EXPECT_CONTAINS(s, "def forward(self, inputs):");
  EXPECT_CONTAINS(s, "x = self.drop(x)\n");
  EXPECT_CONTAINS(s, "x = torch.tanh(self.hidden(inputs))");
}

TEST(TorchBackend, MergeLayersBecomeOperators) {
  std::string s = torch(
      "import keras\nfrom keras import layers\n\n\nclass Net(keras.Model):\n    def __init__(self):\n"
      "        super().__init__()\n        self.a = layers.Dense(4)\n        self.b = layers.Dense(4)\n"
      "        self.cat = layers.Concatenate()\n        self.add = layers.Add()\n\n"
      "    def call(self, x):\n        return self.cat([self.a(x), self.add([self.b(x), x])])\n",
      opts({"4"}));
  EXPECT_LACKS(s, "self.cat =");
  EXPECT_CONTAINS(s, "return torch.cat([self.a(x), self.b(x) + x], dim=-1)");
}

TEST(TorchBackend, RuntimeActivationHelper) {
  std::string s = torch("import os\n\nimport keras\nfrom keras import layers\n\n"
                        "model = keras.Sequential([layers.Dense(4, activation=os.environ.get('ACT'))])\n",
                        opts({"3"}));
  EXPECT_CONTAINS(s, "class Activation(nn.Module):");
  EXPECT_CONTAINS(s, "Activation(os.environ.get(\"ACT\"))");
}

TEST(TorchBackend, FunctionalModelBecomesAClassWithTheSameEntry) {
  std::string s = torch(
      "import keras\nfrom keras import layers\n\n"
      "a = keras.Input(shape=(4,), name='a')\nb = keras.Input(shape=(2,), name='b')\n"
      "h = layers.Dense(3, activation='relu')(a)\n"
      "model = keras.Model([a, b], layers.Dense(1)(layers.concatenate([h, b])), name='pair_model')\n",
      opts({}));
  EXPECT_CONTAINS(s, "class PairModel(nn.Module):");
  EXPECT_CONTAINS(s, "self.dense = nn.Linear(4, 3)");
  EXPECT_CONTAINS(s, "self.dense_1 = nn.Linear(5, 1)");
  EXPECT_CONTAINS(s, "def forward(self, a, b):");
  EXPECT_CONTAINS(s, "torch.cat([x, b], dim=-1)");
  EXPECT_CONTAINS(s, "model = PairModel()");
  EXPECT_LACKS(s, "keras");
}

TEST(TorchBackend, StyleChanges) {
  std::string src = "import keras\nfrom keras import layers\n\n\nclass Net(keras.Model):\n"
                    "    def __init__(self, n=2):\n        super().__init__()\n        self.fc = layers.Dense(n)\n\n"
                    "    def call(self, x):\n        return self.fc(x)\n";
  std::string s = torch(src, opts({"3"}, "sequential"));
  EXPECT_CONTAINS(s, "def Net(n=2):\n    return nn.Sequential(\n        nn.Linear(3, n),\n    )");
  std::string c = torch("import keras\nmodel = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])\n",
                        opts({}, "subclass"));
  EXPECT_CONTAINS(c, "class Model(nn.Module):");
  EXPECT_CONTAINS(c, "self.fc1 = nn.Linear(3, 2)");
  EXPECT_CONTAINS(c, "model = Model()");
  Result branchy = convert(
      "import keras\nx = keras.Input(shape=(3,))\nmodel = keras.Model(x, keras.layers.add([x, keras.layers.Dense(3)(x)]))\n",
      "model.py", opts({}, "sequential"));
  ASSERT_FALSE(branchy.ok);
  EXPECT_CONTAINS(branchy.rendered_diagnostics, "one chain");
}

TEST(TorchBackend, SummaryAndBuildAreLeftOutSilently) {
  Result r = convert("import keras\nmodel = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])\n"
                     "model.summary()\n",
                     "model.py", opts({}));
  ASSERT_TRUE(r.ok) << r.rendered_diagnostics;
  EXPECT_LACKS(r.output, "summary");
  EXPECT_TRUE(r.diagnostics.empty());
}

// Functional code becomes a forward whose new variables are x, x1, x2, ...: each the first
// name not taken (the search resumes where the last one stopped instead of starting at x).
TEST(TorchBackend, FreshVariableNamesAreUniqueAndInOrder) {
  std::string src = "import keras\nfrom keras import layers\n\ninputs = keras.Input(shape=(8,), name=\"x2\")\n"
                    "x = layers.Dense(8)(inputs)\n";
  for (int i = 0; i < 6; ++i) src += "y = layers.Dense(8)(x)\nx = layers.add([x, y])\n";
  src += "outputs = layers.Dense(2)(x)\nmodel = keras.Model(inputs, outputs)\n";
  std::string out = torch(src, opts({}));
  EXPECT_EQ(out, torch(src, opts({})));  // the same names every time
  // the input is called x2: fresh names skip it
  EXPECT_NE(out.find("    def forward(self, x2):\n        x2 = self.dense(x2)\n        x = self.dense_1(x2)\n"
                     "        x1 = x2 + x\n        x3 = self.dense_2(x1)\n        x4 = x1 + x3\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("        x12 = x10 + x11\n        return self.dense_7(x12)\n"), std::string::npos) << out;
}

}  // namespace
}  // namespace nnport
