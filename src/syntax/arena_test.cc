// Syntax nodes from arenas (arena.h): they live as long as anyone holds them, whatever
// happens to the scope or the parse that made them.
#include "syntax/arena.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "syntax/parse.h"
#include "syntax/print.h"

namespace nnport::syntax {
namespace {

TEST(NodeArena, NodesOutliveTheScopeThatMadeThem) {
  std::vector<ExprPtr> kept;
  StmtPtr statement;
  {
    NodeArenaScope scope;
    for (int i = 0; i < 20000; ++i) kept.push_back(int_lit(i));  // more than one block
    statement = assign(name("x"), call(attr(name("nn"), "ReLU"), {}));
  }
  for (int i = 0; i < 20000; ++i) EXPECT_EQ(kept[i]->int_value, i);
  EXPECT_EQ(print_module(Module{"", "", {statement}, {}}), "x = nn.ReLU()\n");
  ExprPtr copy = new_expr(*kept[7]);  // outside any scope: from the heap
  kept.clear();
  EXPECT_EQ(copy->int_value, 7);
}

TEST(NodeArena, ScopesNestAndParsedNodesOutliveTheirModule) {
  ExprPtr value;
  {
    NodeArenaScope outer;
    {
      NodeArenaScope inner;
      value = parse_module("x = [1, 2, 3]  # three\n", "test.py").body.at(0)->value;
    }
    ExprPtr after_inner = name("y");  // the outer scope is current again
    EXPECT_EQ(after_inner->name, "y");
  }
  ASSERT_EQ(value->items.size(), 3u);
  EXPECT_EQ(value->items[2]->int_value, 3);
  EXPECT_EQ(print_expr(*value), "[1, 2, 3]");
}

}  // namespace
}  // namespace nnport::syntax
