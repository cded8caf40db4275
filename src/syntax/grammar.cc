#include "syntax/grammar.h"

#include <cstring>
#include <vector>

extern "C" const TSLanguage* tree_sitter_python(void);

namespace nnport::syntax {

std::string_view type_of(TSNode n) {
  static const std::vector<std::string_view> kNames = [] {
    const TSLanguage* python = tree_sitter_python();
    std::vector<std::string_view> names(ts_language_symbol_count(python));
    for (TSSymbol s = 0; s < names.size(); ++s) names[s] = ts_language_symbol_name(python, s);
    return names;
  }();
  TSSymbol s = ts_node_symbol(n);
  return s < kNames.size() ? kNames[s] : std::string_view(ts_node_type(n));  // (ERROR)
}

namespace {

FieldIds field_ids() {
  const TSLanguage* python = tree_sitter_python();
  auto id = [&](const char* name) {
    return ts_language_field_id_for_name(python, name, static_cast<uint32_t>(std::strlen(name)));
  };
  FieldIds f{};
  f.alias = id("alias");
  f.alternative = id("alternative");
  f.argument = id("argument");
  f.arguments = id("arguments");
  f.attribute = id("attribute");
  f.body = id("body");
  f.cause = id("cause");
  f.condition = id("condition");
  f.consequence = id("consequence");
  f.definition = id("definition");
  f.function = id("function");
  f.key = id("key");
  f.left = id("left");
  f.module_name = id("module_name");
  f.name = id("name");
  f.object = id("object");
  f.operator_ = id("operator");
  f.parameters = id("parameters");
  f.return_type = id("return_type");
  f.right = id("right");
  f.superclasses = id("superclasses");
  f.type = id("type");
  f.type_parameters = id("type_parameters");
  f.value = id("value");
  return f;
}

}  // namespace

const FieldIds kF = field_ids();

}  // namespace nnport::syntax
