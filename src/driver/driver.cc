#include "driver/driver.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "backends/keras/keras_backend.h"
#include "backends/torch/torch_backend.h"
#include "catalog/catalog.h"
#include "catalog/training.h"
#include "evaluate/interpreter.h"
#include "frontends/keras/keras_frontend.h"
#include "frontends/keras/keras_training.h"
#include "frontends/torch/torch_frontend.h"
#include "frontends/torch/torch_training.h"
#include "passes/layout.h"
#include "passes/shapes.h"
#include "pivot/program.h"
#include "syntax/parse.h"
#include "syntax/print.h"

namespace nnport {

constexpr const char* kVersion = "0.1.0";

InputSpec parse_input_spec(std::string_view text) {
  InputSpec spec;
  std::string t(text);
  size_t colon = t.find(':');
  if (colon != std::string::npos) {
    spec.dtype = t.substr(0, colon);
    t = t.substr(colon + 1);
    static const char* kDtypes[] = {"float32", "float64", "float16", "int64", "int32", "bool"};
    if (std::find_if(std::begin(kDtypes), std::end(kDtypes), [&](const char* d) { return spec.dtype == d; }) ==
        std::end(kDtypes))
      throw std::invalid_argument(fmt::format("unknown dtype `{}` in --input-shape (use float32, int64, ...)", spec.dtype));
  }
  std::stringstream ss(t);
  std::string part;
  while (std::getline(ss, part, ',')) {
    if (part.empty())
      throw std::invalid_argument(fmt::format("empty dimension in --input-shape `{}` (expected positive integers "
                                              "like 3,64,64)", text));
    try {
      size_t used = 0;
      long long d = std::stoll(part, &used);
      if (used != part.size() || d <= 0) throw std::invalid_argument("");
      spec.dims.push_back(d);
    } catch (...) {
      throw std::invalid_argument(fmt::format("bad dimension `{}` in --input-shape `{}` (expected positive integers "
                                              "like 3,64,64, optionally prefixed by a dtype as in int64:200)",
                                              part, text));
    }
  }
  if (!t.empty() && t.back() == ',')
    throw std::invalid_argument(fmt::format("empty dimension in --input-shape `{}`", text));
  if (spec.dims.empty()) throw std::invalid_argument(fmt::format("empty --input-shape `{}`", text));
  return spec;
}

namespace {

using evaluate::Kind;
using evaluate::ValuePtr;

// The file has nothing to migrate (Result::no_model): a batch run reports it as such,
// not as a failure.
struct NoModel : MigrationError {
  NoModel(Diagnostic d, std::string fw) : MigrationError(std::move(d)), framework(std::move(fw)) {}
  std::string framework;
};

[[noreturn]] void no_model(const std::string& framework, const Location& loc, std::string message, std::string hint) {
  throw NoModel(Diagnostic{Severity::Error, loc, std::move(message), std::move(hint)}, framework);
}

// Everything the engine knows about one source file and entry.
struct Analysis {
  pivot::Program program;
  pivot::Model model;
  DiagnosticSink sink;
  std::vector<syntax::Module> entry_modules;  // keeps the parsed entry expression alive
};

std::string detect_framework(const syntax::Module& m) {
  bool torch = false, keras = false;
  for (const auto& s : m.body) {
    auto check = [&](const std::string& n) {
      if (n == "torch" || n.rfind("torch.", 0) == 0) torch = true;
      if (n == "tensorflow" || n.rfind("tensorflow.", 0) == 0 || n == "keras" || n.rfind("keras.", 0) == 0) keras = true;
    };
    if (s->kind == syntax::StmtKind::Import)
      for (auto& [n, as] : s->names) check(n);
    if (s->kind == syntax::StmtKind::ImportFrom) check(s->module);
  }
  if (torch && keras) return "mixed";
  return torch ? "torch" : keras ? "keras" : "";
}

// Classes instantiated inside other model classes are building blocks, not entries.
bool used_inside_other_class(const syntax::Module& m, const std::string& cls) {
  std::function<bool(const syntax::ExprPtr&)> mentions = [&](const syntax::ExprPtr& e) -> bool {
    if (!e) return false;
    if (e->kind == syntax::ExprKind::Name && e->name == cls) return true;
    if (mentions(e->object) || mentions(e->element)) return true;
    for (auto& x : e->items)
      if (mentions(x)) return true;
    for (auto& x : e->values)
      if (mentions(x)) return true;
    for (auto& a : e->args)
      if (mentions(a.value)) return true;
    for (auto& g : e->generators)
      if (mentions(g.iter)) return true;
    return false;
  };
  std::function<bool(const std::vector<syntax::StmtPtr>&)> walk = [&](const std::vector<syntax::StmtPtr>& b) {
    for (auto& s : b) {
      if (mentions(s->value)) return true;
      for (auto& t : s->targets)
        if (mentions(t)) return true;
      if (walk(s->body) || walk(s->orelse)) return true;
    }
    return false;
  };
  for (const auto& s : m.body)
    if (s->kind == syntax::StmtKind::ClassDef && s->name != cls && walk(s->body)) return true;
  return false;
}

std::string find_entry(evaluate::Interpreter& in, const pivot::Program& program) {
  std::vector<std::string> vars;
  for (const auto& [name, v] : in.globals()) {
    if (v->kind == Kind::Layer && (v->layer->op == "sequential" || v->layer->op == "functional")) vars.push_back(name);
    if (v->kind == Kind::Instance && v->instance->cls->is_model) vars.push_back(name);
  }
  if (vars.size() == 1) return vars[0];
  Location loc{program.module.file, 1, 1, 0, 0};
  if (vars.size() > 1)
    fail(loc, fmt::format("several module-level models: {}", fmt::join(vars, ", ")),
         fmt::format("choose one with --entry, e.g. --entry {}", vars[0]));
  std::vector<std::string> classes;
  for (const auto& c : program.model_classes) {
    if (used_inside_other_class(program.module, c)) continue;
    ValuePtr cls = in.global(c);
    if (!cls || cls->kind != Kind::Class) continue;
    auto init = cls->cls->find("__init__");
    bool defaults = true;
    if (init && init->function)
      for (size_t i = 1; i < init->function->defaults.size(); ++i) {
        const auto& p = init->function->def->params[i];
        if (!init->function->defaults[i] && !p.star && !p.double_star && p.name != "*" && p.name != "/") defaults = false;
      }
    if (defaults) classes.push_back(c);
  }
  if (classes.size() == 1) return classes[0] + "()";
  if (classes.size() > 1)
    fail(loc, fmt::format("several model classes could be the entry: {}", fmt::join(classes, ", ")),
         fmt::format("choose one with --entry, e.g. --entry \"{}()\"", classes[0]));
  if (program.model_classes.empty())
    no_model(program.framework, loc, "no model found to analyse: no module-level model and no model class",
             "nnport looks for nn.Module subclasses and nn.Sequential models");
  fail(loc, "no model found to analyse: no module-level model and no model class whose arguments all have defaults",
       fmt::format("give the expression that builds the model with --entry, e.g. --entry \"{}(...)\"",
                   program.model_classes[0]));
}

void assign_paths(const pivot::LayerPtr& l, const std::string& path) {
  if (!l->path.empty() || path.empty()) {
    if (!path.empty()) return;  // shared layer: keeps its first path
  }
  l->path = path;
  for (auto& [name, c] : l->children) assign_paths(c, path.empty() ? name : path + "." + name);
}

void flatten_outputs(const ValuePtr& v, std::vector<int>& out, const Location& loc) {
  if (v->kind == Kind::Tensor) out.push_back(v->tensor);
  else if (v->kind == Kind::Tuple || v->kind == Kind::List)
    for (auto& x : *v->items) flatten_outputs(x, out, loc);
  else if (v->kind == Kind::Dict)
    for (auto& [k, x] : *v->dict) flatten_outputs(x, out, loc);
  else
    fail(loc, fmt::format("the model returns {} instead of tensors", evaluate::repr(v)));
}

// Drops the graph nodes the model's outputs do not depend on (functional code at module
// level may build several models, or tensors it never uses), renumbering the rest.
void prune_unused_nodes(pivot::Program& program, pivot::Model& m) {
  std::vector<bool> live_value(m.values.size(), false);
  for (int o : m.outputs) live_value[o] = true;
  std::vector<bool> keep(m.nodes.size(), false);
  for (size_t k = m.nodes.size(); k-- > 0;) {
    const auto& n = m.nodes[k];
    for (int o : n.outputs) keep[k] = keep[k] || live_value[o];
    if (keep[k])
      for (int i : n.inputs) live_value[i] = true;
  }
  std::vector<int> renumber(m.nodes.size(), -1);
  std::vector<pivot::Node> nodes;
  for (size_t k = 0; k < m.nodes.size(); ++k)
    if (keep[k]) {
      renumber[k] = static_cast<int>(nodes.size());
      nodes.push_back(m.nodes[k]);
      nodes.back().id = renumber[k];
    }
  m.nodes = std::move(nodes);
  for (auto& site : program.sites) {
    std::vector<int> ids;
    for (int id : site.nodes)
      if (renumber[id] >= 0) ids.push_back(renumber[id]);
    site.nodes = ids;
  }
}

std::unique_ptr<Analysis> analyse(std::string_view source, const std::string& file, const Options& options) {
  auto a = std::make_unique<Analysis>();
  a->program.module = syntax::parse_module(source, file);
  std::string fw = detect_framework(a->program.module);
  Location top{file, 1, 1, 0, 0};
  if (fw.empty())
    no_model(fw, top, "no PyTorch or Keras import found", "nnport migrates files that import torch, keras or tensorflow");
  if (fw == "mixed") fail(top, "the file imports both PyTorch and Keras/TensorFlow", "migrate one framework's file at a time");
  if (!options.to.empty() && options.to == fw)
    no_model(fw, top, fmt::format("the file is already {} code", fw == "torch" ? "PyTorch" : "Keras"),
         fmt::format("pass --to {}", fw == "torch" ? "keras" : "torch"));
  a->program.framework = fw;
  a->model.framework = fw;
  std::unique_ptr<frontends::GraphBuilder> frontend;
  if (fw == "torch") frontend = std::make_unique<frontends::TorchFrontend>(a->program, a->model, a->sink);
  else frontend = std::make_unique<frontends::KerasFrontend>(a->program, a->model, a->sink);
  auto* keras = dynamic_cast<frontends::KerasFrontend*>(frontend.get());
  frontends::GraphBuilder& fe = *frontend;
  fe.annotate(a->program.module);
  evaluate::Interpreter in(a->program, a->model, fe, a->sink);
  in.run_module();
  // the training code (compile/fit, or the optimizer, loss, DataLoader and epoch loop)
  if (fw == "keras") frontends::recognise_keras_training(a->program, a->model, a->sink);
  else frontends::recognise_torch_training(a->program, a->model, a->sink);

  // the entry expression
  std::string entry = options.entry.empty() ? find_entry(in, a->program) : options.entry;
  a->model.entry = entry;
  syntax::Module em;
  try {
    em = syntax::parse_module(entry, "--entry");
  } catch (MigrationError& e) {
    e.diagnostic.message = "--entry is not a Python expression: " + e.diagnostic.message;
    throw;
  }
  if (em.body.size() != 1 || em.body[0]->kind != syntax::StmtKind::Expr)
    fail({"--entry", 1, 1, 0, (unsigned)entry.size()}, "--entry must be one Python expression",
         "for example --entry \"AlexNet(num_classes=10)\"");
  a->entry_modules.push_back(std::move(em));
  syntax::Expr* entry_expr = a->entry_modules.back().body[0]->value.get();
  ValuePtr root;
  try {
    root = in.eval(entry_expr);
  } catch (MigrationError& e) {
    if (e.diagnostic.loc.file == "--entry") e.diagnostic.message = "in --entry: " + e.diagnostic.message;
    throw;
  }
  pivot::Model& m = a->model;
  std::vector<std::string> input_names;
  std::vector<frontends::KerasFrontend::InputSpec> stated;  // input shapes the Keras file states
  const frontends::KerasFrontend::Functional* functional =
      keras && root->kind == Kind::Layer ? keras->functional(root->layer.get()) : nullptr;
  if (root->kind == Kind::Layer && root->layer->op == "sequential") {
    m.root = root->layer;
    m.style = "sequential";
    m.name = entry;
    input_names = {"x"};
  } else if (functional) {
    m.root = root->layer;
    m.style = "functional";
    m.name = functional->name.empty() ? entry : functional->name;
    input_names = functional->input_names;
  } else if (root->kind == Kind::Instance && root->instance->cls->is_model) {
    m.root = root->instance->layer;
    m.style = "subclass";
    m.name = root->instance->cls->name;
    std::string method = fe.forward_method();
    auto fwd = root->instance->cls->find(method);
    if (!fwd || !fwd->function) fail(root->instance->cls->def->loc, fmt::format("`{}` has no {} method", m.name, method));
    const auto& params = fwd->function->def->params;
    for (size_t i = 1; i < params.size(); ++i) {
      if (params[i].star || params[i].double_star || params[i].name == "*" || params[i].name == "/") continue;
      if (fwd->function->defaults[i]) continue;  // optional arguments keep their defaults
      input_names.push_back(params[i].name);
    }
  } else {
    fail({"--entry", 1, 1, 0, (unsigned)entry.size()},
         fmt::format("--entry `{}` does not build a model (it gives {})", entry, evaluate::repr(root)),
         fw == "torch" ? "give an expression that returns an nn.Module or nn.Sequential"
                       : "give an expression that returns a keras.Model or keras.Sequential");
  }
  if (keras) stated = keras->input_specs(m.root.get());
  assign_paths(m.root, "");
  if (!options.input_shapes.empty() && options.input_shapes.size() != input_names.size())
    fail({"--input-shape", 0, 0, 0, 0},
         fmt::format("the model takes {} input(s) ({}) but {} --input-shape were given", input_names.size(),
                     fmt::join(input_names, ", "), options.input_shapes.size()));
  // Where a model's input comes from: --input-shape wins over what the file states.
  auto input_shape = [&](size_t i, pivot::Shape& shape, std::string& dtype) {
    if (i < options.input_shapes.size()) {
      shape = {-1};
      for (auto d : options.input_shapes[i].dims) shape.push_back(d);
      dtype = options.input_shapes[i].dtype;
    } else if (i < stated.size() && !functional) {
      shape = {-1};
      for (auto d : stated[i].dims) shape.push_back(d);
      if (!stated[i].dtype.empty()) dtype = stated[i].dtype;
    }
  };
  pivot::Layout image_layout = fw == "keras" ? pivot::Layout::ChannelsLast : pivot::Layout::ChannelsFirst;
  if (functional) {
    for (size_t i = 0; i < functional->inputs.size(); ++i) {
      int v = functional->inputs[i];
      pivot::Shape shape = m.value(v).shape;
      std::string dtype = m.value(v).dtype;
      input_shape(i, shape, dtype);
      m.value(v).shape = shape;
      m.value(v).dtype = dtype;
      m.inputs.push_back({input_names[i], v});
    }
    m.outputs = functional->outputs;
    prune_unused_nodes(a->program, m);
  } else {
    evaluate::Args args;
    for (size_t i = 0; i < input_names.size(); ++i) {
      pivot::Shape shape;
      std::string dtype = "float32";
      input_shape(i, shape, dtype);
      int v = m.new_value(shape, input_names[i]);
      m.value(v).dtype = dtype;
      if (shape.size() >= 3 && dtype.rfind("float", 0) == 0) m.value(v).source_layout = image_layout;
      m.inputs.push_back({input_names[i], v});
      args.positional.push_back(evaluate::tensor(v));
      args.positional_exprs.push_back(nullptr);
    }
    ValuePtr result = in.call(root, args, entry_expr);
    flatten_outputs(result, m.outputs, entry_expr->loc);
  }
  // Keras casts what an Embedding reads; the migrated PyTorch model needs integer ids.
  if (fw == "keras")
    for (const auto& n : m.nodes)
      if (n.op == "embedding")
        for (const auto& input : m.inputs)
          if (n.inputs[0] == input.value && m.value(input.value).dtype.rfind("float", 0) == 0)
            m.value(input.value).dtype = "int64";
  // An input whose shape nothing states still has the rank its first convolution or
  // pooling implies (sizes unknown): enough for the layout pass to place its permutes.
  for (const auto& input : m.inputs) {
    auto& v = m.value(input.value);
    if (!v.shape.empty()) continue;
    for (const auto& n : m.nodes) {
      if (n.inputs.empty() || n.inputs[0] != input.value) continue;
      const auto* def = catalog::Catalog::get().op(n.op);
      if (def->layout == catalog::LayoutRule::Channels && def->rank > 0) {
        v.shape.assign(def->rank + 2, -1);
        v.source_layout = image_layout;
      }
      break;
    }
  }
  passes::infer_shapes(m);
  pivot::verify(m);
  return a;
}

Result failure(const MigrationError& e, std::string_view source, const std::string& file,
               const std::vector<Diagnostic>& warnings = {}, const std::string& entry = "") {
  Result r;
  r.ok = false;
  r.diagnostics = warnings;
  r.diagnostics.push_back(e.diagnostic);
  if (r.diagnostics.back().loc.file == "--entry" && r.diagnostics.back().hint.empty())
    r.diagnostics.back().hint = "--entry is a Python expression over the file's names that builds the model";
  if (r.diagnostics.back().hint.empty())  // every error says what to do
    r.diagnostics.back().hint =
        "rewrite this construct with what nnport supports (`nnport catalog` lists the layers), or report it";
  for (const auto& d : r.diagnostics) {
    std::string_view text = d.loc.file == file ? source : d.loc.file == "--entry" ? std::string_view(entry) : "";
    r.rendered_diagnostics += render(d, text) + "\n";
  }
  return r;
}

// A bug in nnport, not in the user's file: say so plainly.
MigrationError internal_error(const std::exception& e, const std::string& file) {
  return MigrationError(Diagnostic{Severity::Error, Location{file, 0, 0, 0, 0},
                                   std::string("internal error in nnport: ") + e.what(),
                                   "please report this with the model file"});
}

void render_warnings(Result& r, const DiagnosticSink& sink, std::string_view source) {
  r.diagnostics = sink.items;
  for (const auto& d : sink.items) r.rendered_diagnostics += render(d, source) + "\n";
}

// Shell quoting for the header: single quotes unless the word is plain.
std::string shell_word(const std::string& w) {
  bool plain = !w.empty() && std::all_of(w.begin(), w.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || std::strchr("_.,:=/+-", c);
  });
  if (plain) return w;
  std::string quoted = "'";
  for (char c : w) quoted += c == '\'' ? std::string("'\"'\"'") : std::string(1, c);
  return quoted + "'";
}

std::string input_spec_text(const InputSpec& spec) {
  return (spec.dtype == "float32" ? "" : spec.dtype + ":") + fmt::format("{}", fmt::join(spec.dims, ","));
}

// The header names the options that reproduce the file, the entry the analysis used
// included, so `verify`, `weights` and a migration back need nothing restated.
std::string header(const std::string& file, const Options& o, const std::string& style, const std::string& entry) {
  std::string base = file.substr(file.find_last_of('/') == std::string::npos ? 0 : file.find_last_of('/') + 1);
  std::string text = fmt::format("Generated by nnport {} from {}: --to {} --style {} --layout {}{} --entry {}", kVersion,
                                 base, o.to, style, o.layout, o.lazy ? " --lazy" : "", shell_word(entry));
  for (const auto& spec : o.input_shapes) text += " --input-shape " + input_spec_text(spec);
  return text;
}

pivot::Layout native_layout(const std::string& to) {
  return to == "keras" ? pivot::Layout::ChannelsLast : pivot::Layout::ChannelsFirst;
}

}  // namespace

