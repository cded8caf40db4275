#include "diagnostics/diagnostic.h"

#include <gtest/gtest.h>

namespace nnport {
namespace {

// Location of `text` (its first occurrence) inside `source`, as the parser would report it.
Location locate(const std::string& file, std::string_view source, std::string_view text) {
  size_t begin = source.find(text);
  EXPECT_NE(begin, std::string_view::npos) << text;
  Location loc;
  loc.file = file;
  loc.line = 1;
  size_t line_start = 0;
  for (size_t i = 0; i < begin; ++i) {
    if (source[i] == '\n') {
      ++loc.line;
      line_start = i + 1;
    }
  }
  loc.column = static_cast<int>(begin - line_start) + 1;
  loc.begin = static_cast<unsigned>(begin);
  loc.end = static_cast<unsigned>(begin + text.size());
  return loc;
}

const std::string kSource =
    "import torch.nn as nn\n"
    "\n"
    "model = nn.Sequential(\n"
    "    nn.Linear(4, 8),\n"
    "    nn.Frobnicate(8),\n"
    ")\n";

TEST(RenderDiagnostic, ErrorWithRangeAndHint) {
  Diagnostic d{Severity::Error, locate("model.py", kSource, "nn.Frobnicate(8)"),
               "unsupported layer `nn.Frobnicate`",
               "add an entry for it to the catalog, or replace it by a supported layer"};
  EXPECT_EQ(render(d, kSource),
            "model.py:5:5: error: unsupported layer `nn.Frobnicate`\n"
            "        nn.Frobnicate(8),\n"
            "        ^~~~~~~~~~~~~~~~\n"
            "  hint: add an entry for it to the catalog, or replace it by a supported layer\n");
}

TEST(RenderDiagnostic, WarningWithoutHint) {
  Diagnostic d{Severity::Warning, locate("model.py", kSource, "Linear"), "a warning", ""};
  EXPECT_EQ(render(d, kSource),
            "model.py:4:8: warning: a warning\n"
            "        nn.Linear(4, 8),\n"
            "           ^~~~~~\n");
}

TEST(RenderDiagnostic, NoteSeverityWord) {
  Diagnostic d{Severity::Note, locate("m.py", kSource, "import"), "defined here", ""};
  EXPECT_EQ(render(d, kSource),
            "m.py:1:1: note: defined here\n"
            "    import torch.nn as nn\n"
            "    ^~~~~~\n");
}

TEST(RenderDiagnostic, RangeOverSeveralLinesIsClippedToTheFirst) {
  Location loc = locate("model.py", kSource, "nn.Sequential(");
  loc.end = static_cast<unsigned>(kSource.size());  // the whole call, up to ")\n"
  Diagnostic d{Severity::Error, loc, "cannot migrate this model", ""};
  EXPECT_EQ(render(d, kSource),
            "model.py:3:9: error: cannot migrate this model\n"
            "    model = nn.Sequential(\n"
            "            ^~~~~~~~~~~~~~\n");
}

TEST(RenderDiagnostic, EmptyRangeGetsOneCaret) {
  Location loc = locate("model.py", kSource, "model");
  loc.end = loc.begin;
  Diagnostic d{Severity::Error, loc, "here", ""};
  EXPECT_EQ(render(d, kSource),
            "model.py:3:1: error: here\n"
            "    model = nn.Sequential(\n"
            "    ^\n");
}

TEST(RenderDiagnostic, UnknownLocationHasNoLineColumnOrSource) {
  Diagnostic d{Severity::Error, Location{"model.py"}, "no model found in the file",
               "pass --entry EXPR"};
  EXPECT_EQ(render(d, kSource),
            "model.py: error: no model found in the file\n"
            "  hint: pass --entry EXPR\n");
  d.loc.file.clear();
  EXPECT_EQ(render(d, kSource),
            "error: no model found in the file\n"
            "  hint: pass --entry EXPR\n");
}

TEST(RenderDiagnostic, LineOutsideTheSourceShowsOnlyTheMessage) {
  Location loc{"model.py", 42, 3, 0, 0};
  Diagnostic d{Severity::Error, loc, "stale location", ""};
  EXPECT_EQ(render(d, kSource), "model.py:42:3: error: stale location\n");
  EXPECT_EQ(render(d, ""), "model.py:42:3: error: stale location\n");
}

TEST(RenderDiagnostic, TabsBeforeTheColumnKeepTheCaretAligned) {
  const std::string source = "if x:\n\ty = f(x)\n";
  Diagnostic d{Severity::Warning, locate("t.py", source, "f(x)"), "unknown function", ""};
  EXPECT_EQ(render(d, source),
            "t.py:2:6: warning: unknown function\n"
            "    \ty = f(x)\n"
            "    \t    ^~~~\n");
}

TEST(RenderDiagnostic, CrlfLineEndingsAreNotShown) {
  const std::string source = "a = 1\r\nb = oops\r\n";
  Diagnostic d{Severity::Error, locate("w.py", source, "oops"), "undefined name", ""};
  EXPECT_EQ(render(d, source),
            "w.py:2:5: error: undefined name\n"
            "    b = oops\n"
            "        ^~~~\n");
}

TEST(RenderDiagnostic, LastLineWithoutLineBreak) {
  const std::string source = "x = 1\ny = z";
  Diagnostic d{Severity::Error, locate("e.py", source, "z"), "undefined name `z`", ""};
  EXPECT_EQ(render(d, source),
            "e.py:2:5: error: undefined name `z`\n"
            "    y = z\n"
            "        ^\n");
}

}  // namespace
}  // namespace nnport
