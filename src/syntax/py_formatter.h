// PyFormatter: turns syntax trees into the printer's document (print_doc.h), following
// ruff's formatting of each construct. Its members are defined in print_expr.cc
// (expressions), print_parens.cc (where expressions get parentheses), print_stmt.cc
// (statements, suites, blank lines) and print_assign.cc (assignments, docstrings).
#pragma once

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "syntax/ast.h"
#include "syntax/print_doc.h"
#include "syntax/print_literals.h"

namespace nnport::syntax::printing {

class PyFormatter {
 public:
  Builder b;
  Level level = Level::TopLevel;
  int optional_parens_id = -1;  // NodeLevel::Expression(Some(id))

  explicit PyFormatter(Elems* buf) : b(buf) {}

  struct LevelScope {
    PyFormatter& f;
    Level saved_level;
    int saved_id;
    LevelScope(PyFormatter& fmt, Level l, int id = -1) : f(fmt), saved_level(fmt.level), saved_id(fmt.optional_parens_id) {
      f.level = l;
      f.optional_parens_id = id;
    }
    ~LevelScope() {
      f.level = saved_level;
      f.optional_parens_id = saved_id;
    }
  };

  // ---- trailing comments ----------------------------------------------------
  // The end-of-line comment (the part of a Stmt::trailing_comment before any '\n').
  void trailing_comment(const std::string& full);

  // ---- parentheses helpers (ruff's builders) --------------------------------
  template <class F>
  void parenthesized(const char* open, F&& content, const char* close, const std::string& open_comment = "") {
    Level cur = level;
    int cur_id = optional_parens_id;
    auto indented = [&] {
      b.group([&] {
        trailing_comment(open_comment);
        b.soft_block_indent(content);
      });
    };
    LevelScope scope(*this, Level::Parenthesized);
    b.text(open);
    if (cur == Level::Expression && cur_id >= 0) {
      b.fits_expanded(true, PMode::Flat, cur_id, indented);
    } else {
      indented();
    }
    b.text(close);
  }

  template <class F>
  void optional_parentheses(F&& content) {
    int id = b.new_id();
    LevelScope scope(*this, Level::Expression, id);
    b.group(
        [&] {
          b.if_breaks([&] { b.text("("); });
          b.indent_if_group_breaks(id, [&] {
            b.soft();
            content();
          });
          b.soft();
          b.if_breaks([&] { b.text(")"); });
        },
        id);
  }

  template <class F>
  void parenthesize_if_expands(F&& content, bool indent = true) {
    LevelScope scope(*this, Level::Parenthesized);
    if (indent) {
      int id = b.new_id();
      b.group(
          [&] {
            b.if_breaks([&] { b.text("("); });
            b.indent_if_group_breaks(id, [&] {
              b.soft();
              content();
            });
            b.soft();
            b.if_breaks([&] { b.text(")"); });
          },
          id);
    } else {
      b.group([&] {
        b.if_breaks([&] { b.text("("); });
        content();
        b.if_breaks([&] { b.text(")"); });
      });
    }
  }

  void in_parens_soft_or_space();
  void in_parens_soft();
  template <class F>
  void in_parens_group(F&& content) {
    switch (level) {
      case Level::Expression:
        if (optional_parens_id >= 0) {
          b.cond_group(PMode::Expanded, optional_parens_id, content);
        } else {
          content();
        }
        break;
      case Level::Parenthesized:
        b.group(content);
        break;
      default:
        content();
    }
  }

  // ---- comma separated lists -----------------------------------------------
  struct Entry {
    std::function<void()> fmt;
    const std::string* comment;  // Expr::comment of the element (null: none)
  };

  // Variant used by all callers: handles comments after commas properly.
  void join_comma(const std::vector<Entry>& entries, bool magic, bool one_or_more = false, bool no_trailing = false);

  // ---- expressions ---------------------------------------------------------
  enum class Parens { Preserve, Always, Never };

  // Preserve: keep the parentheses the source wrote around the expression (as ruff).
  void expr(const Expr& e, Parens p = Parens::Preserve);

  // An operand that needs parentheses when its precedence is below `min`.
  void operand(const Expr& e, int min) {
    if (prec(e) < min) expr(e, Parens::Always);
    else expr(e);
  }

  void expr_inner(const Expr& e);

  void format_string(const Expr& e);

  // FormatImplicitConcatenatedString: the merged literal when the enclosing group is flat,
  // else one part per line.
  void implicit_concatenation(const Expr& e) { implicit_concatenation(e, merged_concatenation(e)); }
  void implicit_concatenation(const Expr& e, const std::string& merged);

