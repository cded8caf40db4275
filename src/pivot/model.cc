#include "pivot/model.h"

#include <cmath>
#include <cstdio>
#include <fmt/format.h>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

namespace nnport::pivot {

using nlohmann::json;

std::vector<long long> Attr::as_ints() const {
  if (is_int()) return {as_int()};
  if (is_bool()) return {as_bool() ? 1 : 0};
  std::vector<long long> out;
  if (is_list())
    for (const auto& x : as_list()) out.push_back(x.as_int());
  return out;
}

bool Attr::operator==(const Attr& o) const {
  if ((is_int() || is_float()) && (o.is_int() || o.is_float())) return as_number() == o.as_number();
  if (v.index() != o.v.index()) return false;
  if (is_list()) {
    const auto &a = as_list(), &b = o.as_list();
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
      if (a[i] != b[i]) return false;
    return true;
  }
  return v == o.v;
}

std::string to_python(const Attr& a) {
  if (a.is_none()) return "None";
  if (a.is_bool()) return a.as_bool() ? "True" : "False";
  if (a.is_int()) return std::to_string(a.as_int());
  if (a.is_float()) {
    double d = std::get<double>(a.v);
    if (std::isinf(d)) return d > 0 ? "float(\"inf\")" : "float(\"-inf\")";
    if (std::isnan(d)) return "float(\"nan\")";
    // Python's repr: the shortest digits that round-trip, fixed notation for
    // exponents in [-4, 16), scientific (two-digit exponent) otherwise.
    char buf[64];
    for (int prec = 0; prec <= 17; ++prec) {
      std::snprintf(buf, sizeof buf, "%.*e", prec, d);
      if (std::strtod(buf, nullptr) == d) break;
    }
    std::string s = buf;
    bool neg = s[0] == '-';
    if (neg) s = s.substr(1);
    size_t e = s.find('e');
    int expo = std::stoi(s.substr(e + 1));
    std::string digits;
    for (char c : s.substr(0, e))
      if (c != '.') digits += c;
    while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
    std::string out;
    if (expo >= -4 && expo < 16) {
      if (expo >= 0) {
        std::string ip = digits.substr(0, std::min<size_t>(digits.size(), expo + 1));
        while ((int)ip.size() < expo + 1) ip += '0';
        std::string fp = (int)digits.size() > expo + 1 ? digits.substr(expo + 1) : "0";
        out = ip + "." + fp;
      } else {
        out = "0." + std::string(-expo - 1, '0') + digits;
      }
    } else {
      out = digits.substr(0, 1) + (digits.size() > 1 ? "." + digits.substr(1) : "") + "e" + (expo < 0 ? "-" : "+") +
            (std::abs(expo) < 10 ? "0" : "") + std::to_string(std::abs(expo));
    }
    return (neg ? "-" : "") + out;
  }
  if (a.is_str()) {
    std::string out = "\"";
    for (char c : a.as_str()) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    return out + "\"";
  }
  std::string out = "(";
  const auto& l = a.as_list();
  for (size_t i = 0; i < l.size(); ++i) out += (i ? ", " : "") + to_python(l[i]);
  if (l.size() == 1) out += ",";
  return out + ")";
}

const char* layout_name(Layout l) {
  switch (l) {
    case Layout::Any: return "any";
    case Layout::ChannelsFirst: return "channels_first";
    case Layout::ChannelsLast: return "channels_last";
  }
  return "?";
}

std::string shape_str(const Shape& s) {
  std::string out = "(";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + (s[i] < 0 ? std::string("?") : std::to_string(s[i]));
  if (s.size() == 1) out += ",";
  return out + ")";
}

int Model::new_value(Shape shape, std::string name) {
  Value v;
  v.id = static_cast<int>(values.size());
  v.shape = std::move(shape);
  v.name = std::move(name);
  values.push_back(v);
  return v.id;
}

namespace {

// Adds l and its descendants in pre-order; a path seen before keeps its first layer.
void index_layers(const LayerPtr& l, std::unordered_map<std::string, LayerPtr>& out) {
  if (!l) return;
  out.emplace(l->path, l);
  for (const auto& [n, c] : l->children) index_layers(c, out);
}

}  // namespace

LayerPtr Model::find(const std::string& path) const {
  // The frontends look a layer up for every call they record, and verify, the passes and
  // the backends for every graph node: walking the module tree each time made conversion
  // quadratic in the model's size. The index maps each path to its first layer in
  // pre-order, as the walk did, and follows the tree as it grows: a new root gets a new
  // index; children appended to the root since (functional code adds its layers one call
  // at a time) are added on a miss; any other miss, or a layer whose path changed since,
  // rebuilds it.
  if (!root) return nullptr;
  PathIndex& index = path_index;
  auto lookup = [&]() -> LayerPtr {
    auto it = index.layers.find(path);
    return it != index.layers.end() && it->second->path == path ? it->second : nullptr;
  };
  if (index.root == root && index.root_children <= root->children.size()) {
    if (auto l = lookup()) return l;
    if (!index.layers.count(path) && index.root_children < root->children.size()) {
      for (size_t i = index.root_children; i < root->children.size(); ++i)
        index_layers(root->children[i].second, index.layers);
      index.root_children = root->children.size();
      if (auto l = lookup()) return l;
    }
  }
  index.layers.clear();
  index_layers(root, index.layers);
  index.root = root;
  index.root_children = root->children.size();
  return lookup();
}

void verify(const Model& m) {
  std::vector<bool> defined(m.values.size(), false);
  for (const auto& in : m.inputs) {
    if (in.value < 0 || in.value >= (int)m.values.size())
      fail({}, "pivot verifier: input " + in.name + " has no value");
    defined[in.value] = true;
  }
  for (const auto& n : m.nodes) {
    for (int v : n.inputs) {
      if (v < 0 || v >= (int)m.values.size() || !defined[v])
        fail(n.loc, fmt::format("pivot verifier: node {} ({}) uses value %{} before it is defined", n.id, n.op, v));
    }
    for (int v : n.outputs) {
      if (v < 0 || v >= (int)m.values.size()) fail(n.loc, "pivot verifier: node output out of range");
      defined[v] = true;
    }
    if (n.kind == "call" && !m.find(n.module))
      fail(n.loc, fmt::format("pivot verifier: node {} calls unknown module `{}`", n.id, n.module));
  }
  for (int v : m.outputs)
    if (v < 0 || v >= (int)m.values.size() || !defined[v]) fail({}, "pivot verifier: output value undefined");
}

namespace {

json attr_to_json(const Attr& a) {
  if (a.is_none()) return nullptr;
  if (a.is_bool()) return a.as_bool();
  if (a.is_int()) return a.as_int();
  if (a.is_float()) return std::get<double>(a.v);
  if (a.is_str()) return a.as_str();
  json l = json::array();
  for (const auto& x : a.as_list()) l.push_back(attr_to_json(x));
  return l;
}

Attr attr_from_json(const json& j) {
  if (j.is_null()) return {};
  if (j.is_boolean()) return j.get<bool>();
  if (j.is_number_integer()) return j.get<long long>();
  if (j.is_number_float()) return j.get<double>();
  if (j.is_string()) return j.get<std::string>();
  AttrList l;
  for (const auto& x : j) l.push_back(attr_from_json(x));
  return l;
}

json attrs_json(const Attrs& a) {
  json o = json::object();
  for (const auto& [k, v] : a) o[k] = attr_to_json(v);
  return o;
}

Attrs attrs_from(const json& j) {
  Attrs a;
  for (auto it = j.begin(); it != j.end(); ++it) a[it.key()] = attr_from_json(it.value());
  return a;
}

json layer_json(const LayerPtr& l) {
  json j = {{"op", l->op}, {"path", l->path}, {"attrs", attrs_json(l->attrs)}};
  if (!l->class_name.empty()) j["class"] = l->class_name;
  if (!l->input_shape.empty()) j["input_shape"] = l->input_shape;
  if (!l->output_shape.empty()) j["output_shape"] = l->output_shape;
  if (!l->children.empty()) {
    json ch = json::array();
    for (const auto& [n, c] : l->children) ch.push_back({{"name", n}, {"layer", layer_json(c)}});
    j["children"] = ch;
  }
  return j;
}

LayerPtr layer_from(const json& j) {
  auto l = std::make_shared<Layer>();
  l->op = j.at("op");
  l->path = j.at("path");
  l->attrs = attrs_from(j.at("attrs"));
  if (j.contains("class")) l->class_name = j["class"];
  if (j.contains("input_shape")) l->input_shape = j["input_shape"].get<Shape>();
  if (j.contains("output_shape")) l->output_shape = j["output_shape"].get<Shape>();
  if (j.contains("children"))
    for (const auto& c : j["children"]) l->children.emplace_back(c.at("name"), layer_from(c.at("layer")));
  return l;
}

Layout layout_from(const std::string& s) {
  if (s == "channels_first") return Layout::ChannelsFirst;
  if (s == "channels_last") return Layout::ChannelsLast;
  return Layout::Any;
}

}  // namespace

std::string to_json(const Model& m) {
  json values = json::array();
  for (const auto& v : m.values)
    values.push_back({{"id", v.id},
                      {"name", v.name},
                      {"shape", v.shape},
                      {"dtype", v.dtype},
                      {"source_layout", layout_name(v.source_layout)},
                      {"target_layout", layout_name(v.target_layout)}});
  json nodes = json::array();
  for (const auto& n : m.nodes) {
    json j = {{"id", n.id}, {"kind", n.kind}, {"op", n.op}, {"inputs", n.inputs}, {"outputs", n.outputs}};
    if (!n.module.empty()) j["module"] = n.module;
    if (!n.attrs.empty()) j["attrs"] = attrs_json(n.attrs);
    bool any_perm = false;
    for (const auto& p : n.input_permutations) any_perm |= !p.empty();
    if (any_perm) j["input_permutations"] = n.input_permutations;
    nodes.push_back(j);
  }
  json inputs = json::array();
  for (const auto& i : m.inputs) inputs.push_back({{"name", i.name}, {"value", i.value}});
  json j = {{"version", "nnport.pivot/1"},
            {"name", m.name},
            {"framework", m.framework},
            {"style", m.style},
            {"entry", m.entry},
            {"modules", m.root ? layer_json(m.root) : json(nullptr)},
            {"inputs", inputs},
            {"values", values},
            {"graph", nodes},
            {"outputs", m.outputs}};
  if (m.config) {
    j["config"] = {{"optimizer", m.config->optimizer},
                   {"optimizer_args", attrs_json(m.config->optimizer_args)},
                   {"schedule", m.config->schedule},
                   {"schedule_args", attrs_json(m.config->schedule_args)},
                   {"loss", m.config->loss},
                   {"loss_args", attrs_json(m.config->loss_args)},
                   {"from_logits", m.config->from_logits},
                   {"metrics", m.config->metrics},
                   {"fit", attrs_json(m.config->fit)}};
  }
  return j.dump(2);
}

Model from_json(const std::string& text) {
  json j = json::parse(text);
  if (j.at("version") != "nnport.pivot/1") throw std::runtime_error("unsupported pivot JSON version");
  Model m;
  m.name = j.at("name");
  m.framework = j.at("framework");
  m.style = j.at("style");
  m.entry = j.at("entry");
  if (!j.at("modules").is_null()) m.root = layer_from(j["modules"]);
  for (const auto& i : j.at("inputs")) m.inputs.push_back({i.at("name"), i.at("value")});
  for (const auto& v : j.at("values")) {
    Value x;
    x.id = v.at("id");
    x.name = v.at("name");
    x.shape = v.at("shape").get<Shape>();
    x.dtype = v.at("dtype");
    x.source_layout = layout_from(v.at("source_layout"));
    x.target_layout = layout_from(v.at("target_layout"));
    m.values.push_back(x);
  }
  for (const auto& n : j.at("graph")) {
    Node x;
    x.id = n.at("id");
    x.kind = n.at("kind");
    x.op = n.at("op");
    x.inputs = n.at("inputs").get<std::vector<int>>();
    x.outputs = n.at("outputs").get<std::vector<int>>();
    if (n.contains("module")) x.module = n["module"];
    if (n.contains("attrs")) x.attrs = attrs_from(n["attrs"]);
    if (n.contains("input_permutations")) x.input_permutations = n["input_permutations"].get<std::vector<std::vector<int>>>();
    m.nodes.push_back(x);
  }
  m.outputs = j.at("outputs").get<std::vector<int>>();
  if (j.contains("config")) {
    Config c;
    c.optimizer = j["config"].at("optimizer");
    c.optimizer_args = attrs_from(j["config"].at("optimizer_args"));
    c.schedule = j["config"].at("schedule");
    c.schedule_args = attrs_from(j["config"].at("schedule_args"));
    c.loss = j["config"].at("loss");
    c.loss_args = attrs_from(j["config"].at("loss_args"));
    c.from_logits = j["config"].at("from_logits");
    c.metrics = j["config"].at("metrics").get<std::vector<std::string>>();
    c.fit = attrs_from(j["config"].at("fit"));
    m.config = c;
  }
  return m;
}

std::string to_text(const Model& m) {
  std::ostringstream o;
  o << "model " << m.name << " (" << m.framework << ", " << m.style << ")  entry: " << m.entry << "\n";
  o << "modules:\n";
  std::function<void(const LayerPtr&, int)> walk = [&](const LayerPtr& l, int depth) {
    o << std::string(2 * depth + 2, ' ') << (l->path.empty() ? "<root>" : l->path) << ": " << l->op;
    if (!l->class_name.empty()) o << " " << l->class_name;
    bool first = true;
    for (const auto& [k, v] : l->attrs) {
      o << (first ? " (" : ", ") << k << "=" << to_python(v);
      first = false;
    }
    if (!first) o << ")";
    if (!l->output_shape.empty()) o << "  -> " << shape_str(l->output_shape);
    o << "\n";
    for (const auto& [n, c] : l->children) walk(c, depth + 1);
  };
  if (m.root) walk(m.root, 0);
  o << "graph:\n";
  for (const auto& i : m.inputs)
    o << "  input %" << i.value << " " << i.name << ": " << shape_str(m.value(i.value).shape) << " "
      << m.value(i.value).dtype << "\n";
  for (const auto& n : m.nodes) {
    o << "  ";
    for (size_t i = 0; i < n.outputs.size(); ++i) o << (i ? ", " : "") << "%" << n.outputs[i];
    o << " = " << (n.kind == "call" ? "call " + n.module + " (" + n.op + ")" : n.op) << "(";
    for (size_t i = 0; i < n.inputs.size(); ++i) o << (i ? ", " : "") << "%" << n.inputs[i];
    o << ")";
    for (const auto& [k, v] : n.attrs) o << " " << k << "=" << to_python(v);
    if (!n.outputs.empty()) o << "  : " << shape_str(m.value(n.outputs[0]).shape);
    o << "\n";
  }
  o << "  return";
  for (size_t i = 0; i < m.outputs.size(); ++i) o << (i ? ", " : " ") << "%" << m.outputs[i];
  o << "\n";
  if (m.config) {
    const Config& c = *m.config;
    auto args = [&](const Attrs& a) {
      std::string out;
      for (const auto& [k, v] : a) out += (out.empty() ? " (" : ", ") + k + "=" + to_python(v);
      return out.empty() ? out : out + ")";
    };
    o << "training:\n  optimizer " << c.optimizer << args(c.optimizer_args) << "\n";
    if (!c.schedule.empty()) o << "  schedule " << c.schedule << args(c.schedule_args) << "\n";
    o << "  loss " << c.loss << args(c.loss_args) << (c.from_logits ? " on logits" : " on probabilities") << "\n";
    for (const auto& metric : c.metrics) o << "  metric " << metric << "\n";
    if (!c.fit.empty()) o << "  fit" << args(c.fit) << "\n";
  }
  return o.str();
}

std::string to_dot(const Model& m) {
  std::ostringstream o;
  o << "digraph \"" << m.name << "\" {\n  node [shape=box];\n";
  std::map<int, std::string> producer;
  for (const auto& i : m.inputs) {
    o << "  in" << i.value << " [label=\"" << i.name << "\", shape=ellipse];\n";
    producer[i.value] = "in" + std::to_string(i.value);
  }
  for (const auto& n : m.nodes) {
    o << "  n" << n.id << " [label=\"" << (n.module.empty() ? n.op : n.module + "\\n" + n.op) << "\"];\n";
    for (int v : n.inputs)
      if (producer.count(v)) o << "  " << producer[v] << " -> n" << n.id << ";\n";
    for (int v : n.outputs) producer[v] = "n" + std::to_string(n.id);
  }
  o << "}\n";
  return o.str();
}

}  // namespace nnport::pivot
