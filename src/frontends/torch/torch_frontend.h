// recognise (PyTorch): answers the evaluator's questions about torch names, builds
// pivot layers from `nn.*` constructor calls (bound with the catalog's signatures),
// graph nodes from module calls, `F.*` / `torch.*` functions and tensor methods in
// `forward`, and annotates each recognised call in the program with its PivotCall.
#pragma once

#include <map>
#include <set>

#include "catalog/catalog.h"
#include "evaluate/interpreter.h"
#include "frontends/common/graph_builder.h"

namespace nnport::frontends {

class TorchFrontend : public GraphBuilder {
 public:
  using GraphBuilder::GraphBuilder;

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
  evaluate::ValuePtr layer_attribute(evaluate::Interpreter& in, const evaluate::ValuePtr& layer,
                                     const std::string& name, syntax::Expr* at) override;
  evaluate::ValuePtr layer_method(evaluate::Interpreter& in, const evaluate::ValuePtr& layer, const std::string& name,
                                  evaluate::Args& args, syntax::Expr* call) override;
  bool layer_is(const evaluate::ValuePtr& layer, const std::string& qualified) override;
  evaluate::ValuePtr known_class(const std::string& name, const std::vector<evaluate::ValuePtr>& bases) override;

  // recognise, statically: annotates every framework constructor call in the file with
  // its PivotCall, including calls the entry never executes (a `batch_norm` branch), so
  // the backend can translate them too.
  void annotate(syntax::Module& module) override;


 private:
  evaluate::ValuePtr add_node(const std::string& kind, const std::string& op, const std::string& module,
                              pivot::Attrs attrs, std::vector<int> inputs, size_t outputs, syntax::Expr* call);
  evaluate::ValuePtr nnport_helper(evaluate::Interpreter& in, const std::string& name, evaluate::Args& args,
                                   syntax::Expr* call);
  void fold_same_padding(const pivot::LayerPtr& l, std::vector<int>& inputs, syntax::Expr* call);
  std::set<const pivot::Layer*> folded_;  // convolutions that absorbed an F.pad
  evaluate::ValuePtr package_outputs(const std::string& op, const std::vector<int>& outs);
  evaluate::ValuePtr construct(evaluate::Interpreter& in, const std::string& qualified, const catalog::OpDef& def,
                               const catalog::Signature& sig, evaluate::Args& args, syntax::Expr* call);
  evaluate::ValuePtr functional(evaluate::Interpreter& in, const std::string& qualified, const catalog::OpDef& def,
                                const catalog::Signature& sig, evaluate::Args& args, syntax::Expr* call,
                                const evaluate::ValuePtr& receiver);
  evaluate::ValuePtr container(evaluate::Interpreter& in, const std::string& op, evaluate::Args& args,
                               syntax::Expr* call);
  pivot::LayerPtr as_layer(const evaluate::ValuePtr& v, syntax::Expr* at);

};

}  // namespace nnport::frontends