Result convert(std::string_view source, const std::string& file, const Options& options) {
  std::unique_ptr<Analysis> a;
  DiagnosticSink warnings;  // the analysis' warnings, once it is released
  try {
    if (options.to != "keras" && options.to != "torch")
      fail({}, fmt::format("unknown target framework `{}`", options.to), "use --to keras or --to torch");
    if (options.layout != "keep" && options.layout != "native")
      fail({}, fmt::format("unknown layout `{}`", options.layout), "use --layout keep or --layout native");
    if (!options.style.empty() && options.style != "sequential" && options.style != "subclass")
      fail({}, fmt::format("unknown style `{}`", options.style), "use --style sequential or --style subclass");
    a = analyse(source, file, options);
    pivot::Model& m = a->model;
    auto plan = passes::assign_layouts(m, native_layout(options.to), options.layout == "keep");
    backends::EmitOptions eo;
    eo.style = options.style.empty() ? (m.style == "functional" ? "subclass" : m.style) : options.style;
    eo.keep_layout = options.layout == "keep";
    eo.lazy = options.lazy;
    eo.header = header(file, options, eo.style, m.entry);
    syntax::Module out = options.to == "keras" ? backends::emit_keras(a->program, m, plan, eo, a->sink)
                                               : backends::emit_torch(a->program, m, plan, eo, a->sink).module;
    Result r;
    r.ok = true;
    r.framework = a->program.framework;
    // The analysis is done with: its memory (the source's syntax tree, the pivot model) goes
    // back before the printer's document takes as much again. (The generated tree holds
    // what it reuses of the source's.)
    warnings = std::move(a->sink);
    a.reset();
    r.output = syntax::print_module(out);
    render_warnings(r, warnings, source);
    return r;
  } catch (const NoModel& e) {
    Result r = failure(e, source, file, {}, options.entry);
    r.no_model = true;
    r.framework = e.framework;
    return r;
  } catch (const MigrationError& e) {
    return failure(e, source, file, a ? a->sink.items : warnings.items, options.entry);
  } catch (const std::exception& e) {
    return failure(internal_error(e, file), source, file);
  }
}

