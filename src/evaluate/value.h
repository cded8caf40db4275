// Values of the static evaluator: what a Python expression in a model file evaluates to
// for the entry's configuration, without running Python.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "evaluate/names.h"
#include "pivot/model.h"
#include "syntax/ast.h"

namespace nnport::evaluate {

struct Value;
using ValuePtr = std::shared_ptr<Value>;

enum class Kind {
  None, Bool, Int, Float, Str, List, Tuple, Dict, Slice,
  Function,  // user function or lambda
  Class,     // user class
  Instance,  // instance of a user class
  Layer,     // a framework layer or container (pivot::Layer)
  Api,       // a framework name not yet called: "torch.nn.Conv2d"
  Builtin,   // a Python builtin: "range"
  Method,    // a bound method: self + function, or a builtin method of a value ("append")
  Super,     // super()
  Tensor,    // a value of the model graph
  Unknown,   // cannot be known statically; `text` says why
};

struct ClassObject;
struct Instance;

struct Function {
  std::string name;
  const syntax::Stmt* def = nullptr;    // FunctionDef
  const syntax::Expr* lambda = nullptr; // Lambda
  std::vector<ValuePtr> defaults;       // evaluated defaults, one per parameter (null = none)
  std::shared_ptr<ClassObject> owner;   // class that defines it (for super())
};

struct ClassObject {
  std::string name;
  const syntax::Stmt* def = nullptr;
  std::vector<ValuePtr> bases;
  Names members;
  bool is_model = false;  // derives from the framework's module/layer base
  ValuePtr find(const std::string& name) const;
};

struct Instance {
  std::shared_ptr<ClassObject> cls;
  Names fields;
  pivot::LayerPtr layer;  // the pivot sub-model node, for model classes
  ValuePtr get(const std::string& name) const;
  void set(const std::string& name, ValuePtr v);
};

struct Value {
  Kind kind = Kind::None;
  bool b = false;
  long long i = 0;
  double f = 0;
  std::string text;  // Str value, Api/Builtin/Method name, Unknown reason
  std::shared_ptr<std::vector<ValuePtr>> items;  // List / Tuple / Slice(lower, upper, step)
  std::shared_ptr<std::vector<std::pair<ValuePtr, ValuePtr>>> dict;
  std::shared_ptr<Function> function;
  std::shared_ptr<ClassObject> cls;
  std::shared_ptr<Instance> instance;
  pivot::LayerPtr layer;
  int tensor = -1;
  ValuePtr self;  // Method receiver; Super: the instance
  Location loc;   // where the value came from (for diagnostics about it)
};

ValuePtr none();
ValuePtr boolean(bool b);
ValuePtr integer(long long i);
ValuePtr number(double f);
ValuePtr string(std::string s);
ValuePtr list(std::vector<ValuePtr> items);
ValuePtr tuple(std::vector<ValuePtr> items);
ValuePtr unknown(std::string why, Location loc = {});
ValuePtr api(std::string qualified);
ValuePtr builtin(std::string name);
ValuePtr tensor(int id);
ValuePtr layer(pivot::LayerPtr l);

std::string kind_name(Kind k);
std::string repr(const ValuePtr& v);  // Python-like spelling, for messages
bool truthy(const ValuePtr& v);       // Python truth value; throws on Unknown/Tensor
bool equal(const ValuePtr& a, const ValuePtr& b);
// Converts a constant value (None, bool, number, string, list/tuple of those) to an attribute.
bool to_attr(const ValuePtr& v, pivot::Attr& out);
ValuePtr from_attr(const pivot::Attr& a);

}  // namespace nnport::evaluate

namespace nnport::evaluate {
// A bound method value: `receiver.name`, resolved when called.
inline ValuePtr method(ValuePtr receiver, std::string name) {
  auto v = std::make_shared<Value>();
  v->kind = Kind::Method;
  v->self = std::move(receiver);
  v->text = std::move(name);
  return v;
}
}  // namespace nnport::evaluate
