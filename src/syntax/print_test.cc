#include "syntax/print.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "syntax/parse.h"

namespace nnport::syntax {
namespace {

namespace fs = std::filesystem;

// src/syntax/testdata, found next to this file (or through NNPORT_SOURCE_DIR / the cwd).
fs::path testdata_dir() {
  std::vector<fs::path> candidates;
  candidates.push_back(fs::path(__FILE__).parent_path() / "testdata");
  if (const char* root = std::getenv("NNPORT_SOURCE_DIR")) candidates.push_back(fs::path(root) / "src/syntax/testdata");
  candidates.push_back(fs::path("src/syntax/testdata"));
  candidates.push_back(fs::path("../src/syntax/testdata"));
  for (auto& c : candidates)
    if (fs::is_directory(c)) return c;
  return {};
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string roundtrip(const std::string& text) { return print_module(parse_module(text, "test.py")); }

// The files under testdata/ are formatted by `ruff format` (default settings): parsing
// and printing them must give them back byte for byte.
TEST(PrintTest, RuffFormattedFilesRoundTrip) {
  fs::path dir = testdata_dir();
  ASSERT_FALSE(dir.empty()) << "src/syntax/testdata not found";
  int files = 0;
  for (auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".py") continue;
    ++files;
    std::string text = read_file(entry.path());
    std::string printed = roundtrip(text);
    EXPECT_EQ(printed, text) << "round trip of " << entry.path().filename();
    EXPECT_EQ(roundtrip(printed), printed) << "second round trip of " << entry.path().filename();
  }
  EXPECT_GE(files, 3);
}

TEST(PrintTest, PrecedenceAddsOnlyNeededParentheses) {
  auto a = name("a"), b = name("b"), c = name("c");
  EXPECT_EQ(print_expr(*binop(binop(a, "+", b), "*", c)), "(a + b) * c");
  EXPECT_EQ(print_expr(*binop(a, "+", binop(b, "*", c))), "a + b * c");
  EXPECT_EQ(print_expr(*binop(binop(a, "-", b), "-", c)), "a - b - c");
  EXPECT_EQ(print_expr(*binop(a, "-", binop(b, "-", c))), "a - (b - c)");
  EXPECT_EQ(print_expr(*binop(a, "**", binop(b, "**", c))), "a**b**c");
  EXPECT_EQ(print_expr(*binop(binop(a, "**", b), "**", c)), "(a**b) ** c");
  EXPECT_EQ(print_expr(*binop(attr(binop(a, "+", b), "T"), "@", c)), "(a + b).T @ c");
  EXPECT_EQ(print_expr(*call(attr(binop(a, "/", b), "sum"), {})), "(a / b).sum()");
  EXPECT_EQ(print_expr(*subscript(binop(a, "+", b), int_lit(0))), "(a + b)[0]");
  EXPECT_EQ(print_expr(*binop(int_lit(-1), "*", a)), "-1 * a");
  EXPECT_EQ(print_expr(*binop(a, "**", int_lit(-1))), "a**-1");
  EXPECT_EQ(print_expr(*attr(int_lit(1), "real")), "(1).real");
}

TEST(PrintTest, Builders) {
  auto dense = call(dotted("keras.layers.Dense"), {pos(int_lit(10)), kw("activation", str_lit("relu"))});
  EXPECT_EQ(print_expr(*dense), "keras.layers.Dense(10, activation=\"relu\")");
  EXPECT_EQ(print_expr(*tuple({int_lit(3), int_lit(3)})), "(3, 3)");
  EXPECT_EQ(print_expr(*tuple({int_lit(3)})), "(3,)");
  EXPECT_EQ(print_expr(*tuple({})), "()");
  EXPECT_EQ(print_expr(*list({name("x"), none_lit(), bool_lit(true), bool_lit(false)})), "[x, None, True, False]");
  EXPECT_EQ(print_expr(*list({})), "[]");
  EXPECT_EQ(print_expr(*subscript(name("x"), tuple({int_lit(0), int_lit(1)}))), "x[(0, 1)]");
  EXPECT_EQ(print_expr(*int_lit(-5)), "-5");

  Module m;
  m.body.push_back(assign(name("y"), dense));
  m.body.push_back(expr_stmt(call(name("print"), {pos(name("y"))})));
  m.body.push_back(return_stmt(nullptr));
  EXPECT_EQ(print_module(m), "y = keras.layers.Dense(10, activation=\"relu\")\nprint(y)\nreturn\n");
}

TEST(PrintTest, FloatsUseShortestRepr) {
  EXPECT_EQ(print_expr(*float_lit(1e-05)), "1e-05");
  EXPECT_EQ(print_expr(*float_lit(0.001)), "0.001");
  EXPECT_EQ(print_expr(*float_lit(0.1)), "0.1");
  EXPECT_EQ(print_expr(*float_lit(1.0)), "1.0");
  EXPECT_EQ(print_expr(*float_lit(1e16)), "1e+16");
  EXPECT_EQ(print_expr(*float_lit(123456789.0)), "123456789.0");
  EXPECT_EQ(print_expr(*float_lit(0.0001)), "0.0001");
  EXPECT_EQ(print_expr(*float_lit(2.5e-10)), "2.5e-10");
  EXPECT_EQ(print_expr(*float_lit(-0.5)), "-0.5");
}

TEST(PrintTest, NumbersKeepSourceSpellingNormalisedLikeRuff) {
  EXPECT_EQ(roundtrip("x = 0XFF + 1E5 + 1_000 + 0o17 + 10.\n"), "x = 0xFF + 1e5 + 1_000 + 0o17 + 10.0\n");
}

TEST(PrintTest, StringQuotes) {
  EXPECT_EQ(print_expr(*str_lit("it's")), "\"it's\"");
  EXPECT_EQ(print_expr(*str_lit("say \"hi\"")), "'say \"hi\"'");
  EXPECT_EQ(print_expr(*str_lit("a\nb\\c")), "\"a\\nb\\\\c\"");
  EXPECT_EQ(roundtrip("x = 'single'\ny = 'it\\'s'\n"), "x = \"single\"\ny = \"it's\"\n");
}

TEST(PrintTest, LongCallExplodes) {
  auto dense = call(dotted("keras.layers.Dense"),
                    {pos(int_lit(128)), kw("activation", str_lit("relu")), kw("use_bias", bool_lit(true)),
                     kw("kernel_initializer", str_lit("glorot_uniform")), kw("name", str_lit("dense_1"))});
  Module m;
  m.body.push_back(assign(name("layer"), dense));
  EXPECT_EQ(print_module(m),
            "layer = keras.layers.Dense(\n"
            "    128,\n"
            "    activation=\"relu\",\n"
            "    use_bias=True,\n"
            "    kernel_initializer=\"glorot_uniform\",\n"
            "    name=\"dense_1\",\n"
            ")\n");
  // Arguments that fit on one indented line stay together, without a trailing comma.
  auto conv = call(dotted("torch.nn.Conv2d"), {pos(name("in_channels")), pos(name("out_channels")),
                                               kw("kernel_size", int_lit(3)), kw("padding", int_lit(1))});
  Module m2;
  m2.body.push_back(assign(attr(name("self"), "convolution_layer_number_one"), conv));
  EXPECT_EQ(print_module(m2),
            "self.convolution_layer_number_one = torch.nn.Conv2d(\n"
            "    in_channels, out_channels, kernel_size=3, padding=1\n"
            ")\n");
}

TEST(PrintTest, ElementCommentsExplodeTheList) {
  auto d1 = call(dotted("layers.Dense"), {pos(int_lit(64))});
  auto d2 = call(dotted("layers.Dense"), {pos(int_lit(10))});
  d2->comment = "# classifier";
  Module m;
  m.body.push_back(assign(name("model"), call(dotted("keras.Sequential"), {pos(list({d1, d2}))})));
  EXPECT_EQ(print_module(m),
            "model = keras.Sequential(\n"
            "    [\n"
            "        layers.Dense(64),\n"
            "        layers.Dense(10),  # classifier\n"
            "    ]\n"
            ")\n");
}

TEST(PrintTest, StatementCommentsAndBlankLines) {
  std::string src =
      "import torch\n"
      "\n"
      "\n"
      "# A model.\n"
      "class Net(torch.nn.Module):\n"
      "    def __init__(self):\n"
      "        super().__init__()\n"
      "        self.fc = torch.nn.Linear(4, 2)  # the only layer\n"
      "\n"
      "        self.act = torch.nn.ReLU()\n"
      "\n"
      "    def forward(self, x):\n"
      "        return self.act(self.fc(x))\n"
      "\n"
      "\n"
      "net = Net()\n";
  EXPECT_EQ(roundtrip(src), src);

  // Missing blank lines around definitions are added, extra ones removed.
  EXPECT_EQ(roundtrip("import os\ndef f():\n\n\n\n    return 1\nclass A:\n\n    x = 1\n    def g(self):\n        pass\ny = 2\n"),
            "import os\n\n\ndef f():\n\n    return 1\n\n\nclass A:\n    x = 1\n\n    def g(self):\n        pass\n\n\ny = 2\n");
}

TEST(PrintTest, Docstrings) {
  // ruff normalises the quotes and trims the text; a one-quote docstring stays one-quoted.
  EXPECT_EQ(roundtrip("def f():\n    ' Doc. '\n    return 1\n"), "def f():\n    \"Doc.\"\n    return 1\n");
  EXPECT_EQ(roundtrip("def f():\n    '''  Doc. '''\n"), "def f():\n    \"\"\"Doc.\"\"\"\n");
  // A docstring built without source spelling gets triple double quotes.
  Module m;
  auto def = std::make_shared<Stmt>();
  def->kind = StmtKind::FunctionDef;
  def->name = "f";
  def->body = {expr_stmt(str_lit("Build the model.")), return_stmt(none_lit())};
  m.body.push_back(def);
  EXPECT_EQ(print_module(m), "def f():\n    \"\"\"Build the model.\"\"\"\n    return None\n");
  EXPECT_EQ(roundtrip("class A:\n    '''Doc.\n\n    More.\n    '''\n"),
            "class A:\n    \"\"\"Doc.\n\n    More.\n    \"\"\"\n");
}

TEST(PrintTest, LongBinaryExpressionSplitsInParentheses) {
  std::string src =
      "value = first_operand_with_a_long_name + second_operand_with_a_long_name * third_operand - fourth\n";
  EXPECT_EQ(roundtrip(src),
            "value = (\n"
            "    first_operand_with_a_long_name\n"
            "    + second_operand_with_a_long_name * third_operand\n"
            "    - fourth\n"
            ")\n");
}

TEST(PrintTest, VerbatimStatementsKeepTheirText) {
  std::string src =
      "def f():\n"
      "    try:\n"
      "        import numpy\n"
      "    except ImportError:  # optional\n"
      "        numpy = None\n"
      "    return numpy\n";
  EXPECT_EQ(roundtrip(src), src);
}

TEST(PrintTest, RawInputComesOutInRuffLayout) {
  // Not ruff-formatted input: the printer writes what `ruff format` would.
  EXPECT_EQ(roundtrip("x = .5 + 1.\nraise ValueError('bad: ' 'value')   from   err\n"
                      "with open(p) as f, open(q) as g: pass\n"),
            "x = 0.5 + 1.0\nraise ValueError(\"bad: value\") from err\nwith open(p) as f, open(q) as g:\n    pass\n");
  EXPECT_EQ(roundtrip("layers = [nn.Linear(4, 8),\n  # nn.Dropout(0.1),\n  nn.ReLU(),  # act\n  # nn.Linear(8, 8),\n]\n"),
            "layers = [\n"
            "    nn.Linear(4, 8),\n"
            "    # nn.Dropout(0.1),\n"
            "    nn.ReLU(),  # act\n"
            "    # nn.Linear(8, 8),\n"
            "]\n");
  EXPECT_EQ(roundtrip("if a:\n    x = 1\n    # end of if\n\n# before else\nelse:  # else\n    x = 2\n"),
            "if a:\n    x = 1\n    # end of if\n\n# before else\nelse:  # else\n    x = 2\n");
  EXPECT_EQ(roundtrip("y = x.view(batch_size, -1).permute(0, 2, 1).contiguous().reshape(batch_size, channels, h, w)\n"),
            "y = (\n"
            "    x.view(batch_size, -1)\n"
            "    .permute(0, 2, 1)\n"
            "    .contiguous()\n"
            "    .reshape(batch_size, channels, h, w)\n"
            ")\n");
}

TEST(PrintTest, CloneIsDeep) {
  auto original = call(dotted("nn.Linear"), {pos(int_lit(4)), kw("bias", bool_lit(false))});
  auto copy = clone(original);
  copy->args[0].value->int_value = 8;
  copy->object->name = "Dense";
  EXPECT_EQ(print_expr(*original), "nn.Linear(4, bias=False)");
  EXPECT_EQ(print_expr(*copy), "nn.Dense(8, bias=False)");

  auto stmt = assign(name("x"), original);
  auto stmt_copy = clone(stmt);
  stmt_copy->value->args[1].value->bool_value = true;
  EXPECT_FALSE(stmt->value->args[1].value->bool_value);
  EXPECT_EQ(clone(ExprPtr()), nullptr);
}

}  // namespace
}  // namespace nnport::syntax
