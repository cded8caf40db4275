// recognise (Keras): answers the evaluator's questions about keras / tf.keras names,
// builds pivot layers from layer constructors (bound with the catalog's Keras source
// signatures), graph nodes from layer calls in `call` and in functional code, and
// records the input specifications a Keras file states (`keras.Input`, `input_shape=`,
// `input_dim=`, `model.build(...)`).
#pragma once

#include <map>
#include <optional>
#include <set>

#include "catalog/catalog.h"
#include "frontends/common/graph_builder.h"

namespace nnport::frontends {

// `keras.X`, `tf.keras.X`, `tensorflow.keras.X`, `keras.models.X`: one spelling.
std::string keras_canonical(const std::string& qualified);

class KerasFrontend : public GraphBuilder {
 public:
  using GraphBuilder::GraphBuilder;

  evaluate::ValuePtr import(const std::string& qualified) override;
  evaluate::ValuePtr call_api(evaluate::Interpreter& in, const std::string& qualified, evaluate::Args& args,
                              syntax::Expr* call) override;
  bool is_model_base(const std::string& qualified) override;
  std::string forward_method() override { return "call"; }
  evaluate::ValuePtr call_layer(evaluate::Interpreter& in, const evaluate::ValuePtr& layer, evaluate::Args& args,
                                syntax::Expr* call) override;
  evaluate::ValuePtr tensor_method(evaluate::Interpreter& in, const evaluate::ValuePtr& t, const std::string& name,
                                   evaluate::Args& args, syntax::Expr* call) override;
  evaluate::ValuePtr tensor_attribute(evaluate::Interpreter& in, const evaluate::ValuePtr& t,
                                      const std::string& name, syntax::Expr* at) override;
  evaluate::ValuePtr layer_attribute(evaluate::Interpreter& in, const evaluate::ValuePtr& layer,
                                     const std::string& name, syntax::Expr* at) override;
  evaluate::ValuePtr layer_method(evaluate::Interpreter& in, const evaluate::ValuePtr& layer, const std::string& name,
                                  evaluate::Args& args, syntax::Expr* call) override;
  bool layer_is(const evaluate::ValuePtr& layer, const std::string& qualified) override;
  evaluate::ValuePtr known_class(const std::string& name, const std::vector<evaluate::ValuePtr>& bases) override;

  // An input specification stated in the file, without the batch axis.
  struct InputSpec {
    pivot::Shape dims;  // -1 for None
    std::string dtype;  // "" = not stated
    std::string name;
    Location loc;
  };
  // What the file states about a model's inputs (Sequential: its first layer or an Input
  // element; any model: `model.build(...)`).
  std::vector<InputSpec> input_specs(const pivot::Layer* model) const;

  // A functional model (`keras.Model(inputs, outputs)`): its graph's input and output values.
  struct Functional {
    std::vector<int> inputs;
    std::vector<std::string> input_names;
    std::vector<int> outputs;
    std::string name;
  };
  const Functional* functional(const pivot::Layer* l) const;

 private:
  evaluate::ValuePtr construct(evaluate::Interpreter& in, const std::string& q, const catalog::OpDef& def,
                               const catalog::Signature& sig, evaluate::Args& args, syntax::Expr* call);
  evaluate::ValuePtr functional_op(evaluate::Interpreter& in, const catalog::OpDef& def,
                                   const catalog::Signature& sig, evaluate::Args& args, syntax::Expr* call);
  evaluate::ValuePtr sequential(evaluate::Interpreter& in, evaluate::Args& args, syntax::Expr* call);
  evaluate::ValuePtr input(evaluate::Interpreter& in, evaluate::Args& args, syntax::Expr* call);
  evaluate::ValuePtr functional_model(evaluate::Interpreter& in, evaluate::Args& args, syntax::Expr* call);
  evaluate::ValuePtr bidirectional(evaluate::Interpreter& in, evaluate::Args& args, syntax::Expr* call);
  evaluate::ValuePtr ops_call(evaluate::Interpreter& in, const std::string& fn, evaluate::Args& args,
                              syntax::Expr* call);
  evaluate::ValuePtr activation_call(evaluate::Interpreter& in, const std::string& name, evaluate::Args& args,
                                     syntax::Expr* call);
  // The pivot activation an `activation=` value names ("" for none).
  pivot::Attr resolve_activation(evaluate::Interpreter& in, const evaluate::ValuePtr& v, syntax::Expr* at);
  void add_child(const pivot::LayerPtr& container, const evaluate::ValuePtr& v, syntax::Expr* at);
  std::vector<int> tensors_of(evaluate::Interpreter& in, const evaluate::ValuePtr& v, syntax::Expr* at);
  std::optional<InputSpec> spec_from_shape(evaluate::Interpreter& in, const evaluate::ValuePtr& shape, bool with_batch,
                                           syntax::Expr* at);

  std::map<const pivot::Layer*, std::vector<InputSpec>> specs_;
  std::map<const pivot::Layer*, Functional> functional_;
  std::map<int, InputSpec> symbolic_inputs_;  // keras.Input values
  std::map<std::string, int> auto_names_;     // functional layers named like Keras does (dense, dense_1)
  std::map<int, pivot::LayerPtr> functional_layers_;
  pivot::LayerPtr scratch_root_;  // node id -> layer, for layers called outside a model
};

}  // namespace nnport::frontends
