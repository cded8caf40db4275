// PyFormatter: expressions (py_formatter.h).
#include "syntax/py_formatter.h"

namespace nnport::syntax::printing {

void PyFormatter::trailing_comment(const std::string& full) {
  if (full.empty() || full[0] == '\n') return;  // (most statements have none)
  std::string c = full.substr(0, full.find('\n'));
  if (c.empty()) return;
  std::string n = normalize_comment(c);
  uint32_t reserved = is_pragma(n) ? 0 : 2 + text_width(n);
  b.line_suffix("  " + n, reserved);
  b.expand_parent();
}

void PyFormatter::in_parens_soft_or_space() {
  switch (level) {
    case Level::TopLevel:
    case Level::Compound:
      b.space();
      break;
    case Level::Expression:
      if (optional_parens_id < 0) {
        b.space();
      } else {
        int id = optional_parens_id;
        b.if_breaks([&] { b.soft_or_space(); }, id);
        b.if_flat([&] { b.space(); }, id);
      }
      break;
    case Level::Parenthesized:
      b.soft_or_space();
      break;
  }
}

void PyFormatter::in_parens_soft() {
  switch (level) {
    case Level::TopLevel:
    case Level::Compound:
      break;
    case Level::Expression:
      if (optional_parens_id >= 0) {
        int id = optional_parens_id;
        b.if_breaks([&] { b.soft(); }, id);
      }
      break;
    case Level::Parenthesized:
      b.soft();
      break;
  }
}

void PyFormatter::join_comma(const std::vector<Entry>& entries, bool magic, bool one_or_more, bool no_trailing) {
  for (size_t i = 0; i < entries.size(); ++i) {
    std::vector<std::string> above, below;
    std::string trailing;
    if (entries[i].comment && !entries[i].comment->empty())
      split_element_comment(*entries[i].comment, above, trailing, &below);
    if (i > 0) b.soft_or_space();
    for (auto& c : above) {
      b.text(normalize_comment(c));
      b.hard();
    }
    entries[i].fmt();
    bool last = i + 1 == entries.size();
    if (!last) {
      b.text(",");
    } else if (!no_trailing && (magic || one_or_more || entries.size() > 1)) {
      b.if_breaks([&] { b.text(","); });
    }
    if (!trailing.empty()) trailing_comment(trailing);
    for (auto& c : below) {
      // ruff: a trailing own-line comment, printed as a line suffix on its own line.
      b.line_suffix_fn([&] {
        b.hard();
        b.text(normalize_comment(c));
      }, 0);
      b.expand_parent();
    }
  }
  if (!entries.empty() && magic && !no_trailing) b.expand_parent();
}

void PyFormatter::expr(const Expr& e, Parens p) {
  if (p == Parens::Always || (p == Parens::Preserve && e.parenthesized && e.kind != ExprKind::Tuple)) {
    parenthesized("(", [&] { expr_inner(e); }, ")");
    return;
  }
  if (level == Level::TopLevel || level == Level::Compound) {
    LevelScope scope(*this, Level::Expression, -1);
    expr_inner(e);
  } else {
    expr_inner(e);
  }
}

void PyFormatter::expr_inner(const Expr& e) {
  switch (e.kind) {
    case ExprKind::Name:
      b.text(e.name);
      break;
    case ExprKind::Int:
      b.text(e.text.empty() ? std::to_string(e.int_value) : normalize_number(e.text));
      break;
    case ExprKind::Float:
      b.text(e.text.empty() ? float_repr(e.float_value) : normalize_number(e.text));
      break;
    case ExprKind::String:
      format_string(e);
      break;
    case ExprKind::Bool:
      b.text(e.bool_value ? "True" : "False");
      break;
    case ExprKind::None:
      b.text("None");
      break;
    case ExprKind::Ellipsis:
      b.text("...");
      break;
    case ExprKind::List:
      sequence(e, "[", "]");
      break;
    case ExprKind::Set:
      sequence(e, "{", "}");
      break;
    case ExprKind::Tuple:
      tuple(e, TupleMode::Default);
      break;
    case ExprKind::Dict:
      dict(e);
      break;
    case ExprKind::Attribute:
      attribute(e);
      break;
    case ExprKind::Subscript:
      subscript(e);
      break;
    case ExprKind::Slice:
      slice(e);
      break;
    case ExprKind::Call:
      call(e);
      break;
    case ExprKind::BinOp:
    case ExprKind::Compare:
    case ExprKind::BoolOp:
      binary_like(e);
      break;
    case ExprKind::UnaryOp:
      unary(e);
      break;
    case ExprKind::IfExp:
      ifexp(e);
      break;
    case ExprKind::Starred:
      b.text("*");
      operand(*e.object, P_BOR);
      break;
    case ExprKind::ListComp:
      listcomp(e);
      break;
    case ExprKind::Lambda:
      lambda(e);
      break;
  }
}

void PyFormatter::format_string(const Expr& e) {
  if (e.values.empty()) {
    b.text(string_literal(e));
    return;
  }
  // Implicit concatenation (ruff's FormatImplicitConcatenatedString): merged into one
  // literal when the parts allow it and it fits, else one part per line.
  std::string joined;
  for (auto& v : e.values) joined += v->text;
  if (!e.is_fstring && joined != e.text) {  // a pass changed the value: write it anew
    b.text(quote_value(e.text));
    return;
  }
  std::string merged = merged_concatenation(e);
  bool parenthesized_level = level == Level::Parenthesized || (level == Level::Expression && optional_parens_id >= 0);
  if (!parenthesized_level && !merged.empty()) {
    b.text(merged);
    return;
  }
  in_parens_group([&] { implicit_concatenation(e, merged); });
}

void PyFormatter::implicit_concatenation(const Expr& e, const std::string& merged) {
  auto parts = [&] {
    for (size_t i = 0; i < e.values.size(); ++i) {
      if (i) in_parens_soft_or_space();
      b.text(string_literal(*e.values[i]));
    }
  };
  if (!merged.empty()) {
    b.if_flat([&] { b.text(merged); });
    b.if_breaks(parts);
    return;
  }
  // Parts the source wrote on separate lines stay on separate lines.
  for (size_t i = 0; i + 1 < e.values.size(); ++i)
    if (e.values[i]->loc.line > 0 && e.values[i + 1]->loc.line > e.values[i]->loc.line) {
      b.expand_parent();
      break;
    }
  parts();
}

std::string PyFormatter::merged_concatenation(const Expr& e) {
  bool any_f = false;
  std::string neutral;  // the bodies with quote escapes removed, other escapes kept
  for (auto& v : e.values) {
    std::string lit = string_literal(*v);
    size_t q = lit.find_first_of("\"'");
    if (q == std::string::npos) return "";
    bool is_f = false;
    for (char c : lit.substr(0, q)) {
      if (c == 'f' || c == 'F') is_f = true;
      else return "";
    }
    if (lit.size() - q >= 6 && (lit.compare(q, 3, "\"\"\"") == 0 || lit.compare(q, 3, "\'\'\'") == 0)) return "";
    if (lit.size() - q < 2) return "";
    std::string body = lit.substr(q + 1, lit.size() - q - 2);
    if (is_f && (body.find('"') != std::string::npos || body.find('\'') != std::string::npos)) return "";
    any_f = any_f || is_f;
    for (size_t k = 0; k < body.size(); ++k) {
      char c = body[k];
      if (c == '\\' && k + 1 < body.size()) {
        char n = body[k + 1];
        if (n != '\'' && n != '"') neutral += c;
        neutral += n;
        ++k;
        continue;
      }
      neutral += c;
    }
  }
  if (any_f) {
    // An f-string results: rebuild with the braces of the plain parts doubled.
    neutral.clear();
    for (auto& v : e.values) {
      std::string lit = string_literal(*v);
      size_t q = lit.find_first_of("\"'");
      bool is_f = q > 0;
      std::string body = lit.substr(q + 1, lit.size() - q - 2);
      for (size_t k = 0; k < body.size(); ++k) {
        char c = body[k];
        if (c == '\\' && k + 1 < body.size()) {
          char n = body[k + 1];
          if (n != '\'' && n != '"') neutral += c;
          neutral += n;
          ++k;
          continue;
        }
        if (!is_f && (c == '{' || c == '}')) neutral += c;
        neutral += c;
      }
    }
  }
  int singles = 0, doubles = 0;
  for (size_t k = 0; k < neutral.size(); ++k) {
    if (neutral[k] == '\\') {
      ++k;
      continue;
    }
    if (neutral[k] == '\'') ++singles;
    if (neutral[k] == '"') ++doubles;
  }
  char pref = doubles > singles ? '\'' : '"';
  std::string out = any_f ? "f" : "";
  out += pref;
  for (size_t k = 0; k < neutral.size(); ++k) {
    char c = neutral[k];
    if (c == '\\' && k + 1 < neutral.size()) {
      out += c;
      out += neutral[++k];
      continue;
    }
    if (c == pref) out += '\\';
    out += c;
  }
  out += pref;
  return out;
}

auto PyFormatter::item_entries(const std::vector<ExprPtr>& items) -> std::vector<Entry> {
  std::vector<Entry> out;
  out.reserve(items.size());
  for (auto& it : items) {
    const Expr* x = it.get();
    out.push_back({[this, x] { expr(*x); }, &x->comment});
  }
  return out;
}

void PyFormatter::sequence(const Expr& e, const char* open, const char* close) {
  if (e.items.empty()) {
    b.text(std::string(open) + close);
    return;
  }
  auto entries = item_entries(e.items);
  parenthesized(open, [&] { join_comma(entries, e.magic_trailing_comma); }, close,
                open_bracket_comment(e.items[0]->comment));
}

void PyFormatter::tuple(const Expr& e, TupleMode mode) {
  if (e.items.empty()) {
    b.text("()");
    return;
  }
  auto entries = item_entries(e.items);
  if (e.items.size() == 1) {
    if (mode == TupleMode::Preserve && !e.parenthesized) {
      expr(*e.items[0]);
      b.text(",");
      return;
    }
    std::vector<std::string> above;
    std::string trailing;
    split_element_comment(e.items[0]->comment, above, trailing);
    parenthesized("(", [&] {
      for (auto& c : above) {
        b.text(normalize_comment(c));
        b.hard();
      }
      expr(*e.items[0]);
      b.text(",");
      trailing_comment(trailing);
    }, ")");
    return;
  }
  if (e.parenthesized && mode != TupleMode::NeverPreserve) {
    parenthesized("(", [&] { join_comma(entries, e.magic_trailing_comma); }, ")",
                  open_bracket_comment(e.items[0]->comment));
    return;
  }
  switch (mode) {
    case TupleMode::Never:
      for (size_t i = 0; i < e.items.size(); ++i) {
        if (i) {
          b.group([&] {
            b.text(",");
            b.space();
          });
        }
        expr(*e.items[i]);
      }
      break;
    case TupleMode::Preserve:
      b.group([&] { join_comma(entries, e.magic_trailing_comma); });
      break;
    case TupleMode::NeverPreserve:
      optional_parentheses([&] { join_comma(entries, e.magic_trailing_comma); });
      break;
    case TupleMode::OptionalParens:
      if (e.items.size() == 2) {
        optional_parentheses([&] { join_comma(entries, e.magic_trailing_comma); });
        break;
      }
      [[fallthrough]];
    case TupleMode::Default:
      parenthesize_if_expands([&] { join_comma(entries, e.magic_trailing_comma); });
      break;
  }
}

void PyFormatter::dict(const Expr& e) {
  if (e.items.empty()) {
    b.text("{}");
    return;
  }
  std::vector<Entry> entries;
  for (size_t i = 0; i < e.items.size(); ++i) {
    const Expr* k = e.items[i].get();
    const Expr* v = e.values[i].get();
    entries.push_back({[this, k, v] {
                         if (!k) {
                           b.text("**");
                           operand(*v, P_BOR);
                           return;
                         }
                         b.group([&] {
                           expr(*k);
                           b.text(":");
                           b.space();
                           expr(*v);
                         });
                       },
                       &v->comment});
  }
  parenthesized("{", [&] { join_comma(entries, e.magic_trailing_comma); }, "}",
                open_bracket_comment(e.values[0]->comment));
}

bool PyFormatter::fluent_chain(const Expr& start) {
  int computed = 0;
  bool root_parenthesized = false;
  const Expr* e = &start;
  while (true) {
    if (e->kind == ExprKind::Attribute) {
      const Expr& v = *e->object;
      if (sp(v) || prec(v) < P_ATOM) {
        root_parenthesized = true;
        break;
      }
      if (is_call_like(v)) ++computed;
      e = &v;
    } else if (is_call_like(*e)) {
      const Expr& inner = *e->object;
      if (sp(inner) || prec(inner) < P_ATOM) break;
      e = &inner;
    } else {
      break;
    }
  }
  return computed + (root_parenthesized ? 1 : 0) >= 2;
}

auto PyFormatter::apply_in_node(Chain c, const Expr& e) -> Chain {
  if (c != Chain::Default) return c;
  bool parenthesized_level = level == Level::Parenthesized || (level == Level::Expression && optional_parens_id >= 0);
  return parenthesized_level && fluent_chain(e) ? Chain::Fluent : Chain::NonFluent;
}

void PyFormatter::chain_value(const Expr& v, Chain layout, bool parenthesize) {
  if (parenthesize) {
    expr(v, Parens::Always);
  } else if (v.kind == ExprKind::Attribute) {
    attribute(v, layout);
  } else if (v.kind == ExprKind::Call) {
    call(v, layout);
  } else if (v.kind == ExprKind::Subscript) {
    subscript(v, layout);
  } else {
    expr(v, Parens::Never);
  }
}

void PyFormatter::attribute(const Expr& e, Chain c) {
  Chain layout = apply_in_node(c, e);
  const Expr& v = *e.object;
  bool parenthesize = is_decimal_int_spelling(v) || sp(v) || prec(v) < P_ATOM;
  auto inner = [&] {
    chain_value(v, layout == Chain::Fluent ? Chain::Fluent : Chain::NonFluent, parenthesize);
    if (layout == Chain::Fluent && (parenthesize || is_call_like(v))) b.soft();
    b.text(".");
    b.text(e.name);
  };
  if (c == Chain::Default && layout == Chain::Fluent) b.group(inner);
  else inner();
}

bool PyFormatter::hug_string_argument(const Expr& call) {
  if (call.args.size() != 1 || call.magic_trailing_comma) return false;
  const Argument& a = call.args[0];
  if (a.star || a.double_star || !a.name.empty() || !a.value) return false;
  const Expr& v = *a.value;
  if (v.kind != ExprKind::String || !v.values.empty() || sp(v) || !v.comment.empty()) return false;
  std::string lit = string_literal(v);
  size_t q = lit.find_first_of("\"'");
  if (q == std::string::npos || lit.size() - q < 6 || lit.compare(q, 3, std::string(3, lit[q])) != 0) return false;
  if (lit.find('\n') == std::string::npos) return false;
  return v.loc.line == 0 || call.loc.line == 0 || v.loc.line == call.loc.line;
}

void PyFormatter::call(const Expr& e, Chain c) {
  Chain layout = apply_in_node(c, e);
  const Expr& f = *e.object;
  auto inner = [&] {
    chain_value(f, layout, sp(f) || prec(f) < P_ATOM);
    if (hug_string_argument(e)) {
      LevelScope scope(*this, Level::Parenthesized);
      b.text("(");
      expr(*e.args[0].value);
      b.text(")");
      return;
    }
    arguments(e.args, e.magic_trailing_comma);
  };
  if (c == Chain::Default && layout == Chain::Fluent) b.group(inner);
  else inner();
}

auto PyFormatter::argument_entries(const std::vector<Argument>& args) -> std::vector<Entry> {
  std::vector<Entry> entries;
  entries.reserve(args.size());
  for (auto& a : args) {
    const Argument* x = &a;
    entries.push_back({[this, x] {
                         if (x->star) {
                           b.text("*");
                           operand(*x->value, P_BOR);
                         } else if (x->double_star) {
                           b.text("**");
                           operand(*x->value, P_BOR);
                         } else if (!x->name.empty()) {
                           b.text(x->name);
                           b.text("=");
                           expr(*x->value);
                         } else {
                           expr(*x->value);
                         }
                       },
                       x->value ? &x->value->comment : nullptr});
  }
  return entries;
}

void PyFormatter::arguments(const std::vector<Argument>& args, bool magic) {
  if (args.empty()) {
    b.text("()");
    return;
  }
  auto entries = argument_entries(args);
  parenthesized("(", [&] { b.group([&] { join_comma(entries, magic); }); }, ")",
                args[0].value ? open_bracket_comment(args[0].value->comment) : std::string());
}

bool PyFormatter::is_simple_slice_part(const Expr& e) {
  switch (e.kind) {
    case ExprKind::Name:
    case ExprKind::Int:
    case ExprKind::Float:
    case ExprKind::String:
    case ExprKind::Bool:
    case ExprKind::None:
    case ExprKind::Ellipsis:
      return true;
    case ExprKind::UnaryOp:
      return e.name != "not" && is_simple_slice_part(*e.object);
    default:
      return false;
  }
}

void PyFormatter::slice(const Expr& e) {
  const Expr* lower = e.items.size() > 0 ? e.items[0].get() : nullptr;
  const Expr* upper = e.items.size() > 1 ? e.items[1].get() : nullptr;
  const Expr* step = e.items.size() > 2 ? e.items[2].get() : nullptr;
  bool has_step_colon = e.items.size() > 2;
  bool spaces = (lower && !is_simple_slice_part(*lower)) || (upper && !is_simple_slice_part(*upper)) ||
                (step && !is_simple_slice_part(*step));
  if (lower) expr(*lower);
  if (spaces && lower) b.space();
  b.text(":");
  if (spaces && upper) b.space();
  if (upper) expr(*upper);
  if (has_step_colon) {
    if (spaces && upper) b.space();
    b.text(":");
    if (spaces && step) b.space();
    if (step) expr(*step);
  }
}

void PyFormatter::subscript(const Expr& e, Chain c) {
  Chain layout = apply_in_node(c, e);
  const Expr& v = *e.object;
  auto inner = [&] {
    chain_value(v, layout, sp(v) || prec(v) < P_ATOM);
    const Expr& idx = *e.items[0];
    parenthesized("[", [&] {
      if (idx.kind == ExprKind::Tuple && !idx.parenthesized) {
        tuple(idx, TupleMode::Preserve);
      } else {
        expr(idx);
      }
    }, "]");
  };
  if (c == Chain::Default && layout == Chain::Fluent) b.group(inner);
  else inner();
}

int PyFormatter::rank_of_binop(const std::string& op) {
  if (op == "**") return 2;
  if (op == "+" || op == "-") return 5;
  if (op == "<<" || op == ">>") return 6;
  if (op == "&") return 7;
  if (op == "^") return 8;
  if (op == "|") return 9;
  return 4;
}

bool PyFormatter::bin_operand_needs_parens(const Expr& parent, const Expr& x, bool right) {
  int p = binop_prec(parent.name);
  int px = prec(x);
  if (parent.name == "**") {
    if (right) return px < P_UNARY || (x.kind == ExprKind::UnaryOp && x.name == "not");
    return px <= P_POWER && px < P_ATOM;  // (a**b)**c, (-a)**b
  }
  if (px < p) return true;
  if (right && px == p && x.kind == ExprKind::BinOp) return true;
  return false;
}

void PyFormatter::flatten(const Expr& e, Flat& out) {
  if (e.kind == ExprKind::BinOp) {
    push_operand(*e.items[0], bin_operand_needs_parens(e, *e.items[0], false), out);
    out.ops.push_back(e.name);
    out.ranks.push_back(rank_of_binop(e.name));
    push_operand(*e.items[1], bin_operand_needs_parens(e, *e.items[1], true), out);
  } else if (e.kind == ExprKind::BoolOp) {
    int p = e.name == "or" ? P_OR : P_AND;
    for (size_t i = 0; i < e.items.size(); ++i) {
      if (i) {
        out.ops.push_back(e.name);
        out.ranks.push_back(11);
      }
      const Expr& x = *e.items[i];
      bool needs = prec(x) < p || (x.kind == ExprKind::BoolOp && x.name == e.name);
      push_operand(x, needs, out);
    }
  } else {  // Compare
    for (size_t i = 0; i < e.items.size(); ++i) {
      if (i) {
        out.ops.push_back(e.ops[i - 1]);
        out.ranks.push_back(10);
      }
      const Expr& x = *e.items[i];
      push_operand(x, prec(x) <= P_CMP, out);
    }
  }
}

bool PyFormatter::is_simple_power_operand(const Expr& e) {
  switch (e.kind) {
    case ExprKind::Int:
    case ExprKind::Float:
    case ExprKind::None:
    case ExprKind::Bool:
    case ExprKind::Name:
      return true;
    case ExprKind::UnaryOp:
      return e.name != "not" && is_simple_power_operand(*e.object);
    case ExprKind::Attribute:
      return is_simple_power_operand(*e.object);
    default:
      return false;
  }
}

void PyFormatter::format_flat_range(const Flat& f, size_t lo, size_t hi) {
  if (lo == hi) {
    format_operand(f.operands[lo]);
    return;
  }
  int lowest = 0;
  for (size_t i = lo; i < hi; ++i) lowest = std::max(lowest, f.ranks[i]);
  size_t start = lo;
  for (size_t i = lo; i < hi; ++i) {
    if (f.ranks[i] != lowest) continue;
    // left side: operands [start, i]
    if (start == i) format_operand(f.operands[start]);
    else in_parens_group([&] { format_flat_range(f, start, i); });
    bool is_pow = f.ops[i] == "**" && !f.operands[i].parens && !f.operands[i + 1].parens &&
                  !sp(*f.operands[i].e) && !sp(*f.operands[i + 1].e) &&
                  is_simple_power_operand(*f.operands[i].e) && is_simple_power_operand(*f.operands[i + 1].e);
    if (is_pow) in_parens_soft();
    else in_parens_soft_or_space();
    b.text(f.ops[i]);
    if (is_pow) in_parens_if_breaks_space();
    else b.space();
    start = i + 1;
  }
  if (start == hi) format_operand(f.operands[hi]);
  else in_parens_group([&] { format_flat_range(f, start, hi); });
}

void PyFormatter::in_parens_if_breaks_space() {
  switch (level) {
    case Level::Expression:
      if (optional_parens_id >= 0) b.if_breaks([&] { b.space(); }, optional_parens_id);
      break;
    case Level::Parenthesized:
      b.if_breaks([&] { b.space(); });
      break;
    default:
      break;
  }
}

void PyFormatter::in_parens_group_start() {
  if (level == Level::Expression && optional_parens_id >= 0) {
    Elem s;
    s.k = EK::StartCondGroup;
    s.cond_mode = PMode::Expanded;
    s.id = optional_parens_id;
    b.buf->push_back(s);
    open_in_parens_groups_.push_back(EK::EndCondGroup);
  } else if (level == Level::Parenthesized) {
    Elem s;
    s.k = EK::StartGroup;
    b.buf->push_back(s);
    open_in_parens_groups_.push_back(EK::EndGroup);
  } else {
    open_in_parens_groups_.push_back(EK::Text);  // nothing
  }
}

void PyFormatter::in_parens_group_end() {
  EK k = open_in_parens_groups_.back();
  open_in_parens_groups_.pop_back();
  if (k != EK::Text) b.tag(k);
}

void PyFormatter::binary_like(const Expr& e) {
  Flat f;
  flatten(e, f);
  size_t n = f.operands.size();
  std::vector<size_t> strings;
  if (e.kind != ExprKind::BoolOp)
    for (size_t i = 0; i < n; ++i)
      if (!f.operands[i].parens && is_implicit_concat(*f.operands[i].e)) strings.push_back(i);
  if (strings.empty()) {
    in_parens_group([&] { format_flat_range(f, 0, n - 1); });
    return;
  }
  // ruff's layout around implicit concatenated string operands: the operator before a
  // string stays on the line before it, the one after it starts the next line.
  in_parens_group_start();
  if (strings[0] != 0) in_parens_group_start();
  long last_op = -1;
  size_t si = 0;
  while (true) {
    if (si < strings.size()) {
      size_t k = strings[si++];
      if (k > 0) {
        size_t left_op = k - 1;
        if (last_op == static_cast<long>(left_op)) {
          in_parens_group_end();
        } else {
          size_t lo = last_op < 0 ? 0 : static_cast<size_t>(last_op) + 1;
          format_flat_range(f, lo, left_op);
          in_parens_soft_or_space();
          b.text(f.ops[left_op]);
          in_parens_group_end();
          b.space();
        }
        implicit_concatenation(*f.operands[k].e);
        b.tag(EK::LineSuffixBoundary);
      } else {
        implicit_concatenation(*f.operands[k].e);
      }
      if (k + 1 < n) {
        in_parens_group_start();
        in_parens_soft_or_space();
        b.text(f.ops[k]);
        b.space();
        last_op = static_cast<long>(k);
      } else {
        break;
      }
    } else {
      if (last_op >= 0) {
        format_flat_range(f, static_cast<size_t>(last_op) + 1, n - 1);
        in_parens_group_end();
      }
      break;
    }
  }
  in_parens_group_end();
}

void PyFormatter::unary(const Expr& e) {
  const Expr& x = *e.object;
  b.text(e.name);
  if (e.name == "not") b.space();
  // ruff parenthesizes a power operand: `-(x**2)`.
  if (x.kind == ExprKind::BinOp && x.name == "**" && !sp(x)) {
    expr(x, Parens::Always);
    return;
  }
  operand(x, e.name == "not" ? P_NOT : P_UNARY);
}

void PyFormatter::ifexp(const Expr& e, bool nested) {
  auto inner = [&] {
    operand(*e.items[0], P_OR);
    in_parens_soft_or_space();
    b.text("if");
    b.space();
    operand(*e.items[1], P_OR);
    in_parens_soft_or_space();
    b.text("else");
    b.space();
    const Expr& orelse = *e.items[2];
    if (orelse.kind == ExprKind::IfExp && !sp(orelse)) {
      ifexp(orelse, true);  // a chain of conditionals splits as one
    } else {
      in_parens_group([&] { operand(orelse, P_IFEXP); });
    }
  };
  if (nested) inner();
  else in_parens_group(inner);
}

void PyFormatter::listcomp(const Expr& e) {
  parenthesized("[", [&] {
    b.group([&] {
      b.group([&] { expr(*e.element); });
      for (auto& g : e.generators) {
        b.soft_or_space();
        b.text("for");
        b.space();
        const Expr& t = *g.target;
        if (t.kind == ExprKind::Tuple && !t.parenthesized) tuple(t, TupleMode::Never);
        else expr(t);
        b.space();
        b.text("in");
        b.space();
        operand(*g.iter, P_OR);
        if (!g.ifs.empty()) {
          for (auto& c : g.ifs) {
            b.soft_or_space();
            b.text("if");
            b.space();
            operand(*c, P_OR);
          }
        }
      }
    });
  }, "]");
}

void PyFormatter::params_inline(const std::vector<Parameter>& ps) {
  for (size_t i = 0; i < ps.size(); ++i) {
    if (i) b.text(", ");
    parameter(ps[i]);
  }
}

void PyFormatter::lambda(const Expr& e, bool assignment) {
  b.text("lambda");
  if (!e.params.empty()) {
    b.space();
    params_inline(e.params);
  }
  b.text(":");
  b.space();
  if (assignment) {
    b.fits_expanded(false, PMode::Flat, -1, [&] { lambda_body(*e.object); });
  } else {
    lambda_body(*e.object);
  }
}

void PyFormatter::lambda_body(const Expr& body) {
  if (sp(body)) {
    expr(body, Parens::Always);
    return;
  }
  OptParens np = needs_parentheses(body);
  if (np == OptParens::Always) {
    expr(body, Parens::Always);
  } else if (np == OptParens::Multiline) {
    parenthesize_if_expands([&] { expr(body, Parens::Never); });
  } else if (body.kind == ExprKind::Call || body.kind == ExprKind::Subscript) {
    auto unparenthesized = [&] { expr(body, Parens::Never); };
    if (will_break(unparenthesized)) b.expand_parent();
    b.best_fitting({unparenthesized, [&] { b.group(unparenthesized, -1, true); },
                    [&] {
                      b.text("(");
                      b.block_indent(unparenthesized);
                      b.text(")");
                    }});
  } else if (has_own_parentheses(body)) {
    expr(body);
  } else {
    parenthesize_if_expands([&] { expr(body, Parens::Never); });
  }
}

void PyFormatter::parameter(const Parameter& p) {
  if (p.star) b.text("*");
  if (p.double_star) b.text("**");
  b.text(p.name);
  if (p.annotation) {
    b.text(":");
    b.space();
    expr(*p.annotation);
  }
  if (p.default_value) {
    if (p.annotation) b.text(" = ");
    else b.text("=");
    expr(*p.default_value);
  }
}

}  // namespace nnport::syntax::printing
