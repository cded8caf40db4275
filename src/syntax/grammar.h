// The Python grammar's node types and field ids, as the lifter (parse.cc) asks for them.
//
// ts_node_type gives a C string (a strlen for every comparison of a type), and asking for a
// field by name compares the name with every field's: both are looked up once here.
#pragma once

#include <tree_sitter/api.h>

#include <string_view>

namespace nnport::syntax {

// A node's type name (ts_node_type), from a table of the grammar's symbol names with their
// lengths. ts_node_symbol maps an alias to the first symbol of the same name, which has that
// name.
std::string_view type_of(TSNode n);

// The ids of the fields the lifter reads.
struct FieldIds {
  TSFieldId alias, alternative, argument, arguments, attribute, body, cause, condition, consequence,
      definition, function, key, left, module_name, name, object, operator_, parameters, return_type,
      right, superclasses, type, type_parameters, value;
};
extern const FieldIds kF;

}  // namespace nnport::syntax
