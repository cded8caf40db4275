// The lifter's tables of the grammar (grammar.h): type_of gives what ts_node_type gives, for
// every node of a file with most of the constructs (and a syntax error), and the field ids
// are the grammar's.
#include "syntax/grammar.h"

#include <gtest/gtest.h>

#include <string>

extern "C" const TSLanguage* tree_sitter_python(void);

namespace nnport::syntax {
namespace {

void expect_same_types(TSNode n, int& checked) {
  EXPECT_EQ(type_of(n), std::string_view(ts_node_type(n)));
  ++checked;
  for (uint32_t i = 0; i < ts_node_child_count(n); ++i) expect_same_types(ts_node_child(n, i), checked);
}

TEST(Grammar, TypeOfIsTheNodeType) {
  std::string src =
      "import torch.nn as nn\nfrom a import (b as c, d)\n\n@deco(1)\nclass M(nn.Module):\n"
      "    def __init__(self, n: int = 3, *args, **kw) -> None:\n        super().__init__()\n"
      "        self.f = [nn.Linear(i, 2) for i in range(n) if i]\n        x: list[int] | None = None\n"
      "        y = {'k': (1, 2.5, -3, 0x1F), **kw}\n        z = lambda q: q if q else not q\n"
      "        self.s = a[1:2, ...] @ b ** 2 // 3\n        assert y, 'msg'\n"
      "        for k in y:\n            pass\n        else:\n            del z\n"
      "        while False:\n            break\n        with open(p) as h:\n            raise ValueError(f'{x!r}')\n"
      "x = (1,\n";  // an unclosed bracket: ERROR and MISSING nodes
  TSParser* parser = ts_parser_new();
  ASSERT_TRUE(ts_parser_set_language(parser, tree_sitter_python()));
  TSTree* tree = ts_parser_parse_string(parser, nullptr, src.data(), static_cast<uint32_t>(src.size()));
  int checked = 0;
  expect_same_types(ts_tree_root_node(tree), checked);
  EXPECT_GT(checked, 200);
  ts_tree_delete(tree);
  ts_parser_delete(parser);
}

TEST(Grammar, FieldIdsAreTheGrammars) {
  const TSLanguage* python = tree_sitter_python();
  auto id = [&](const char* name) {
    return ts_language_field_id_for_name(python, name, static_cast<uint32_t>(std::string(name).size()));
  };
  EXPECT_EQ(kF.function, id("function"));
  EXPECT_EQ(kF.arguments, id("arguments"));
  EXPECT_EQ(kF.operator_, id("operator"));
  EXPECT_EQ(kF.type_parameters, id("type_parameters"));
  EXPECT_NE(kF.value, 0);
  EXPECT_NE(kF.body, kF.value);
}

}  // namespace
}  // namespace nnport::syntax
