// evaluate: a small interpreter for the Python subset model files use. It runs the
// module's top level, constructors and forward/call methods for the entry's
// configuration, without Python: constant expressions, names, constructor parameters
// and defaults, self.x fields, loops that append layers, comprehensions, *unpacking.
// Framework names (imports of torch / keras) are opaque `Api` values whose calls the
// frontend answers, which is how layers and graph nodes come into being.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "evaluate/value.h"
#include "pivot/model.h"
#include "pivot/program.h"

namespace nnport::evaluate {

// Arguments of a call, with the source expression of each (null when it came from *x).
struct Args {
  std::vector<ValuePtr> positional;
  std::vector<syntax::Expr*> positional_exprs;
  std::vector<std::pair<std::string, ValuePtr>> keywords;
  std::vector<syntax::Expr*> keyword_exprs;
};

class Interpreter;

// What a frontend tells the interpreter about its framework.
class Frontend {
 public:
  virtual ~Frontend() = default;
  // `import a.b as c` / `from a import b`: the value for a framework module or name,
  // or nullptr when the module is not the frontend's (the name then evaluates to Unknown).
  virtual ValuePtr import(const std::string& qualified) = 0;
  // Calling a framework name: a layer constructor, functional op, container...
  virtual ValuePtr call_api(Interpreter& in, const std::string& qualified, Args& args, syntax::Expr* call) = 0;
  // A class defined in the file that stands for a framework layer: the helper classes
  // nnport writes into migrated files (KerasLSTM, AdaptiveAveragePooling2D, ...), so that
  // migrated code migrates back. nullptr: an ordinary class.
  virtual ValuePtr known_class(const std::string& name, const std::vector<ValuePtr>& bases) {
    (void)name, (void)bases;
    return nullptr;
  }
  // A class whose base is this framework name is a model class.
  virtual bool is_model_base(const std::string& qualified) = 0;
  // The method that runs a model class ("forward" / "call").
  virtual std::string forward_method() = 0;
  // Calling a layer (or container) value with tensors.
  virtual ValuePtr call_layer(Interpreter& in, const ValuePtr& layer, Args& args, syntax::Expr* call) = 0;
  // `tensor.name(...)`, `tensor.name`, `a op b` with a tensor operand, `tensor[index]`.
  virtual ValuePtr tensor_method(Interpreter& in, const ValuePtr& t, const std::string& name, Args& args,
                                 syntax::Expr* call) = 0;
  virtual ValuePtr tensor_attribute(Interpreter& in, const ValuePtr& t, const std::string& name,
                                    syntax::Expr* at) = 0;
  virtual ValuePtr tensor_binop(Interpreter& in, const std::string& op, const ValuePtr& a, const ValuePtr& b,
                                syntax::Expr* at) = 0;
  virtual ValuePtr tensor_subscript(Interpreter& in, const ValuePtr& t, const ValuePtr& index,
                                    syntax::Expr* at) = 0;
  // Attribute of a layer value (`self.fc.in_features`, `seq.append`).
  virtual ValuePtr layer_attribute(Interpreter& in, const ValuePtr& layer, const std::string& name,
                                   syntax::Expr* at) = 0;
  // `layer.name(...)`: container methods (append, modules, ...)
  virtual ValuePtr layer_method(Interpreter& in, const ValuePtr& layer, const std::string& name, Args& args,
                                syntax::Expr* call) = 0;
  // isinstance(layer, framework_class)
  virtual bool layer_is(const ValuePtr& layer, const std::string& qualified) = 0;
  // A model class instance was created: build its pivot node.
  virtual pivot::LayerPtr new_submodel(const std::string& class_name, const Location& loc) = 0;
  // A value was assigned to `self.name` on a model instance.
  virtual void register_child(Instance& owner, const std::string& name, const ValuePtr& v) = 0;
};

class Interpreter {
 public:
  Interpreter(pivot::Program& program, pivot::Model& model, Frontend& frontend, DiagnosticSink& sink);

  // Runs the module's top-level statements (definitions, module-level models).
  // `if __name__ == "__main__":` blocks are skipped: they run scripts, not models.
  void run_module();
  ValuePtr eval(syntax::Expr* e);  // in the module scope
  ValuePtr call(const ValuePtr& callee, Args& args, syntax::Expr* at);
  const Names& globals() const { return globals_; }
  ValuePtr global(const std::string& name) const;

  pivot::Program& program;
  pivot::Model& model;
  Frontend& frontend;
  DiagnosticSink& sink;

  // Evaluation of a value that must be a constant (attribute values): throws a located
  // error naming `what` when it is Unknown.
  [[noreturn]] void unresolved(const ValuePtr& v, syntax::Expr* at, const std::string& what);
  int depth = 0;  // call depth (recursion guard)
  // The integer-valued local names of the running function (its parameters, loop
  // variables...): what a backend may write where a size differs between calls.
  std::map<std::string, long long> int_locals() const;

 private:
  struct Frame;
  ValuePtr eval(syntax::Expr* e, Frame& f);
  void exec_block(const std::vector<syntax::StmtPtr>& body, Frame& f);
  void exec(const syntax::StmtPtr& s, Frame& f);
  void assign(syntax::Expr* target, const ValuePtr& v, Frame& f);
  ValuePtr lookup(const std::string& name, Frame& f, syntax::Expr* at);
  ValuePtr attribute(const ValuePtr& obj, const std::string& name, syntax::Expr* at);
  void set_attribute(const ValuePtr& obj, const std::string& name, const ValuePtr& v, syntax::Expr* at);
  ValuePtr subscript(const ValuePtr& obj, const ValuePtr& index, syntax::Expr* at);
  ValuePtr binop(const std::string& op, const ValuePtr& a, const ValuePtr& b, syntax::Expr* at);
  ValuePtr compare(const std::string& op, const ValuePtr& a, const ValuePtr& b, syntax::Expr* at);
  ValuePtr call_function(const std::shared_ptr<Function>& fn, const ValuePtr& self, Args& args, syntax::Expr* at);
  ValuePtr call_builtin(const std::string& name, Args& args, syntax::Expr* at);
  ValuePtr call_method(const ValuePtr& m, Args& args, syntax::Expr* at);
  ValuePtr instantiate(const std::shared_ptr<ClassObject>& cls, Args& args, syntax::Expr* at);
  std::vector<ValuePtr> iterate(const ValuePtr& v, syntax::Expr* at);
  void collect_args(const std::vector<syntax::Argument>& in, Args& out, Frame& f);
  ValuePtr fstring(syntax::Expr* e, Frame& f);

  Names globals_;
  Frame* current_ = nullptr;  // the running function's frame
  std::vector<syntax::Module> fstring_modules_;  // keeps parsed f-string pieces alive
};

}  // namespace nnport::evaluate