  // The single literal ruff writes for a concatenation when it is merged, or "" when the
  // parts can't merge (raw, bytes or triple-quoted parts, quotes inside f-string fields).
  std::string merged_concatenation(const Expr& e);

  // ---- collections ----------------------------------------------------------
  std::vector<Entry> item_entries(const std::vector<ExprPtr>& items);

  void sequence(const Expr& e, const char* open, const char* close);

  enum class TupleMode { Default, Preserve, Never, OptionalParens, NeverPreserve };

  void tuple(const Expr& e, TupleMode mode);

  void dict(const Expr& e);

  // ---- attribute / call / subscript ----------------------------------------
  // ---- call chains (ruff's CallChainLayout) ------------------------------------
  enum class Chain { Default, Fluent, NonFluent };

  static bool is_call_like(const Expr& e) { return e.kind == ExprKind::Call || e.kind == ExprKind::Subscript; }

  // Two or more `.attr` accesses on call/subscript results: the fluent layout.
  static bool fluent_chain(const Expr& start);

  Chain apply_in_node(Chain c, const Expr& e);

  // The value/callee of a chain link, passing the layout down.
  void chain_value(const Expr& v, Chain layout, bool parenthesize);

  void attribute(const Expr& e, Chain c = Chain::Default);

  // ruff's is_huggable_string_argument: a lone triple-quoted multi-line string argument
  // that starts on the call's line hugs the parentheses: `dedent("""...""")`.
  static bool hug_string_argument(const Expr& call);

  void call(const Expr& e, Chain c = Chain::Default);

  std::vector<Entry> argument_entries(const std::vector<Argument>& args);

  void arguments(const std::vector<Argument>& args, bool magic);

  static bool is_simple_slice_part(const Expr& e);

  void slice(const Expr& e);

  void subscript(const Expr& e, Chain c = Chain::Default);

  // ---- operators --------------------------------------------------------------
  static bool is_binary_like(const Expr& e) {
    return e.kind == ExprKind::BinOp || e.kind == ExprKind::Compare || e.kind == ExprKind::BoolOp;
  }

  // Flattened operand/operator sequence of a binary-like expression, as ruff's
  // BinaryLike does: nested binary/compare/bool operations that need no parentheses
  // join one sequence; it splits first at the operators of lowest priority.
  struct Operand {
    const Expr* e;
    bool parens;
  };
  struct Flat {
    std::vector<Operand> operands;
    std::vector<std::string> ops;
    std::vector<int> ranks;  // ruff's OperatorPrecedence: higher = binds less tightly
  };

  static int rank_of_binop(const std::string& op);

  static bool bin_operand_needs_parens(const Expr& parent, const Expr& x, bool right);

  void push_operand(const Expr& x, bool needs, Flat& out) {
    if (!needs && !sp(x) && is_binary_like(x)) flatten(x, out);
    else out.operands.push_back({&x, needs});
  }

  void flatten(const Expr& e, Flat& out);

  void format_operand(const Operand& o) {
    if (o.parens) expr(*o.e, Parens::Always);
    else expr(*o.e);
  }

  static bool is_simple_power_operand(const Expr& e);

  // ruff's FlatBinaryExpressionSlice::fmt over operands[lo..hi].
  void format_flat_range(const Flat& f, size_t lo, size_t hi);

  void in_parens_if_breaks_space();

  // write_in_parentheses_only_group_start_tag / _end_tag.
  std::vector<EK> open_in_parens_groups_;
  void in_parens_group_start();
  void in_parens_group_end();

  static bool is_implicit_concat(const Expr& e) {
    return e.kind == ExprKind::String && !e.values.empty() && !sp(e);
  }

  void binary_like(const Expr& e);

  void unary(const Expr& e);

  void ifexp(const Expr& e, bool nested = false);

  void listcomp(const Expr& e);

  void params_inline(const std::vector<Parameter>& ps);

  void lambda(const Expr& e, bool assignment = false);

  // ruff's FormatBody of a lambda.
  void lambda_body(const Expr& body);

  void parameter(const Parameter& p);

  // ---- expression parenthesizing decisions (ruff's maybe_parenthesize) -------
  enum class OptParens { Multiline, Always, BestFit, Never };

  OptParens needs_parentheses(const Expr& e);

  static bool has_own_parentheses(const Expr& e);
  static bool own_parens_non_empty(const Expr& e);

