// The pivot model: framework-neutral description of a neural network (after BESSER-NN):
// layers and sub-networks (modules), a data-flow graph of module calls and tensor
// operations, inputs, outputs, and the shapes and layouts the passes infer.
//
// Frontends build it, passes refine it, backends read it. Nothing in here knows a
// framework's spelling; that lives in the catalog.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include "diagnostics/diagnostic.h"
#include "syntax/ast.h"

namespace nnport::pivot {

// An attribute value: None, bool, int, float, string, or a list of those.
struct Attr;
using AttrList = std::vector<Attr>;
struct Attr {
  std::variant<std::monostate, bool, long long, double, std::string, std::shared_ptr<AttrList>> v;
  Attr() = default;
  Attr(bool b) : v(b) {}
  Attr(int i) : v(static_cast<long long>(i)) {}
  Attr(long long i) : v(i) {}
  Attr(double d) : v(d) {}
  Attr(const char* s) : v(std::string(s)) {}
  Attr(std::string s) : v(std::move(s)) {}
  Attr(AttrList l) : v(std::make_shared<AttrList>(std::move(l))) {}
  bool is_none() const { return v.index() == 0; }
  bool is_bool() const { return v.index() == 1; }
  bool is_int() const { return v.index() == 2; }
  bool is_float() const { return v.index() == 3; }
  bool is_str() const { return v.index() == 4; }
  bool is_list() const { return v.index() == 5; }
  bool as_bool() const { return std::get<bool>(v); }
  long long as_int() const { return std::get<long long>(v); }
  double as_number() const { return is_int() ? double(as_int()) : is_bool() ? double(as_bool()) : std::get<double>(v); }
  const std::string& as_str() const { return std::get<std::string>(v); }
  const AttrList& as_list() const { return *std::get<std::shared_ptr<AttrList>>(v); }
  std::vector<long long> as_ints() const;  // an int, or a list of ints
  bool operator==(const Attr& o) const;
  bool operator!=(const Attr& o) const { return !(*this == o); }
};
std::string to_python(const Attr& a);  // Python literal spelling

using Attrs = std::map<std::string, Attr>;

// Tensor layout tags: how the axes after the batch axis are ordered.
enum class Layout { Any, ChannelsFirst, ChannelsLast };
const char* layout_name(Layout l);

// A dimension: known size, or unknown (-1). The batch axis is always unknown.
using Shape = std::vector<long long>;  // includes the batch axis at index 0
std::string shape_str(const Shape& s);

// A layer instance, or a container of layers (sequential, module_list, module_dict), or
// an instance of a user-defined sub-network (op "submodel").
struct Layer {
  std::string op;        // catalog op id ("conv2d", "sequential", "submodel", ...)
  std::string path;      // module path from the model root: "features.0", "layer1.0.conv1"
  Attrs attrs;           // pivot attributes, concrete for the entry's configuration
  std::vector<std::pair<std::string, std::shared_ptr<Layer>>> children;  // containers, sub-models
  std::string class_name;  // sub-models: the user class
  int site = -1;           // call-site id of the constructor call in the program
  Location loc;
  // Integer-valued names in scope where the layer was constructed (a block's `in_planes`),
  // so a backend can write a name where a size differs between the layers of one line.
  std::map<std::string, long long> scope;
  // Filled by passes:
  Shape input_shape, output_shape;  // first call, in the source framework's layout
};
using LayerPtr = std::shared_ptr<Layer>;

// A value flowing in the graph.
struct Value {
  int id = -1;
  std::string name;  // source variable name where known ("x", "out")
  Shape shape;       // source-layout shape (with batch); empty = unknown
  std::string dtype = "float32";
  Layout source_layout = Layout::Any;  // how the source framework orders the axes
  Layout target_layout = Layout::Any;  // how the migrated model holds it (layout pass)
};

// One step of the forward computation.
struct Node {
  int id = -1;
  std::string kind;    // "call" (a module), "op" (a tensor operation)
  std::string op;      // catalog op id
  std::string module;  // "call": the module path
  Attrs attrs;         // "op": attributes (axis, shape, perm, ...)
  std::vector<int> inputs, outputs;  // value ids
  int site = -1;       // call-site id of the expression in the program
  Location loc;
  // module calls chained by a sequential container: the container's path and the
  // child's index in it (else empty / -1)
  std::string parent;
  int child_index = -1;
  // layout pass: permutation to apply to input i before the node (empty = none)
  std::vector<std::vector<int>> input_permutations;
};

struct Input {
  std::string name;
  int value = -1;
};

// Training configuration (paper 3.2): the optimizer and loss by their training-catalog ids
// (catalog/training.h), with the arguments the source states under pivot names (literals;
// any other expression as its source text), and what fit() is told.
struct Config {
  std::string optimizer;  // "adam", "sgd", ...
  Attrs optimizer_args;   // learning_rate, epsilon, momentum, ...
  std::string schedule;   // a learning-rate schedule's Keras class ("" = constant rate)
  Attrs schedule_args;
  std::string loss;       // "sparse_categorical_crossentropy", "mean_squared_error", ...
  Attrs loss_args;          // further loss arguments (Huber's delta)
  bool from_logits = true;  // cross-entropy: the model outputs logits (else probabilities)
  std::vector<std::string> metrics;
  Attrs fit;  // epochs, batch_size, validation_split, shuffle
  Location loc;  // compile() / the optimizer's construction
};

struct Model {
  std::string name;       // the entry's class or variable name
  std::string framework;  // source framework: "torch" or "keras"
  std::string style;      // "sequential" or "subclass" (or "functional")
  std::string entry;      // entry expression
  LayerPtr root;          // the module tree (op "submodel" or "sequential")
  std::vector<Input> inputs;
  std::vector<Value> values;
  std::vector<Node> nodes;  // execution order
  std::vector<int> outputs; // value ids
  std::optional<Config> config;

  Value& value(int id) { return values.at(id); }
  const Value& value(int id) const { return values.at(id); }
  int new_value(Shape shape = {}, std::string name = "");
  // The first layer with this path in a pre-order walk of the module tree, or null.
  LayerPtr find(const std::string& path) const;

  // find()'s index of the module tree (model.cc says when it is refreshed); not part of
  // the model's value.
  struct PathIndex {
    LayerPtr root;             // the root it indexes
    size_t root_children = 0;  // how many of root's children are indexed
    std::unordered_map<std::string, LayerPtr> layers;
  };
  mutable PathIndex path_index;
};

// Checks the model's invariants (unique paths, value ids in range, every value
// defined before use, every call naming an existing module). Throws MigrationError.
void verify(const Model& m);

// Stable JSON form (docs/pivot-json.md), version field "nnport.pivot/1".
std::string to_json(const Model& m);
Model from_json(const std::string& text);
// Human-readable listing.
std::string to_text(const Model& m);
std::string to_dot(const Model& m);

}  // namespace nnport::pivot
