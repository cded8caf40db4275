// What every frontend does the same way: records the program sites of recognised calls,
// appends graph nodes (inferring their shapes as they come), registers sub-modules, and
// turns Python operators and subscripts on tensors into pivot ops.
#pragma once

#include <map>
#include <unordered_map>

#include "evaluate/interpreter.h"

namespace nnport::frontends {

class GraphBuilder : public evaluate::Frontend {
 public:
  GraphBuilder(pivot::Program& program, pivot::Model& model, DiagnosticSink& sink)
      : program_(program), model_(model), sink_(sink) {}

  pivot::LayerPtr new_submodel(const std::string& class_name, const Location& loc) override;
  void register_child(evaluate::Instance& owner, const std::string& name, const evaluate::ValuePtr& v) override;
  evaluate::ValuePtr tensor_binop(evaluate::Interpreter& in, const std::string& op, const evaluate::ValuePtr& a,
                                  const evaluate::ValuePtr& b, syntax::Expr* at) override;
  evaluate::ValuePtr tensor_subscript(evaluate::Interpreter& in, const evaluate::ValuePtr& t,
                                      const evaluate::ValuePtr& index, syntax::Expr* at) override;

  // Statically marks the file's framework calls with their PivotCall (before evaluation).
  virtual void annotate(syntax::Module& module) { (void)module; }

  // The value to call for a container child that is a user sub-network.
  evaluate::ValuePtr instance_of(const pivot::Layer* l) const;

 protected:
  int site_for(syntax::Expr* call, const std::string& op);
  // Appends a node, infers its output shapes, and returns its output value ids.
  std::vector<int> append_node(const std::string& kind, const std::string& op, const std::string& module,
                               pivot::Attrs attrs, std::vector<int> inputs, size_t outputs, syntax::Expr* call,
                               const Location& loc);
  // Marks a tensor-operator expression as the site of the node just added.
  void annotate_op(syntax::Expr* at, const std::string& op);
  int tensor_id(evaluate::Interpreter& in, const evaluate::ValuePtr& v, syntax::Expr* at);
  // Keras's recurrent outputs (the sequence or last step, then the final states with
  // return_state, forward and backward for Bidirectional): how many a call produces, and
  // the value the call returns (a tensor, or a list with the states).
  static size_t keras_recurrent_outputs(pivot::Layer& l);
  static evaluate::ValuePtr keras_outputs_value(const std::vector<int>& outs);
  // Calls a sequential container's children one after the other on `x`; the nodes record
  // the container and the child's index (so backends can write the container back).
  evaluate::ValuePtr call_sequential(evaluate::Interpreter& in, const pivot::LayerPtr& container, evaluate::ValuePtr x,
                                     syntax::Expr* call);

  pivot::Program& program_;
  pivot::Model& model_;
  DiagnosticSink& sink_;
  std::unordered_map<syntax::Expr*, int> sites_;  // hashed: looked up for every call
  std::string chain_parent_;  // set while a sequential container chains its children
  int chain_index_ = -1;
  std::map<const pivot::Layer*, evaluate::ValuePtr> instances_;
  // register_child's index of a model instance's children: the first position of each name
  struct ChildNames {
    pivot::LayerPtr layer;  // keeps the key alive
    size_t indexed = 0;     // children indexed so far
    std::unordered_map<std::string, size_t> first;
  };
  std::unordered_map<const pivot::Layer*, ChildNames> child_names_;
};

}  // namespace nnport::frontends
