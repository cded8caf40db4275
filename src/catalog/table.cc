// The catalog's entries. One `def(...)` per pivot op; all framework facts live here.
//
// Signature strings use the mini-language documented on catalog::Param. Torch
// signatures list every parameter in PyTorch's order (so positional arguments bind
// right); Keras signatures list what the Keras backend emits, positional ones first.
#include "catalog/table.h"

#include <stdexcept>

namespace nnport::catalog {

namespace {

using pivot::Attr;
using pivot::AttrList;

Signature sig(std::vector<std::string> names, const std::string& spec, bool takes_input = false) {
  Signature s;
  s.names = std::move(names);
  s.params = parse_signature(spec);
  s.takes_input = takes_input;
  return s;
}

TensorRule t(std::string name, std::vector<std::string> from, std::vector<Step> steps = {},
             std::string combine = "") {
  return TensorRule{std::move(name), std::move(from), std::move(combine), std::move(steps)};
}
Step transpose(std::vector<int> perm) { return Step{"transpose", std::move(perm), 0, 0, {}}; }
Step reorder(int axis, int blocks, std::vector<int> order) {
  return Step{"reorder_blocks", {}, axis, blocks, std::move(order)};
}

const char* kDevice = "device=None~, dtype=None~";

void add_conv_family(std::vector<OpDef>& ops) {
  const char* torch_names[] = {"", "Conv1d", "Conv2d", "Conv3d"};
  const char* keras_names[] = {"", "Conv1D", "Conv2D", "Conv3D"};
  const std::vector<int> kernel_perm[] = {{}, {2, 1, 0}, {2, 3, 1, 0}, {2, 3, 4, 1, 0}};
  for (int r = 1; r <= 3; ++r) {
    OpDef d;
    d.id = "conv" + std::to_string(r) + "d";
    d.kind = "layer";
    d.rank = r;
    d.attrs = {{"in_channels", Attr()},    {"out_channels", Attr()},   {"kernel_dim", Attr()},
               {"stride_dim", Attr(1)},    {"padding_type", "explicit"}, {"padding_amount", Attr(0)},
               {"dilation", Attr(1)},      {"groups", Attr(1)},        {"bias", Attr(true)},
               {"actv_func", Attr()}};
    d.torch = {sig({std::string("torch.nn.") + torch_names[r]},
                   "in_channels, out_channels, kernel_size:kernel_dim, stride:stride_dim=1, "
                   "padding@torch_padding=0, dilation=1, groups=1, bias=True, "
                   "padding_mode='zeros'!, " + std::string(kDevice))};
    d.keras = {sig({std::string("keras.layers.") + keras_names[r]},
                   "^filters=out_channels, ^kernel_size=kernel_dim, strides:stride_dim=1, "
                   "padding@keras_padding='valid', data_format@data_format=None, "
                   "dilation_rate:dilation=1, groups=1, activation:actv_func=None, use_bias:bias=True")};
    // nn.LazyConv infers in_channels on its first call
    d.torch.push_back(sig({std::string("torch.nn.Lazy") + torch_names[r]},
                          "out_channels, kernel_size:kernel_dim, stride:stride_dim=1, padding@torch_padding=0, "
                          "dilation=1, groups=1, bias=True, padding_mode='zeros'!, " + std::string(kDevice)));
    d.torch_tensor_params = {"weight", "bias"};
    d.keras_weights = {t("kernel", {"weight"}, {transpose(kernel_perm[r])}), t("bias", {"bias"})};
    d.layout = LayoutRule::Channels;
    d.doc = "Convolution over " + std::to_string(r) + " spatial dimension(s).";
    ops.push_back(d);
  }
}

void add_pool_family(std::vector<OpDef>& ops) {
  for (int r = 1; r <= 3; ++r) {
    std::string rs = std::to_string(r);
    for (std::string kind : {"max", "avg"}) {
      OpDef d;
      d.id = kind + "pool" + rs + "d";
      d.kind = "layer";
      d.rank = r;
      d.attrs = {{"kernel_dim", Attr()},       {"stride_dim", Attr()},   {"padding_type", "explicit"},
                 {"padding_amount", Attr(0)},  {"ceil_mode", Attr(false)}};
      std::string torch_name = kind == "max" ? "MaxPool" + rs + "d" : "AvgPool" + rs + "d";
      std::string fn = kind == "max" ? "max_pool" + rs + "d" : "avg_pool" + rs + "d";
      std::string tail = kind == "max"
                             ? "dilation=1!, return_indices=False!, ceil_mode=False"
                             : "ceil_mode=False, count_include_pad=True, divisor_override=None!";
      if (kind == "avg") d.attrs.push_back({"count_include_pad", Attr(true)});
      std::string spec = "kernel_size:kernel_dim, stride:stride_dim=None, padding@torch_padding=0, " + tail;
      d.torch = {sig({"torch.nn." + torch_name}, spec),
                 sig({"torch.nn.functional." + fn, "torch." + fn}, "input, " + spec, true)};
      std::string keras_name = kind == "max" ? "MaxPooling" + rs + "D" : "AveragePooling" + rs + "D";
      d.keras = {sig({"keras.layers." + keras_name},
                     "^pool_size=kernel_dim, strides:stride_dim@pool_strides=None, padding@keras_padding='valid', "
                     "data_format@data_format=None")};
      d.layout = LayoutRule::Channels;
      d.doc = std::string(kind == "max" ? "Max" : "Average") + " pooling over " + rs + " spatial dimension(s).";
      ops.push_back(d);
    }
    for (std::string kind : {"max", "avg"}) {
      OpDef d;
      d.id = "adaptive_" + kind + "pool" + rs + "d";
      d.kind = "layer";
      d.rank = r;
      d.attrs = {{"output_dim", Attr()}};
      std::string torch_name = std::string("Adaptive") + (kind == "max" ? "Max" : "Avg") + "Pool" + rs + "d";
      std::string fn = "adaptive_" + kind + "_pool" + rs + "d";
      d.torch = {sig({"torch.nn." + torch_name}, std::string("output_size:output_dim") +
                                                     (kind == "max" ? ", return_indices=False!" : "")),
                 sig({"torch.nn.functional." + fn}, "input, output_size:output_dim", true)};
      d.layout = LayoutRule::Channels;
      d.doc = "Adaptive pooling to a fixed output size (PyTorch semantics: bin i covers "
              "[floor(i*n/k), ceil((i+1)*n/k))).";
      ops.push_back(d);
    }
  }
}

void add_norms(std::vector<OpDef>& ops) {
  for (int r = 1; r <= 3; ++r) {
    OpDef d;
    d.id = "batchnorm" + std::to_string(r) + "d";
    d.kind = "layer";
    d.rank = r;
    // Pivot momentum follows PyTorch: running = (1 - momentum) * running + momentum * batch.
    d.attrs = {{"num_features", Attr()}, {"eps", Attr(1e-5)}, {"momentum", Attr(0.1)},
               {"affine", Attr(true)},   {"track_running_stats", Attr(true)}};
    d.torch = {sig({"torch.nn.BatchNorm" + std::to_string(r) + "d"},
                   "num_features, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True!, " +
                       std::string(kDevice)),
               sig({"torch.nn.LazyBatchNorm" + std::to_string(r) + "d"},
                   "eps=1e-05, momentum=0.1, affine=True, track_running_stats=True!, " + std::string(kDevice))};
    // Keras: momentum is the weight of the old running value, epsilon defaults to 1e-3.
    d.keras = {sig({"keras.layers.BatchNormalization"},
                   "axis@channel_axis=-1, momentum@keras_momentum=0.99, epsilon:eps=0.001, "
                   "center:affine=True, scale:affine=True")};
    d.torch_tensor_params = {"weight", "bias", "running_mean", "running_var"};
    d.keras_weights = {t("gamma", {"weight"}), t("beta", {"bias"}), t("moving_mean", {"running_mean"}),
                       t("moving_variance", {"running_var"})};
    d.layout = r == 1 ? LayoutRule::Channels : LayoutRule::Channels;
    d.doc = "Batch normalisation over the channel axis.";
    ops.push_back(d);
  }
  OpDef ln;
  ln.id = "layernorm";
  ln.kind = "layer";
  ln.attrs = {{"normalized_shape", Attr()}, {"eps", Attr(1e-5)}, {"elementwise_affine", Attr(true)},
              {"bias", Attr(true)}};
  ln.torch = {sig({"torch.nn.LayerNorm"},
                  "normalized_shape, eps=1e-05, elementwise_affine=True, bias=True, " + std::string(kDevice))};
  ln.keras = {sig({"keras.layers.LayerNormalization"},
                  "axis@norm_axes=-1, epsilon:eps=0.001, center:bias=True, scale:elementwise_affine=True")};
  ln.torch_tensor_params = {"weight", "bias"};
  ln.keras_weights = {t("gamma", {"weight"}), t("beta", {"bias"})};
  ln.layout = LayoutRule::LastAxis;
  ln.doc = "Layer normalisation over the trailing normalized_shape axes.";
  ops.push_back(ln);
}

void add_recurrent(std::vector<OpDef>& ops) {
  struct R {
    const char* id;
    const char* torch;
    const char* keras;
    int gates;
  };
  for (R r : {R{"lstm", "LSTM", "LSTM", 4}, R{"gru", "GRU", "GRU", 3}, R{"rnn", "RNN", "SimpleRNN", 1}}) {
    OpDef d;
    d.id = r.id;
    d.kind = "layer";
    d.attrs = {{"input_size", Attr()},        {"hidden_size", Attr()},   {"num_layers", Attr(1)},
               {"bias", Attr(true)},          {"batch_first", Attr(false)}, {"dropout", Attr(0.0)},
               {"bidirectional", Attr(false)}};
    std::string spec = std::string("input_size, hidden_size, num_layers=1, ") +
                       (std::string(r.id) == "rnn" ? "nonlinearity='tanh', " : "") +
                       "bias=True, batch_first=False, dropout=0.0, bidirectional=False, " +
                       (std::string(r.id) == "lstm" ? "proj_size=0!, " : "") + kDevice;
    if (std::string(r.id) == "rnn") d.attrs.push_back({"nonlinearity", "tanh"});
    // PyTorch's GRU applies the reset gate after the recurrent matmul (Keras reset_after=True)
    if (std::string(r.id) == "gru") d.attrs.push_back({"reset_after", Attr(true)});
    d.torch = {sig({std::string("torch.nn.") + r.torch}, spec)};
    d.keras = {sig({std::string("keras.layers.") + r.keras},
                   "^units=hidden_size, use_bias:bias=True, return_sequences=False, return_state=False")};
    d.torch_tensor_params = {"weight_ih_l{l}{d}", "weight_hh_l{l}{d}", "bias_ih_l{l}{d}", "bias_hh_l{l}{d}"};
    if (r.gates == 3) {
      // PyTorch orders GRU gates (reset, update, new); Keras (update, reset, new), and with
      // reset_after=True keeps the input and recurrent biases apart as a (2, 3*units) tensor.
      d.keras_weights = {
          t("kernel", {"weight_ih_l{l}{d}"}, {transpose({1, 0}), reorder(1, 3, {1, 0, 2})}),
          t("recurrent_kernel", {"weight_hh_l{l}{d}"}, {transpose({1, 0}), reorder(1, 3, {1, 0, 2})}),
          t("bias", {"bias_ih_l{l}{d}", "bias_hh_l{l}{d}"}, {reorder(1, 3, {1, 0, 2})}, "stack")};
    } else {
      // LSTM gate order (input, forget, cell, output) is the same in both frameworks; Keras
      // has one bias where PyTorch has two that are always added.
      d.keras_weights = {t("kernel", {"weight_ih_l{l}{d}"}, {transpose({1, 0})}),
                         t("recurrent_kernel", {"weight_hh_l{l}{d}"}, {transpose({1, 0})}),
                         t("bias", {"bias_ih_l{l}{d}", "bias_hh_l{l}{d}"}, {}, "sum")};
    }
    d.layout = LayoutRule::Sequence;
    d.doc = std::string("Recurrent layer (") + r.torch + ").";
    ops.push_back(d);
  }
}

struct Act {
  const char* id;
  const char* torch_class;
  const char* torch_spec;  // module constructor parameters
  std::vector<std::string> functions;
  const char* fn_spec;     // functional parameters after `input`
  std::vector<std::pair<std::string, Attr>> attrs;
  const char* keras_layer;  // dedicated Keras layer and its parameters, or "" for Activation(name)
  const char* keras_spec;
  const char* keras_name;   // keras.activations / keras.ops name
};

void add_activations(std::vector<OpDef>& ops) {
  std::vector<Act> acts = {
      {"relu", "ReLU", "inplace=False~", {"torch.nn.functional.relu", "torch.relu", "torch.Tensor.relu"}, "inplace=False~", {}, "ReLU", "", "relu"},
      {"relu6", "ReLU6", "inplace=False~", {"torch.nn.functional.relu6"}, "inplace=False~", {}, "ReLU", "", "relu6"},
      {"leaky_relu", "LeakyReLU", "negative_slope=0.01, inplace=False~", {"torch.nn.functional.leaky_relu"},
       "negative_slope=0.01, inplace=False~", {{"negative_slope", Attr(0.01)}}, "LeakyReLU", "negative_slope=negative_slope", "leaky_relu"},
      {"elu", "ELU", "alpha=1.0, inplace=False~", {"torch.nn.functional.elu"}, "alpha=1.0, inplace=False~",
       {{"alpha", Attr(1.0)}}, "ELU", "alpha:alpha=1.0", "elu"},
      {"gelu", "GELU", "approximate='none'", {"torch.nn.functional.gelu"}, "approximate='none'",
       {{"approximate", "none"}}, "", "", "gelu"},
      {"sigmoid", "Sigmoid", "", {"torch.sigmoid", "torch.nn.functional.sigmoid", "torch.Tensor.sigmoid"}, "", {}, "", "", "sigmoid"},
      {"tanh", "Tanh", "", {"torch.tanh", "torch.nn.functional.tanh", "torch.Tensor.tanh"}, "", {}, "", "", "tanh"},
      {"softmax", "Softmax", "dim=None", {"torch.nn.functional.softmax", "torch.softmax", "torch.Tensor.softmax"},
       "dim=None, _stacklevel=3~, dtype=None!", {{"dim", Attr()}}, "Softmax", "axis@softmax_axis=-1", "softmax"},
      {"log_softmax", "LogSoftmax", "dim=None", {"torch.nn.functional.log_softmax", "torch.log_softmax", "torch.Tensor.log_softmax"},
       "dim=None, _stacklevel=3~, dtype=None!", {{"dim", Attr()}}, "", "", "log_softmax"},
      {"silu", "SiLU", "inplace=False~", {"torch.nn.functional.silu"}, "inplace=False~", {}, "", "", "silu"},
      {"softplus", "Softplus", "beta=1.0, threshold=20.0", {"torch.nn.functional.softplus"},
       "beta=1.0, threshold=20.0", {{"beta", Attr(1.0)}, {"threshold", Attr(20.0)}}, "", "", "softplus"},
      {"selu", "SELU", "inplace=False~", {"torch.nn.functional.selu", "torch.selu"}, "inplace=False~", {}, "", "", "selu"},
      {"softsign", "Softsign", "", {"torch.nn.functional.softsign"}, "", {}, "", "", "softsign"},
      {"hardsigmoid", "Hardsigmoid", "inplace=False~", {"torch.nn.functional.hardsigmoid"}, "inplace=False~", {}, "", "",
       "hard_sigmoid"},
      {"mish", "Mish", "inplace=False~", {"torch.nn.functional.mish"}, "inplace=False~", {}, "", "", "mish"},
      {"hardtanh", "Hardtanh", "min_val=-1.0, max_val=1.0, inplace=False~", {"torch.nn.functional.hardtanh"},
       "min_val=-1.0, max_val=1.0, inplace=False~", {{"min_val", Attr(-1.0)}, {"max_val", Attr(1.0)}}, "", "", "hard_tanh"},
  };
  for (const Act& a : acts) {
    OpDef d;
    d.id = a.id;
    d.kind = "activation";
    d.attrs = a.attrs;
    d.torch = {sig({std::string("torch.nn.") + a.torch_class}, a.torch_spec)};
    std::string fspec = std::string("input") + (std::string(a.fn_spec).empty() ? "" : ", ") + a.fn_spec;
    d.torch.push_back(sig(a.functions, fspec, true));
    if (std::string(a.keras_layer).empty()) d.keras = {sig({"keras.layers.Activation"}, "")};
    else d.keras = {sig({std::string("keras.layers.") + a.keras_layer}, a.keras_spec)};
    d.keras_activation = a.keras_name;
    d.layout = (d.id == "softmax" || d.id == "log_softmax") ? LayoutRule::Opaque : LayoutRule::Elementwise;
    d.doc = std::string("Activation ") + a.torch_class + ".";
    ops.push_back(d);
  }
}

void add_misc(std::vector<OpDef>& ops) {
  OpDef lin;
  lin.id = "linear";
  lin.kind = "layer";
  lin.attrs = {{"in_features", Attr()}, {"out_features", Attr()}, {"bias", Attr(true)}, {"actv_func", Attr()}};
  lin.torch = {sig({"torch.nn.Linear"}, "in_features, out_features, bias=True, " + std::string(kDevice)),
               sig({"torch.nn.LazyLinear"}, "out_features, bias=True, " + std::string(kDevice))};
  lin.keras = {sig({"keras.layers.Dense"}, "^units=out_features, activation:actv_func=None, use_bias:bias=True")};
  lin.torch_tensor_params = {"weight", "bias"};
  lin.keras_weights = {t("kernel", {"weight"}, {transpose({1, 0})}), t("bias", {"bias"})};
  lin.layout = LayoutRule::LastAxis;
  lin.doc = "Fully connected layer on the last axis.";
  ops.push_back(lin);

  OpDef drop;
  drop.id = "dropout";
  drop.kind = "layer";
  drop.attrs = {{"rate", Attr(0.5)}};
  drop.torch = {sig({"torch.nn.Dropout", "torch.nn.Dropout1d", "torch.nn.Dropout2d", "torch.nn.Dropout3d"},
                    "p:rate=0.5, inplace=False~"),
                // functional dropout: identity in the inference graph nnport analyses
                sig({"torch.nn.functional.dropout"}, "input, p:rate=0.5, training=True~, inplace=False~", true)};
  drop.keras = {sig({"keras.layers.Dropout"}, "^rate=rate")};
  drop.doc = "Dropout (identity at inference).";
  ops.push_back(drop);

  OpDef fl;
  fl.id = "flatten";
  fl.kind = "layer";
  fl.attrs = {{"start_dim", Attr(1)}, {"end_dim", Attr(-1)}};
  fl.torch = {sig({"torch.nn.Flatten"}, "start_dim=1, end_dim=-1"),
              // torch.flatten flattens from axis 0 unless told otherwise, unlike nn.Flatten.
              sig({"torch.flatten", "torch.Tensor.flatten"}, "input, start_dim=0, end_dim=-1", true)};
  fl.keras = {sig({"keras.layers.Flatten"}, "")};
  fl.layout = LayoutRule::Flatten;
  fl.doc = "Flattens axes start_dim..end_dim into one.";
  ops.push_back(fl);

  OpDef emb;
  emb.id = "embedding";
  emb.kind = "layer";
  emb.attrs = {{"num_embeddings", Attr()}, {"embedding_dim", Attr()}, {"padding_idx", Attr()}};
  emb.torch = {sig({"torch.nn.Embedding"},
                   "num_embeddings, embedding_dim, padding_idx=None, max_norm=None!, norm_type=2.0~, "
                   "scale_grad_by_freq=False~, sparse=False~, _weight=None!, _freeze=False~, " +
                       std::string(kDevice))};
  emb.keras = {sig({"keras.layers.Embedding"}, "^input_dim=num_embeddings, ^output_dim=embedding_dim")};
  emb.torch_tensor_params = {"weight"};
  emb.keras_weights = {t("embeddings", {"weight"})};
  emb.layout = LayoutRule::LastAxis;
  emb.doc = "Lookup table of embedding vectors.";
  ops.push_back(emb);

  OpDef id;
  id.id = "identity";
  id.kind = "layer";
  id.torch = {sig({"torch.nn.Identity"}, "")};
  id.keras = {sig({"keras.layers.Identity"}, "")};
  id.doc = "Returns its input.";
  ops.push_back(id);

  for (const char* c : {"functional", "sequential", "module_list", "module_dict"}) {
    OpDef d;
    d.id = c;
    d.kind = "container";
    d.doc = "Container of layers.";
    ops.push_back(d);
  }
  ops.back().torch = {sig({"torch.nn.ModuleDict"}, "modules=None")};
  ops[ops.size() - 2].torch = {sig({"torch.nn.ModuleList"}, "modules=None")};
  ops[ops.size() - 3].torch = {sig({"torch.nn.Sequential"}, "")};
  ops[ops.size() - 3].keras = {sig({"keras.Sequential"}, "^layers=None")};
  OpDef sub;
  sub.id = "submodel";
  sub.kind = "container";
  sub.doc = "An instance of a user-defined network class.";
  ops.push_back(sub);

  // Tensor operations (functional forms and tensor methods are bound by the frontends).
  struct TOp {
    const char* id;
    LayoutRule layout;
    std::vector<std::pair<std::string, Attr>> attrs;
    const char* doc;
  };
  for (const TOp& o : std::vector<TOp>{
           {"add", LayoutRule::Elementwise, {}, "Elementwise sum."},
           {"sub", LayoutRule::Elementwise, {}, "Elementwise difference."},
           {"mul", LayoutRule::Elementwise, {}, "Elementwise product."},
           {"concat", LayoutRule::Opaque, {{"dim", Attr(0)}}, "Concatenation along an axis."},
           {"reshape", LayoutRule::Opaque, {{"shape", Attr()}}, "Reshape (view) to a shape."},
           {"permute", LayoutRule::Opaque, {{"dims", Attr()}}, "Axis permutation."},
           {"transpose", LayoutRule::Opaque, {{"dim0", Attr()}, {"dim1", Attr()}}, "Swap two axes."},
           {"getitem", LayoutRule::Opaque, {{"index", Attr()}}, "Indexing and slicing."},
           {"mean", LayoutRule::Opaque, {{"dim", Attr()}, {"keepdim", Attr(false)}}, "Mean over axes."},
           {"pad", LayoutRule::Opaque, {{"pads", Attr()}, {"value", Attr()}},
            "Constant padding of the last axes (PyTorch order: last axis first, before and after)."},
       }) {
    OpDef d;
    d.id = o.id;
    d.kind = "op";
    d.attrs = o.attrs;
    d.layout = o.layout;
    d.doc = o.doc;
    ops.push_back(d);
  }
  ops.back().torch = {sig({"torch.mean", "torch.Tensor.mean"}, "input, dim=None, keepdim=False, dtype=None!", true)};
  for (auto& d : ops) {
    if (d.id == "concat") d.torch = {sig({"torch.cat", "torch.concat", "torch.concatenate"}, "tensors, dim=0", true)};
    if (d.id == "add") d.torch = {sig({"torch.add"}, "input, other, alpha=1!", true)};
    if (d.id == "mul") d.torch = {sig({"torch.mul"}, "input, other", true)};
    if (d.id == "reshape") d.torch = {sig({"torch.reshape"}, "input, shape", true)};
    if (d.id == "permute") d.torch = {sig({"torch.permute"}, "input, dims", true)};
    if (d.id == "transpose") d.torch = {sig({"torch.transpose", "torch.Tensor.transpose"}, "input, dim0, dim1", true)};
    if (d.id == "pad") d.torch = {sig({"torch.nn.functional.pad"}, "input, pad:pads, mode='constant'!, value=None", true)};
  }
}


// Layers Keras has and PyTorch spells as a combination (global pooling, zero padding).
void add_keras_only(std::vector<OpDef>& ops) {
  for (int r = 1; r <= 3; ++r) {
    std::string rs = std::to_string(r);
    for (std::string kind : {"avg", "max"}) {
      OpDef d;
      d.id = "global_" + kind + "pool" + rs + "d";
      d.kind = "layer";
      d.rank = r;
      d.attrs = {{"keepdims", Attr(false)}};
      std::string keras_name = std::string("Global") + (kind == "avg" ? "Average" : "Max") + "Pooling" + rs + "D";
      d.keras = {sig({"keras.layers." + keras_name}, "keepdims=False")};
      d.keras_source = {sig({"keras.layers." + keras_name}, "data_format@data_format=None, keepdims=False, *, name=None~")};
      d.layout = LayoutRule::Channels;
      d.doc = std::string("Global ") + (kind == "avg" ? "average" : "max") + " pooling over every spatial axis.";
      ops.push_back(d);
    }
    OpDef z;
    z.id = "zeropad" + rs + "d";
    z.kind = "layer";
    z.rank = r;
    z.attrs = {{"padding", Attr()}};  // one [before, after] pair per spatial axis
    z.keras = {sig({"keras.layers.ZeroPadding" + rs + "D"}, "^padding")};
    // PyTorch: an int, or (left, right[, top, bottom[, front, back]]) from the last axis back
    z.torch = {sig({"torch.nn.ZeroPad" + rs + "d"}, "padding@torch_zero_padding")};
    z.keras_source = {sig({"keras.layers.ZeroPadding" + rs + "D"},
                          std::string("padding@zero_padding=") + (r == 1 ? "1" : r == 2 ? "(1, 1)" : "(1, 1, 1)") +
                              ", data_format@data_format=None, *, name=None~")};
    z.layout = LayoutRule::Channels;
    z.doc = "Zero padding before and after each spatial axis.";
    ops.push_back(z);
  }
}

// The signatures Keras source files are bound with. Keras 3 parameter order; `**kwargs`
// every layer accepts is spelled out after `*`.
void add_keras_sources(std::vector<OpDef>& ops) {
  auto find = [&](const std::string& id) -> OpDef& {
    for (auto& d : ops)
      if (d.id == id) return d;
    throw std::logic_error("catalog: no op " + id);
  };
  const std::string base =
      "*, input_shape@input_shape=None, batch_input_shape@batch_input_shape=None, input_dim@input_dim=None, "
      "batch_size=None~, name=None~, dtype=None~, trainable=True!, autocast=True~";
  const std::string kernel_extras =
      "kernel_initializer='glorot_uniform'~, bias_initializer='zeros'~, kernel_regularizer=None!, "
      "bias_regularizer=None!, activity_regularizer=None!, kernel_constraint=None!, bias_constraint=None!";
  auto k = [&](const std::string& qualified, const std::string& spec, bool takes_input = false) {
    return sig({"keras.layers." + qualified}, spec + (spec.empty() ? "" : ", ") + base, takes_input);
  };
  find("linear").keras_source = {k("Dense", "units:out_features, activation:actv_func@activation=None, "
                                            "use_bias:bias=True, " + kernel_extras + ", lora_rank=None!, lora_alpha=None!")};
  const char* conv_names[] = {"", "Conv1D", "Conv2D", "Conv3D"};
  for (int r = 1; r <= 3; ++r)
    find("conv" + std::to_string(r) + "d").keras_source = {
        k(conv_names[r], "filters:out_channels, kernel_size:kernel_dim, strides:stride_dim=1, "
                         "padding@keras_padding='valid', data_format@data_format=None, dilation_rate:dilation=1, "
                         "groups=1, activation:actv_func@activation=None, use_bias:bias=True, " + kernel_extras +
                         ", lora_rank=None!, lora_alpha=None!")};
  for (int r = 1; r <= 3; ++r)
    for (std::string kind : {"max", "avg"}) {
      std::string name = (kind == "max" ? "MaxPooling" : "AveragePooling") + std::to_string(r) + "D";
      find(kind + "pool" + std::to_string(r) + "d").keras_source = {
          k(name, "pool_size:kernel_dim=2, strides:stride_dim=None, padding@keras_padding='valid', "
                  "data_format@data_format=None")};
    }
  // Keras's BatchNormalization works on any rank: the frontend picks 1d/2d/3d from the input.
  find("batchnorm2d").keras_source = {
      k("BatchNormalization",
        "axis@channel_axis=-1, momentum@keras_momentum=0.99, epsilon:eps=0.001, center@center=True, "
        "scale@scale=True, beta_initializer='zeros'~, gamma_initializer='ones'~, moving_mean_initializer='zeros'~, "
        "moving_variance_initializer='ones'~, beta_regularizer=None!, gamma_regularizer=None!, "
        "beta_constraint=None!, gamma_constraint=None!, synchronized=False~")};
  find("layernorm").keras_source = {
      k("LayerNormalization", "axis@norm_axis=-1, epsilon:eps=0.001, center:bias=True, "
                              "scale:elementwise_affine=True, rms_scaling=False!, beta_initializer='zeros'~, "
                              "gamma_initializer='ones'~, beta_regularizer=None!, gamma_regularizer=None!, "
                              "beta_constraint=None!, gamma_constraint=None!")};
  find("dropout").keras_source = {k("Dropout", "rate, noise_shape=None!, seed=None~")};
  find("flatten").keras_source = {k("Flatten", "data_format@data_format=None")};
  find("embedding").keras_source = {
      k("Embedding", "input_dim:num_embeddings, output_dim:embedding_dim, embeddings_initializer='uniform'~, "
                     "embeddings_regularizer=None!, embeddings_constraint=None!, mask_zero=False!, weights=None!, "
                     "lora_rank=None!, lora_alpha=None!, input_length=None~")};
  find("identity").keras_source = {k("Identity", "")};
  find("reshape").keras_source = {k("Reshape", "target_shape@target_shape")};
  find("permute").keras_source = {k("Permute", "dims@permute_dims")};
  find("concat").keras_source = {k("Concatenate", "axis:dim=-1"), k("concatenate", "inputs@tensors, axis:dim=-1", true)};
  find("add").keras_source = {k("Add", ""), k("add", "inputs@tensors", true)};
  find("sub").keras_source = {k("Subtract", ""), k("subtract", "inputs@tensors", true)};
  find("mul").keras_source = {k("Multiply", ""), k("multiply", "inputs@tensors", true)};
  const std::string recurrent_tail =
      "kernel_initializer='glorot_uniform'~, recurrent_initializer='orthogonal'~, bias_initializer='zeros'~, ";
  const std::string recurrent_rest =
      "kernel_regularizer=None!, recurrent_regularizer=None!, bias_regularizer=None!, activity_regularizer=None!, "
      "kernel_constraint=None!, recurrent_constraint=None!, bias_constraint=None!, dropout@recurrent_dropout=0.0, "
      "recurrent_dropout=0.0!, seed=None~, return_sequences=False, return_state=False, go_backwards=False!, "
      "stateful=False!, unroll=False~";
  find("lstm").keras_source = {k("LSTM", "units:hidden_size, activation='tanh'!, recurrent_activation='sigmoid'!, "
                                         "use_bias:bias=True, " + recurrent_tail + "unit_forget_bias=True~, " +
                                         recurrent_rest + ", use_cudnn='auto'~")};
  find("gru").keras_source = {k("GRU", "units:hidden_size, activation='tanh'!, recurrent_activation='sigmoid'!, "
                                       "use_bias:bias=True, " + recurrent_tail + recurrent_rest +
                                       ", reset_after=True, use_cudnn='auto'~")};
  find("rnn").keras_source = {k("SimpleRNN", "units:hidden_size, activation:nonlinearity='tanh', use_bias:bias=True, " +
                                                 recurrent_tail + recurrent_rest)};
  // Activation layers: the frontend maps the name or class to the pivot activation.
  find("relu").keras_source = {k("Activation", "activation@activation"),
                               k("ReLU", "max_value@relu_max_value=None, negative_slope@relu_negative_slope=0.0, threshold=0.0!")};
  find("leaky_relu").keras_source = {k("LeakyReLU", "negative_slope=0.3")};
  find("elu").keras_source = {k("ELU", "alpha=1.0")};
  find("softmax").keras_source = {k("Softmax", "axis:dim=-1")};
}

}  // namespace

std::vector<OpDef> build_table() {
  std::vector<OpDef> ops;
  add_misc(ops);
  add_conv_family(ops);
  add_pool_family(ops);
  add_norms(ops);
  add_recurrent(ops);
  add_activations(ops);
  add_keras_only(ops);
  add_keras_sources(ops);
  return ops;
}

}  // namespace nnport::catalog
