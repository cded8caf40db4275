// PyFormatter: assignments and docstrings (py_formatter.h).
#include "syntax/py_formatter.h"

namespace nnport::syntax::printing {

bool PyFormatter::should_inline_comments(const Expr& v) {
  switch (v.kind) {
    case ExprKind::Name:
    case ExprKind::None:
    case ExprKind::Int:
    case ExprKind::Float:
    case ExprKind::Bool:
      return true;
    case ExprKind::String:
      return needs_parentheses(v) == OptParens::BestFit;
    default:
      return false;
  }
}

bool PyFormatter::is_attribute_with_parenthesized_value(const Expr& t) {
  switch (t.kind) {
    case ExprKind::Attribute:
      return has_own_parentheses(*t.object) || sp(*t.object) || prec(*t.object) < P_ATOM ||
             is_attribute_with_parenthesized_value(*t.object);
    case ExprKind::Subscript:
      return true;
    case ExprKind::Call:
      return !t.args.empty();
    default:
      return false;
  }
}

void PyFormatter::target_eq(const Expr& t, bool preserve) {
  if (preserve) {
    target_plain(t, Parens::Preserve);
  } else if (should_parenthesize_target(t)) {
    parenthesize_if_expands([&] { target_plain(t, Parens::Never); });
  } else {
    target_plain(t, Parens::Never);
  }
  b.text(" = ");
}

void PyFormatter::target_plain(const Expr& t, Parens p) {
  if (t.kind == ExprKind::Tuple && !t.parenthesized) {
    LevelScope scope(*this, level == Level::TopLevel || level == Level::Compound ? Level::Expression : level,
                     level == Level::TopLevel || level == Level::Compound ? -1 : optional_parens_id);
    tuple(t, TupleMode::Default);
    return;
  }
  expr(t, p);
}

void PyFormatter::before_operator(const Expr& t) {
  if (should_parenthesize_target(t)) {
    if (can_omit_optional_parentheses(t)) optional_parentheses([&] { expr_inner(t); });
    else parenthesize_if_expands([&] { expr_inner(t); });
  } else {
    target_plain(t, Parens::Never);
  }
}

bool PyFormatter::will_break(const std::function<void()>& fmt) {
  Elems scratch;
  Elems* saved = b.buf;
  b.buf = &scratch;
  fmt();
  b.buf = saved;
  for (auto& e : scratch) {
    if (e.k == EK::ExpandParent || (e.k == EK::Line && (e.line == LineMode::Hard || e.line == LineMode::Empty)) ||
        (e.k == EK::Text && e.multiline) || (e.k == EK::StartGroup && e.gmode == GMode::Expand))
      return true;
  }
  return false;
}

bool PyFormatter::should_non_inlineable_use_best_fit(const Expr& v) {
  if (v.kind == ExprKind::Attribute || v.kind == ExprKind::Call || v.kind == ExprKind::Subscript)
    return needs_parentheses(v) == OptParens::BestFit;
  return false;
}

void PyFormatter::value_with_trailing(const Expr& v, const std::string& trailing) {
  // FormatStatementsLastExpression::LeftToRight
  if (v.kind == ExprKind::Tuple && !v.parenthesized) {
    LevelScope scope(*this, Level::Expression, -1);
    tuple(v, TupleMode::Default);
    trailing_comment(trailing);
    return;
  }
  if (!should_inline_comments(v)) {
    maybe_parenthesize_value(v);
    trailing_comment(trailing);
    return;
  }
  // Inline the statement's trailing comment into the best-fit parentheses.
  int id = b.new_id();
  {
    LevelScope scope(*this, Level::Expression, id);
    b.best_fit_parenthesize(id, [&] {
      expr_inner(v);
      if (!trailing.empty()) b.if_breaks([&] { trailing_comment(trailing); });
    });
  }
  if (!trailing.empty()) b.if_flat([&] { trailing_comment(trailing); }, id);
}

void PyFormatter::maybe_parenthesize_value(const Expr& v) {
  if (v.kind == ExprKind::Lambda) {
    parenthesize_if_expands([&] { lambda(v, true); });
  } else {
    maybe_parenthesize(v, Parenthesize::IfBreaks);
  }
}

void PyFormatter::right_to_left(const Expr& last, const std::string& op, const Expr& v, const std::string& trailing) {
  bool inline_comments = should_inline_comments(v);
  if (!inline_comments && !should_non_inlineable_use_best_fit(v)) {
    before_operator(last);
    b.text(" " + op + " ");
    if (v.kind == ExprKind::Tuple && !v.parenthesized) {
      LevelScope scope(*this, Level::Expression, -1);
      tuple(v, TupleMode::Default);
    } else {
      maybe_parenthesize_value(v);
    }
    trailing_comment(trailing);
    return;
  }
  auto last_target = [&] {
    LevelScope scope(*this, level == Level::TopLevel || level == Level::Compound ? Level::Expression : level, -1);
    before_operator(last);
  };
  if (will_break(last_target)) {
    last_target();
    b.text(" " + op + " ");
    expr(v, Parens::Never);
    trailing_comment(trailing);
    return;
  }
  auto value = [&] {
    LevelScope scope(*this, Level::Expression, -1);
    expr(v, Parens::Never);
  };
  auto comments = [&] { trailing_comment(trailing); };
  auto single_line = [&] {
    last_target();
    b.text(" " + op + " ");
    value();
    comments();
  };
  auto flat_target_parenthesize_value = [&] {
    last_target();
    b.text(" " + op + " (");
    b.group([&] {
      b.soft_block_indent([&] {
        LevelScope scope(*this, Level::Parenthesized);
        expr(v, Parens::Never);
        comments();
      });
    }, -1, true);
    b.text(")");
  };
  auto split_target_flat_value = [&] {
    b.group([&] { last_target(); }, -1, true);
    b.text(" " + op + " ");
    value();
    comments();
  };
  if (v.kind == ExprKind::Call || v.kind == ExprKind::Subscript || v.kind == ExprKind::Attribute) {
    b.best_fitting({single_line,
                    [&] {
                      last_target();
                      b.text(" " + op + " ");
                      b.group([&] { value(); }, -1, true);
                    },
                    flat_target_parenthesize_value, split_target_flat_value});
    // The trailing comment of the second variant: ruff leaves it to the statement.
  } else {
    b.best_fitting({single_line, flat_target_parenthesize_value, split_target_flat_value});
  }
}

void PyFormatter::assign(const Stmt& s) {
  const Expr& first = *s.targets[0];
  if (s.targets.size() > 1) {
    target_eq(first, true);
    for (size_t i = 1; i + 1 < s.targets.size(); ++i) target_eq(*s.targets[i], false);
    right_to_left(*s.targets.back(), "=", *s.value, s.trailing_comment);
    return;
  }
  if (has_target_own_parentheses(first) && !first.parenthesized) {
    right_to_left(first, "=", *s.value, s.trailing_comment);
    return;
  }
  target_eq(first, true);
  value_with_trailing(*s.value, s.trailing_comment);
}

void PyFormatter::aug_assign(const Stmt& s) {
  const Expr& t = *s.targets[0];
  if (has_target_own_parentheses(t) && !t.parenthesized) {
    right_to_left(t, s.op.substr(0, s.op.size()), *s.value, s.trailing_comment);
    return;
  }
  target_plain(t, Parens::Preserve);
  b.text(" " + s.op + " ");
  value_with_trailing(*s.value, s.trailing_comment);
}

bool PyFormatter::is_splittable(const Expr& e) {
  switch (e.kind) {
    case ExprKind::Name:
    case ExprKind::Int:
    case ExprKind::Float:
    case ExprKind::Bool:
    case ExprKind::None:
    case ExprKind::Ellipsis:
    case ExprKind::Slice:
      return false;
    case ExprKind::Compare:
    case ExprKind::BinOp:
    case ExprKind::BoolOp:
    case ExprKind::IfExp:
    case ExprKind::Subscript:
    case ExprKind::ListComp:
      return true;
    case ExprKind::Tuple:
    case ExprKind::List:
    case ExprKind::Set:
      return !e.items.empty();
    case ExprKind::Dict:
      return !e.items.empty();
    case ExprKind::UnaryOp:
      return is_splittable(*e.object);
    case ExprKind::Call:
      return !e.args.empty() || sp(*e.object);
    case ExprKind::String:
      return !e.values.empty();
    case ExprKind::Lambda:
    case ExprKind::Starred:
    case ExprKind::Attribute:
      return sp(*e.object) || is_splittable(*e.object);
  }
  return false;
}

void PyFormatter::ann_assign(const Stmt& s) {
  target_plain(*s.targets[0], Parens::Preserve);
  b.text(": ");
  const Expr& ann = *s.annotation;
  if (s.value) {
    if (is_splittable(ann)) {
      right_to_left(ann, "=", *s.value, s.trailing_comment);
    } else {
      expr(ann, Parens::Never);
      b.text(" = ");
      value_with_trailing(*s.value, s.trailing_comment);
    }
  } else {
    value_with_trailing(ann, s.trailing_comment);
  }
}

void PyFormatter::docstring(const Expr& e) {
  // ruff normalises docstrings to triple double quotes, strips trailing whitespace
  // on each line, and re-indents them. We keep the decoded text and write it back.
  std::string raw = e.name;
  std::string prefix;
  size_t i = 0;
  while (i < raw.size() && raw[i] != '"' && raw[i] != '\'') prefix += raw[i++];
  std::string np;
  for (char c : prefix)
    if (c != 'u' && c != 'U') np += static_cast<char>(c == 'R' ? 'r' : c);
  std::string body;
  if (!raw.empty() && i < raw.size()) {
    char q = raw[i];
    size_t qlen = raw.size() - i >= 6 && raw.compare(i, 3, std::string(3, q)) == 0 ? 3 : 1;
    body = raw.substr(i + qlen, raw.size() - i - 2 * qlen);
    std::string value, p2, quote, b2;
    bool decodable = decode_spelling(raw, value, p2, quote, b2);
    if (decodable && value != e.text) body = escape_docstring(e.text);
    if (qlen == 1) {
      // ruff keeps a one-quote docstring one-quoted: whitespace trimmed, quotes normalised.
      size_t a = body.find_first_not_of(" \t");
      size_t z = body.find_last_not_of(" \t");
      std::string trimmed = a == std::string::npos ? std::string() : body.substr(a, z - a + 1);
      if (!trimmed.empty() && trimmed.back() == '\\') trimmed = body.substr(a == std::string::npos ? 0 : a);
      b.text(normalize_string_spelling(np + std::string(1, q) + trimmed + std::string(1, q), true));
      return;
    }
  } else {
    body = escape_docstring(e.text);
  }
  // ruff: trailing whitespace (and newlines) of the text go; what fits one line stays one line.
  while (!body.empty() && (body.back() == ' ' || body.back() == '\t' || body.back() == '\n' || body.back() == '\r')) {
    if (body.back() == '\n') {
      // a last line holding only the closing quotes is kept unless the text is one line
      std::string head = body.substr(0, body.size() - 1);
      while (!head.empty() && (head.back() == ' ' || head.back() == '\t' || head.back() == '\r')) head.pop_back();
      if (head.find('\n') != std::string::npos) break;
    }
    body.pop_back();
  }
  // Normalise: strip leading whitespace of the first line, re-indent the others.
  std::vector<std::string> lines;
  size_t start = 0;
  while (true) {
    size_t nl = body.find('\n', start);
    lines.push_back(body.substr(start, nl == std::string::npos ? std::string::npos : nl - start));
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  for (auto& l : lines) {
    while (!l.empty() && (l.back() == ' ' || l.back() == '\t' || l.back() == '\r')) l.pop_back();
  }
  // first line: strip leading spaces
  size_t lead = 0;
  while (lead < lines[0].size() && (lines[0][lead] == ' ' || lines[0][lead] == '\t')) ++lead;
  lines[0] = lines[0].substr(lead);
  // common indentation of the other non-empty lines
  size_t common = std::string::npos;
  for (size_t k = 1; k < lines.size(); ++k) {
    if (lines[k].empty()) continue;
    size_t w = 0;
    while (w < lines[k].size() && lines[k][w] == ' ') ++w;
    common = std::min(common, w);
  }
  if (common == std::string::npos) common = 0;
  std::string ind(static_cast<size_t>(verbatim_indent_) * kIndentWidth, ' ');
  bool blank = true;
  for (auto& l : lines) blank = blank && l.empty();
  if (blank) {
    b.text(np + "\"\"\" \"\"\"");  // ruff: a docstring of whitespace only
    return;
  }
  std::string out = np + "\"\"\"";
  std::string first = lines[0];
  if (!first.empty() && first.front() == '"') out += ' ';
  out += first;
  for (size_t k = 1; k < lines.size(); ++k) {
    out += '\n';
    if (!lines[k].empty()) out += ind + lines[k].substr(common);
  }
  // The last line of a multi-line docstring holds only the closing quotes, indented.
  if (lines.size() > 1 && lines.back().empty()) out += ind;
  if (!out.empty() && out.back() == '"') out += ' ';
  if (!out.empty() && out.back() == '\\') {
    // An odd number of trailing backslashes would escape the closing quote.
    size_t n = 0;
    for (size_t k = out.size(); k > 0 && out[k - 1] == '\\'; --k) ++n;
    if (n % 2 == 1) out += ' ';
  }
  out += "\"\"\"";
  b.text(out);
}

std::string PyFormatter::escape_docstring(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '\t') out += "\\t";
    else out += c;
  }
  size_t pos = 0;
  while ((pos = out.find("\"\"\"", pos)) != std::string::npos) {
    out.replace(pos, 3, "\\\"\\\"\\\"");
    pos += 6;
  }
  return out;
}

}  // namespace nnport::syntax::printing
