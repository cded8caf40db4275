// Helpers both backends use: the path remapping after inserted modules, the cheap test
// for a module's mention, and the graph index.
#include "backends/common/codegen.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "backends/common/graph_index.h"
#include "syntax/parse.h"

namespace nnport::backends {
namespace {

// The remapping as it was written first (every moved path against every entry): the
// reference move_children_paths must agree with.
std::map<std::string, std::string> moved_by_reference(std::map<std::string, std::string> paths) {
  for (auto& [from, to] : std::map<std::string, std::string>(paths))
    if (from != to)
      for (auto& [k, v] : paths)
        if (k.rfind(from + ".", 0) == 0 && v.rfind(from + ".", 0) == 0) v = to + v.substr(from.size());
  return paths;
}

TEST(MoveChildrenPaths, ChildrenFollowTheirMovedContainers) {
  std::map<std::string, std::string> paths = {
      {"0", "1"}, {"0.0", "0.0"}, {"0.1", "0.1"}, {"0.1.0", "0.1.0"}, {"1", "1.0"}, {"1.0", "1.0"}, {"2", "2"},
      {"2.0", "2.0"}, {"features", "features"}, {"features.3", "features.4"}, {"features.3.conv", "features.3.conv"}};
  auto expected = moved_by_reference(paths);
  move_children_paths(paths);
  EXPECT_EQ(paths, expected);
  EXPECT_EQ(paths["0.1.0"], "1.1.0");
  EXPECT_EQ(paths["features.3.conv"], "features.4.conv");
  EXPECT_EQ(paths["2.0"], "2.0");
}

TEST(MoveChildrenPaths, AgreesWithTheReferenceOnNestedMoves) {
  // a deep tree where every level moved, with values that already point elsewhere
  std::map<std::string, std::string> paths;
  unsigned seed = 7;
  auto next = [&] {
    seed = seed * 1103515245u + 12345u;
    return (seed >> 16) % 3;
  };
  std::string path;
  for (int depth = 0; depth < 6; ++depth)
    for (int i = 0; i < 4; ++i) {
      std::string p = (path.empty() ? "" : path + ".") + std::to_string(i);
      unsigned kind = next();
      paths[p] = kind == 0 ? p : kind == 1 ? p + ".0" : (path.empty() ? "" : path + ".") + std::to_string(i + 1);
      if (i == 1) path = p;
    }
  auto expected = moved_by_reference(paths);
  move_children_paths(paths);
  EXPECT_EQ(paths, expected);
}

syntax::StmtPtr statement(const std::string& code, syntax::Module& keep) {
  keep = syntax::parse_module(code, "test.py");
  return keep.body.at(0);
}

TEST(MentionsModule, FromTheSyntaxTreeOrPrintToSee) {
  syntax::Module m;
  EXPECT_EQ(mentions_module(*statement("y = torch.cat([a, b], dim=1)\n", m), "torch"), Mention::Yes);
  EXPECT_EQ(mentions_module(*statement("def f(x):\n    return g(torch.flatten(x, 1))\n", m), "torch"), Mention::Yes);
  EXPECT_EQ(mentions_module(*statement("y = nn.Linear(3, 4)\n", m), "torch"), Mention::No);
  EXPECT_EQ(mentions_module(*statement("y = f('torch.cat')\n", m), "torch"), Mention::Maybe);
  EXPECT_EQ(mentions_module(*statement("y = mytorch.cat(x)  # see torch.cat\n", m), "torch"), Mention::Maybe);
}

TEST(GraphIndex, ChainedNodesAndCalledModules) {
  pivot::Model m;
  auto node = [&](const std::string& kind, const std::string& module, const std::string& parent, int index) {
    pivot::Node n;
    n.id = static_cast<int>(m.nodes.size());
    n.kind = kind;
    n.module = module;
    n.parent = parent;
    n.child_index = index;
    m.nodes.push_back(n);
  };
  node("call", "features.0", "features", 0);
  node("call", "features.1", "features", 1);
  node("op", "", "", -1);
  node("call", "features.0", "features", 0);  // a second call of the same child
  node("call", "fc", "", -1);
  GraphIndex g(m);
  ASSERT_NE(g.chained("features", 0), nullptr);
  EXPECT_EQ(g.chained("features", 0)->id, 0);  // the first one
  EXPECT_EQ(g.chained("features", 1)->id, 1);
  EXPECT_EQ(g.chained("features", 2), nullptr);
  EXPECT_EQ(g.chained("", 0), nullptr);
  EXPECT_EQ(g.chained_by("features").size(), 3u);
  EXPECT_EQ(g.chained_by("nothing").size(), 0u);
  EXPECT_TRUE(g.chained_call("features.1"));
  EXPECT_FALSE(g.chained_call("fc"));
  EXPECT_TRUE(g.called("fc"));
  EXPECT_FALSE(g.called("features"));
}

}  // namespace
}  // namespace nnport::backends
