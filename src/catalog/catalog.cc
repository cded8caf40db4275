#include "catalog/catalog.h"

#include <nlohmann/json.hpp>
#include <cctype>
#include <stdexcept>

#include "catalog/table.h"

namespace nnport::catalog {

namespace {

std::string trim(std::string s) {
  size_t b = s.find_first_not_of(" \t");
  size_t e = s.find_last_not_of(" \t");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

pivot::Attr parse_literal(const std::string& text) {
  if (text == "None") return {};
  if (!text.empty() && (text[0] == '(' || text[0] == '[')) {  // a tuple of literals
    pivot::AttrList items;
    size_t pos = 1;
    while (pos < text.size() - 1) {
      size_t end = text.find(',', pos);
      if (end == std::string::npos || end > text.size() - 1) end = text.size() - 1;
      std::string item = trim(text.substr(pos, end - pos));
      if (!item.empty()) items.push_back(parse_literal(item));
      pos = end + 1;
    }
    return pivot::Attr(items);
  }
  if (text == "True") return true;
  if (text == "False") return false;
  if (!text.empty() && (text[0] == '\'' || text[0] == '"')) return text.substr(1, text.size() - 2);
  if (text.find_first_of(".eE") != std::string::npos) return std::stod(text);
  return std::stoll(text);
}

nlohmann::json attr_json(const pivot::Attr& a) {
  if (a.is_none()) return nullptr;
  if (a.is_bool()) return a.as_bool();
  if (a.is_int()) return a.as_int();
  if (a.is_float()) return std::get<double>(a.v);
  if (a.is_str()) return a.as_str();
  nlohmann::json l = nlohmann::json::array();
  for (const auto& x : a.as_list()) l.push_back(attr_json(x));
  return l;
}

const char* layout_rule_name(LayoutRule r) {
  switch (r) {
    case LayoutRule::Elementwise: return "elementwise";
    case LayoutRule::Channels: return "channels";
    case LayoutRule::LastAxis: return "last_axis";
    case LayoutRule::Sequence: return "sequence";
    case LayoutRule::Flatten: return "flatten";
    case LayoutRule::Opaque: return "opaque";
  }
  return "?";
}

nlohmann::json signature_json(const Signature& s) {
  nlohmann::json params = nlohmann::json::array();
  for (const Param& p : s.params) {
    nlohmann::json j = {{"name", p.name}, {"attr", p.attr}};
    if (!p.converter.empty()) j["converter"] = p.converter;
    if (p.default_value) j["default"] = attr_json(*p.default_value);
    else j["required"] = true;
    if (p.dropped) j["dropped"] = true;
    if (p.default_only) j["default_only"] = true;
    if (p.positional) j["positional"] = true;
    if (p.keyword_only) j["keyword_only"] = true;
    params.push_back(j);
  }
  return {{"names", s.names}, {"params", params}, {"takes_input", s.takes_input}};
}

}  // namespace

std::vector<Param> parse_signature(const std::string& spec) {
  std::vector<Param> out;
  bool keyword_only = false;
  size_t pos = 0;
  while (pos < spec.size()) {
    // split on commas outside quotes/brackets
    size_t end = pos;
    int depth = 0;
    char quote = 0;
    for (; end < spec.size(); ++end) {
      char c = spec[end];
      if (quote) {
        if (c == quote) quote = 0;
      } else if (c == '\'' || c == '"') {
        quote = c;
      } else if (c == '(' || c == '[') {
        ++depth;
      } else if (c == ')' || c == ']') {
        --depth;
      } else if (c == ',' && depth == 0) {
        break;
      }
    }
    std::string item = trim(spec.substr(pos, end - pos));
    pos = end + 1;
    if (item.empty()) continue;
    if (item == "*") {
      keyword_only = true;
      continue;
    }
    Param p;
    p.keyword_only = keyword_only;
    if (item[0] == '^') {
      p.positional = true;
      item = item.substr(1);
    }
    if (item.back() == '~') {
      p.dropped = true;
      item.pop_back();
    } else if (item.back() == '!') {
      p.default_only = true;
      item.pop_back();
    }
    std::string head = item;
    std::string mapped_attr;  // `filters=out_channels`: a target parameter fed by an attribute
    size_t eq = item.find('=');
    if (eq != std::string::npos) {
      head = trim(item.substr(0, eq));
      std::string rhs = trim(item.substr(eq + 1));
      bool identifier = !rhs.empty() && (std::isalpha(static_cast<unsigned char>(rhs[0])) || rhs[0] == '_') &&
                        rhs != "None" && rhs != "True" && rhs != "False";
      if (identifier) mapped_attr = rhs;
      else p.default_value = parse_literal(rhs);
    }
    size_t at = head.find('@');
    if (at != std::string::npos) {
      p.converter = head.substr(at + 1);
      head = head.substr(0, at);
    }
    size_t colon = head.find(':');
    if (colon != std::string::npos) {
      p.name = head.substr(0, colon);
      p.attr = head.substr(colon + 1);
    } else {
      p.name = head;
      p.attr = (p.dropped || p.default_only) ? "" : head;
    }
    if (!mapped_attr.empty()) p.attr = mapped_attr;
    out.push_back(p);
  }
  return out;
}

const Param* Signature::find(const std::string& name) const {
  for (const Param& p : params)
    if (p.name == name) return &p;
  return nullptr;
}

const Catalog& Catalog::get() {
  static const Catalog instance;
  return instance;
}

Catalog::Catalog() : ops_(build_table()) {
  // Keras source spellings are registered before the backend's spellings, so a lookup of
  // a name finds the signature that binds what source files write.
  for (auto which : {&OpDef::torch, &OpDef::keras_source, &OpDef::keras})
    for (size_t i = 0; i < ops_.size(); ++i) {
      const std::string fw = which == &OpDef::torch ? "torch" : "keras";
      for (const Signature& s : ops_[i].*which)
        for (const std::string& n : s.names) {
          std::string key = fw + ":" + n;
          // Several pivot ops may share a Keras spelling (Activation, ReLU); a lookup by name
          // finds the first, and the frontend refines it by the arguments.
          if (by_name_.count(key) && which != &OpDef::keras) throw std::logic_error("catalog: " + n + " spelled twice");
          by_name_.emplace(key, Match{&ops_[i], &s});
        }
    }
  for (size_t i = 0; i < ops_.size(); ++i) {
    const OpDef& d = ops_[i];
    if (by_id_.count(d.id)) throw std::logic_error("catalog: duplicate op " + d.id);
    by_id_[d.id] = i;
    // Every attribute a signature binds must be declared by the op.
    for (const auto* sigs : {&d.torch, &d.keras, &d.keras_source})
      for (const Signature& s : *sigs)
        for (const Param& p : s.params) {
          if (p.attr.empty() || p.dropped || p.default_only) continue;
          bool known = false;
          for (const auto& a : d.attrs) known |= a.first == p.attr;
          if (!known && p.converter.empty() && p.name != "input" && p.name != "tensors" && p.name != "other" &&
              p.attr != "return_sequences" && p.attr != "return_state" && p.attr != "layers" &&
              p.attr != "modules")
            throw std::logic_error("catalog: " + d.id + " binds undeclared attribute " + p.attr);
        }
  }
}

const OpDef* Catalog::op(const std::string& id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &ops_[it->second];
}

std::optional<Catalog::Match> Catalog::lookup(const std::string& framework, const std::string& qualified) const {
  auto it = by_name_.find(framework + ":" + qualified);
  if (it == by_name_.end()) return std::nullopt;
  return it->second;
}

std::string Catalog::to_json() const {
  nlohmann::json ops = nlohmann::json::array();
  for (const OpDef& d : ops_) {
    nlohmann::json attrs = nlohmann::json::array();
    for (const auto& [n, v] : d.attrs) attrs.push_back({{"name", n}, {"default", attr_json(v)}});
    nlohmann::json torch = nlohmann::json::array(), keras = nlohmann::json::array();
    for (const auto& s : d.torch) torch.push_back(signature_json(s));
    for (const auto& s : d.keras) keras.push_back(signature_json(s));
    nlohmann::json keras_source = nlohmann::json::array();
    for (const auto& s : d.keras_source) keras_source.push_back(signature_json(s));
    nlohmann::json weights = nlohmann::json::array();
    for (const auto& r : d.keras_weights) {
      nlohmann::json steps = nlohmann::json::array();
      for (const auto& s : r.steps) {
        nlohmann::json j = {{"op", s.op}};
        if (s.op == "transpose") j["perm"] = s.perm;
        if (s.op == "reorder_blocks") j.update({{"axis", s.axis}, {"blocks", s.blocks}, {"order", s.order}});
        steps.push_back(j);
      }
      weights.push_back({{"name", r.name}, {"from", r.from}, {"combine", r.combine}, {"steps", steps}});
    }
    ops.push_back({{"id", d.id},
                   {"kind", d.kind},
                   {"rank", d.rank},
                   {"attrs", attrs},
                   {"torch", torch},
                   {"keras", keras},
                   {"keras_source", keras_source},
                   {"torch_tensors", d.torch_tensor_params},
                   {"keras_weights", weights},
                   {"layout", layout_rule_name(d.layout)},
                   {"keras_activation", d.keras_activation},
                   {"doc", d.doc}});
  }
  return nlohmann::json({{"version", "nnport.catalog/1"}, {"ops", ops}}).dump(2);
}

}  // namespace nnport::catalog
