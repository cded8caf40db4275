// PyFormatter: statements, suites and the blank lines between them (py_formatter.h).
#include "syntax/py_formatter.h"

namespace nnport::syntax::printing {

void PyFormatter::lines_top_or_nested(const Stmt& s, Suite kind) {
  int n = empty_lines(s);
  if (n == 0) {
    b.hard();
  } else if (n >= 2 && kind == Suite::TopLevel) {
    b.empty_line();
    b.empty_line();
  } else {
    b.empty_line();
  }
}

bool PyFormatter::is_compound(const Stmt& s) {
  switch (s.kind) {
    case StmtKind::If:
    case StmtKind::For:
    case StmtKind::While:
    case StmtKind::FunctionDef:
    case StmtKind::ClassDef:
    case StmtKind::With:
      return true;
    case StmtKind::Other: {
      if (!s.body.empty()) return true;
      // try/async/match... kept verbatim: compound when it spans lines with a block
      const std::string& t = s.text;
      static const char* kw[] = {"try", "async", "match", "with", "for", "while", "if", "class", "def", "@"};
      for (const char* k : kw)
        if (t.compare(0, std::strlen(k), k) == 0) return t.find(':') != std::string::npos && t.find('\n') != std::string::npos;
      return false;
    }
    default:
      return false;
  }
}

bool PyFormatter::trailing_def(const Stmt& s) {
  const Stmt* cur = &s;
  while (cur) {
    // ruff stops at a statement with own-line comments after it
    if (cur->trailing_comment.find('\n') != std::string::npos) return false;
    if (is_def(*cur)) return true;
    const std::vector<StmtPtr>* body = nullptr;
    if (!cur->orelse.empty()) body = &cur->orelse;
    else if (!cur->body.empty()) body = &cur->body;
    if (!body) return false;
    cur = body->back().get();
  }
  return false;
}

void PyFormatter::leading_comments(const Stmt& s) {
  const auto& cs = s.leading_comments;
  size_t i = 0;
  while (i < cs.size()) {
    if (!cs[i].empty()) {
      b.text(normalize_comment(cs[i]));
      b.hard();
      ++i;
      continue;
    }
    // A run of empty entries: up to 2 empty lines at top level, 1 in blocks; a def/class
    // set apart from its comments gets exactly 2 (top level) or 1.
    size_t run = 0;
    while (i < cs.size() && cs[i].empty()) ++run, ++i;
    bool top = level == Level::TopLevel;
    size_t n = std::min<size_t>(run, top ? 2 : 1);
    if (i == cs.size() && is_def(s)) n = top ? 2 : 1;
    for (size_t k = 0; k < n; ++k) b.empty_line();
  }
}

void PyFormatter::own_line_trailing(const Stmt& s, int min_first) {
  size_t nl = s.trailing_comment.find('\n');
  if (nl == std::string::npos) return;
  bool first = true;
  int blanks = 0;
  size_t start = nl + 1;
  while (true) {
    size_t e = s.trailing_comment.find('\n', start);
    std::string line = s.trailing_comment.substr(start, e == std::string::npos ? std::string::npos : e - start);
    if (line.empty()) {
      ++blanks;
    } else {
      int n = std::min(blanks, level == Level::TopLevel ? 2 : 1);
      if (first && is_def(s)) n = level == Level::TopLevel ? 2 : 1;
      if (first) n = std::max(n, min_first);
      first = false;
      if (n == 0) b.hard();
      for (int k = 0; k < n; ++k) b.empty_line();
      b.text(normalize_comment(line));
      blanks = 0;
    }
    if (e == std::string::npos) break;
    start = e + 1;
  }
}

void PyFormatter::else_clause(const Stmt& owner) {
  b.hard();
  if (owner.blank_line_before_else) b.empty_line();
  for (auto& c : owner.else_leading_comments) {
    if (c.empty()) {
      b.empty_line();
      continue;
    }
    b.text(normalize_comment(c));
    b.hard();
  }
  b.text("else:");
  trailing_comment(owner.else_trailing_comment);
  block(owner.orelse, Suite::Other);
}

void PyFormatter::statement_inner(const Stmt& s) {
  leading_comments(s);
  switch (s.kind) {
    case StmtKind::Expr:
      if (is_docstring(s) && docstring_context_) {
        docstring(*s.value);
        trailing_comment(s.trailing_comment);
        break;
      }
      if (s.value->kind == ExprKind::Tuple && !s.value->parenthesized) {
        tuple(*s.value, TupleMode::Default);
      } else {
        maybe_parenthesize(*s.value, Parenthesize::Optional);
      }
      trailing_comment(s.trailing_comment);
      break;
    case StmtKind::Assign:
      assign(s);
      break;
    case StmtKind::AugAssign:
      aug_assign(s);
      break;
    case StmtKind::AnnAssign:
      ann_assign(s);
      break;
    case StmtKind::Return:
      b.text("return");
      if (s.value) {
        b.space();
        if (s.value->kind == ExprKind::Tuple) {
          LevelScope scope(*this, Level::Expression, -1);
          tuple(*s.value, TupleMode::OptionalParens);
          trailing_comment(s.trailing_comment);
        } else {
          value_with_trailing(*s.value, s.trailing_comment);
        }
      } else {
        trailing_comment(s.trailing_comment);
      }
      break;
    case StmtKind::Pass:
      b.text("pass");
      trailing_comment(s.trailing_comment);
      break;
    case StmtKind::Break:
      b.text("break");
      trailing_comment(s.trailing_comment);
      break;
    case StmtKind::Continue:
      b.text("continue");
      trailing_comment(s.trailing_comment);
      break;
    case StmtKind::Import:
      b.text("import ");
      for (size_t i = 0; i < s.names.size(); ++i) {
        if (i) b.text(", ");
        b.text(s.names[i].first);
        if (!s.names[i].second.empty()) b.text(" as " + s.names[i].second);
      }
      trailing_comment(s.trailing_comment);
      break;
    case StmtKind::ImportFrom:
      import_from(s);
      break;
    case StmtKind::Raise:
      b.text("raise");
      if (s.value) {
        b.space();
        maybe_parenthesize(*s.value, Parenthesize::Optional);
        if (!s.targets.empty()) {
          b.text(" from ");
          maybe_parenthesize(*s.targets[0], Parenthesize::Optional);
        }
      }
      trailing_comment(s.trailing_comment);
      break;
    case StmtKind::Assert:
      b.text("assert");
      b.space();
      maybe_parenthesize(*s.value, Parenthesize::IfBreaks);
      if (!s.targets.empty()) {
        b.text(",");
        b.space();
        maybe_parenthesize(*s.targets[0], Parenthesize::IfBreaksParenthesized);
      }
      trailing_comment(s.trailing_comment);
      break;
    case StmtKind::If:
      if_stmt(s);
      break;
    case StmtKind::For:
      b.text("for");
      b.space();
      if (s.targets[0]->kind == ExprKind::Tuple) {
        LevelScope scope(*this, Level::Expression, -1);
        tuple(*s.targets[0], TupleMode::NeverPreserve);
      } else {
        maybe_parenthesize(*s.targets[0], Parenthesize::IfBreaks);
      }
      b.space();
      b.text("in");
      b.space();
      if (s.value->kind == ExprKind::Tuple && !s.value->parenthesized) {
        LevelScope scope(*this, Level::Expression, -1);
        tuple(*s.value, TupleMode::Default);
      } else {
        maybe_parenthesize(*s.value, Parenthesize::IfBreaks);
      }
      clause_body(s, s.body, Suite::Other);
      if (!s.orelse.empty()) else_clause(s);
      break;
    case StmtKind::While:
      b.text("while");
      b.space();
      maybe_parenthesize(*s.value, Parenthesize::IfBreaks);
      clause_body(s, s.body, Suite::Other);
      if (!s.orelse.empty()) else_clause(s);
      break;
    case StmtKind::FunctionDef:
      function_def(s);
      break;
    case StmtKind::ClassDef:
      class_def(s);
      break;
    case StmtKind::With:
      b.text("with ");
      with_items(s);
      clause_body(s, s.body, Suite::Other);
      break;
    case StmtKind::Other:
      verbatim(s);
      break;
  }
}

void PyFormatter::clauses(const Stmt& s) {
  for (size_t i = 0; i < s.body.size(); ++i) {
    const Stmt& c = *s.body[i];
    if (i > 0) {
      b.hard();
      if (empty_lines(c) > 0) b.empty_line();
      leading_comments(c);
    }
    b.text(c.text + ":");
    trailing_comment(i == 0 ? s.trailing_comment : c.trailing_comment);
    block(c.body, Suite::Other);
    if (i > 0) own_line_trailing(c);
  }
}

void PyFormatter::verbatim(const Stmt& s) {
  if (!s.body.empty()) {
    clauses(s);
    return;
  }
  // Re-indent continuation lines by the difference between the original column and ours.
  std::string t = s.text;
  while (!t.empty() && (t.back() == '\n' || t.back() == ' ' || t.back() == '\r')) t.pop_back();
  int orig = s.loc.column > 0 ? s.loc.column - 1 : 0;
  int now = verbatim_indent_ * static_cast<int>(kIndentWidth);
  std::string out;
  size_t start = 0;
  bool first = true;
  while (start <= t.size()) {
    size_t nl = t.find('\n', start);
    std::string ln = t.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
    if (!ln.empty() && ln.back() == '\r') ln.pop_back();
    if (!first) {
      out += '\n';
      int lead = 0;
      while (lead < static_cast<int>(ln.size()) && ln[static_cast<size_t>(lead)] == ' ') ++lead;
      bool blank = lead == static_cast<int>(ln.size());
      if (!blank) {
        int new_lead = std::max(0, lead - orig + now);
        // The printer's pending indent only applies to the first line; later lines are raw.
        out += std::string(static_cast<size_t>(new_lead), ' ') + ln.substr(static_cast<size_t>(lead));
      }
    } else {
      out += ln;
    }
    first = false;
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  b.text(out);
  trailing_comment(s.trailing_comment);
}

void PyFormatter::with_items(const Stmt& s) {
  if (s.targets.empty() || s.targets.size() != s.names.size()) {
    b.text(s.text);
    return;
  }
  auto item = [&](size_t i, bool single) {
    const Expr& e = *s.targets[i];
    if (single) maybe_parenthesize(e, Parenthesize::IfBreaksParenthesizedNested);
    else expr(e, Parens::Never);
    if (!s.names[i].second.empty()) b.text(" as " + s.names[i].second);
  };
  if (s.targets.size() == 1 && !s.magic_trailing_comma) {
    const Expr& e = *s.targets[0];
    if (s.names[0].second.empty() || sp(e)) {
      maybe_parenthesize(e, Parenthesize::IfBreaks);
      if (!s.names[0].second.empty()) b.text(" as " + s.names[0].second);
      return;
    }
    if (can_omit_optional_parentheses(e)) {
      optional_parentheses([&] { item(0, true); });
      return;
    }
  }
  parenthesize_if_expands([&] {
    for (size_t i = 0; i < s.targets.size(); ++i) {
      if (i) {
        b.text(",");
        b.soft_or_space();
      }
      item(i, s.targets.size() == 1);
    }
    if (s.targets.size() > 1 || s.magic_trailing_comma) b.if_breaks([&] { b.text(","); });
    if (s.magic_trailing_comma) b.expand_parent();
  });
}

void PyFormatter::block(const std::vector<StmtPtr>& body, Suite kind) {
  ++verbatim_indent_;
  b.indent([&] {
    b.hard();
    bool saved = docstring_context_;
    docstring_context_ = kind == Suite::Function || kind == Suite::Class;
    if (body.empty()) b.text("pass");  // a body built empty still has to be Python
    suite_with_docstring(body, kind);
    docstring_context_ = saved;
  });
  --verbatim_indent_;
}

void PyFormatter::suite_with_docstring(const std::vector<StmtPtr>& body, Suite kind) {
  // Only the first statement of a function/class/module body is a docstring.
  if (body.empty()) return;
  bool saved = docstring_context_;
  // suite() formats statements; docstring detection uses docstring_context_ for the first.
  first_is_docstring_ = docstring_context_ && is_docstring(*body[0]);
  docstring_context_ = false;
  suite_impl(body, kind);
  docstring_context_ = saved;
}

void PyFormatter::suite_impl(const std::vector<StmtPtr>& body, Suite kind) {
  bool first_doc = first_is_docstring_;
  first_is_docstring_ = false;
  LevelScope scope(*this, kind == Suite::TopLevel ? Level::TopLevel : Level::Compound);
  for (size_t i = 0; i < body.size(); ++i) {
    const Stmt& s = *body[i];
    if (i == 0) {
      if (kind == Suite::Other && is_def(s) && s.leading_comments.empty()) b.empty_line();
      if (kind == Suite::Function && !first_doc && s.blank_line_before) b.empty_line();
    } else {
      const Stmt& prev = *body[i - 1];
      bool empty_after_docstring = i == 1 && first_doc && (kind == Suite::TopLevel || kind == Suite::Class);
      bool separated = !s.leading_comments.empty() && s.leading_comments.back().empty();
      if (trailing_def(prev) || (is_def(s) && !separated)) {
        bool stub = s.kind == StmtKind::FunctionDef && prev.kind == StmtKind::FunctionDef && only_ellipsis(prev.body) &&
                    !s.blank_line_before;
        if (!stub) {
          if (kind == Suite::TopLevel) {
            b.empty_line();
            b.empty_line();
          } else {
            b.empty_line();
          }
        } else {
          b.hard();
        }
      } else if (is_def(s)) {
        lines_top_or_nested(s, kind);  // comments set apart from the def keep the source's lines
      } else if (is_import(prev) && (!is_import(s) || !s.leading_comments.empty())) {
        if (kind == Suite::TopLevel && empty_lines(s) >= 2) {
          b.empty_line();
          b.empty_line();
        } else {
          b.empty_line();
        }
      } else if (is_compound(prev)) {
        lines_top_or_nested(s, kind);
      } else if (empty_after_docstring) {
        b.empty_line();
      } else {
        lines_top_or_nested(s, kind);
      }
    }
    if (i == 0 && first_doc) {
      leading_comments(s);
      docstring(*s.value);
      trailing_comment(s.trailing_comment);
      own_line_trailing(s, kind == Suite::Class ? 1 : 0);
    } else {
      statement(s);
    }
  }
}

void PyFormatter::clause_body(const Stmt& s, const std::vector<StmtPtr>& body, Suite kind) {
  // ruff collapses `...`-only bodies of functions and classes: `def f(): ...`
  if ((kind == Suite::Function || kind == Suite::Class) && s.trailing_comment.empty() && only_ellipsis(body)) {
    b.text(": ...");
    trailing_comment(body[0]->trailing_comment);
    return;
  }
  clause_header_end(s);
  block(body, kind);
}

void PyFormatter::if_stmt(const Stmt& s) {
  b.text(s.is_elif ? "elif" : "if");
  b.space();
  maybe_parenthesize(*s.value, Parenthesize::IfBreaks);
  clause_body(s, s.body, Suite::Other);
  if (s.orelse.empty()) return;
  if (s.orelse.size() == 1 && s.orelse[0]->kind == StmtKind::If && s.orelse[0]->is_elif) {
    b.hard();
    if (empty_lines(*s.orelse[0]) > 0) b.empty_line();  // ruff keeps an empty line before `elif`
    leading_comments(*s.orelse[0]);
    if_stmt_no_comments(*s.orelse[0]);
    return;
  }
  else_clause(s);
}

void PyFormatter::if_stmt_no_comments(const Stmt& s) {
  Stmt copy_header = s;
  copy_header.leading_comments.clear();
  if_stmt(copy_header);
}

void PyFormatter::decorators(const Stmt& s) {
  for (auto& d : s.decorators) {
    std::vector<std::string> above, below;
    std::string trailing;
    split_element_comment(d->comment, above, trailing, &below);
    for (auto& c : above) {
      b.text(normalize_comment(c));
      b.hard();
    }
    b.text("@");
    maybe_parenthesize(*d, Parenthesize::Optional);
    trailing_comment(trailing);
    for (auto& c : below) {
      b.hard();
      b.text(normalize_comment(c));
    }
    b.hard();
  }
}

void PyFormatter::function_def(const Stmt& s) {
  decorators(s);
  b.text("def ");
  b.text(s.name);
  // ruff: parameters are grouped with the return annotation; more than one parameter
  // get a group of their own inside the parentheses.
  auto params = [&] {
    if (s.params.empty()) {
      b.text("()");
      return;
    }
    std::vector<Entry> entries;
    for (auto& p : s.params) {
      const Parameter* x = &p;
      const std::string* comment = nullptr;
      if (p.default_value) comment = &p.default_value->comment;
      else if (p.annotation) comment = &p.annotation->comment;
      entries.push_back({[this, x] { parameter(*x); }, comment});
    }
    LevelScope scope(*this, Level::Parenthesized);
    auto inner = [&] {
      join_comma(entries, false, false, /*no_trailing=*/true);
      b.if_breaks([&] { b.text(","); });
      if (s.magic_trailing_comma) b.hard();
    };
    b.text("(");
    if (s.params.size() == 1) {
      b.soft_block_indent(inner);
    } else {
      b.soft_block_indent([&] { b.group(inner); });
    }
    b.text(")");
  };
  b.group([&] {
    params();
    if (s.returns) {
      b.text(" -> ");
      return_annotation_ = s.returns.get();
      return_annotation_params_ = !s.params.empty();
      maybe_parenthesize(*s.returns, s.params.empty() ? Parenthesize::IfBreaksParenthesized : Parenthesize::IfBreaks);
      return_annotation_ = nullptr;
    }
  });
  clause_body(s, s.body, Suite::Function);
}

void PyFormatter::class_def(const Stmt& s) {
  decorators(s);
  b.text("class ");
  b.text(s.name);
  if (!s.bases.empty()) {
    auto entries = argument_entries(s.bases);
    parenthesized("(", [&] { b.group([&] { join_comma(entries, s.magic_trailing_comma); }); }, ")");
  }
  clause_body(s, s.body, Suite::Class);
}

void PyFormatter::import_from(const Stmt& s) {
  b.text("from ");
  b.text(s.module);
  b.text(" import ");
  if (s.names.size() == 1 && s.names[0].first == "*") {
    b.text("*");
    trailing_comment(s.trailing_comment);
    return;
  }
  std::vector<Entry> entries;
  for (auto& n : s.names) {
    auto x = &n;
    entries.push_back({[this, x] {
                         b.text(x->first);
                         if (!x->second.empty()) b.text(" as " + x->second);
                       },
                       nullptr});
  }
  parenthesize_if_expands([&] { join_comma(entries, s.magic_trailing_comma, true); });
  trailing_comment(s.trailing_comment);
}

}  // namespace nnport::syntax::printing
