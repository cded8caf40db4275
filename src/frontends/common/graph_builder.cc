#include "frontends/common/graph_builder.h"

#include <fmt/format.h>

#include "passes/shapes.h"

namespace nnport::frontends {

using evaluate::Interpreter;
using evaluate::Kind;
using evaluate::ValuePtr;
using pivot::Attr;

pivot::LayerPtr GraphBuilder::new_submodel(const std::string& class_name, const Location& loc) {
  auto l = std::make_shared<pivot::Layer>();
  l->op = "submodel";
  l->class_name = class_name;
  l->loc = loc;
  return l;
}

ValuePtr GraphBuilder::instance_of(const pivot::Layer* l) const {
  auto it = instances_.find(l);
  return it == instances_.end() ? nullptr : it->second;
}

void GraphBuilder::register_child(evaluate::Instance& owner, const std::string& name, const ValuePtr& v) {
  pivot::LayerPtr child;
  if (v->kind == Kind::Layer) child = v->layer;
  else if (v->kind == Kind::Instance && v->instance->layer) {
    child = v->instance->layer;
    instances_[child.get()] = v;
  }
  if (!child) return;  // plain attributes (ints, lists, ...) are not sub-modules
  // `self.name = ...` again replaces the first child of that name. The names are looked
  // up in an index (a scan of the children made a model with thousands of fields
  // quadratic) that takes in the children appended since its last use, by this or any
  // other path.
  auto& ch = owner.layer->children;
  ChildNames& names = child_names_[owner.layer.get()];
  names.layer = owner.layer;
  for (; names.indexed < ch.size(); ++names.indexed) names.first.emplace(ch[names.indexed].first, names.indexed);
  if (auto it = names.first.find(name); it != names.first.end()) {
    ch[it->second].second = child;
    return;
  }
  ch.emplace_back(name, child);
}

int GraphBuilder::site_for(syntax::Expr* call, const std::string& op) {
  auto it = sites_.find(call);
  if (it != sites_.end()) return it->second;
  int id = program_.add_site(call, op);
  sites_[call] = id;
  return id;
}

std::vector<int> GraphBuilder::append_node(const std::string& kind, const std::string& op, const std::string& module,
                                           pivot::Attrs attrs, std::vector<int> inputs, size_t outputs,
                                           syntax::Expr* call, const Location& loc) {
  pivot::Node n;
  n.id = static_cast<int>(model_.nodes.size());
  n.kind = kind;
  n.op = op;
  n.module = module;
  n.attrs = std::move(attrs);
  n.inputs = std::move(inputs);
  n.loc = loc;
  n.site = site_for(call, op);
  if (kind == "call") {
    n.parent = chain_parent_;
    n.child_index = chain_index_;
  }
  for (size_t i = 0; i < outputs; ++i) n.outputs.push_back(model_.new_value());
  passes::infer_node(model_, n);
  program_.sites[n.site].nodes.push_back(n.id);
  model_.nodes.push_back(std::move(n));
  return model_.nodes.back().outputs;
}

void GraphBuilder::annotate_op(syntax::Expr* at, const std::string& op) {
  if (at->pivot) return;
  at->pivot = std::make_shared<syntax::PivotCall>();
  at->pivot->op = op;
  at->pivot->site = model_.nodes.back().site;
}

int GraphBuilder::tensor_id(Interpreter& in, const ValuePtr& v, syntax::Expr* at) {
  if (v->kind == Kind::Tensor) return v->tensor;
  in.unresolved(v, at, "a tensor operand");
}

size_t GraphBuilder::keras_recurrent_outputs(pivot::Layer& l) {
  if (!l.attrs["return_state"].as_bool()) return 1;
  size_t n = l.op == "lstm" ? 3 : 2;
  return l.attrs["bidirectional"].as_bool() ? n * 2 - 1 : n;
}

ValuePtr GraphBuilder::keras_outputs_value(const std::vector<int>& outs) {
  if (outs.size() == 1) return evaluate::tensor(outs[0]);
  std::vector<ValuePtr> items;
  for (int o : outs) items.push_back(evaluate::tensor(o));
  return evaluate::list(items);
}

ValuePtr GraphBuilder::call_sequential(Interpreter& in, const pivot::LayerPtr& container, ValuePtr x,
                                       syntax::Expr* call) {
  for (size_t i = 0; i < container->children.size(); ++i) {
    const auto& child = container->children[i].second;
    evaluate::Args a;
    a.positional = {x};
    a.positional_exprs = {nullptr};
    std::string saved_parent = chain_parent_;
    int saved_index = chain_index_;
    bool submodel = child->op == "submodel";  // a user class instance runs its own forward
    chain_parent_ = submodel ? "" : container->path;
    chain_index_ = submodel ? -1 : static_cast<int>(i);
    try {
      x = submodel ? in.call(instance_of(child.get()), a, call) : call_layer(in, evaluate::layer(child), a, call);
    } catch (...) {
      chain_parent_ = saved_parent;
      chain_index_ = saved_index;
      throw;
    }
    chain_parent_ = saved_parent;
    chain_index_ = saved_index;
  }
  return x;
}

ValuePtr GraphBuilder::tensor_binop(Interpreter& in, const std::string& op, const ValuePtr& a, const ValuePtr& b,
                                    syntax::Expr* at) {
  static const std::map<std::string, std::string> ops = {{"+", "add"}, {"-", "sub"}, {"*", "mul"}, {"neg", "mul"}};
  auto it = ops.find(op);
  if (it == ops.end()) fail(at->loc, fmt::format("the tensor operation `{}` is not supported by nnport", op));
  std::vector<int> inputs;
  pivot::Attrs attrs;
  if (op == "neg") {
    attrs["scalar"] = Attr(-1);
    inputs.push_back(a->tensor);
  } else {
    for (const auto& v : {a, b}) {
      if (v->kind == Kind::Tensor) inputs.push_back(v->tensor);
      else {
        Attr s;
        if (!evaluate::to_attr(v, s)) in.unresolved(v, at, "the operand");
        attrs["scalar"] = s;
        attrs["scalar_first"] = Attr(v == a);
      }
    }
  }
  auto outs = append_node("op", it->second, "", attrs, inputs, 1, at, at->loc);
  annotate_op(at, it->second);
  return evaluate::tensor(outs[0]);
}

ValuePtr GraphBuilder::tensor_subscript(Interpreter& in, const ValuePtr& t, const ValuePtr& index, syntax::Expr* at) {
  std::vector<ValuePtr> parts = index->kind == Kind::Tuple ? *index->items : std::vector<ValuePtr>{index};
  pivot::AttrList idx;
  for (auto& p : parts) {
    if (p->kind == Kind::Int) idx.push_back(Attr(p->i));
    else if (p->kind == Kind::None) idx.push_back(Attr("newaxis"));
    else if (p->kind == Kind::Unknown && p->text == "...") idx.push_back(Attr("..."));
    else if (p->kind == Kind::Slice) {
      pivot::AttrList sl;
      for (auto& x : *p->items) {
        Attr a;
        if (!evaluate::to_attr(x, a)) in.unresolved(x, at, "the slice bounds");
        sl.push_back(a);
      }
      idx.push_back(Attr(sl));
    } else {
      in.unresolved(p, at, "the index");
    }
  }
  auto outs = append_node("op", "getitem", "", {{"index", Attr(idx)}}, {t->tensor}, 1, at, at->loc);
  annotate_op(at, "getitem");
  return evaluate::tensor(outs[0]);
}

}  // namespace nnport::frontends
