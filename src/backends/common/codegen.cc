#include "backends/common/codegen.h"

#include <tuple>

#include <algorithm>
#include <cctype>
#include <functional>
#include <mutex>

#include <fmt/format.h>

#include "syntax/parse.h"
#include "syntax/print.h"

namespace nnport::backends {

using pivot::Attr;
using syntax::ExprKind;
using syntax::ExprPtr;
using syntax::Stmt;
using syntax::StmtKind;
using syntax::StmtPtr;

bool is_literal(const ExprPtr& e) {
  if (!e) return false;
  switch (e->kind) {
    case ExprKind::Int:
    case ExprKind::Float:
    case ExprKind::String:
    case ExprKind::Bool:
    case ExprKind::None: return !e->is_fstring;
    case ExprKind::UnaryOp: return e->name == "-" && is_literal(e->object);
    case ExprKind::Tuple:
    case ExprKind::List:
      for (auto& x : e->items)
        if (!is_literal(x)) return false;
      return true;
    default: return false;
  }
}

void collect_names(const ExprPtr& e, std::set<std::string>& out) {
  for_each_name(e, [&](const std::string& n) { out.insert(n); });
}

std::string camel(const std::string& s) {
  std::string out;
  bool up = true;
  for (char c : s) {
    if (c == '_') {
      up = true;
      continue;
    }
    out += up ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
    up = false;
  }
  return out;
}

ExprPtr ints_expr(const std::vector<long long>& v, bool collapse) {
  if (collapse && !v.empty() && std::all_of(v.begin(), v.end(), [&](long long x) { return x == v[0]; }))
    return syntax::int_lit(v[0]);
  std::vector<ExprPtr> items;
  for (auto x : v) items.push_back(syntax::int_lit(x));
  return syntax::tuple(items);
}

ExprPtr perm_expr(const std::vector<int>& p) {
  std::vector<ExprPtr> items;
  for (int x : p) items.push_back(syntax::int_lit(x));
  return syntax::tuple(items);
}


ExprPtr literal(const Attr& a) {
  if (a.is_none()) return syntax::none_lit();
  if (a.is_bool()) return syntax::bool_lit(a.as_bool());
  if (a.is_int()) return syntax::int_lit(a.as_int());
  if (a.is_float()) return syntax::float_lit(a.as_number());
  if (a.is_str()) return syntax::str_lit(a.as_str());
  std::vector<ExprPtr> items;
  for (const auto& x : a.as_list()) items.push_back(literal(x));
  return syntax::tuple(items);
}

StmtPtr comment_stmt(const std::string& text) {
  auto s = syntax::new_stmt();
  s->kind = StmtKind::Other;
  s->text = text;
  return s;
}

std::string attribute_base(const std::string& op) {
  static const std::map<std::string, std::string> kShortNames = {
      {"linear", "fc"},          {"conv1d", "conv"},          {"conv2d", "conv"},       {"conv3d", "conv"},
      {"maxpool1d", "pool"},     {"maxpool2d", "pool"},       {"maxpool3d", "pool"},    {"avgpool1d", "pool"},
      {"avgpool2d", "pool"},     {"avgpool3d", "pool"},       {"batchnorm1d", "bn"},    {"batchnorm2d", "bn"},
      {"batchnorm3d", "bn"},     {"adaptive_avgpool2d", "avgpool"}, {"adaptive_maxpool2d", "maxpool"},
      {"global_avgpool1d", "pool"}, {"global_avgpool2d", "pool"}, {"global_maxpool1d", "pool"},
      {"global_maxpool2d", "pool"}, {"layernorm", "norm"},     {"sequential", "block"}};
  auto it = kShortNames.find(op);
  return it == kShortNames.end() ? op : it->second;
}

namespace {
std::string source_lines(const Stmt& s, const std::string& t) {
  size_t b = s.loc.begin, e = std::min<size_t>(s.loc.end, t.size());
  while (b > 0 && t[b - 1] != '\n') --b;
  return t.substr(b, e - b);
}
}  // namespace

std::vector<StmtPtr> commented_out(const Stmt& s, const std::string& source_text, const NotTranslatable& why,
                                   DiagnosticSink& sink) {
  sink.warn(why.loc.known() ? why.loc : s.loc, fmt::format("not migrated: {}; the statement is kept as a comment", why.what),
            "rewrite it by hand in the generated file");
  std::vector<StmtPtr> out{comment_stmt("# nnport: not migrated (" + why.what + "):")};
  std::string lines = source_lines(s, source_text);
  size_t indent = lines.find_first_not_of(' ');
  size_t pos = 0;
  while (pos <= lines.size()) {
    size_t nl = lines.find('\n', pos);
    std::string line = lines.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    size_t first = line.find_first_not_of(' ');
    std::string stripped = first == std::string::npos ? "" : line.substr(std::min(indent, first));
    while (!stripped.empty() && stripped.back() == ' ') stripped.pop_back();
    out.push_back(comment_stmt(stripped.empty() ? "#" : "# " + stripped));
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
  out[0]->leading_comments = s.leading_comments;
  out[0]->blank_line_before = s.blank_line_before;
  return out;
}

bool reached(const Stmt& s, const pivot::Program& program, const SiteIndex& site_of) {
  bool hit = false;
  std::function<void(const ExprPtr&)> visit = [&](const ExprPtr& e) {
    if (!e || hit) return;
    auto it = site_of.find(e.get());
    if (it != site_of.end()) hit |= !program.sites[it->second].layers.empty() || !program.sites[it->second].nodes.empty();
    visit(e->object);
    visit(e->element);
    for (auto& x : e->items) visit(x);
    for (auto& x : e->values) visit(x);
    for (auto& a : e->args) visit(a.value);
    for (auto& g : e->generators) visit(g.iter);
  };
  std::function<void(const Stmt&)> walk = [&](const Stmt& x) {
    visit(x.value);
    for (auto& t : x.targets) visit(t);
    for (auto& b : x.body) walk(*b);
    for (auto& b : x.orelse) walk(*b);
  };
  walk(s);
  return hit;
}

void move_children_paths(std::map<std::string, std::string>& paths) {
  // Only the dotted prefixes of a key can move it, so each entry looks those up instead of
  // every moved path visiting every entry (quadratic when a permute goes in first and
  // moves all the layers of a long Sequential). The moves read the paths as they were.
  const std::map<std::string, std::string> before = paths;
  for (auto& [key, value] : paths)
    for (size_t dot = key.find('.'); dot != std::string::npos; dot = key.find('.', dot + 1)) {
      auto moved = before.find(key.substr(0, dot));
      if (moved == before.end() || moved->first == moved->second) continue;
      const std::string& from = moved->first;
      if (value.size() > from.size() && value.compare(0, from.size(), from) == 0 && value[from.size()] == '.')
        value = moved->second + value.substr(from.size());
    }
}

namespace {

struct MentionScan {
  const std::string& name;
  Mention found = Mention::No;

  void text(const std::string& t) {
    if (found == Mention::No && t.size() >= name.size() && t.find(name) != std::string::npos) found = Mention::Maybe;
  }
  void expr(const syntax::ExprPtr& e) {
    if (!e || found == Mention::Yes) return;
    if (e->kind == ExprKind::Attribute && e->object && e->object->kind == ExprKind::Name &&
        e->object->name == name && !e->object->parenthesized) {
      found = Mention::Yes;  // printed `name.attribute`
      return;
    }
    for (const std::string* t : {&e->name, &e->text, &e->comment}) text(*t);
    for (const auto& o : e->ops) text(o);
    expr(e->object);  // (not through an initializer list: that copies the pointers)
    expr(e->element);
    for (const auto* xs : {&e->items, &e->values})
      for (const auto& x : *xs) expr(x);
    for (const auto& a : e->args) {
      text(a.name);
      expr(a.value);
    }
    for (const auto& g : e->generators) {
      expr(g.target);
      expr(g.iter);
      for (const auto& x : g.ifs) expr(x);
    }
    params(e->params);
  }
  void params(const std::vector<syntax::Parameter>& ps) {
    for (const auto& p : ps) {
      text(p.name);
      expr(p.default_value);
      expr(p.annotation);
    }
  }
  void stmt(const Stmt& s) {
    if (found == Mention::Yes) return;
    for (const std::string* t : {&s.trailing_comment, &s.op, &s.name, &s.module, &s.text, &s.docstring_marker,
                                 &s.else_trailing_comment})
      text(*t);
    for (const auto* cs : {&s.leading_comments, &s.else_leading_comments})
      for (const auto& c : *cs) text(c);
    for (const auto& [n, as] : s.names) {
      text(n);
      text(as);
    }
    expr(s.value);
    expr(s.annotation);
    expr(s.returns);
    for (const auto* xs : {&s.targets, &s.decorators})
      for (const auto& x : *xs) expr(x);
    for (const auto& b : s.bases) {
      text(b.name);
      expr(b.value);
    }
    params(s.params);
    for (const auto* block : {&s.body, &s.orelse})
      for (const auto& x : *block) stmt(*x);
  }
};

}  // namespace

Mention mentions_module(const Stmt& s, const std::string& name) {
  MentionScan scan{name};
  scan.stmt(s);
  return scan.found;
}

std::vector<StmtPtr> helper_statements_of(const std::string& source) {
  static std::mutex mutex;
  static std::map<std::string, syntax::Module> parsed;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = parsed.find(source);
  if (it == parsed.end()) it = parsed.emplace(source, syntax::parse_module(source, "<nnport helper>")).first;
  std::vector<StmtPtr> out;
  for (const auto& s : it->second.body) out.push_back(syntax::clone(s));
  return out;
}

void one_line_after_imports(std::vector<syntax::StmtPtr>& body) {
  if (body.empty() || body[0]->kind == syntax::StmtKind::FunctionDef || body[0]->kind == syntax::StmtKind::ClassDef ||
      body[0]->empty_lines_before <= 1)
    return;
  body[0] = syntax::new_stmt(*body[0]);
  body[0]->empty_lines_before = 1;
}

void sort_imports(std::vector<syntax::StmtPtr>& head) {
  // isort's sections (ruff's I001): __future__, the standard library, everything else;
  // in each, `import x` lines before `from x import y` lines, each sorted by module.
  static const std::set<std::string> kStdlib = {
      "abc",  "argparse", "collections", "copy",   "dataclasses", "enum",    "functools", "glob",   "io",
      "itertools", "json", "logging",  "math",   "os",          "pathlib", "pickle",    "random", "re",
      "shutil", "string", "sys",      "tempfile", "time",      "types",   "typing",    "warnings"};
  size_t n = 0;
  while (n < head.size() &&
         (head[n]->kind == syntax::StmtKind::Import || head[n]->kind == syntax::StmtKind::ImportFrom))
    ++n;
  auto module_of = [](const syntax::Stmt& s) { return s.kind == syntax::StmtKind::Import ? s.names[0].first : s.module; };
  auto section = [&](const syntax::Stmt& s) {
    std::string m = module_of(s);
    std::string top = m.substr(0, m.find('.'));
    if (top == "__future__") return 0;
    if (top.empty()) return 3;  // relative imports
    return kStdlib.count(top) ? 1 : 2;
  };
  std::vector<std::string> comments = n ? head[0]->leading_comments : std::vector<std::string>{};
  std::stable_sort(head.begin(), head.begin() + n, [&](const syntax::StmtPtr& a, const syntax::StmtPtr& b) {
    auto key = [&](const syntax::Stmt& s) {
      return std::make_tuple(section(s), s.kind == syntax::StmtKind::ImportFrom, module_of(s));
    };
    return key(*a) < key(*b);
  });
  for (size_t i = 0; i < n; ++i) {
    head[i] = syntax::new_stmt(*head[i]);
    head[i]->leading_comments = i == 0 ? comments : std::vector<std::string>{};
    bool new_section = i > 0 && section(*head[i]) != section(*head[i - 1]);
    head[i]->blank_line_before = new_section;
    head[i]->empty_lines_before = new_section ? 1 : 0;
  }
}

std::vector<std::string> wrap_words(const std::string& text, size_t width) {
  std::vector<std::string> lines{""};
  size_t pos = 0;
  while (pos < text.size()) {
    size_t sp = text.find(' ', pos);
    std::string word = text.substr(pos, sp == std::string::npos ? std::string::npos : sp - pos);
    pos = sp == std::string::npos ? text.size() : sp + 1;
    if (!lines.back().empty() && lines.back().size() + 1 + word.size() > width) lines.emplace_back();
    lines.back() += (lines.back().empty() ? "" : " ") + word;
  }
  return lines;
}

}  // namespace nnport::backends