Result inspect(std::string_view source, const std::string& file, const Options& options, const std::string& format) {
  try {
    auto a = analyse(source, file, options);
    if (!options.to.empty()) passes::assign_layouts(a->model, native_layout(options.to), options.layout == "keep");
    Result r;
    r.ok = true;
    if (format == "json") r.output = pivot::to_json(a->model) + "\n";
    else if (format == "dot") r.output = pivot::to_dot(a->model);
    else if (format == "text") r.output = pivot::to_text(a->model);
    else fail({}, fmt::format("unknown format `{}`", format), "use --format text, json or dot");
    render_warnings(r, a->sink, source);
    return r;
  } catch (const MigrationError& e) {
    return failure(e, source, file, {}, options.entry);
  } catch (const std::exception& e) {
    return failure(internal_error(e, file), source, file);
  }
}

namespace {

using nlohmann::json;

std::vector<long long> apply_steps(std::vector<long long> shape, const std::vector<catalog::Step>& steps) {
  for (const auto& s : steps) {
    if (s.op == "transpose") {
      std::vector<long long> out;
      for (int p : s.perm) out.push_back(shape.at(p));
      shape = out;
    }
  }
  return shape;
}

json steps_json(const std::vector<catalog::Step>& steps) {
  json out = json::array();
  for (const auto& s : steps) {
    json j = {{"op", s.op}};
    if (s.op == "transpose") j["perm"] = s.perm;
    if (s.op == "reorder_blocks") j.update({{"axis", s.axis}, {"blocks", s.blocks}, {"order", s.order}});
    out.push_back(j);
  }
  return out;
}

std::string substitute(std::string s, int layer, const std::string& dir) {
  for (auto [key, val] : {std::pair<std::string, std::string>{"{l}", std::to_string(layer)}, {"{d}", dir}}) {
    size_t p;
    while ((p = s.find(key)) != std::string::npos) s.replace(p, key.size(), val);
  }
  return s;
}

// Source parameter shapes, from the layer's attributes (PyTorch layout).
std::map<std::string, std::vector<long long>> torch_shapes(const pivot::Layer& l) {
  std::map<std::string, std::vector<long long>> s;
  auto A = [&](const char* k) { return l.attrs.at(k); };
  const std::string& op = l.op;
  if (op == "linear") {
    s["weight"] = {A("out_features").as_int(), A("in_features").as_int()};
    s["bias"] = {A("out_features").as_int()};
  } else if (op.rfind("conv", 0) == 0) {
    int rank = op[4] - '0';
    std::vector<long long> w{A("out_channels").as_int(), A("in_channels").as_int() / A("groups").as_int()};
    for (auto k : passes::expand(A("kernel_dim"), rank, 1)) w.push_back(k);
    s["weight"] = w;
    s["bias"] = {A("out_channels").as_int()};
  } else if (op.rfind("batchnorm", 0) == 0) {
    for (auto n : {"weight", "bias", "running_mean", "running_var"}) s[n] = {A("num_features").as_int()};
  } else if (op == "layernorm") {
    s["weight"] = s["bias"] = A("normalized_shape").as_ints();
  } else if (op == "embedding") {
    s["weight"] = {A("num_embeddings").as_int(), A("embedding_dim").as_int()};
  } else if (op == "lstm" || op == "gru" || op == "rnn") {
    long long gates = op == "lstm" ? 4 : op == "gru" ? 3 : 1;
    long long h = A("hidden_size").as_int();
    long long dirs = A("bidirectional").as_bool() ? 2 : 1;
    for (long long k = 0; k < A("num_layers").as_int(); ++k)
      for (const std::string d : {"", "_reverse"}) {
        if (d == "_reverse" && dirs == 1) continue;
        long long in = k == 0 ? A("input_size").as_int() : h * dirs;
        std::string sfx = std::to_string(k) + d;
        s["weight_ih_l" + sfx] = {gates * h, in};
        s["weight_hh_l" + sfx] = {gates * h, h};
        s["bias_ih_l" + sfx] = {gates * h};
        s["bias_hh_l" + sfx] = {gates * h};
      }
  }
  return s;
}

std::string keras_class_of(const catalog::OpDef& def) {
  if (def.keras.empty()) return "";
  const std::string& n = def.keras[0].names.at(0);
  return n.substr(n.rfind('.') + 1);
}


// A Linear fed (through elementwise ops) by a Flatten that flattens in the target's layout
// (--layout native): the permute_rows step that re-indexes its weight's `axis` from the
// source's flattening order to the target's (`to_target`: the target layout's permutation).
std::optional<json> flatten_reorder(const pivot::Model& m, const std::map<int, const pivot::Node*>& producer,
                                    const pivot::Node& linear, int axis, std::vector<int> (*to_target)(size_t)) {
  int v = linear.inputs[0];
  while (producer.count(v)) {
    const pivot::Node* p = producer.at(v);
    if (p->op == "flatten" || p->attrs.count("flattened_layout")) {
      if (!p->attrs.count("flattened_layout")) return std::nullopt;
      const auto& fs = m.value(p->inputs[0]).shape;
      std::vector<long long> from_shape(fs.begin() + 1, fs.end());
      std::vector<int> perm;
      for (int x : to_target(fs.size()))
        if (x > 0) perm.push_back(x - 1);
      return json{{"op", "permute_rows"}, {"axis", axis}, {"from_shape", from_shape}, {"perm", perm}};
    }
    if (catalog::Catalog::get().op(p->op)->layout != catalog::LayoutRule::Elementwise || p->inputs.empty())
      return std::nullopt;
    v = p->inputs[0];
  }
  return std::nullopt;
}

// The inverse of a catalog weight rule's steps (applied in reverse order): how a Keras
// tensor becomes the PyTorch tensor it was built from. `axis_shift` moves reorder axes
// (a stacked tensor's rows are taken apart first).
json inverse_steps(const std::vector<catalog::Step>& steps, int axis_shift) {
  json out = json::array();
  for (auto it = steps.rbegin(); it != steps.rend(); ++it) {
    if (it->op == "transpose") {
      std::vector<int> inv(it->perm.size());
      for (size_t i = 0; i < it->perm.size(); ++i) inv[it->perm[i]] = static_cast<int>(i);
      out.push_back({{"op", "transpose"}, {"perm", inv}});
    } else if (it->op == "reorder_blocks") {
      std::vector<int> inv(it->order.size());
      for (size_t i = 0; i < it->order.size(); ++i) inv[it->order[i]] = static_cast<int>(i);
      out.push_back({{"op", "reorder_blocks"}, {"axis", it->axis - axis_shift}, {"blocks", it->blocks}, {"order", inv}});
    }
  }
  return out;
}

// The permutation that brings the migrated layer's output into the source layout (null:
// none): the layout pass decided which layout the migrated model holds each value in.
// `verify --per-layer` compares a layer's outputs through it.
json output_permutation(const pivot::Model& m, const pivot::Node& n) {
  if (n.outputs.empty()) return nullptr;
  const auto& v = m.value(n.outputs[0]);
  if (v.target_layout == pivot::Layout::Any || v.target_layout == v.source_layout ||
      v.source_layout == pivot::Layout::Any || v.shape.size() < 3)
    return nullptr;
  return v.source_layout == pivot::Layout::ChannelsLast ? passes::to_channels_last(v.shape.size())
                                                         : passes::to_channels_first(v.shape.size());
}

// Keras -> PyTorch: for each Keras layer with weights (in call order), the PyTorch module
// the backend wrote for it and how each of its tensors comes from the Keras weights.
json keras_to_torch_layers(const pivot::Model& m, const std::map<std::string, std::string>& module_paths) {
  const auto& cat = catalog::Catalog::get();
  std::map<int, const pivot::Node*> producer;
  for (const auto& n : m.nodes)
    for (int o : n.outputs) producer[o] = &n;
  json layers = json::array();
  std::set<std::string> seen;
  for (const auto& n : m.nodes) {
    if (n.kind != "call" || seen.count(n.module)) continue;
    seen.insert(n.module);
    const auto* def = cat.op(n.op);
    if (def->torch_tensor_params.empty()) continue;
    auto layer = m.find(n.module);
    for (const char* size : {"in_features", "in_channels", "num_features", "input_size", "normalized_shape"})
      if (layer->attrs.count(size) && layer->attrs.at(size).is_none())
        fail(n.loc, fmt::format("weight plan: `{}` of layer `{}` is unknown", size, n.module),
             "give the model's input shape with --input-shape");
    auto shapes = torch_shapes(*layer);
    bool recurrent = n.op == "lstm" || n.op == "gru" || n.op == "rnn";
    bool bidir = recurrent && layer->attrs.at("bidirectional").as_bool();
    json tensors = json::array();
    auto absent = [&](const catalog::TensorRule& rule) {
      const auto& a = layer->attrs;
      if (a.count("bias") && a.at("bias").is_bool() && !a.at("bias").as_bool() && rule.from[0].find("bias") != std::string::npos)
        return true;
      if (a.count("affine") && !a.at("affine").as_bool() && (rule.name == "gamma" || rule.name == "beta")) return true;
      if (n.op == "layernorm" && ((rule.name == "gamma" && !a.at("elementwise_affine").as_bool()) ||
                                  (rule.name == "beta" && !a.at("bias").as_bool())))
        return true;
      return false;
    };
    for (const std::string dir : {"", "_reverse"}) {
      if (dir == "_reverse" && !bidir) continue;
      std::string prefix = bidir ? (dir.empty() ? "forward/" : "backward/") : "";
      for (catalog::TensorRule rule : def->keras_weights) {
        if (absent(rule)) continue;
        // GRU(reset_after=False) has one bias of shape (3 * units,): PyTorch's second is zero
        if (n.op == "gru" && rule.combine == "stack" && !layer->attrs.at("reset_after").as_bool()) {
          rule.combine = "sum";
          for (auto& st : rule.steps) st.axis = 0;
        }
        for (size_t k = 0; k < rule.from.size(); ++k) {
          std::string name = substitute(rule.from[k], 0, dir);
          json steps = json::array();
          if (rule.combine == "sum" && k > 0) {  // Keras keeps one bias: the second PyTorch bias is zero
            steps.push_back({{"op", "zeros"}, {"shape", shapes.at(name)}});
          } else {
            if (rule.combine == "stack") steps.push_back({{"op", "take"}, {"axis", 0}, {"index", (int)k}});
            for (auto& st : inverse_steps(rule.steps, rule.combine == "stack" ? 1 : 0)) steps.push_back(st);
          }
          // a Linear after a channel-first Flatten (--layout native): its columns come in
          // another order than the Keras kernel's rows
          if (n.op == "linear" && rule.name == "kernel")
            if (auto step = flatten_reorder(m, producer, n, 1, passes::to_channels_first)) steps.push_back(*step);
          tensors.push_back({{"name", name},
                             {"shape", shapes.at(name)},
                             {"from", json::array({prefix + rule.name})},
                             {"combine", nullptr},
                             {"steps", steps}});
        }
      }
    }
    if (tensors.empty()) continue;  // LayerNormalization(center=False, scale=False): nothing to carry
    std::string source_class = def->keras_source.empty() ? keras_class_of(*def) : def->keras_source[0].names[0];
    source_class = source_class.substr(source_class.rfind('.') + 1);
    if (bidir) source_class = "Bidirectional";
    std::string cls = def->torch.at(0).names.at(0);
    cls = cls.substr(cls.rfind('.') + 1);
    if (recurrent) cls = n.op == "lstm" ? "KerasLSTM" : n.op == "gru" ? "KerasGRU" : "KerasSimpleRNN";
    if (n.op == "gru" && layer->attrs.count("reset_after") && !layer->attrs.at("reset_after").as_bool())
      cls = "KerasGRUResetBefore";
    auto path = module_paths.find(n.module);
    if (path == module_paths.end()) fail(n.loc, "internal: no PyTorch module recorded for layer " + n.module);
    layers.push_back({{"path", n.module},
                      {"op", n.op},
                      {"source_class", source_class},
                      {"output_permutation", output_permutation(m, n)},
                      {"targets", json::array({{{"module", path->second}, {"class", cls}, {"tensors", tensors}}})}});
  }
  return layers;
}

}  // namespace

