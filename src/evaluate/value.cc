#include "evaluate/value.h"

#include <cmath>
#include <sstream>

namespace nnport::evaluate {

ValuePtr ClassObject::find(const std::string& n) const {
  if (const ValuePtr* v = members.find(n)) return *v;
  for (const auto& b : bases)
    if (b && b->kind == Kind::Class)
      if (auto v = b->cls->find(n)) return v;
  return nullptr;
}

ValuePtr Instance::get(const std::string& n) const {
  const ValuePtr* v = fields.find(n);
  return v ? *v : nullptr;
}

void Instance::set(const std::string& n, ValuePtr v) { fields.set(n, std::move(v)); }

namespace {
ValuePtr make(Kind k) {
  auto v = std::make_shared<Value>();
  v->kind = k;
  return v;
}
}  // namespace

ValuePtr none() { return make(Kind::None); }
ValuePtr boolean(bool b) {
  auto v = make(Kind::Bool);
  v->b = b;
  return v;
}
ValuePtr integer(long long i) {
  auto v = make(Kind::Int);
  v->i = i;
  return v;
}
ValuePtr number(double f) {
  auto v = make(Kind::Float);
  v->f = f;
  return v;
}
ValuePtr string(std::string s) {
  auto v = make(Kind::Str);
  v->text = std::move(s);
  return v;
}
ValuePtr list(std::vector<ValuePtr> items) {
  auto v = make(Kind::List);
  v->items = std::make_shared<std::vector<ValuePtr>>(std::move(items));
  return v;
}
ValuePtr tuple(std::vector<ValuePtr> items) {
  auto v = make(Kind::Tuple);
  v->items = std::make_shared<std::vector<ValuePtr>>(std::move(items));
  return v;
}
ValuePtr unknown(std::string why, Location loc) {
  auto v = make(Kind::Unknown);
  v->text = std::move(why);
  v->loc = std::move(loc);
  return v;
}
ValuePtr api(std::string q) {
  auto v = make(Kind::Api);
  v->text = std::move(q);
  return v;
}
ValuePtr builtin(std::string n) {
  auto v = make(Kind::Builtin);
  v->text = std::move(n);
  return v;
}
ValuePtr tensor(int id) {
  auto v = make(Kind::Tensor);
  v->tensor = id;
  return v;
}
ValuePtr layer(pivot::LayerPtr l) {
  auto v = make(Kind::Layer);
  v->layer = std::move(l);
  return v;
}

std::string kind_name(Kind k) {
  switch (k) {
    case Kind::None: return "None";
    case Kind::Bool: return "bool";
    case Kind::Int: return "int";
    case Kind::Float: return "float";
    case Kind::Str: return "str";
    case Kind::List: return "list";
    case Kind::Tuple: return "tuple";
    case Kind::Dict: return "dict";
    case Kind::Slice: return "slice";
    case Kind::Function: return "function";
    case Kind::Class: return "class";
    case Kind::Instance: return "object";
    case Kind::Layer: return "layer";
    case Kind::Api: return "framework name";
    case Kind::Builtin: return "builtin";
    case Kind::Method: return "method";
    case Kind::Super: return "super";
    case Kind::Tensor: return "tensor";
    case Kind::Unknown: return "unknown value";
  }
  return "?";
}

std::string repr(const ValuePtr& v) {
  if (!v) return "<null>";
  std::ostringstream o;
  switch (v->kind) {
    case Kind::None: return "None";
    case Kind::Bool: return v->b ? "True" : "False";
    case Kind::Int: return std::to_string(v->i);
    case Kind::Float: return pivot::to_python(pivot::Attr(v->f));
    case Kind::Str: return "\"" + v->text + "\"";
    case Kind::List:
    case Kind::Tuple: {
      o << (v->kind == Kind::List ? "[" : "(");
      for (size_t i = 0; i < v->items->size(); ++i) o << (i ? ", " : "") << repr((*v->items)[i]);
      if (v->kind == Kind::Tuple && v->items->size() == 1) o << ",";
      o << (v->kind == Kind::List ? "]" : ")");
      return o.str();
    }
    case Kind::Api: return v->text;
    case Kind::Layer: return v->layer->op + " layer";
    case Kind::Class: return "class " + v->cls->name;
    case Kind::Instance: return v->instance->cls->name + " object";
    case Kind::Unknown: return "<" + v->text + ">";
    default: return "<" + kind_name(v->kind) + ">";
  }
}

bool truthy(const ValuePtr& v) {
  switch (v->kind) {
    case Kind::None: return false;
    case Kind::Bool: return v->b;
    case Kind::Int: return v->i != 0;
    case Kind::Float: return v->f != 0;
    case Kind::Str: return !v->text.empty();
    case Kind::List:
    case Kind::Tuple: return !v->items->empty();
    case Kind::Dict: return !v->dict->empty();
    case Kind::Unknown:
    case Kind::Tensor: throw std::runtime_error("truth value of " + repr(v));
    default: return true;
  }
}

bool equal(const ValuePtr& a, const ValuePtr& b) {
  auto num = [](const ValuePtr& v) { return v->kind == Kind::Int || v->kind == Kind::Float || v->kind == Kind::Bool; };
  if (num(a) && num(b)) {
    double x = a->kind == Kind::Int ? double(a->i) : a->kind == Kind::Bool ? double(a->b) : a->f;
    double y = b->kind == Kind::Int ? double(b->i) : b->kind == Kind::Bool ? double(b->b) : b->f;
    return x == y;
  }
  if (a->kind != b->kind) return false;
  switch (a->kind) {
    case Kind::None: return true;
    case Kind::Str: return a->text == b->text;
    case Kind::List:
    case Kind::Tuple:
      if (a->items->size() != b->items->size()) return false;
      for (size_t i = 0; i < a->items->size(); ++i)
        if (!equal((*a->items)[i], (*b->items)[i])) return false;
      return true;
    case Kind::Layer: return a->layer == b->layer;
    case Kind::Instance: return a->instance == b->instance;
    case Kind::Api: return a->text == b->text;
    default: return a == b;
  }
}

bool to_attr(const ValuePtr& v, pivot::Attr& out) {
  switch (v->kind) {
    case Kind::None: out = pivot::Attr(); return true;
    case Kind::Bool: out = pivot::Attr(v->b); return true;
    case Kind::Int: out = pivot::Attr(v->i); return true;
    case Kind::Float: out = pivot::Attr(v->f); return true;
    case Kind::Str: out = pivot::Attr(v->text); return true;
    case Kind::List:
    case Kind::Tuple: {
      pivot::AttrList l;
      for (const auto& x : *v->items) {
        pivot::Attr a;
        if (!to_attr(x, a)) return false;
        l.push_back(a);
      }
      out = pivot::Attr(std::move(l));
      return true;
    }
    default: return false;
  }
}

ValuePtr from_attr(const pivot::Attr& a) {
  if (a.is_none()) return none();
  if (a.is_bool()) return boolean(a.as_bool());
  if (a.is_int()) return integer(a.as_int());
  if (a.is_float()) return number(a.as_number());
  if (a.is_str()) return string(a.as_str());
  std::vector<ValuePtr> items;
  for (const auto& x : a.as_list()) items.push_back(from_attr(x));
  return tuple(std::move(items));
}

}  // namespace nnport::evaluate
