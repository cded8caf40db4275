// The catalog: the one home of framework facts (ONNX-schema style). One entry per
// pivot op: its attributes with pivot defaults, how each framework spells it (class or
// function names and full signatures), how its weights are laid out in each framework,
// and which layout rule the layout pass applies to it. Frontends, backends and the
// weight plan all read it; `nnport catalog --format json` exports it.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "pivot/model.h"

namespace nnport::catalog {

// One parameter of a framework signature.
//   "stride:stride_dim=1"    -> name stride, pivot attribute stride_dim, default 1
//   "padding@conv_padding=0" -> bound through the named converter (see converters)
//   "device=None~"           -> accepted, no effect on the computation (dropped)
//   "proj_size=0!"           -> supported only with its default value
//   "^filters=out_channels"  -> (target spellings) emitted positionally
//   "*"                      -> the following parameters are keyword-only
struct Param {
  std::string name;
  std::string attr;       // pivot attribute ("" when dropped)
  std::string converter;  // named conversion, "" for the identity
  std::optional<pivot::Attr> default_value;  // nullopt: required
  bool dropped = false;
  bool default_only = false;
  bool positional = false;
  bool keyword_only = false;
};

struct Signature {
  std::vector<std::string> names;  // qualified spellings: "torch.nn.Conv2d", "keras.layers.Conv2D"
  std::vector<Param> params;
  bool takes_input = false;  // functional form: the first argument is the input tensor
  const Param* find(const std::string& name) const;
};

// One weight tensor of the target framework and how it is built from source tensors
// (see docs/weight-plan.md for the step vocabulary).
struct Step {
  std::string op;  // transpose, reshape, reorder_blocks, zeros
  std::vector<int> perm;
  int axis = 0, blocks = 0;
  std::vector<int> order;
};
struct TensorRule {
  std::string name;               // target tensor name
  std::vector<std::string> from;  // source tensor names ("{l}" = layer index, "{d}" = direction suffix)
  std::string combine;            // "", "sum", "stack"
  std::vector<Step> steps;
};

enum class LayoutRule {
  Elementwise,  // works in any layout (activations, dropout, add)
  Channels,     // needs to know the channel axis (conv, pooling, batch norm over channels)
  LastAxis,     // acts on the last axis (linear, layer norm, embedding output)
  Sequence,     // recurrent: (batch, time, features)
  Flatten,      // element order depends on the layout
  Opaque,       // reshape/permute/slicing: needs the source layout
};

struct OpDef {
  std::string id;
  std::string kind;  // "layer", "container", "activation", "op"
  int rank = 0;      // spatial rank of conv/pool families (1, 2, 3)
  std::vector<std::pair<std::string, pivot::Attr>> attrs;  // pivot attributes and defaults (None = required)
  std::vector<Signature> torch;         // module classes and functions
  std::vector<Signature> keras;         // what the Keras backend writes: layer classes, keras.ops functions
  // Keras constructors and functions as Keras source files write them (Keras's full
  // parameter order, dropped and default-only parameters marked): what the Keras frontend
  // binds. Lookups of framework "keras" find these first.
  std::vector<Signature> keras_source;
  std::vector<std::string> torch_tensor_params;  // parameter names in state_dict order
  std::vector<TensorRule> keras_weights;         // target tensors in get_weights() order
  LayoutRule layout = LayoutRule::Elementwise;
  std::string keras_activation;  // activations: the name in keras.activations / keras.ops
  std::string doc;
};

class Catalog {
 public:
  static const Catalog& get();
  const OpDef* op(const std::string& id) const;
  // The op and signature a qualified framework name stands for ("torch.nn.Conv2d").
  struct Match {
    const OpDef* op = nullptr;
    const Signature* signature = nullptr;
  };
  std::optional<Match> lookup(const std::string& framework, const std::string& qualified) const;
  const std::vector<OpDef>& ops() const { return ops_; }
  std::string to_json() const;

 private:
  Catalog();
  std::vector<OpDef> ops_;
  // (hashed: looked up for every layer and graph node of every file)
  std::unordered_map<std::string, size_t> by_id_;
  std::unordered_map<std::string, Match> by_name_;  // "torch:torch.nn.Conv2d"
};

// Parses a signature string (see Param) — exposed for tests.
std::vector<Param> parse_signature(const std::string& spec);

}  // namespace nnport::catalog
