// recognise (PyTorch): answers the evaluator's questions about torch names, builds
// pivot layers from `nn.*` constructor calls (bound with the catalog's signatures),
// graph nodes from module calls, `F.*` / `torch.*` functions and tensor methods in
// `forward`, and annotates each recognised call in the program with its PivotCall.
#pragma once

#include <map>

#include "catalog/catalog.h"
#include "evaluate/interpreter.h"

namespace nnport::frontends {

class TorchFrontend : public evaluate::Frontend {
 public:
  TorchFrontend(pivot::Program& program, pivot::Model& model, DiagnosticSink& sink)
      : program_(program), model_(model), sink_(sink) {}

  evaluate::ValuePtr import(const std::string& qualified) override;
  evaluate::ValuePtr call_api(evaluate::Interpreter& in, const std::string& qualified, evaluate::Args& args,
                              syntax::Expr* call) override;
  bool is_model_base(const std::string& qualified) override;
  std::string forward_method() override { return "forward"; }
  evaluate::ValuePtr call_layer(evaluate::Interpreter& in, const evaluate::ValuePtr& layer, evaluate::Args& args,
                                syntax::Expr* call) override;
  evaluate::ValuePtr tensor_method(evaluate::Interpreter& in, const evaluate::ValuePtr& t, const std::string& name,
                                   evaluate::Args& args, syntax::Expr* call) override;
  evaluate::ValuePtr tensor_attribute(evaluate::Interpreter& in, const evaluate::ValuePtr& t,
                                      const std::string& name, syntax::Expr* at) override;
  evaluate::ValuePtr tensor_binop(evaluate::Interpreter& in, const std::string& op, const evaluate::ValuePtr& a,
                                  const evaluate::ValuePtr& b, syntax::Expr* at) override;
  evaluate::ValuePtr tensor_subscript(evaluate::Interpreter& in, const evaluate::ValuePtr& t,
                                      const evaluate::ValuePtr& index, syntax::Expr* at) override;
  evaluate::ValuePtr layer_attribute(evaluate::Interpreter& in, const evaluate::ValuePtr& layer,
                                     const std::string& name, syntax::Expr* at) override;
  evaluate::ValuePtr layer_method(evaluate::Interpreter& in, const evaluate::ValuePtr& layer, const std::string& name,
                                  evaluate::Args& args, syntax::Expr* call) override;
  bool layer_is(const evaluate::ValuePtr& layer, const std::string& qualified) override;
  pivot::LayerPtr new_submodel(const std::string& class_name, const Location& loc) override;
  void register_child(evaluate::Instance& owner, const std::string& name, const evaluate::ValuePtr& v) override;

  // recognise, statically: annotates every framework constructor call in the file with
  // its PivotCall, including calls the entry never executes (a `batch_norm` branch), so
  // the backend can translate them too.
  void annotate(syntax::Module& module);

  // The value to call for a container child that is a user sub-network.
  evaluate::ValuePtr instance_of(const pivot::Layer* l) const;

 private:
  int site_for(syntax::Expr* call, const std::string& op);
  evaluate::ValuePtr add_node(const std::string& kind, const std::string& op, const std::string& module,
                              pivot::Attrs attrs, std::vector<int> inputs, size_t outputs, syntax::Expr* call);
  evaluate::ValuePtr construct(evaluate::Interpreter& in, const std::string& qualified, const catalog::OpDef& def,
                               const catalog::Signature& sig, evaluate::Args& args, syntax::Expr* call);
  evaluate::ValuePtr functional(evaluate::Interpreter& in, const std::string& qualified, const catalog::OpDef& def,
                                const catalog::Signature& sig, evaluate::Args& args, syntax::Expr* call,
                                const evaluate::ValuePtr& receiver);
  evaluate::ValuePtr container(evaluate::Interpreter& in, const std::string& op, evaluate::Args& args,
                               syntax::Expr* call);
  pivot::LayerPtr as_layer(const evaluate::ValuePtr& v, syntax::Expr* at);
  int tensor_id(evaluate::Interpreter& in, const evaluate::ValuePtr& v, syntax::Expr* at);

  pivot::Program& program_;
  pivot::Model& model_;
  DiagnosticSink& sink_;
  std::map<syntax::Expr*, int> sites_;
  std::string chain_parent_;  // set while a sequential container chains its children
  int chain_index_ = -1;
  std::map<const pivot::Layer*, evaluate::ValuePtr> instances_;
};

}  // namespace nnport::frontends
