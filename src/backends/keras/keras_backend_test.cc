// The Keras backend: exact pieces of the generated code for each construct.
#include "backends/keras/keras_backend.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "driver/driver.h"

namespace nnport {
namespace {

Options opts(const std::vector<std::string>& shapes, const std::string& entry = "", const std::string& style = "") {
  Options o;
  o.to = "keras";
  o.entry = entry;
  o.style = style;
  for (const auto& s : shapes) o.input_shapes.push_back(parse_input_spec(s));
  return o;
}

std::string keras(const std::string& source, const Options& o, const std::string& file = "model.py") {
  Result r = convert(source, file, o);
  EXPECT_TRUE(r.ok) << r.rendered_diagnostics;
  return r.output;
}

std::string example(const std::string& name) {
  std::ifstream in(std::string(NNPORT_SOURCE_DIR) + "/examples/torch/" + name);
  EXPECT_TRUE(in.good()) << name;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// `model = nn.Sequential(<layers>)` converted in the sequential style.
std::string seq(const std::string& layers, const std::string& shape) {
  return keras("import torch.nn as nn\n\nmodel = nn.Sequential(" + layers + ")\n", opts({shape}));
}

#define EXPECT_CONTAINS(haystack, needle) \
  EXPECT_NE((haystack).find(needle), std::string::npos) << "missing: " << (needle) << "\nin:\n" << (haystack)
#define EXPECT_LACKS(haystack, needle) \
  EXPECT_EQ((haystack).find(needle), std::string::npos) << "unexpected: " << (needle) << "\nin:\n" << (haystack)

TEST(KerasBackend, LinearBecomesDenseWithUnitsOnly) {
  std::string out = seq("nn.Linear(12, 5)", "12");
  std::string code = out.substr(out.find('\n') + 1);  // the header names the input shape
  EXPECT_CONTAINS(code, "layers.Dense(5)");
  EXPECT_LACKS(code, "12");  // Keras infers the kernel's input size
  EXPECT_LACKS(out, "input_dim");
}

TEST(KerasBackend, LinearWithoutBias) { EXPECT_CONTAINS(seq("nn.Linear(12, 5, bias=False)", "12"), "layers.Dense(5, use_bias=False)"); }

TEST(KerasBackend, ConvPaddingOneKernelThreeIsSame) {
  std::string out = seq("nn.Conv2d(3, 8, 3, padding=1)", "3,16,16");
  EXPECT_CONTAINS(out, "layers.Conv2D(8, 3, padding=\"same\")");
  EXPECT_LACKS(out, "ZeroPadding2D");
}

TEST(KerasBackend, ConvExplicitPaddingWithStrideBecomesZeroPadding) {
  std::string out = seq("nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2)", "3,64,64");
  EXPECT_CONTAINS(out, "layers.ZeroPadding2D(2),\n        layers.Conv2D(64, 11, strides=4),");
  EXPECT_LACKS(out, "\"same\"");
}

TEST(KerasBackend, ConvStrideTwoWithSymmetricPaddingIsNotSame) {
  // TensorFlow's "same" pads more at the end when the stride is 2; PyTorch pads both sides.
  std::string out = seq("nn.Conv2d(3, 8, 3, stride=2, padding=1)", "3,16,16");
  EXPECT_CONTAINS(out, "layers.ZeroPadding2D(1),\n        layers.Conv2D(8, 3, strides=2),");
}

TEST(KerasBackend, ConvDilationAndGroups) {
  EXPECT_CONTAINS(seq("nn.Conv2d(8, 8, 5, padding=2, dilation=2)", "8,16,16"),
                  "layers.ZeroPadding2D(2),\n        layers.Conv2D(8, 5, dilation_rate=2),");
  EXPECT_CONTAINS(seq("nn.Conv2d(8, 8, 3, padding=1, groups=2)", "8,16,16"),
                  "layers.Conv2D(8, 3, padding=\"same\", groups=2)");
}

TEST(KerasBackend, ConvRectangularKernelKeepsTheTuple) {
  EXPECT_CONTAINS(seq("nn.Conv2d(3, 8, (3, 5), padding=(1, 2))", "3,16,16"),
                  "layers.Conv2D(8, (3, 5), padding=\"same\")");
}

TEST(KerasBackend, MaxPoolStrideDiffersFromWindow) {
  EXPECT_CONTAINS(seq("nn.MaxPool2d(3, 2)", "3,16,16"), "layers.MaxPooling2D(3, strides=2)");
}

TEST(KerasBackend, MaxPoolDefaultStrideIsThePoolSizeInBoth) {
  std::string out = seq("nn.MaxPool2d(2)", "3,16,16");
  EXPECT_CONTAINS(out, "layers.MaxPooling2D(2)");
  EXPECT_LACKS(out, "strides");
}

TEST(KerasBackend, AvgPoolWithPaddingCountsThePaddedZeros) {
  // count_include_pad=True: explicit zeros, not Keras "same" (which excludes the padding)
  EXPECT_CONTAINS(seq("nn.AvgPool2d(3, stride=1, padding=1)", "3,8,8"),
                  "layers.ZeroPadding2D(1),\n        layers.AveragePooling2D(3, strides=1),");
}

TEST(KerasBackend, BatchNormMomentumAndEpsilonAreTranslated) {
  EXPECT_CONTAINS(seq("nn.BatchNorm2d(3)", "3,8,8"), "layers.BatchNormalization(momentum=0.9, epsilon=1e-05)");
  EXPECT_CONTAINS(seq("nn.BatchNorm2d(3, eps=1e-3, momentum=0.01)", "3,8,8"),
                  "layers.BatchNormalization(momentum=0.99)");
}

TEST(KerasBackend, LeakyReluDefaultSlopeIsSpelledOut) {
  // Keras' LeakyReLU defaults to 0.3, PyTorch's to 0.01
  EXPECT_CONTAINS(seq("nn.LeakyReLU()", "4"), "layers.LeakyReLU(negative_slope=0.01)");
  EXPECT_CONTAINS(seq("nn.LeakyReLU(0.2)", "4"), "layers.LeakyReLU(negative_slope=0.2)");
}

TEST(KerasBackend, SoftmaxOverTheLastAxisOfATwoDimensionalTensor) {
  std::string out = seq("nn.Linear(4, 3), nn.Softmax(dim=1)", "4");
  EXPECT_CONTAINS(out, "layers.Softmax()");
  EXPECT_LACKS(out, "axis");
}

TEST(KerasBackend, ActivationsWithoutADedicatedLayerUseActivation) {
  std::string out = seq("nn.Tanh(), nn.GELU(), nn.ELU(alpha=0.5)", "4");
  EXPECT_CONTAINS(out, "layers.Activation(\"tanh\")");
  EXPECT_CONTAINS(out, "layers.Activation(\"gelu\")");
  EXPECT_CONTAINS(out, "layers.ELU(alpha=0.5)");
}

TEST(KerasBackend, FlattenInSequentialKeepsSourceOrderWithPermute) {
  std::string out = seq("nn.Conv2d(3, 4, 3), nn.Flatten(), nn.Linear(4 * 2 * 2, 2)", "3,4,4");
  EXPECT_CONTAINS(out,
                  "        layers.Permute((2, 3, 1)),\n"
                  "        layers.Conv2D(4, 3),\n"
                  "        layers.Permute((3, 1, 2)),\n"
                  "        layers.Flatten(),\n"
                  "        layers.Dense(2),\n");
}

const char* kView =
    "import torch\n"
    "import torch.nn as nn\n"
    "\n"
    "class Net(nn.Module):\n"
    "    def __init__(self):\n"
    "        super().__init__()\n"
    "        self.conv = nn.Conv2d(3, 4, 3)\n"
    "        self.fc = nn.Linear(4 * 4 * 4, 2)\n"
    "\n"
    "    def forward(self, x):\n"
    "        x = self.conv(x)\n"
    "        x = x.view(x.size(0), -1)\n"
    "        return self.fc(x)\n";

TEST(KerasBackend, ViewWithBatchSizeBecomesReshapeInSourceOrder) {
  EXPECT_CONTAINS(keras(kView, opts({"3,6,6"})),
                  "        x = ops.transpose(x, (0, 2, 3, 1))\n"
                  "        x = self.conv(x)\n"
                  "        x = ops.transpose(x, (0, 3, 1, 2))\n"
                  "        x = ops.reshape(x, (-1, 64))\n"
                  "        return self.fc(x)\n");
}

TEST(KerasBackend, TorchFlattenOfTheBatchAxisIsReportedNotGuessed) {
  const char* src =
      "import torch\n"
      "import torch.nn as nn\n"
      "\n"
      "class Net(nn.Module):\n"
      "    def forward(self, x):\n"
      "        return torch.flatten(x)\n";
  // The entry runs this statement, so leaving it out would change the model: an error.
  Result r = convert(src, "model.py", opts({"3,4"}));
  ASSERT_FALSE(r.ok);
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].severity, Severity::Error);
  EXPECT_NE(r.diagnostics[0].message.find("flattening the batch axis"), std::string::npos) << r.diagnostics[0].message;
  EXPECT_EQ(r.diagnostics[0].loc.line, 6);
  EXPECT_TRUE(r.output.empty());
}

const char* kGru =
    "import torch.nn as nn\n"
    "\n"
    "class Net(nn.Module):\n"
    "    def __init__(self):\n"
    "        super().__init__()\n"
    "        self.gru = nn.GRU(8, 12, batch_first=True)\n"
    "        self.fc = nn.Linear(12, 3)\n"
    "\n"
    "    def forward(self, x):\n"
    "        out, _ = self.gru(x)\n"
    "        return self.fc(out[:, -1, :])\n";

TEST(KerasBackend, GruReturnsSequencesWhenTheOutputIsUsed) {
  std::string out = keras(kGru, opts({"10,8"}));
  EXPECT_CONTAINS(out, "self.gru = layers.GRU(12, return_sequences=True)\n");
  EXPECT_CONTAINS(out, "        out = self.gru(x)\n");
  EXPECT_CONTAINS(out, "        return self.fc(out[:, -1, :])\n");
}

TEST(KerasBackend, LstmWithStatesReturnsState) {
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
      "        return h\n";
  std::string out = keras(src, opts({"10,8"}));
  EXPECT_CONTAINS(out, "layers.LSTM(16, return_sequences=True, return_state=True)");
}

TEST(KerasBackend, BidirectionalLstmIsWrapped) {
  const char* src =
      "import torch.nn as nn\n"
      "\n"
      "class Net(nn.Module):\n"
      "    def __init__(self):\n"
      "        super().__init__()\n"
      "        self.lstm = nn.LSTM(8, 5, batch_first=True, bidirectional=True)\n"
      "\n"
      "    def forward(self, x):\n"
      "        out, _ = self.lstm(x)\n"
      "        return out\n";
  EXPECT_CONTAINS(keras(src, opts({"10,8"})), "layers.Bidirectional(layers.LSTM(5, return_sequences=True))");
}

TEST(KerasBackend, AlexNetKeepsNumClassesAndTheClass) {
  std::string out = keras(example("alexnet.py"), opts({"3,64,64"}, "AlexNet(num_classes=10)"), "alexnet.py");
  EXPECT_CONTAINS(out, "class AlexNet(keras.Model):\n");
  EXPECT_CONTAINS(out, "    def __init__(self, num_classes: int = 1000, dropout: float = 0.5) -> None:\n");
  EXPECT_CONTAINS(out, "                layers.Dense(num_classes),\n");
  EXPECT_CONTAINS(out, "                layers.Dropout(dropout),\n");
  EXPECT_CONTAINS(out, "    def call(self, x):\n        x = ops.transpose(x, (0, 2, 3, 1))\n        x = self.features(x)\n");
  EXPECT_CONTAINS(out, "        x = ops.transpose(x, (0, 3, 1, 2))\n        x = ops.reshape(x, (-1, 9216))\n");
  EXPECT_LACKS(out, "import torch");
  EXPECT_LACKS(out, "torch.");
  EXPECT_LACKS(out, " nn.");
}

TEST(KerasBackend, HeaderCommentNamesTheOptionsAndTheDocstringStaysFirst) {
  std::string out = keras(example("alexnet.py"), opts({"3,64,64"}, "AlexNet(num_classes=10)"), "examples/torch/alexnet.py");
  std::string first = out.substr(0, out.find('\n'));
  EXPECT_EQ(first.rfind("# Generated by nnport ", 0), 0u) << first;
  EXPECT_NE(first.find(" from alexnet.py: --to keras --style subclass --layout keep"), std::string::npos) << first;
  // the docstring is the first statement, ahead of the imports
  std::string second = out.substr(first.size() + 1, out.find('\n', first.size() + 1) - first.size() - 1);
  EXPECT_EQ(second, "\"\"\"AlexNet, written the way torchvision writes it (\"One weird trick...\", 2014).\"\"\"");
  EXPECT_LT(out.find("\"\"\"AlexNet"), out.find("import keras"));
}

TEST(KerasBackend, HeaderNamesNativeLayoutAndSequentialStyle) {
  Options o = opts({"3,64,64"});
  o.layout = "native";
  std::string out = keras(example("alexnet_seq.py"), o, "alexnet_seq.py");
  EXPECT_NE(out.find(" from alexnet_seq.py: --to keras --style sequential --layout native --entry model "
                     "--input-shape 3,64,64\n"),
            std::string::npos)
      << out.substr(0, 200);
  EXPECT_LACKS(out, "Permute((2, 3, 1))");  // native: the caller feeds channel-last images
}

TEST(KerasBackend, VggMakeLayersStaysAFunctionWithItsLoop) {
  std::string out =
      keras(example("vgg16.py"), opts({"3,64,64"}, "VGG(make_layers(cfgs['D']), num_classes=10)"), "vgg16.py");
  EXPECT_CONTAINS(out,
                  "def make_layers(cfg: list[str | int], batch_norm: bool = False):\n"
                  "    layers = []\n"
                  "    for v in cfg:\n"
                  "        if v == \"M\":\n"
                  "            layers += [keras.layers.MaxPooling2D(2)]\n"
                  "        else:\n"
                  "            conv2d = keras.layers.Conv2D(v, 3, padding=\"same\")\n");
  EXPECT_CONTAINS(out, "    return keras.Sequential(layers)\n");
  EXPECT_LACKS(out, "in_channels");  // only PyTorch needed it: the dead store is removed
  EXPECT_CONTAINS(out, "def vgg16(num_classes: int = 1000) -> VGG:\n");
  EXPECT_CONTAINS(out, "keras.layers.Dense(num_classes),");
}

TEST(KerasBackend, SequentialStyleOnAResidualModelFails) {
  Result r = convert(example("resnet_small.py"), "resnet_small.py", opts({"3,32,32"}, "", "sequential"));
  ASSERT_FALSE(r.ok);
  EXPECT_NE(r.diagnostics.back().message.find("not a chain"), std::string::npos) << r.diagnostics.back().message;
  EXPECT_EQ(r.diagnostics.back().loc.file, "resnet_small.py");
}

TEST(KerasBackend, SubclassStyleFromASequentialModelKeepsTheEntryName) {
  std::string out = keras("import torch.nn as nn\n\nmodel = nn.Sequential(nn.Linear(4, 3), nn.ReLU())\n",
                          opts({"4"}, "", "subclass"));
  EXPECT_CONTAINS(out, "class SequentialModel(keras.Model):\n");
  EXPECT_CONTAINS(out, "        self.fc1 = layers.Dense(3)\n");
  EXPECT_CONTAINS(out, "\nmodel = SequentialModel()");
}

TEST(KerasBackend, SequentialStyleFromAChainClass) {
  const char* src =
      "import torch.nn as nn\n"
      "\n"
      "class Net(nn.Module):\n"
      "    def __init__(self):\n"
      "        super().__init__()\n"
      "        self.fc = nn.Linear(4, 3)\n"
      "        self.act = nn.ReLU()\n"
      "\n"
      "    def forward(self, x):\n"
      "        return self.act(self.fc(x))\n";
  std::string out = keras(src, opts({"4"}, "", "sequential"));
  EXPECT_CONTAINS(out, "keras.Sequential(");
  EXPECT_CONTAINS(out, "layers.Dense(3)");
  EXPECT_LACKS(out, "def call(");
}

TEST(KerasBackend, CommentsOnLayersTravel) {
  std::string out = keras(example("lstm_classifier.py"), opts({"int64:20"}), "lstm_classifier.py");
  EXPECT_CONTAINS(out, "        # the output at the last time step summarises the whole sequence\n");
  EXPECT_CONTAINS(out, "        self.embedding = layers.Embedding(vocab_size, embed_dim)\n");
  EXPECT_CONTAINS(out, "        self.lstm = layers.LSTM(hidden_size, return_sequences=True)\n");
}

TEST(KerasBackend, TorchImportsAreReplacedByKerasImports) {
  std::string out = seq("nn.Linear(4, 2)", "4");
  EXPECT_CONTAINS(out, "import keras\nfrom keras import layers\n");
  EXPECT_LACKS(out, "import torch");
}

std::string module_list_loop(const std::string& layers) {
  return "import torch.nn as nn\n"
         "\n"
         "class Net(nn.Module):\n"
         "    def __init__(self):\n"
         "        super().__init__()\n"
         "        self.blocks = nn.ModuleList([" +
         layers +
         "])\n"
         "\n"
         "    def forward(self, x):\n"
         "        for block in self.blocks:\n"
         "            x = block(x)\n"
         "        return x\n";
}

TEST(KerasBackend, ModuleListLoopInForwardStaysALoop) {
  std::string out = keras(module_list_loop("nn.Linear(4, 4), nn.Linear(4, 4)"), opts({"4"}));
  EXPECT_CONTAINS(out, "        self.blocks = [layers.Dense(4), layers.Dense(4)]\n");
  EXPECT_CONTAINS(out, "        for block in self.blocks:\n            x = block(x)\n        return x\n");
}

// BUG: a ModuleList of convolutions iterated in forward loses its loop body: the first
// iteration needs the NCHW->NHWC transpose and the second does not, so the backend comments
// `x = conv(x)` out ("needs different layout changes in different uses") and leaves `pass`,
// while still transposing the result back -- convert() returns ok=true (exit 0) for a model
// that no longer applies its convolutions. A transpose before the loop (the channel-first
// region's entry) would do. Repro: self.convs = nn.ModuleList([nn.Conv2d(3, 4, 3, padding=1),
// nn.Conv2d(4, 4, 3, padding=1)]); forward: for conv in self.convs: x = conv(x); return x;
// `nnport convert m.py --to keras --input-shape 3,8,8`.
TEST(KerasBackend, DISABLED_ModuleListConvLoopKeepsItsCalls) {
  Result r = convert(module_list_loop("nn.Conv2d(3, 4, 3, padding=1), nn.Conv2d(4, 4, 3, padding=1)"), "model.py",
                     opts({"3,8,8"}));
  ASSERT_TRUE(r.ok) << r.rendered_diagnostics;
  EXPECT_CONTAINS(r.output, "            x = block(x)\n");
  EXPECT_LACKS(r.output, "not migrated");
  EXPECT_TRUE(r.diagnostics.empty()) << r.rendered_diagnostics;
}

// BUG: `seq.add_module(name, layer)` on an nn.Sequential is copied verbatim into the Keras
// file, where keras.Sequential has no add_module (it should become `.add(layer)`).
// Repro: class Net: self.body = nn.Sequential(); for i in range(2):
// self.body.add_module(f"fc{i}", nn.Linear(4, 4)); `nnport convert m.py --to keras
// --input-shape 4` prints `self.body.add_module(f"fc{i}", layers.Dense(4))`.
TEST(KerasBackend, DISABLED_SequentialAddModuleBecomesAdd) {
  const char* src =
      "import torch.nn as nn\n"
      "\n"
      "class Net(nn.Module):\n"
      "    def __init__(self):\n"
      "        super().__init__()\n"
      "        self.body = nn.Sequential()\n"
      "        for i in range(2):\n"
      "            self.body.add_module(f\"fc{i}\", nn.Linear(4, 4))\n"
      "\n"
      "    def forward(self, x):\n"
      "        return self.body(x)\n";
  std::string out = keras(src, opts({"4"}));
  EXPECT_LACKS(out, "add_module");
  EXPECT_CONTAINS(out, "self.body.add(layers.Dense(4))");
}

}  // namespace
}  // namespace nnport