Result weight_plan(std::string_view source, const std::string& file, const Options& options) {
  try {
    auto a = analyse(source, file, options);
    pivot::Model& m = a->model;
    bool keep = options.layout != "native";
    std::string to = options.to.empty() ? (m.framework == "torch" ? "keras" : "torch") : options.to;
    auto plan = passes::assign_layouts(m, native_layout(to), keep);
    const auto& cat = catalog::Catalog::get();
    json inputs = json::array();
    for (size_t i = 0; i < m.inputs.size(); ++i) {
      const auto& v = m.value(m.inputs[i].value);
      if (v.shape.empty())
        fail({"--input-shape", 0, 0, 0, 0}, fmt::format("the shape of input `{}` is unknown", v.name),
             "give it with --input-shape (without the batch dimension)");
      json j = {{"name", v.name},
                {"shape", std::vector<long long>(v.shape.begin() + 1, v.shape.end())},
                {"dtype", v.dtype},
                {"target_permutation", plan.input_permutations[i].empty() ? json(nullptr) : json(plan.input_permutations[i])},
                {"high", nullptr}};
      if (v.dtype.rfind("int", 0) == 0) {
        long long high = -1;
        for (const auto& n : m.nodes)
          if (n.kind == "call" && n.op == "embedding" && std::find(n.inputs.begin(), n.inputs.end(), v.id) != n.inputs.end()) {
            long long ne = m.find(n.module)->attrs.at("num_embeddings").as_int();
            high = high < 0 ? ne : std::min(high, ne);
          }
        j["high"] = high < 0 ? 2 : high;
      }
      inputs.push_back(j);
    }
    json outputs = json::array();
    for (size_t i = 0; i < m.outputs.size(); ++i) {
      bool perm = plan.outputs_in_target_layout && !plan.output_permutations[i].empty();
      outputs.push_back({{"name", "output" + std::to_string(i)},
                         {"target_permutation", perm ? json(plan.output_permutations[i]) : json(nullptr)}});
    }
    if (m.framework == "keras") {
      backends::EmitOptions eo;
      eo.style = options.style.empty() ? (m.style == "functional" ? "subclass" : m.style) : options.style;
      eo.keep_layout = keep;
      eo.lazy = options.lazy;
      auto emitted = backends::emit_torch(a->program, m, plan, eo, a->sink);
      json j = {{"version", 1},
                {"source", {{"framework", m.framework}, {"file", file}}},
                {"target", {{"framework", "torch"}, {"layout", keep ? "keep" : "native"}}},
                {"entry", m.entry},
                {"inputs", inputs},
                {"outputs", outputs},
                {"layers", keras_to_torch_layers(m, emitted.module_paths)}};
      Result r;
      r.ok = true;
      r.output = j.dump(2) + "\n";
      render_warnings(r, a->sink, source);
      return r;
    }
    // producers, to find the Flatten in front of a Linear
    std::map<int, const pivot::Node*> producer;
    for (const auto& n : m.nodes)
      for (int o : n.outputs) producer[o] = &n;
    json layers = json::array();
    std::set<std::string> seen;
    for (const auto& n : m.nodes) {
      if (n.kind != "call" || seen.count(n.module)) continue;
      seen.insert(n.module);
      const auto* def = cat.op(n.op);
      if (def->torch_tensor_params.empty()) continue;
      auto layer = m.find(n.module);
      auto shapes = torch_shapes(*layer);
      json targets = json::array();
      bool recurrent = n.op == "lstm" || n.op == "gru" || n.op == "rnn";
      long long nl = recurrent ? layer->attrs.at("num_layers").as_int() : 1;
      bool bidir = recurrent && layer->attrs.at("bidirectional").as_bool();
      for (long long k = 0; k < nl; ++k) {
        json tensors = json::array();
        for (const std::string dir : {"", "_reverse"}) {
          if (dir == "_reverse" && !bidir) continue;
          for (const auto& rule : def->keras_weights) {
            std::vector<std::string> from;
            bool present = true;
            for (const auto& f : rule.from) {
              std::string name = substitute(f, (int)k, dir);
              present &= shapes.count(name) > 0;
              from.push_back(name);
            }
            // absent tensors: bias=False, affine=False
            if (layer->attrs.count("bias") && layer->attrs.at("bias").is_bool() && !layer->attrs.at("bias").as_bool() &&
                rule.from[0].find("bias") != std::string::npos)
              continue;
            if (layer->attrs.count("affine") && !layer->attrs.at("affine").as_bool() &&
                (rule.name == "gamma" || rule.name == "beta"))
              continue;
            if (n.op == "layernorm" && ((rule.name == "gamma" && !layer->attrs.at("elementwise_affine").as_bool()) ||
                                        (rule.name == "beta" && (!layer->attrs.at("bias").as_bool() ||
                                                                 !layer->attrs.at("elementwise_affine").as_bool()))))
              continue;
            if (!present) fail(n.loc, "weight plan: missing source tensor " + from[0]);
            auto shape = apply_steps(shapes[from[0]], rule.steps);
            if (rule.combine == "stack") shape.insert(shape.begin(), (long long)from.size());
            json steps = steps_json(rule.steps);
            if (rule.combine == "stack")  // reorder applies to the stacked tensor's gate axis
              for (auto& st : steps)
                if (st["op"] == "reorder_blocks") st["axis"] = 1;
            // a Dense after a channel-last Flatten: its input rows come in another order
            if (n.op == "linear" && rule.name == "kernel")
              if (auto step = flatten_reorder(m, producer, n, 0, passes::to_channels_last)) steps.push_back(*step);
            tensors.push_back({{"name", (bidir ? std::string(dir == "_reverse" ? "backward/" : "forward/") : "") + rule.name},
                               {"shape", shape},
                               {"from", from},
                               {"combine", rule.combine.empty() ? json(nullptr) : json(rule.combine)},
                               {"steps", steps}});
          }
        }
        std::string cls = keras_class_of(*def);
        if (recurrent && bidir) cls = "Bidirectional";
        targets.push_back({{"class", cls}, {"tensors", tensors}});
      }
      if (std::all_of(targets.begin(), targets.end(), [](const json& t) { return t["tensors"].empty(); }))
        continue;  // nn.LayerNorm(elementwise_affine=False): nothing to carry
      std::string source_class = def->torch.at(0).names.at(0);
      source_class = source_class.substr(source_class.rfind('.') + 1);
      layers.push_back({{"path", n.module},
                        {"op", n.op},
                        {"source_class", source_class},
                        {"output_permutation", output_permutation(m, n)},
                        {"targets", targets}});
    }
    json j = {{"version", 1},
              {"source", {{"framework", m.framework}, {"file", file}}},
              {"target", {{"framework", options.to.empty() ? "keras" : options.to}, {"layout", keep ? "keep" : "native"}}},
              {"entry", m.entry},
              {"inputs", inputs},
              {"outputs", outputs},
              {"layers", layers}};
    Result r;
    r.ok = true;
    r.output = j.dump(2) + "\n";
    render_warnings(r, a->sink, source);
    return r;
  } catch (const MigrationError& e) {
    return failure(e, source, file, {}, options.entry);
  } catch (const std::exception& e) {
    return failure(internal_error(e, file), source, file);
  }
}

std::string catalog_json() {
  // the layer catalog, and the training catalog under "training"
  nlohmann::json j = nlohmann::json::parse(catalog::Catalog::get().to_json());
  j["training"] = nlohmann::json::parse(catalog::training_json());
  return j.dump(2);
}

}  // namespace nnport
