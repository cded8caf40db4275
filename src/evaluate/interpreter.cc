#include "evaluate/interpreter.h"

#include <cmath>
#include <fmt/format.h>

#include "syntax/parse.h"

namespace nnport::evaluate {

using syntax::Expr;
using syntax::ExprKind;
using syntax::Stmt;
using syntax::StmtKind;
using syntax::StmtPtr;

namespace {

struct ReturnSignal {
  ValuePtr value;
};
struct BreakSignal {};
struct ContinueSignal {};

constexpr int kMaxDepth = 64;
constexpr int kMaxLoop = 100000;

const char* kBuiltins[] = {"range", "len",   "int",    "float", "str",      "bool",     "list",  "tuple",
                           "dict",  "enumerate", "zip", "min",  "max",      "sum",      "abs",   "round",
                           "isinstance", "print", "super", "getattr", "setattr", "hasattr", "sorted",
                           "reversed", "any", "all", "divmod", "pow", "input", "open", "eval", "exec", "__import__"};

bool is_number(const ValuePtr& v) { return v->kind == Kind::Int || v->kind == Kind::Float || v->kind == Kind::Bool; }
double as_double(const ValuePtr& v) {
  return v->kind == Kind::Int ? double(v->i) : v->kind == Kind::Bool ? double(v->b) : v->f;
}
long long as_int(const ValuePtr& v) { return v->kind == Kind::Bool ? v->b : v->i; }

long long floordiv(long long a, long long b) {
  long long q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

}  // namespace

struct Interpreter::Frame {
  Names locals;
  bool module_level = false;
  std::shared_ptr<Function> function;  // the running function (for super())
  ValuePtr self;
  std::vector<size_t>* changed = nullptr;  // module frame: names set since the last copy to globals_ (not all: quadratic)
  ValuePtr* find(const std::string& n) { return locals.find(n); }
  void set(const std::string& n, ValuePtr v) {
    size_t at = locals.set(n, std::move(v));
    if (changed) changed->push_back(at);
  }
};

Interpreter::Interpreter(pivot::Program& program_, pivot::Model& model_, Frontend& frontend_,
                         DiagnosticSink& sink_)
    : program(program_), model(model_), frontend(frontend_), sink(sink_) {}

std::map<std::string, long long> Interpreter::int_locals() const {
  std::map<std::string, long long> out;
  if (current_)
    for (const auto& [k, v] : current_->locals)
      if (v && v->kind == Kind::Int) out[k] = v->i;
  return out;
}

void Interpreter::unresolved(const ValuePtr& v, Expr* at, const std::string& what) {
  Location loc = at ? at->loc : Location{};
  std::string why = v && v->kind == Kind::Unknown ? v->text : "its value is a " + kind_name(v ? v->kind : Kind::None);
  fail(loc, fmt::format("cannot determine {} statically: {}", what, why),
       "use a literal, a name bound to a literal, or a constructor parameter with a default; "
       "or give concrete arguments with --entry");
}

ValuePtr Interpreter::global(const std::string& name) const {
  const ValuePtr* v = globals_.find(name);
  return v ? *v : nullptr;
}

void Interpreter::run_module() {
  Frame f;
  f.module_level = true;
  std::vector<size_t> changed;
  f.changed = &changed;
  for (const auto& s : program.module.body) {
    // Scripts under `if __name__ == "__main__":` train or run the model; they are not
    // part of the model definition.
    if (s->kind == StmtKind::If && s->value && s->value->kind == ExprKind::Compare && !s->value->items.empty() &&
        s->value->items[0]->kind == ExprKind::Name && s->value->items[0]->name == "__name__")
      continue;
    exec(s, f);
    // functions that later module-level code calls see the names as they are now
    for (size_t at : changed) globals_.set(f.locals[at].first, f.locals[at].second);
    changed.clear();
  }
}

ValuePtr Interpreter::eval(Expr* e) {
  Frame f;
  f.module_level = true;
  f.locals = globals_;
  return eval(e, f);
}

ValuePtr Interpreter::lookup(const std::string& name, Frame& f, Expr* at) {
  if (auto* v = f.find(name)) return *v;
  if (!f.module_level)
    if (ValuePtr* v = globals_.find(name)) return *v;
  for (const char* b : kBuiltins)
    if (name == b) return builtin(name);
  if (name == "True") return boolean(true);
  if (name == "False") return boolean(false);
  if (name == "None") return none();
  fail(at->loc, fmt::format("name `{}` is not defined", name),
       "define it in the file (nnport reads only this file and never runs it)");
}

void Interpreter::exec_block(const std::vector<StmtPtr>& body, Frame& f) {
  for (const auto& s : body) exec(s, f);
}

void Interpreter::collect_args(const std::vector<syntax::Argument>& in, Args& out, Frame& f) {
  for (const auto& a : in) {
    ValuePtr v = eval(a.value.get(), f);
    if (a.star) {
      for (auto& x : iterate(v, a.value.get())) {
        out.positional.push_back(x);
        out.positional_exprs.push_back(nullptr);
      }
    } else if (a.double_star) {
      if (v->kind != Kind::Dict) unresolved(v, a.value.get(), "the **keyword arguments");
      for (auto& [k, x] : *v->dict) {
        if (k->kind != Kind::Str) unresolved(k, a.value.get(), "a keyword name");
        out.keywords.emplace_back(k->text, x);
        out.keyword_exprs.push_back(nullptr);
      }
    } else if (a.name.empty()) {
      out.positional.push_back(v);
      out.positional_exprs.push_back(a.value.get());
    } else {
      out.keywords.emplace_back(a.name, v);
      out.keyword_exprs.push_back(a.value.get());
    }
  }
}

void Interpreter::exec(const StmtPtr& sp, Frame& f) {
  Stmt& s = *sp;
  switch (s.kind) {
    case StmtKind::Expr: eval(s.value.get(), f); return;
    case StmtKind::Assign: {
      ValuePtr v = eval(s.value.get(), f);
      for (auto& t : s.targets) assign(t.get(), v, f);
      return;
    }
    case StmtKind::AnnAssign:
      if (s.value) assign(s.targets[0].get(), eval(s.value.get(), f), f);
      return;
    case StmtKind::AugAssign: {
      ValuePtr cur = eval(s.targets[0].get(), f);
      ValuePtr rhs = eval(s.value.get(), f);
      std::string op = s.op.substr(0, s.op.size() - 1);
      if (op == "+" && cur->kind == Kind::List) {  // list += iterable extends in place
        for (auto& x : iterate(rhs, s.value.get())) cur->items->push_back(x);
        return;
      }
      assign(s.targets[0].get(), binop(op, cur, rhs, s.value.get()), f);
      return;
    }
    case StmtKind::Return: throw ReturnSignal{s.value ? eval(s.value.get(), f) : none()};
    case StmtKind::If: {
      ValuePtr c = eval(s.value.get(), f);
      if (c->kind == Kind::Unknown || c->kind == Kind::Tensor) unresolved(c, s.value.get(), "this condition");
      if (truthy(c)) exec_block(s.body, f);
      else exec_block(s.orelse, f);
      return;
    }
    case StmtKind::For: {
      ValuePtr it = eval(s.value.get(), f);
      auto items = iterate(it, s.value.get());
      bool broke = false;
      for (auto& x : items) {
        assign(s.targets[0].get(), x, f);
        try {
          exec_block(s.body, f);
        } catch (BreakSignal&) {
          broke = true;
          break;
        } catch (ContinueSignal&) {
        }
      }
      if (!broke) exec_block(s.orelse, f);
      return;
    }
    case StmtKind::While: {
      for (int n = 0;; ++n) {
        if (n > kMaxLoop) fail(s.loc, "loop does not terminate within the evaluator's limit");
        ValuePtr c = eval(s.value.get(), f);
        if (c->kind == Kind::Unknown || c->kind == Kind::Tensor) unresolved(c, s.value.get(), "this loop condition");
        if (!truthy(c)) break;
        try {
          exec_block(s.body, f);
        } catch (BreakSignal&) {
          break;
        } catch (ContinueSignal&) {
        }
      }
      return;
    }
    case StmtKind::FunctionDef: {
      auto fn = std::make_shared<Function>();
      fn->name = s.name;
      fn->def = &s;
      for (const auto& p : s.params) fn->defaults.push_back(p.default_value ? eval(p.default_value.get(), f) : nullptr);
      auto v = std::make_shared<Value>();
      v->kind = Kind::Function;
      v->function = fn;
      v->loc = s.loc;
      f.set(s.name, v);
      return;
    }
    case StmtKind::ClassDef: {
      auto cls = std::make_shared<ClassObject>();
      cls->name = s.name;
      cls->def = &s;
      for (const auto& b : s.bases) {
        if (!b.name.empty()) continue;  // metaclass=...
        ValuePtr base = eval(b.value.get(), f);
        cls->bases.push_back(base);
        if (base->kind == Kind::Api && frontend.is_model_base(base->text)) cls->is_model = true;
        if (base->kind == Kind::Class && base->cls->is_model) cls->is_model = true;
      }
      // classes nnport itself writes into migrated files stand for catalog layers
      if (ValuePtr known = frontend.known_class(s.name, cls->bases)) {
        f.set(s.name, known);
        if (f.module_level) program.helper_classes.push_back(s.name);
        return;
      }
      Frame body;
      body.module_level = false;
      body.locals = {};
      // class bodies see module names
      for (const auto& st : s.body) {
        if (st->kind == StmtKind::FunctionDef) {
          exec(st, body);
          body.find(st->name)->get()->function->owner = cls;
        } else if (st->kind == StmtKind::Assign || st->kind == StmtKind::AnnAssign) {
          exec(st, body);
        }
      }
      cls->members = body.locals;
      auto v = std::make_shared<Value>();
      v->kind = Kind::Class;
      v->cls = cls;
      v->loc = s.loc;
      f.set(s.name, v);
      if (cls->is_model && f.module_level) program.model_classes.push_back(s.name);
      return;
    }
    case StmtKind::Pass: return;
    case StmtKind::Break: throw BreakSignal{};
    case StmtKind::Continue: throw ContinueSignal{};
    case StmtKind::Import:
      for (const auto& [name, as] : s.names) {
        ValuePtr v = frontend.import(as.empty() ? name.substr(0, name.find('.')) : name);
        if (!v) v = unknown("`" + name + "` is a module nnport does not model", s.loc);
        f.set(as.empty() ? name.substr(0, name.find('.')) : as, v);
      }
      return;
    case StmtKind::ImportFrom:
      for (const auto& [name, as] : s.names) {
        if (name == "*") continue;
        ValuePtr v = frontend.import(s.module + "." + name);
        if (!v) v = unknown("`" + s.module + "." + name + "` is not modelled by nnport", s.loc);
        f.set(as.empty() ? name : as, v);
      }
      return;
    case StmtKind::Raise:
      fail(s.loc, "the model's code raises an exception for this configuration",
           "check the entry expression's arguments");
    case StmtKind::Assert:
    case StmtKind::With:
    case StmtKind::Other: return;  // no effect on the model definition
  }
}

void Interpreter::assign(Expr* target, const ValuePtr& v, Frame& f) {
  switch (target->kind) {
    case ExprKind::Name: f.set(target->name, v); return;
    case ExprKind::Tuple:
    case ExprKind::List: {
      auto items = iterate(v, target);
      size_t star = target->items.size();
      for (size_t i = 0; i < target->items.size(); ++i)
        if (target->items[i]->kind == ExprKind::Starred) star = i;
      if (star == target->items.size()) {
        if (items.size() != target->items.size())
          fail(target->loc, fmt::format("cannot unpack {} values into {} names", items.size(), target->items.size()));
        for (size_t i = 0; i < items.size(); ++i) assign(target->items[i].get(), items[i], f);
      } else {
        size_t after = target->items.size() - star - 1;
        for (size_t i = 0; i < star; ++i) assign(target->items[i].get(), items[i], f);
        std::vector<ValuePtr> rest(items.begin() + star, items.end() - after);
        assign(target->items[star]->object.get(), list(rest), f);
        for (size_t i = 0; i < after; ++i)
          assign(target->items[star + 1 + i].get(), items[items.size() - after + i], f);
      }
      return;
    }
    case ExprKind::Attribute: set_attribute(eval(target->object.get(), f), target->name, v, target); return;
    case ExprKind::Subscript: {
      ValuePtr obj = eval(target->object.get(), f);
      ValuePtr key = eval(target->items[0].get(), f);
      if (obj->kind == Kind::Dict) {
        for (auto& [k, x] : *obj->dict)
          if (equal(k, key)) {
            x = v;
            return;
          }
        obj->dict->emplace_back(key, v);
        return;
      }
      if (obj->kind == Kind::List && key->kind == Kind::Int) {
        long long i = key->i < 0 ? key->i + (long long)obj->items->size() : key->i;
        if (i < 0 || i >= (long long)obj->items->size()) fail(target->loc, "list index out of range");
        (*obj->items)[i] = v;
        return;
      }
      unresolved(obj, target, "the assignment target");
    }
    default: fail(target->loc, "unsupported assignment target");
  }
}

void Interpreter::set_attribute(const ValuePtr& obj, const std::string& name, const ValuePtr& v, Expr* at) {
  if (obj->kind == Kind::Instance) {
    obj->instance->set(name, v);
    if (obj->instance->cls->is_model) frontend.register_child(*obj->instance, name, v);
    return;
  }
  fail(at->loc, fmt::format("cannot set attribute `{}` on a {}", name, kind_name(obj->kind)));
}

ValuePtr Interpreter::attribute(const ValuePtr& obj, const std::string& name, Expr* at) {
  switch (obj->kind) {
    case Kind::Api: return api(obj->text + "." + name);
    case Kind::Instance: {
      if (auto v = obj->instance->get(name)) return v;
      if (auto m = obj->instance->cls->find(name)) {
        if (m->kind == Kind::Function) {
          auto bm = std::make_shared<Value>();
          bm->kind = Kind::Method;
          bm->function = m->function;
          bm->self = obj;
          bm->text = name;
          return bm;
        }
        return m;
      }
      if (name == "training") return boolean(false);  // migration analyses inference mode
      if (name == "add_module" || name == "register_module") return method(obj, name);
      if (obj->instance->cls->is_model && obj->instance->layer)
        return frontend.layer_attribute(*this, layer(obj->instance->layer), name, at);
      fail(at->loc, fmt::format("`{}` object has no attribute `{}`", obj->instance->cls->name, name),
           "assign it in __init__ before using it");
    }
    case Kind::Class: {
      if (auto m = obj->cls->find(name)) return m;
      fail(at->loc, fmt::format("class `{}` has no attribute `{}`", obj->cls->name, name));
    }
    case Kind::Super: {
      // look the name up in the bases of the class whose method is running
      auto owner = obj->cls;
      for (const auto& b : owner->bases) {
        if (b->kind == Kind::Class)
          if (auto m = b->cls->find(name)) {
            auto bm = std::make_shared<Value>();
            bm->kind = Kind::Method;
            bm->function = m->function;
            bm->self = obj->self;
            bm->text = name;
            return bm;
          }
      }
      // the framework base (nn.Module.__init__, keras.Model.__init__): nothing to model
      auto bm = std::make_shared<Value>();
      bm->kind = Kind::Method;
      bm->text = "<base>." + name;
      bm->self = obj->self;
      return bm;
    }
    case Kind::Layer: return frontend.layer_attribute(*this, obj, name, at);
    case Kind::Tensor: return frontend.tensor_attribute(*this, obj, name, at);
    case Kind::List:
    case Kind::Dict:
    case Kind::Str:
    case Kind::Tuple: {
      auto bm = std::make_shared<Value>();
      bm->kind = Kind::Method;
      bm->text = name;
      bm->self = obj;
      return bm;
    }
    case Kind::Unknown: return obj;
    default: fail(at->loc, fmt::format("a {} has no attribute `{}`", kind_name(obj->kind), name));
  }
}

ValuePtr Interpreter::subscript(const ValuePtr& obj, const ValuePtr& index, Expr* at) {
  if (obj->kind == Kind::Tensor) return frontend.tensor_subscript(*this, obj, index, at);
  if (obj->kind == Kind::Unknown) return obj;
  if (obj->kind == Kind::Dict) {
    for (auto& [k, x] : *obj->dict)
      if (equal(k, index)) return x;
    fail(at->loc, fmt::format("key {} not found", repr(index)));
  }
  if (obj->kind == Kind::List || obj->kind == Kind::Tuple || obj->kind == Kind::Str) {
    long long n = obj->kind == Kind::Str ? (long long)obj->text.size() : (long long)obj->items->size();
    if (index->kind == Kind::Int || index->kind == Kind::Bool) {
      long long i = as_int(index);
      if (i < 0) i += n;
      if (i < 0 || i >= n) fail(at->loc, "index out of range");
      if (obj->kind == Kind::Str) return string(obj->text.substr(i, 1));
      return (*obj->items)[i];
    }
    if (index->kind == Kind::Slice) {
      auto part = [&](int k, long long dflt) {
        const ValuePtr& p = (*index->items)[k];
        if (!p || p->kind == Kind::None) return dflt;
        long long x = as_int(p);
        if (x < 0) x += n;
        return std::clamp(x, 0LL, n);
      };
      long long step = (*index->items)[2] && (*index->items)[2]->kind != Kind::None ? as_int((*index->items)[2]) : 1;
      if (step != 1) fail(at->loc, "slices with a step are not supported here");
      long long lo = part(0, 0), hi = part(1, n);
      if (obj->kind == Kind::Str) return string(hi > lo ? obj->text.substr(lo, hi - lo) : "");
      std::vector<ValuePtr> out;
      for (long long i = lo; i < hi; ++i) out.push_back((*obj->items)[i]);
      return obj->kind == Kind::List ? list(out) : tuple(out);
    }
  }
  if (obj->kind == Kind::Layer) {
    // container indexing: seq[0], seq[-1], seq[1:]
    auto& ch = obj->layer->children;
    if (index->kind == Kind::Int) {
      long long i = index->i < 0 ? index->i + (long long)ch.size() : index->i;
      if (i < 0 || i >= (long long)ch.size()) fail(at->loc, "container index out of range");
      return layer(ch[i].second);
    }
    if (index->kind == Kind::Str)
      for (auto& [k, c] : ch)
        if (k == index->text) return layer(c);
  }
  fail(at->loc, fmt::format("cannot index a {} with {}", kind_name(obj->kind), repr(index)));
}

ValuePtr Interpreter::binop(const std::string& op, const ValuePtr& a, const ValuePtr& b, Expr* at) {
  if (a->kind == Kind::Tensor || b->kind == Kind::Tensor) return frontend.tensor_binop(*this, op, a, b, at);
  if (a->kind == Kind::Unknown) return a;
  if (b->kind == Kind::Unknown) return b;
  if (is_number(a) && is_number(b)) {
    bool ints = a->kind != Kind::Float && b->kind != Kind::Float;
    if (ints) {
      long long x = as_int(a), y = as_int(b);
      if (op == "+") return integer(x + y);
      if (op == "-") return integer(x - y);
      if (op == "*") return integer(x * y);
      if (op == "//" || op == "%") {
        if (y == 0) fail(at->loc, "division by zero");
        return op == "//" ? integer(floordiv(x, y)) : integer(x - floordiv(x, y) * y);
      }
      if (op == "**" && y >= 0) {
        long long r = 1;
        for (long long i = 0; i < y; ++i) r *= x;
        return integer(r);
      }
      if (op == "<<") return integer(x << y);
      if (op == ">>") return integer(x >> y);
      if (op == "&") return integer(x & y);
      if (op == "|") return integer(x | y);
      if (op == "^") return integer(x ^ y);
    }
    double x = as_double(a), y = as_double(b);
    if (op == "+") return number(x + y);
    if (op == "-") return number(x - y);
    if (op == "*") return number(x * y);
    if (op == "/") {
      if (y == 0) fail(at->loc, "division by zero");
      return number(x / y);
    }
    if (op == "//") return number(std::floor(x / y));
    if (op == "%") return number(x - std::floor(x / y) * y);
    if (op == "**") return number(std::pow(x, y));
  }
  if (op == "+" && a->kind == b->kind && (a->kind == Kind::List || a->kind == Kind::Tuple)) {
    std::vector<ValuePtr> out(*a->items);
    out.insert(out.end(), b->items->begin(), b->items->end());
    return a->kind == Kind::List ? list(out) : tuple(out);
  }
  if (op == "+" && a->kind == Kind::Str && b->kind == Kind::Str) return string(a->text + b->text);
  if (op == "*" && (a->kind == Kind::List || a->kind == Kind::Tuple || a->kind == Kind::Str) && b->kind == Kind::Int) {
    if (a->kind == Kind::Str) {
      std::string s;
      for (long long i = 0; i < b->i; ++i) s += a->text;
      return string(s);
    }
    std::vector<ValuePtr> out;
    for (long long i = 0; i < b->i; ++i) out.insert(out.end(), a->items->begin(), a->items->end());
    return a->kind == Kind::List ? list(out) : tuple(out);
  }
  if (op == "*" && b->kind != Kind::Int && (b->kind == Kind::List || b->kind == Kind::Tuple)) return binop(op, b, a, at);
  if (op == "%" && a->kind == Kind::Str) return unknown("%-formatting", at->loc);
  fail(at->loc, fmt::format("unsupported operation {} {} {}", kind_name(a->kind), op, kind_name(b->kind)));
}

ValuePtr Interpreter::compare(const std::string& op, const ValuePtr& a, const ValuePtr& b, Expr* at) {
  if (a->kind == Kind::Unknown) return a;
  if (b->kind == Kind::Unknown) return b;
  if (op == "==") return boolean(equal(a, b));
  if (op == "!=") return boolean(!equal(a, b));
  if (op == "is") return boolean(equal(a, b) && (a->kind == Kind::None || a->kind == Kind::Bool || a == b));
  if (op == "is not") return boolean(!(equal(a, b) && (a->kind == Kind::None || a->kind == Kind::Bool || a == b)));
  if (op == "in" || op == "not in") {
    bool found = false;
    if (b->kind == Kind::Dict) {
      for (auto& [k, x] : *b->dict) found |= equal(k, a);
    } else if (b->kind == Kind::Str && a->kind == Kind::Str) {
      found = b->text.find(a->text) != std::string::npos;
    } else {
      for (auto& x : iterate(b, at)) found |= equal(x, a);
    }
    return boolean(op == "in" ? found : !found);
  }
  if (is_number(a) && is_number(b)) {
    double x = as_double(a), y = as_double(b);
    if (op == "<") return boolean(x < y);
    if (op == "<=") return boolean(x <= y);
    if (op == ">") return boolean(x > y);
    if (op == ">=") return boolean(x >= y);
  }
  if (a->kind == Kind::Str && b->kind == Kind::Str) {
    if (op == "<") return boolean(a->text < b->text);
    if (op == ">") return boolean(a->text > b->text);
  }
  if (a->kind == Kind::Tensor || b->kind == Kind::Tensor)
    return unknown("a comparison of tensors", at->loc);
  fail(at->loc, fmt::format("unsupported comparison {} {} {}", kind_name(a->kind), op, kind_name(b->kind)));
}

std::vector<ValuePtr> Interpreter::iterate(const ValuePtr& v, Expr* at) {
  switch (v->kind) {
    case Kind::List:
    case Kind::Tuple: return *v->items;
    case Kind::Dict: {
      std::vector<ValuePtr> keys;
      for (auto& [k, x] : *v->dict) keys.push_back(k);
      return keys;
    }
    case Kind::Str: {
      std::vector<ValuePtr> out;
      for (char c : v->text) out.push_back(string(std::string(1, c)));
      return out;
    }
    case Kind::Layer: {  // iterating a container yields its layers
      std::vector<ValuePtr> out;
      for (auto& [k, c] : v->layer->children) out.push_back(layer(c));
      if (v->layer->op == "module_dict") {
        out.clear();
        for (auto& [k, c] : v->layer->children) out.push_back(string(k));
      }
      return out;
    }
    default: unresolved(v, at, "the values to iterate over");
  }
}

ValuePtr Interpreter::fstring(Expr* e, Frame& f) {
  // Evaluate `{expr}` pieces by parsing each expression with the same parser.
  const std::string& t = e->text;
  size_t q = t.find_first_of("\"'");
  if (q == std::string::npos) return unknown("f-string", e->loc);
  char quote = t[q];
  size_t qlen = t.compare(q, 3, std::string(3, quote)) == 0 ? 3 : 1;
  std::string body = t.substr(q + qlen, t.size() - q - 2 * qlen);
  std::string out;
  for (size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (c == '{' && i + 1 < body.size() && body[i + 1] == '{') {
      out += '{';
      ++i;
    } else if (c == '}' && i + 1 < body.size() && body[i + 1] == '}') {
      out += '}';
      ++i;
    } else if (c == '{') {
      size_t j = body.find('}', i);
      if (j == std::string::npos) return unknown("f-string", e->loc);
      std::string inner = body.substr(i + 1, j - i - 1);
      size_t colon = inner.find(':');
      if (colon != std::string::npos) inner = inner.substr(0, colon);
      fstring_modules_.push_back(syntax::parse_module(inner, e->loc.file));
      auto& m = fstring_modules_.back();
      if (m.body.empty() || m.body[0]->kind != StmtKind::Expr) return unknown("f-string", e->loc);
      ValuePtr v = eval(m.body[0]->value.get(), f);
      if (v->kind == Kind::Str) out += v->text;
      else if (v->kind == Kind::Int || v->kind == Kind::Float || v->kind == Kind::Bool) out += repr(v);
      else return unknown("f-string with a non-constant value", e->loc);
      i = j;
    } else {
      out += c;
    }
  }
  return string(out);
}

ValuePtr Interpreter::eval(Expr* e, Frame& f) {
  switch (e->kind) {
    case ExprKind::Name: return lookup(e->name, f, e);
    case ExprKind::Int: return integer(e->int_value);
    case ExprKind::Float: return number(e->float_value);
    case ExprKind::String: return e->is_fstring ? fstring(e, f) : string(e->text);
    case ExprKind::Bool: return boolean(e->bool_value);
    case ExprKind::None: return none();
    case ExprKind::Ellipsis: return unknown("...", e->loc);
    case ExprKind::List:
    case ExprKind::Tuple:
    case ExprKind::Set: {
      std::vector<ValuePtr> items;
      for (auto& x : e->items) {
        if (x->kind == ExprKind::Starred) {
          for (auto& y : iterate(eval(x->object.get(), f), x.get())) items.push_back(y);
        } else {
          items.push_back(eval(x.get(), f));
        }
      }
      return e->kind == ExprKind::Tuple ? tuple(items) : list(items);
    }
    case ExprKind::Dict: {
      auto v = std::make_shared<Value>();
      v->kind = Kind::Dict;
      v->dict = std::make_shared<std::vector<std::pair<ValuePtr, ValuePtr>>>();
      for (size_t i = 0; i < e->items.size(); ++i) {
        ValuePtr val = eval(e->values[i].get(), f);
        if (!e->items[i]) {
          if (val->kind == Kind::Dict)
            for (auto& kv : *val->dict) v->dict->push_back(kv);
          continue;
        }
        v->dict->emplace_back(eval(e->items[i].get(), f), val);
      }
      return v;
    }
    case ExprKind::Attribute: return attribute(eval(e->object.get(), f), e->name, e);
    case ExprKind::Subscript: return subscript(eval(e->object.get(), f), eval(e->items[0].get(), f), e);
    case ExprKind::Slice: {
      auto v = std::make_shared<Value>();
      v->kind = Kind::Slice;
      std::vector<ValuePtr> parts;
      for (auto& p : e->items) parts.push_back(p ? eval(p.get(), f) : none());
      while (parts.size() < 3) parts.push_back(none());
      v->items = std::make_shared<std::vector<ValuePtr>>(parts);
      return v;
    }
    case ExprKind::Call: {
      // super() with no arguments: the running method's class and self
      if (e->object->kind == ExprKind::Name && e->object->name == "super" && !f.find("super")) {
        auto v = std::make_shared<Value>();
        v->kind = Kind::Super;
        v->cls = f.function ? f.function->owner : nullptr;
        v->self = f.self;
        if (!e->args.empty() && e->args.size() == 2) {
          ValuePtr c = eval(e->args[0].value.get(), f);
          if (c->kind == Kind::Class) v->cls = c->cls;
          v->self = eval(e->args[1].value.get(), f);
        }
        if (!v->cls) fail(e->loc, "super() outside a method");
        return v;
      }
      ValuePtr callee = eval(e->object.get(), f);
      Args args;
      collect_args(e->args, args, f);
      return call(callee, args, e);
    }
    case ExprKind::BinOp: return binop(e->name, eval(e->items[0].get(), f), eval(e->items[1].get(), f), e);
    case ExprKind::UnaryOp: {
      ValuePtr v = eval(e->object.get(), f);
      if (e->name == "not") {
        if (v->kind == Kind::Unknown) return v;
        return boolean(!truthy(v));
      }
      if (v->kind == Kind::Tensor) return frontend.tensor_binop(*this, "neg", v, v, e);
      if (e->name == "-") {
        if (v->kind == Kind::Int || v->kind == Kind::Bool) return integer(-as_int(v));
        if (v->kind == Kind::Float) return number(-v->f);
      }
      if (e->name == "+" && is_number(v)) return v;
      if (v->kind == Kind::Unknown) return v;
      fail(e->loc, "unsupported unary operation");
    }
    case ExprKind::Compare: {
      ValuePtr left = eval(e->items[0].get(), f);
      for (size_t i = 0; i < e->ops.size(); ++i) {
        ValuePtr right = eval(e->items[i + 1].get(), f);
        ValuePtr r = compare(e->ops[i], left, right, e);
        if (r->kind == Kind::Unknown) return r;
        if (!r->b) return boolean(false);
        left = right;
      }
      return boolean(true);
    }
    case ExprKind::BoolOp: {
      ValuePtr v;
      for (auto& x : e->items) {
        v = eval(x.get(), f);
        if (v->kind == Kind::Unknown) return v;
        bool t = truthy(v);
        if (e->name == "and" && !t) return v;
        if (e->name == "or" && t) return v;
      }
      return v;
    }
    case ExprKind::IfExp: {
      ValuePtr c = eval(e->items[1].get(), f);
      if (c->kind == Kind::Unknown || c->kind == Kind::Tensor) unresolved(c, e->items[1].get(), "this condition");
      return eval(truthy(c) ? e->items[0].get() : e->items[2].get(), f);
    }
    case ExprKind::Starred: fail(e->loc, "starred expression in an unsupported place");
    case ExprKind::ListComp: {
      std::vector<ValuePtr> out;
      Frame inner = f;  // comprehension variables do not leak
      inner.changed = nullptr;
      std::function<void(size_t)> loop = [&](size_t g) {
        if (g == e->generators.size()) {
          out.push_back(eval(e->element.get(), inner));
          return;
        }
        auto& gen = e->generators[g];
        for (auto& x : iterate(eval(gen.iter.get(), inner), gen.iter.get())) {
          assign(gen.target.get(), x, inner);
          bool keep = true;
          for (auto& c : gen.ifs) {
            ValuePtr cv = eval(c.get(), inner);
            if (cv->kind == Kind::Unknown) unresolved(cv, c.get(), "this condition");
            keep = keep && truthy(cv);
          }
          if (keep) loop(g + 1);
        }
      };
      loop(0);
      // writes to outer lists made inside the comprehension are visible through shared items
      return list(out);
    }
    case ExprKind::Lambda: {
      auto fn = std::make_shared<Function>();
      fn->name = "<lambda>";
      fn->lambda = e;
      for (const auto& p : e->params) fn->defaults.push_back(p.default_value ? eval(p.default_value.get(), f) : nullptr);
      auto v = std::make_shared<Value>();
      v->kind = Kind::Function;
      v->function = fn;
      return v;
    }
  }
  fail(e->loc, "unsupported expression");
}

ValuePtr Interpreter::call(const ValuePtr& callee, Args& args, Expr* at) {
  if (++depth > kMaxDepth) fail(at->loc, "calls nest too deeply (recursion?)");
  struct Guard {
    int& d;
    ~Guard() { --d; }
  } guard{depth};
  switch (callee->kind) {
    case Kind::Api: return frontend.call_api(*this, callee->text, args, at);
    case Kind::Builtin: return call_builtin(callee->text, args, at);
    case Kind::Function: return call_function(callee->function, nullptr, args, at);
    case Kind::Method: return call_method(callee, args, at);
    case Kind::Class: return instantiate(callee->cls, args, at);
    case Kind::Layer: return frontend.call_layer(*this, callee, args, at);
    case Kind::Instance: {
      if (callee->instance->cls->is_model) {
        auto fwd = callee->instance->cls->find(frontend.forward_method());
        if (!fwd) fail(at->loc, fmt::format("`{}` has no {} method", callee->instance->cls->name, frontend.forward_method()));
        return call_function(fwd->function, callee, args, at);
      }
      if (auto c = callee->instance->cls->find("__call__")) return call_function(c->function, callee, args, at);
      fail(at->loc, "object is not callable");
    }
    case Kind::Unknown: return callee;
    default: fail(at->loc, fmt::format("a {} is not callable", kind_name(callee->kind)));
  }
}

ValuePtr Interpreter::call_function(const std::shared_ptr<Function>& fn, const ValuePtr& self, Args& args, Expr* at) {
  Frame f;
  f.function = fn;
  f.self = self;
  const std::vector<syntax::Parameter>& params = fn->def ? fn->def->params : fn->lambda->params;
  std::vector<ValuePtr> pos = args.positional;
  if (self) pos.insert(pos.begin(), self);
  size_t pi = 0;
  std::vector<ValuePtr> extra_pos;
  std::vector<std::pair<ValuePtr, ValuePtr>> extra_kw;
  std::vector<bool> bound(params.size(), false);
  size_t star_index = params.size(), dstar_index = params.size();
  bool kwonly = false;
  for (size_t i = 0; i < params.size(); ++i) {
    const auto& p = params[i];
    if (p.name == "/") continue;
    if (p.name == "*" && !p.star) {
      kwonly = true;
      continue;
    }
    if (p.star) {
      star_index = i;
      kwonly = true;
      continue;
    }
    if (p.double_star) {
      dstar_index = i;
      continue;
    }
    if (!kwonly && pi < pos.size()) {
      f.set(p.name, pos[pi++]);
      bound[i] = true;
    }
  }
  for (; pi < pos.size(); ++pi) {
    if (star_index == params.size())
      fail(at->loc, fmt::format("`{}` takes fewer positional arguments than given", fn->name));
    extra_pos.push_back(pos[pi]);
  }
  for (auto& [k, v] : args.keywords) {
    bool found = false;
    for (size_t i = 0; i < params.size(); ++i)
      if (params[i].name == k && !params[i].star && !params[i].double_star) {
        if (bound[i]) fail(at->loc, fmt::format("`{}` got several values for `{}`", fn->name, k));
        f.set(k, v);
        bound[i] = found = true;
      }
    if (!found) {
      if (dstar_index == params.size()) fail(at->loc, fmt::format("`{}` has no parameter `{}`", fn->name, k));
      extra_kw.emplace_back(string(k), v);
    }
  }
  for (size_t i = 0; i < params.size(); ++i) {
    const auto& p = params[i];
    if (p.name == "/" || (p.name == "*" && !p.star) || p.star || p.double_star || bound[i]) continue;
    if (!fn->defaults[i]) fail(at->loc, fmt::format("`{}` is missing the argument `{}`", fn->name, p.name),
                               "pass it in the entry expression (--entry)");
    f.set(p.name, fn->defaults[i]);
  }
  if (star_index < params.size()) f.set(params[star_index].name, tuple(extra_pos));
  if (dstar_index < params.size()) {
    auto d = std::make_shared<Value>();
    d->kind = Kind::Dict;
    d->dict = std::make_shared<std::vector<std::pair<ValuePtr, ValuePtr>>>(extra_kw);
    f.set(params[dstar_index].name, d);
  }
  if (fn->lambda) return eval(fn->lambda->object.get(), f);
  try {
    Frame* saved = current_;
    current_ = &f;
    struct Restore {
      Frame*& slot;
      Frame* value;
      ~Restore() { slot = value; }
    } restore{current_, saved};
    exec_block(fn->def->body, f);
  } catch (ReturnSignal& r) {
    return r.value;
  }
  return none();
}

ValuePtr Interpreter::instantiate(const std::shared_ptr<ClassObject>& cls, Args& args, Expr* at) {
  auto inst = std::make_shared<Instance>();
  inst->cls = cls;
  if (cls->is_model) inst->layer = frontend.new_submodel(cls->name, at->loc);
  auto v = std::make_shared<Value>();
  v->kind = Kind::Instance;
  v->instance = inst;
  v->loc = at->loc;
  if (auto init = cls->find("__init__")) call_function(init->function, v, args, at);
  else if (!args.positional.empty() || !args.keywords.empty())
    fail(at->loc, fmt::format("`{}` takes no arguments", cls->name));
  return v;
}

ValuePtr Interpreter::call_method(const ValuePtr& m, Args& args, Expr* at) {
  if (m->function) return call_function(m->function, m->self, args, at);
  const std::string& name = m->text;
  if (name.rfind("<base>.", 0) == 0) return none();  // framework base-class method (e.g. __init__)
  ValuePtr self = m->self;
  if (self->kind == Kind::Tensor) return frontend.tensor_method(*this, self, name, args, at);
  if (self->kind == Kind::Layer) return frontend.layer_method(*this, self, name, args, at);
  if (self->kind == Kind::Instance && self->instance->layer) {
    if ((name == "add_module" || name == "register_module") && args.positional.size() == 2 &&
        args.positional[0]->kind == Kind::Str) {
      set_attribute(self, args.positional[0]->text, args.positional[1], at);
      return none();
    }
    return frontend.layer_method(*this, layer(self->instance->layer), name, args, at);
  }
  auto arg = [&](size_t i) -> ValuePtr {
    if (i >= args.positional.size()) fail(at->loc, fmt::format("`{}` needs more arguments", name));
    return args.positional[i];
  };
  if (self->kind == Kind::List) {
    if (name == "append") {
      self->items->push_back(arg(0));
      return none();
    }
    if (name == "extend") {
      for (auto& x : iterate(arg(0), at)) self->items->push_back(x);
      return none();
    }
    if (name == "insert") {
      long long i = as_int(arg(0));
      if (i < 0) i += self->items->size();
      i = std::clamp(i, 0LL, (long long)self->items->size());
      self->items->insert(self->items->begin() + i, arg(1));
      return none();
    }
    if (name == "pop") {
      if (self->items->empty()) fail(at->loc, "pop from an empty list");
      long long i = args.positional.empty() ? (long long)self->items->size() - 1 : as_int(arg(0));
      if (i < 0) i += self->items->size();
      ValuePtr v = (*self->items)[i];
      self->items->erase(self->items->begin() + i);
      return v;
    }
    if (name == "index") {
      for (size_t i = 0; i < self->items->size(); ++i)
        if (equal((*self->items)[i], arg(0))) return integer(i);
      fail(at->loc, "value not in list");
    }
    if (name == "copy") return list(*self->items);
  }
  if (self->kind == Kind::Dict) {
    if (name == "items" || name == "keys" || name == "values") {
      std::vector<ValuePtr> out;
      for (auto& [k, v] : *self->dict)
        out.push_back(name == "items" ? tuple({k, v}) : name == "keys" ? k : v);
      return list(out);
    }
    if (name == "get") {
      for (auto& [k, v] : *self->dict)
        if (equal(k, arg(0))) return v;
      return args.positional.size() > 1 ? args.positional[1] : none();
    }
  }
  if (self->kind == Kind::Str) {
    if (name == "format") return unknown("str.format", at->loc);
    if (name == "lower" || name == "upper") {
      std::string s = self->text;
      for (auto& c : s) c = name == "lower" ? std::tolower(c) : std::toupper(c);
      return string(s);
    }
  }
  fail(at->loc, fmt::format("unsupported method `{}` of a {}", name, kind_name(self->kind)));
}

ValuePtr Interpreter::call_builtin(const std::string& name, Args& args, Expr* at) {
  auto arg = [&](size_t i) -> ValuePtr {
    if (i >= args.positional.size()) fail(at->loc, fmt::format("`{}` needs more arguments", name));
    return args.positional[i];
  };
  for (auto& v : args.positional)
    if (v->kind == Kind::Unknown && name != "print" && name != "isinstance") return v;
  if (name == "print") return none();
  if (name == "input" || name == "open" || name == "eval" || name == "exec" || name == "__import__")
    return unknown(fmt::format("the result of `{}()` is only known when the program runs", name), at->loc);
  if (name == "range") {
    long long lo = 0, hi, step = 1;
    if (args.positional.size() == 1) hi = as_int(arg(0));
    else {
      lo = as_int(arg(0));
      hi = as_int(arg(1));
      if (args.positional.size() > 2) step = as_int(arg(2));
    }
    if (step == 0) fail(at->loc, "range() step must not be zero");
    std::vector<ValuePtr> out;
    for (long long i = lo; step > 0 ? i < hi : i > hi; i += step) {
      out.push_back(integer(i));
      if (out.size() > kMaxLoop) fail(at->loc, "range too long for the evaluator");
    }
    return list(out);
  }
  if (name == "len") {
    ValuePtr v = arg(0);
    if (v->kind == Kind::Str) return integer(v->text.size());
    if (v->kind == Kind::Dict) return integer(v->dict->size());
    if (v->kind == Kind::Layer) return integer(v->layer->children.size());
    return integer(iterate(v, at).size());
  }
  if (name == "int") {
    ValuePtr v = arg(0);
    if (v->kind == Kind::Float) return integer((long long)std::trunc(v->f));
    if (v->kind == Kind::Str) return integer(std::stoll(v->text));
    return integer(as_int(v));
  }
  if (name == "float") return number(arg(0)->kind == Kind::Str ? std::stod(arg(0)->text) : as_double(arg(0)));
  if (name == "str") return string(arg(0)->kind == Kind::Str ? arg(0)->text : repr(arg(0)));
  if (name == "bool") return boolean(args.positional.empty() ? false : truthy(arg(0)));
  if (name == "list") return list(args.positional.empty() ? std::vector<ValuePtr>{} : iterate(arg(0), at));
  if (name == "tuple") return tuple(args.positional.empty() ? std::vector<ValuePtr>{} : iterate(arg(0), at));
  if (name == "dict") {
    auto d = std::make_shared<Value>();
    d->kind = Kind::Dict;
    d->dict = std::make_shared<std::vector<std::pair<ValuePtr, ValuePtr>>>();
    if (!args.positional.empty())
      for (auto& kv : iterate(arg(0), at)) {
        auto pair = iterate(kv, at);
        d->dict->emplace_back(pair[0], pair[1]);
      }
    for (auto& [k, v] : args.keywords) d->dict->emplace_back(string(k), v);
    return d;
  }
  if (name == "enumerate") {
    std::vector<ValuePtr> out;
    long long start = args.positional.size() > 1 ? as_int(arg(1)) : 0;
    for (auto& [k, v] : args.keywords)
      if (k == "start") start = as_int(v);
    for (auto& x : iterate(arg(0), at)) out.push_back(tuple({integer(start++), x}));
    return list(out);
  }
  if (name == "zip") {
    std::vector<std::vector<ValuePtr>> seqs;
    size_t n = SIZE_MAX;
    for (auto& a : args.positional) {
      seqs.push_back(iterate(a, at));
      n = std::min(n, seqs.back().size());
    }
    std::vector<ValuePtr> out;
    for (size_t i = 0; i < (seqs.empty() ? 0 : n); ++i) {
      std::vector<ValuePtr> t;
      for (auto& s : seqs) t.push_back(s[i]);
      out.push_back(tuple(t));
    }
    return list(out);
  }
  if (name == "min" || name == "max" || name == "sum") {
    std::vector<ValuePtr> xs = args.positional.size() == 1 ? iterate(arg(0), at) : args.positional;
    if (name == "sum") {
      ValuePtr acc = integer(0);
      for (auto& x : xs) acc = binop("+", acc, x, at);
      return acc;
    }
    if (xs.empty()) fail(at->loc, name + "() of an empty sequence");
    ValuePtr best = xs[0];
    for (auto& x : xs)
      if (compare(name == "min" ? "<" : ">", x, best, at)->b) best = x;
    return best;
  }
  if (name == "abs") return arg(0)->kind == Kind::Float ? number(std::fabs(arg(0)->f)) : integer(std::llabs(as_int(arg(0))));
  if (name == "round") {
    double x = as_double(arg(0));
    if (args.positional.size() > 1) {
      double s = std::pow(10.0, as_int(arg(1)));
      return number(std::nearbyint(x * s) / s);
    }
    return integer((long long)std::nearbyint(x));
  }
  if (name == "divmod") return tuple({binop("//", arg(0), arg(1), at), binop("%", arg(0), arg(1), at)});
  if (name == "pow") return binop("**", arg(0), arg(1), at);
  if (name == "sorted" || name == "reversed") {
    auto xs = iterate(arg(0), at);
    if (name == "reversed") std::reverse(xs.begin(), xs.end());
    else std::stable_sort(xs.begin(), xs.end(), [&](const ValuePtr& a, const ValuePtr& b) { return compare("<", a, b, at)->b; });
    return list(xs);
  }
  if (name == "any" || name == "all") {
    for (auto& x : iterate(arg(0), at)) {
      bool t = truthy(x);
      if (name == "any" && t) return boolean(true);
      if (name == "all" && !t) return boolean(false);
    }
    return boolean(name == "all");
  }
  if (name == "isinstance") {
    ValuePtr v = arg(0), t = arg(1);
    auto check = [&](const ValuePtr& ty) -> bool {
      if (ty->kind == Kind::Builtin) {
        const std::string& n = ty->text;
        return (n == "int" && v->kind == Kind::Int) || (n == "float" && v->kind == Kind::Float) ||
               (n == "str" && v->kind == Kind::Str) || (n == "bool" && v->kind == Kind::Bool) ||
               (n == "list" && v->kind == Kind::List) || (n == "tuple" && v->kind == Kind::Tuple) ||
               (n == "dict" && v->kind == Kind::Dict);
      }
      if (ty->kind == Kind::Class && v->kind == Kind::Instance) {
        for (auto c = v->instance->cls; c;) {
          if (c == ty->cls) return true;
          auto next = c->bases.empty() || c->bases[0]->kind != Kind::Class ? nullptr : c->bases[0]->cls;
          c = next;
        }
      }
      if (ty->kind == Kind::Api && v->kind == Kind::Layer) return frontend.layer_is(v, ty->text);
      return false;
    };
    if (t->kind == Kind::Tuple) {
      for (auto& x : *t->items)
        if (check(x)) return boolean(true);
      return boolean(false);
    }
    if (v->kind == Kind::Unknown) return v;
    return boolean(check(t));
  }
  if (name == "getattr" || name == "hasattr") {
    ValuePtr obj = arg(0), n = arg(1);
    if (n->kind != Kind::Str) unresolved(n, at, "the attribute name");
    if (name == "hasattr") {
      if (obj->kind == Kind::Instance) return boolean(obj->instance->get(n->text) || obj->instance->cls->find(n->text));
      return unknown("hasattr", at->loc);
    }
    if (args.positional.size() > 2 && obj->kind == Kind::Instance && !obj->instance->get(n->text) &&
        !obj->instance->cls->find(n->text))
      return args.positional[2];
    return attribute(obj, n->text, at);
  }
  if (name == "setattr") {
    if (arg(1)->kind != Kind::Str) unresolved(arg(1), at, "the attribute name");
    set_attribute(arg(0), arg(1)->text, arg(2), at);
    return none();
  }
  fail(at->loc, fmt::format("`{}(...)` is not supported by the evaluator", name));
}

}  // namespace nnport::evaluate
