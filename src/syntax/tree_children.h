// The children of a tree-sitter node, in one pass.
//
// ts_node_child(n, i), ts_node_named_child(n, i) and ts_node_field_name_for_child(n, i)
// walk n's children from the first one on every call, so a loop over i is quadratic in
// the number of children: a module's statements, the arguments of a 10,000-layer
// nn.Sequential(...). A tree cursor visits each child once, in the same order.
#pragma once

#include <tree_sitter/api.h>

#include <vector>

namespace nnport::syntax {

struct TreeChild {
  TSNode node;
  const char* field;  // its field name in n (ts_node_field_name_for_child), or null
};

// ts_node_child(n, i) for every i, with its field name.
std::vector<TreeChild> tree_children(TSNode n);
// ts_node_named_child(n, i) for every i.
std::vector<TSNode> tree_named_children(TSNode n);

}  // namespace nnport::syntax