namespace nnport {
namespace {

// A channel op reads its input by PyTorch's convention even when a tensor operation made
// it: `x.permute(0, 2, 1)` into an nn.Conv1d is channel-first, so Keras's Conv1D gets it
// transposed back (found migrating a Keras -> PyTorch file back).
TEST(KerasBackend, PermuteIntoConvolutionIsReadChannelFirst) {
  Options o;
  o.to = "keras";
  o.input_shapes.push_back(parse_input_spec("10,4"));
  Result r = convert("import torch.nn as nn\n\n\nclass Net(nn.Module):\n    def __init__(self):\n"
                     "        super().__init__()\n        self.conv = nn.Conv1d(4, 8, 3)\n\n"
                     "    def forward(self, x):\n        return self.conv(x.permute(0, 2, 1))\n",
                     "model.py", o);
  ASSERT_TRUE(r.ok) << r.rendered_diagnostics;
  EXPECT_NE(r.output.find("self.conv(ops.transpose(ops.transpose(x, (0, 2, 1)), (0, 2, 1)))"), std::string::npos)
      << r.output;
}

}  // namespace
}  // namespace nnport

namespace nnport {
namespace {

// `conv(F.pad(x, (0, 1, 0, 1)))` with exactly TensorFlow's 'same' pads (what nnport writes
// for a Keras stride-2 'same' convolution) is a 'same' convolution again; other pads are not.
TEST(KerasBackend, PaddingThatIsTensorFlowsSameFoldsIntoTheConvolution) {
  auto migrate = [](const std::string& pads) {
    Options o;
    o.to = "keras";
    o.input_shapes.push_back(parse_input_spec("1,28,28"));
    return convert("import torch.nn as nn\nimport torch.nn.functional as F\n\n\nclass Net(nn.Module):\n"
                   "    def __init__(self):\n        super().__init__()\n        self.conv = nn.Conv2d(1, 4, 3, stride=2)\n\n"
                   "    def forward(self, x):\n        return self.conv(F.pad(x, " + pads + "))\n",
                   "model.py", o);
  };
  Result same = migrate("(0, 1, 0, 1)");
  ASSERT_TRUE(same.ok) << same.rendered_diagnostics;
  EXPECT_NE(same.output.find("layers.Conv2D(4, 3, strides=2, padding=\"same\")"), std::string::npos) << same.output;
  EXPECT_EQ(same.output.find("pad"), same.output.find("padding=\"same\"")) << same.output;
  Result other = migrate("(1, 1, 1, 1)");
  EXPECT_FALSE(other.ok);
  EXPECT_NE(other.rendered_diagnostics.find("model.py:11:"), std::string::npos) << other.rendered_diagnostics;
}

}  // namespace
}  // namespace nnport