  // ruff's can_omit_optional_parentheses.
  struct OmitVisitor {
    int max_prec = 0;  // 0 = None; uses OperatorPrecedence ordering below
    int max_count = 0;
    bool any_parenthesized = false;
    const Expr* last = nullptr;
    const Expr* first_expr = nullptr;
    bool first_token = false;
    bool first_set = false;

    // ruff's OperatorPrecedence (low..high): None, Attribute, Exponential, BitwiseInversion,
    // Multiplicative, Additive, Shift, BitwiseAnd, BitwiseXor, BitwiseOr, Comparator,
    // BooleanOperation, Conditional
    static int op_rank(const std::string& op) {
      if (op == "+" || op == "-") return 5;
      if (op == "**") return 2;
      if (op == "<<" || op == ">>") return 6;
      if (op == "&") return 7;
      if (op == "^") return 8;
      if (op == "|") return 9;
      return 4;
    }
    void update(int p, int count = 1) {
      if (max_prec < p) {
        max_prec = p;
        max_count = count;
      } else if (max_prec == p) {
        max_count += count;
      }
    }
    void set_first_expr(const Expr* e) {
      if (!first_set) {
        first_set = true;
        first_expr = e;
      }
    }
    void set_first_token() {
      if (!first_set) {
        first_set = true;
        first_token = true;
      }
    }
    void visit_expr(const Expr& e) {
      last = &e;
      visit_sub(e);
      set_first_expr(&e);
    }
    void visit_sub(const Expr& e) {
      switch (e.kind) {
        case ExprKind::Dict:
        case ExprKind::List:
        case ExprKind::Set:
        case ExprKind::ListComp:
          any_parenthesized = true;
          return;
        case ExprKind::Tuple:
          if (e.parenthesized) {
            any_parenthesized = true;
            return;
          }
          break;
        case ExprKind::BoolOp:
          update(11, static_cast<int>(e.items.size()) - 1);
          break;
        case ExprKind::BinOp:
          update(op_rank(e.name));
          break;
        case ExprKind::IfExp:
          update(12, 2);
          break;
        case ExprKind::Compare:
          update(10, static_cast<int>(e.ops.size()));
          break;
        case ExprKind::Call:
          any_parenthesized = true;
          visit_child(*e.object);
          last = &e;
          return;
        case ExprKind::Subscript:
          any_parenthesized = true;
          visit_child(*e.object);
          last = &e;
          return;
        case ExprKind::Attribute:
          visit_child(*e.object);
          if (has_own_parentheses(*e.object) || prec(*e.object) < P_ATOM || sp(*e.object)) update(1);
          last = &e;
          return;
        case ExprKind::UnaryOp:
          if (e.name == "~") update(3);
          set_first_token();
          break;
        case ExprKind::Lambda:
        case ExprKind::Starred:
          set_first_token();
          break;
        default:
          return;
      }
      // walk children in source order
      switch (e.kind) {
        case ExprKind::BinOp:
        case ExprKind::BoolOp:
        case ExprKind::Compare:
        case ExprKind::Tuple:
          for (auto& x : e.items) visit_child(*x);
          break;
        case ExprKind::IfExp:
          visit_child(*e.items[0]);
          visit_child(*e.items[1]);
          visit_child(*e.items[2]);
          break;
        case ExprKind::UnaryOp:
        case ExprKind::Starred:
          visit_child(*e.object);
          break;
        case ExprKind::Lambda:
          visit_child(*e.object);
          break;
        default:
          break;
      }
    }
    // A child expression: parenthesized children (by precedence) count as parenthesized.
    void visit_child(const Expr& x) {
      last = &x;
      if (x.parenthesized && x.kind != ExprKind::Tuple) any_parenthesized = true;
      else visit_sub(x);
      set_first_expr(&x);
    }
  };

  bool can_omit_optional_parentheses(const Expr& e);
  void mark_parenthesized_children(const Expr& e, OmitVisitor& v);

  // maybe_parenthesize_expression with Parenthesize::IfBreaks / Optional.
  enum class Parenthesize { Optional, IfBreaks, IfRequired, IfBreaksParenthesized, IfBreaksParenthesizedNested };

  void maybe_parenthesize(const Expr& e, Parenthesize mode, bool has_trailing_comment = false);

  // ---- statements ----------------------------------------------------------
  enum class Suite { TopLevel, Function, Class, Other };

