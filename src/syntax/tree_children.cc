#include "syntax/tree_children.h"

namespace nnport::syntax {
namespace {

// One cursor per thread, moved to each node asked about (no allocation per call).
TSTreeCursor& cursor_on(TSNode n) {
  thread_local struct Cursor {
    TSTreeCursor cursor{};
    bool made = false;
    ~Cursor() {
      if (made) ts_tree_cursor_delete(&cursor);
    }
  } c;
  if (c.made) {
    ts_tree_cursor_reset(&c.cursor, n);
  } else {
    c.cursor = ts_tree_cursor_new(n);
    c.made = true;
  }
  return c.cursor;
}

}  // namespace

// Up to this many children, asking for each by index costs less than a cursor's steps.
constexpr uint32_t kFew = 12;

std::vector<TreeChild> tree_children(TSNode n) {
  std::vector<TreeChild> out;
  uint32_t count = ts_node_child_count(n);
  out.reserve(count);
  if (count <= kFew) {
    for (uint32_t i = 0; i < count; ++i) out.push_back({ts_node_child(n, i), ts_node_field_name_for_child(n, i)});
    return out;
  }
  TSTreeCursor& cursor = cursor_on(n);
  if (ts_tree_cursor_goto_first_child(&cursor)) do {
      out.push_back({ts_tree_cursor_current_node(&cursor), ts_tree_cursor_current_field_name(&cursor)});
    } while (ts_tree_cursor_goto_next_sibling(&cursor));
  return out;
}

std::vector<TSNode> tree_named_children(TSNode n) {
  std::vector<TSNode> out;
  uint32_t count = ts_node_named_child_count(n);
  out.reserve(count);
  if (count <= kFew) {
    for (uint32_t i = 0; i < count; ++i) out.push_back(ts_node_named_child(n, i));
    return out;
  }
  TSTreeCursor& cursor = cursor_on(n);
  if (ts_tree_cursor_goto_first_child(&cursor)) do {
      TSNode c = ts_tree_cursor_current_node(&cursor);
      if (ts_node_is_named(c)) out.push_back(c);
    } while (ts_tree_cursor_goto_next_sibling(&cursor));
  return out;
}

}  // namespace nnport::syntax
