#include "syntax/parse.h"

#include <gtest/gtest.h>
#include <tree_sitter/api.h>

#include <string>
#include <vector>

#include "syntax/tree_children.h"

extern "C" const TSLanguage* tree_sitter_python(void);

namespace nnport::syntax {
namespace {

Module parse(const std::string& text) { return parse_module(text, "test.py"); }

const Expr& value_of(const Module& m, size_t i) { return *m.body.at(i)->value; }

TEST(ParseTest, LocationOfNestedCall) {
  Module m = parse("import torch\nx = foo(a, bar(1, 2))\n");
  ASSERT_EQ(m.body.size(), 2u);
  const Stmt& s = *m.body[1];
  EXPECT_EQ(s.kind, StmtKind::Assign);
  EXPECT_EQ(s.loc.line, 2);
  EXPECT_EQ(s.loc.column, 1);
  const Expr& call = *s.value;
  ASSERT_EQ(call.kind, ExprKind::Call);
  EXPECT_EQ(call.loc.line, 2);
  EXPECT_EQ(call.loc.column, 5);
  const Expr& inner = *call.args.at(1).value;
  ASSERT_EQ(inner.kind, ExprKind::Call);
  EXPECT_EQ(inner.loc.line, 2);
  EXPECT_EQ(inner.loc.column, 12);
  EXPECT_EQ(inner.loc.begin, 13u + 11u);  // "import torch\n" is 13 bytes
  EXPECT_EQ(inner.loc.end, inner.loc.begin + 9u);
  EXPECT_EQ(inner.loc.file, "test.py");
  EXPECT_EQ(inner.object->name, "bar");
  EXPECT_EQ(inner.args.at(1).value->int_value, 2);
  EXPECT_EQ(inner.args.at(1).value->loc.column, 19);
}

TEST(ParseTest, LocationInsideMultiLineCall) {
  Module m = parse("model = nn.Sequential(\n    nn.Linear(4, 8),\n    nn.ReLU(),\n)\n");
  const Expr& seq = value_of(m, 0);
  ASSERT_EQ(seq.args.size(), 2u);
  EXPECT_EQ(seq.args[1].value->loc.line, 3);
  EXPECT_EQ(seq.args[1].value->loc.column, 5);
  EXPECT_TRUE(seq.magic_trailing_comma);
}

TEST(ParseTest, SyntaxErrorUnclosedParenthesis) {
  try {
    parse("x = (1,");
    FAIL() << "expected a MigrationError";
  } catch (const MigrationError& e) {
    EXPECT_EQ(e.diagnostic.loc.line, 1);
    EXPECT_EQ(e.diagnostic.loc.column, 5);
    EXPECT_EQ(e.diagnostic.loc.file, "test.py");
    EXPECT_NE(e.diagnostic.message.find("syntax error"), std::string::npos) << e.diagnostic.message;
    EXPECT_NE(e.diagnostic.message.find("`(`"), std::string::npos) << e.diagnostic.message;
    EXPECT_NE(e.diagnostic.hint.find("fix the Python syntax"), std::string::npos);
  }
}

TEST(ParseTest, SyntaxErrorInDefHeader) {
  try {
    parse("import os\n\ndef f(:\n    pass\n");
    FAIL() << "expected a MigrationError";
  } catch (const MigrationError& e) {
    EXPECT_EQ(e.diagnostic.loc.line, 3);
    EXPECT_GE(e.diagnostic.loc.column, 6);
    EXPECT_EQ(e.diagnostic.message.rfind("syntax error: ", 0), 0u) << e.diagnostic.message;
  }
}

TEST(ParseTest, SyntaxErrorUnexpectedToken) {
  try {
    parse("x = 1\ny = )\n");
    FAIL() << "expected a MigrationError";
  } catch (const MigrationError& e) {
    EXPECT_EQ(e.diagnostic.loc.line, 2);
    EXPECT_NE(e.diagnostic.message.find("syntax error"), std::string::npos);
  }
}

TEST(ParseTest, ElifChainBecomesNestedIf) {
  Module m = parse("if a:\n    x = 1\nelif b:\n    x = 2\nelif c:\n    x = 3\nelse:\n    x = 4\n");
  const Stmt& s = *m.body.at(0);
  ASSERT_EQ(s.kind, StmtKind::If);
  EXPECT_FALSE(s.is_elif);
  ASSERT_EQ(s.orelse.size(), 1u);
  const Stmt& e1 = *s.orelse[0];
  EXPECT_EQ(e1.kind, StmtKind::If);
  EXPECT_TRUE(e1.is_elif);
  EXPECT_EQ(e1.value->name, "b");
  ASSERT_EQ(e1.orelse.size(), 1u);
  const Stmt& e2 = *e1.orelse[0];
  EXPECT_TRUE(e2.is_elif);
  ASSERT_EQ(e2.orelse.size(), 1u);
  EXPECT_EQ(e2.orelse[0]->kind, StmtKind::Assign);
  EXPECT_EQ(e2.orelse[0]->value->int_value, 4);
}

TEST(ParseTest, SubscriptWithTupleIndex) {
  Module m = parse("x[a, b]\ny[1:2, ::3]\nz[0]\n");
  const Expr& x = value_of(m, 0);
  ASSERT_EQ(x.kind, ExprKind::Subscript);
  ASSERT_EQ(x.items.size(), 1u);
  EXPECT_EQ(x.items[0]->kind, ExprKind::Tuple);
  EXPECT_EQ(x.items[0]->items.size(), 2u);
  EXPECT_FALSE(x.items[0]->parenthesized);
  const Expr& y = value_of(m, 1);
  const Expr& t = *y.items[0];
  ASSERT_EQ(t.kind, ExprKind::Tuple);
  ASSERT_EQ(t.items[0]->kind, ExprKind::Slice);
  EXPECT_EQ(t.items[0]->items[0]->int_value, 1);
  EXPECT_EQ(t.items[0]->items[1]->int_value, 2);
  const Expr& s2 = *t.items[1];
  ASSERT_EQ(s2.items.size(), 3u);
  EXPECT_EQ(s2.items[0], nullptr);
  EXPECT_EQ(s2.items[1], nullptr);
  EXPECT_EQ(s2.items[2]->int_value, 3);
  EXPECT_EQ(value_of(m, 2).items[0]->kind, ExprKind::Int);
}

TEST(ParseTest, CallArguments) {
  Module m = parse("f(a, *rest, key=1, **options)\n");
  const Expr& c = value_of(m, 0);
  ASSERT_EQ(c.args.size(), 4u);
  EXPECT_TRUE(c.args[0].name.empty());
  EXPECT_TRUE(c.args[1].star);
  EXPECT_EQ(c.args[1].value->name, "rest");
  EXPECT_EQ(c.args[2].name, "key");
  EXPECT_EQ(c.args[2].value->int_value, 1);
  EXPECT_TRUE(c.args[3].double_star);
  EXPECT_FALSE(c.magic_trailing_comma);
}

TEST(ParseTest, Parameters) {
  Module m = parse("def f(a, b: int = 3, *args, c, d=None, **kwargs) -> int:\n    pass\n"
                   "def g(x, *, y=1):\n    pass\n");
  const Stmt& f = *m.body.at(0);
  ASSERT_EQ(f.kind, StmtKind::FunctionDef);
  EXPECT_EQ(f.name, "f");
  ASSERT_EQ(f.params.size(), 6u);
  EXPECT_EQ(f.params[1].name, "b");
  EXPECT_EQ(f.params[1].annotation->name, "int");
  EXPECT_EQ(f.params[1].default_value->int_value, 3);
  EXPECT_TRUE(f.params[2].star);
  EXPECT_EQ(f.params[2].name, "args");
  EXPECT_EQ(f.params[4].default_value->kind, ExprKind::None);
  EXPECT_TRUE(f.params[5].double_star);
  EXPECT_EQ(f.returns->name, "int");
  const Stmt& g = *m.body.at(1);
  ASSERT_EQ(g.params.size(), 3u);
  EXPECT_EQ(g.params[1].name, "*");
  EXPECT_FALSE(g.params[1].star);
}

TEST(ParseTest, DecoratorsAndClassBases) {
  Module m = parse("@torch.no_grad()\n@staticmethod\ndef f():\n    pass\n\n"
                   "class A(B, metaclass=M):\n    \"\"\"Doc.\"\"\"\n\n    x = 1\n");
  const Stmt& f = *m.body.at(0);
  ASSERT_EQ(f.decorators.size(), 2u);
  EXPECT_EQ(f.decorators[0]->kind, ExprKind::Call);
  EXPECT_EQ(f.decorators[1]->name, "staticmethod");
  EXPECT_EQ(f.loc.line, 1);
  const Stmt& a = *m.body.at(1);
  ASSERT_EQ(a.kind, StmtKind::ClassDef);
  ASSERT_EQ(a.bases.size(), 2u);
  EXPECT_EQ(a.bases[0].value->name, "B");
  EXPECT_EQ(a.bases[1].name, "metaclass");
  ASSERT_EQ(a.body.size(), 2u);
  EXPECT_EQ(a.body[0]->kind, StmtKind::Expr);
  EXPECT_EQ(a.body[0]->value->kind, ExprKind::String);
  EXPECT_EQ(a.body[0]->value->text, "Doc.");
  EXPECT_TRUE(a.body[1]->blank_line_before);
  EXPECT_TRUE(a.blank_line_before);
}

TEST(ParseTest, StringsAndNumbers) {
  Module m = parse(R"(a = "tab\there\n" 'and \'more\''
b = f"x={x!r}"
c = 0x1F
d = 1e-05
e = 1_000
g = r"\d+"
)");
  EXPECT_EQ(value_of(m, 0).text, "tab\there\nand 'more'");
  EXPECT_EQ(value_of(m, 0).values.size(), 2u);
  EXPECT_TRUE(value_of(m, 1).is_fstring);
  EXPECT_EQ(value_of(m, 1).text, "f\"x={x!r}\"");
  EXPECT_EQ(value_of(m, 2).int_value, 31);
  EXPECT_EQ(value_of(m, 2).text, "0x1F");
  EXPECT_EQ(value_of(m, 3).kind, ExprKind::Float);
  EXPECT_DOUBLE_EQ(value_of(m, 3).float_value, 1e-05);
  EXPECT_EQ(value_of(m, 3).text, "1e-05");
  EXPECT_EQ(value_of(m, 4).int_value, 1000);
  EXPECT_EQ(value_of(m, 5).text, "\\d+");
}

TEST(ParseTest, OperatorsAndComparisons) {
  Module m = parse("x = not a and b or c\ny = a not in b is not c\nz = -x ** 2\nw = a if b else c\n");
  const Expr& x = value_of(m, 0);
  ASSERT_EQ(x.kind, ExprKind::BoolOp);
  EXPECT_EQ(x.name, "or");
  EXPECT_EQ(x.items[0]->kind, ExprKind::BoolOp);
  EXPECT_EQ(x.items[0]->items[0]->kind, ExprKind::UnaryOp);
  const Expr& y = value_of(m, 1);
  ASSERT_EQ(y.kind, ExprKind::Compare);
  ASSERT_EQ(y.ops.size(), 2u);
  EXPECT_EQ(y.ops[0], "not in");
  EXPECT_EQ(y.ops[1], "is not");
  const Expr& z = value_of(m, 2);
  ASSERT_EQ(z.kind, ExprKind::UnaryOp);
  EXPECT_EQ(z.object->kind, ExprKind::BinOp);
  EXPECT_EQ(z.object->name, "**");
  EXPECT_EQ(value_of(m, 3).kind, ExprKind::IfExp);
}

TEST(ParseTest, Comments) {
  Module m = parse("import torch\n\n# leading one\n# leading two\nx = 1  # trailing\n"
                   "layers = [\n    a,  # first\n    # before b\n    b,\n    # after b\n]\n# end\n");
  const Stmt& x = *m.body.at(1);
  ASSERT_EQ(x.leading_comments.size(), 2u);
  EXPECT_EQ(x.leading_comments[0], "# leading one");
  EXPECT_EQ(x.trailing_comment, "# trailing");
  EXPECT_TRUE(x.blank_line_before);
  const Expr& list = *m.body.at(2)->value;
  ASSERT_EQ(list.items.size(), 2u);
  EXPECT_EQ(list.items[0]->comment, "# first");
  EXPECT_EQ(list.items[1]->comment, "# before b\n\v# after b");
  EXPECT_TRUE(list.magic_trailing_comma);
  ASSERT_EQ(m.trailing_comments.size(), 1u);
  EXPECT_EQ(m.trailing_comments[0], "# end");
}

TEST(ParseTest, UnsupportedExpressionIsLocatedError) {
  try {
    parse("import torch\ny = {k: v for k, v in pairs}\n");
    FAIL() << "expected a MigrationError";
  } catch (const MigrationError& e) {
    EXPECT_EQ(e.diagnostic.loc.line, 2);
    EXPECT_EQ(e.diagnostic.loc.column, 5);
    EXPECT_EQ(e.diagnostic.message, "unsupported Python construct: dict comprehension");
    EXPECT_FALSE(e.diagnostic.hint.empty());
  }
}

TEST(ParseTest, UnsupportedStatementsKeptVerbatim) {
  Module m = parse("try:\n    import numpy\nexcept ImportError:\n    numpy = None\n"
                   "with open(p) as f:\n    data = f.read()\ndel x\n");
  ASSERT_EQ(m.body.size(), 3u);
  EXPECT_EQ(m.body[0]->kind, StmtKind::Other);
  EXPECT_EQ(m.body[0]->text.rfind("try:", 0), 0u);
  EXPECT_EQ(m.body[1]->kind, StmtKind::With);
  EXPECT_EQ(m.body[1]->text, "open(p) as f");
  ASSERT_EQ(m.body[1]->body.size(), 1u);
  EXPECT_EQ(m.body[2]->kind, StmtKind::Other);
  EXPECT_EQ(m.body[2]->text, "del x");
}

TEST(ParseTest, ImportsAndAssignments) {
  Module m = parse("import torch.nn as nn, os\nfrom ..pkg import (a as b, c)\na = b = 3\n"
                   "x: int = 5\ny += 1\nreturn_value, other = f()\n");
  const Stmt& i = *m.body[0];
  ASSERT_EQ(i.names.size(), 2u);
  EXPECT_EQ(i.names[0].first, "torch.nn");
  EXPECT_EQ(i.names[0].second, "nn");
  const Stmt& f = *m.body[1];
  EXPECT_EQ(f.module, "..pkg");
  ASSERT_EQ(f.names.size(), 2u);
  EXPECT_EQ(f.names[0].second, "b");
  EXPECT_EQ(m.body[2]->targets.size(), 2u);
  EXPECT_EQ(m.body[3]->kind, StmtKind::AnnAssign);
  EXPECT_EQ(m.body[3]->annotation->name, "int");
  EXPECT_EQ(m.body[4]->kind, StmtKind::AugAssign);
  EXPECT_EQ(m.body[4]->op, "+=");
  EXPECT_EQ(m.body[5]->targets[0]->kind, ExprKind::Tuple);
  EXPECT_FALSE(m.body[5]->targets[0]->parenthesized);
}

TEST(ParseTest, RaiseFromAndWithItems) {
  Module m = parse("raise ValueError('x') from err\nwith open(p) as f, lock:\n    pass\n");
  const Stmt& r = *m.body[0];
  EXPECT_EQ(r.kind, StmtKind::Raise);
  EXPECT_EQ(r.value->kind, ExprKind::Call);
  ASSERT_EQ(r.targets.size(), 1u);
  EXPECT_EQ(r.targets[0]->name, "err");
  const Stmt& w = *m.body[1];
  EXPECT_EQ(w.kind, StmtKind::With);
  EXPECT_EQ(w.text, "open(p) as f, lock");
  ASSERT_EQ(w.targets.size(), 2u);
  EXPECT_EQ(w.names[0].second, "f");
  EXPECT_EQ(w.names[1].second, "");
}

TEST(ParseTest, ParseOnlyCountsNodes) {
  EXPECT_GT(parse_only("x = foo(1, 2)\n"), 5u);
  EXPECT_GT(parse_only("def f():\n    return [i for i in range(3)]\n"), 10u);
}

// tree_children.h walks a node's children with a cursor (asking for child i walks from the
// first one each time): it must list what ts_node_child / ts_node_named_child and
// ts_node_field_name_for_child give, for nodes with few children and with many.
void expect_same_children(TSNode n, int& checked) {
  std::vector<TreeChild> all = tree_children(n);
  ASSERT_EQ(all.size(), ts_node_child_count(n));
  for (uint32_t i = 0; i < all.size(); ++i) {
    EXPECT_TRUE(ts_node_eq(all[i].node, ts_node_child(n, i)));
    const char* field = ts_node_field_name_for_child(n, i);
    EXPECT_EQ(std::string(all[i].field ? all[i].field : "-"), std::string(field ? field : "-"));
  }
  std::vector<TSNode> named = tree_named_children(n);
  ASSERT_EQ(named.size(), ts_node_named_child_count(n));
  for (uint32_t i = 0; i < named.size(); ++i) EXPECT_TRUE(ts_node_eq(named[i], ts_node_named_child(n, i)));
  ++checked;
  for (const auto& c : all) expect_same_children(c.node, checked);
}

TEST(ParseTest, TreeChildrenListWhatTheIndexedCallsGive) {
  std::string src = "import torch.nn as nn  # models\n\nlayers = [\n";
  for (int i = 0; i < 40; ++i) src += "    nn.Linear(" + std::to_string(i + 1) + ", 4, bias=x[1:2]),  # layer " + std::to_string(i) + "\n";
  src += "]\nif a < b <= c and not d:\n    y = {'k': [f(*u, **v) for u in w if u]}\nelse:\n    pass\n";
  for (int i = 0; i < 30; ++i) src += "s" + std::to_string(i) + " = t[" + std::to_string(i) + ", ...]  # s\n";
  TSParser* parser = ts_parser_new();
  ASSERT_TRUE(ts_parser_set_language(parser, tree_sitter_python()));
  TSTree* tree = ts_parser_parse_string(parser, nullptr, src.data(), static_cast<uint32_t>(src.size()));
  int checked = 0;
  expect_same_children(ts_tree_root_node(tree), checked);
  EXPECT_GT(checked, 1000);
  ts_tree_delete(tree);
  ts_parser_delete(parser);
}

// Comments are collected by a walk that enters only the nodes around a '#': each one still
// lands on its element or statement, and a '#' in a string is no comment.
TEST(ParseTest, CommentsOfALongListAndOfManyStatements) {
  std::string src = "import torch.nn as nn\n\nmodel = nn.Sequential(\n";
  for (int i = 0; i < 30; ++i) src += "    nn.ReLU(),  # act " + std::to_string(i) + "\n";
  src += ")\n";
  for (int i = 0; i < 30; ++i) src += "name" + std::to_string(i) + " = '#not a comment'  # c" + std::to_string(i) + "\n";
  Module m = parse(src);
  ASSERT_EQ(m.body.size(), 32u);
  const Expr& call = value_of(m, 1);
  ASSERT_EQ(call.args.size(), 30u);
  for (int i = 0; i < 30; ++i) EXPECT_EQ(call.args[i].value->comment, "# act " + std::to_string(i));
  for (int i = 0; i < 30; ++i) {
    EXPECT_EQ(m.body[2 + i]->trailing_comment, "# c" + std::to_string(i));
    EXPECT_EQ(m.body[2 + i]->value->text, "#not a comment");
  }
}

}  // namespace
}  // namespace nnport::syntax