  static int empty_lines(const Stmt& s) { return std::max(s.empty_lines_before, s.blank_line_before ? 1 : 0); }
  void lines_top_or_nested(const Stmt& s, Suite kind);
  static bool is_def(const Stmt& s) { return s.kind == StmtKind::FunctionDef || s.kind == StmtKind::ClassDef; }
  static bool is_import(const Stmt& s) { return s.kind == StmtKind::Import || s.kind == StmtKind::ImportFrom; }
  static bool is_compound(const Stmt& s);
  static bool is_docstring(const Stmt& s) {
    return s.kind == StmtKind::Expr && s.value && s.value->kind == ExprKind::String && !s.value->is_fstring &&
           s.value->values.empty();
  }
  // The last statement of the last body, recursively, while it is a def/class.
  static bool trailing_def(const Stmt& s);
  static bool only_ellipsis(const std::vector<StmtPtr>& body) {
    return body.size() == 1 && body[0]->kind == StmtKind::Expr && body[0]->value &&
           body[0]->value->kind == ExprKind::Ellipsis && body[0]->leading_comments.empty();
  }

  void leading_comments(const Stmt& s);

  // Own-line comments after a statement (the lines of trailing_comment after the first).
  // min_first: at least this many empty lines before the first comment (ruff: a class
  // docstring keeps one). A def/class gets 2 (top level) or 1, like the def itself.
  void own_line_trailing(const Stmt& s, int min_first = 0);

  void else_clause(const Stmt& owner);

  void statement(const Stmt& s) {
    statement_inner(s);
    own_line_trailing(s);
  }

  void statement_inner(const Stmt& s);

  bool docstring_context_ = false;
  const Expr* return_annotation_ = nullptr;
  bool return_annotation_params_ = false;
  int verbatim_indent_ = 0;  // current indentation level for verbatim statements

  // A try statement lifted by the parser: clause headers kept, blocks formatted.
  void clauses(const Stmt& s);

  void verbatim(const Stmt& s);

  // ruff's WithItemsLayout for items lifted by the parser; verbatim text otherwise.
  void with_items(const Stmt& s);

  void clause_header_end(const Stmt& s) {
    b.text(":");
    trailing_comment(s.trailing_comment);
  }

  void block(const std::vector<StmtPtr>& body, Suite kind);

  void suite_with_docstring(const std::vector<StmtPtr>& body, Suite kind);
  bool first_is_docstring_ = false;

  void suite_impl(const std::vector<StmtPtr>& body, Suite kind);

  void clause_body(const Stmt& s, const std::vector<StmtPtr>& body, Suite kind);
  void clause_body_plain(const std::vector<StmtPtr>& body) {
    b.text(":");
    block(body, Suite::Other);
  }

  void if_stmt(const Stmt& s);
  void if_stmt_no_comments(const Stmt& s);

  void decorators(const Stmt& s);

  void function_def(const Stmt& s);

  void class_def(const Stmt& s);

  void import_from(const Stmt& s);

  // ---- assignments -----------------------------------------------------------
  bool should_inline_comments(const Expr& v);

  static bool has_target_own_parentheses(const Expr& t) {
    return t.kind == ExprKind::Tuple || has_own_parentheses(t) || t.kind == ExprKind::Dict;
  }
  bool is_attribute_with_parenthesized_value(const Expr& t);
  bool should_parenthesize_target(const Expr& t) {
    return !(has_target_own_parentheses(t) || is_attribute_with_parenthesized_value(t));
  }

  // A target followed by ` = ` (ruff's FormatTargetWithEqualOperator).
  void target_eq(const Expr& t, bool preserve);
  void target_plain(const Expr& t, Parens p);
  // ruff's AnyBeforeOperator for the last target.
  void before_operator(const Expr& t);

  // Formats into a scratch buffer and reports whether the content must break.
  bool will_break(const std::function<void()>& fmt);

  bool should_non_inlineable_use_best_fit(const Expr& v);

  void value_with_trailing(const Expr& v, const std::string& trailing);

  void maybe_parenthesize_value(const Expr& v);

  // FormatStatementsLastExpression::RightToLeft
  void right_to_left(const Expr& last, const std::string& op, const Expr& v, const std::string& trailing);

  void assign(const Stmt& s);

  void aug_assign(const Stmt& s);

  // ruff's is_splittable_expression.
  static bool is_splittable(const Expr& e);

  void ann_assign(const Stmt& s);

  // ---- docstrings --------------------------------------------------------------
  void docstring(const Expr& e);
  static std::string escape_docstring(const std::string& v);
};

}  // namespace nnport::syntax::printing
