// parse: Python source -> syntax::Module through tree-sitter's Python grammar.
//
// The lifter walks tree-sitter's concrete tree and builds the small syntax tree of
// ast.h, with a Location on every node. Comments are attached afterwards:
//   * a comment inside a bracketed element list (call arguments, list/tuple/set/dict
//     displays, parameters, class bases, import names) goes to the element before it
//     on the same line (Expr::comment); own-line comments there go in front of the
//     next element (Expr::comment starts with them, each ended by '\n');
//   * a comment at the end of a statement's (header) line is its trailing_comment;
//   * other own-line comments lead the next statement (Stmt::leading_comments), or
//     trail the module.
#include "syntax/parse.h"

#include <tree_sitter/api.h>

#include "syntax/arena.h"
#include "syntax/grammar.h"
#include "syntax/tree_alloc.h"
#include "syntax/tree_children.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

extern "C" const TSLanguage* tree_sitter_python(void);

namespace nnport::syntax {
namespace {

const char* kSyntaxHint = "fix the Python syntax; nnport reads the file without running it";
const char* kUnsupportedHint =
    "nnport reads the Python subset that model definitions use; rewrite this part in plain "
    "Python (calls, attributes, literals, operators, list comprehensions)";

struct ParserDeleter {
  void operator()(TSParser* p) const { ts_parser_delete(p); }
};
struct TreeDeleter {
  void operator()(TSTree* t) const { ts_tree_delete(t); }
};
using ParserPtr = std::unique_ptr<TSParser, ParserDeleter>;
using TreePtr = std::unique_ptr<TSTree, TreeDeleter>;

// tree-sitter allocates through tree_alloc.h from before the first parse on.
[[maybe_unused]] const bool kTreeAllocatorInstalled = tree_alloc::install();

// One parser per thread, reused: a new parser allocates its stack, lexer and pools again.
TSParser* thread_parser() {
  thread_local ParserPtr parser = [] {
    ParserPtr p(ts_parser_new());
    if (!ts_parser_set_language(p.get(), tree_sitter_python()))
      throw std::runtime_error("tree-sitter: incompatible Python grammar version");
    return p;
  }();
  return parser.get();
}

TreePtr parse_tree(std::string_view text) {
  TSParser* parser = thread_parser();
  TSTree* tree = ts_parser_parse_string(parser, nullptr, text.data(), static_cast<uint32_t>(text.size()));
  if (!tree) {
    ts_parser_reset(parser);
    throw std::runtime_error("tree-sitter: parse failed");
  }
  return TreePtr(tree);
}


struct Cmt {
  unsigned begin = 0, end = 0;
  int line = 0;  // 0-based row
  bool own_line = false;
  bool used = false;
};

struct StmtInfo {
  Stmt* stmt;
  unsigned begin, header_end, end;
  int header_line;  // 0-based row of the header end (simple statement: last row)
  bool simple;
  bool is_else = false;  // the `else:` clause of stmt (a pseudo statement)
  int column = 0;        // 0-based column of the first token
  int parent = -1;       // index of the enclosing statement's info
};

class Lifter {
 public:
  Lifter(std::string_view src, FileName file) : src_(src), file_(std::move(file)) {}

  Module run(TSNode root) {
    check_errors(root);
    index_lines();
    collect_comments(root);
    Module m;
    m.file = file_.str();
    m.text = std::string(src_);
    m.body = lift_block(root);
    attach_statement_comments(m);
    return m;
  }

 private:
  std::string_view src_;
  FileName file_;  // shared by every node's location
  std::shared_ptr<NodeArena> arena_ = std::make_shared<NodeArena>();  // the nodes' memory (arena.h)
  std::vector<Cmt> cmts_;
  std::vector<StmtInfo> infos_;  // every statement, pre-order
  StmtPtr last_elif_;

  // ---- basic helpers -------------------------------------------------------
  ExprPtr new_expr() const { return std::allocate_shared<Expr>(ArenaAllocator<Expr>(arena_)); }
  StmtPtr new_stmt() const { return std::allocate_shared<Stmt>(ArenaAllocator<Stmt>(arena_)); }
  Location loc(TSNode n) const {
    Location l;
    l.file = file_;
    TSPoint p = ts_node_start_point(n);
    l.line = static_cast<int>(p.row) + 1;
    l.column = static_cast<int>(p.column) + 1;
    l.begin = ts_node_start_byte(n);
    l.end = ts_node_end_byte(n);
    return l;
  }
  std::string text(TSNode n) const {
    return std::string(src_.substr(ts_node_start_byte(n), ts_node_end_byte(n) - ts_node_start_byte(n)));
  }
  [[noreturn]] void unsupported(TSNode n, const std::string& what) const {
    fail(loc(n), "unsupported Python construct: " + what, kUnsupportedHint);
  }
  static TSNode field(TSNode n, TSFieldId id) { return ts_node_child_by_field_id(n, id); }
  static bool has(TSNode n) { return !ts_node_is_null(n); }

  // ---- syntax errors -------------------------------------------------------
  void find_first_error(TSNode n, TSNode& best, bool& found) const {
    if (!ts_node_has_error(n) && !ts_node_is_missing(n)) return;
    if (ts_node_is_error(n) || ts_node_is_missing(n)) {
      if (!found || ts_node_start_byte(n) < ts_node_start_byte(best)) {
        best = n;
        found = true;
      }
      // Keep looking inside: a MISSING node can sit inside an ERROR, earlier or not.
    }
    for (auto [c, field_name] : tree_children(n)) find_first_error(c, best, found);
  }

  void leaves(TSNode n, std::vector<TSNode>& out) const {
    if (ts_node_child_count(n) == 0) {
      out.push_back(n);
      return;
    }
    for (auto [c, field_name] : tree_children(n)) leaves(c, out);
  }

  void check_errors(TSNode root) const {
    TSNode best{};
    bool found = false;
    find_first_error(root, best, found);
    if (!found) return;
    if (ts_node_is_missing(best)) {
      Location l = loc(best);
      l.end = l.begin;
      fail(l, std::string("syntax error: missing `") + ts_node_type(best) + "`", kSyntaxHint);
    }
    // An ERROR node: an unclosed bracket inside it is the most useful thing to show.
    std::vector<TSNode> toks;
    leaves(best, toks);
    std::vector<TSNode> open;
    for (TSNode t : toks) {
      std::string_view ty = type_of(t);
      if (ty == "(" || ty == "[" || ty == "{") {
        open.push_back(t);
      } else if (ty == ")" || ty == "]" || ty == "}") {
        if (open.empty()) fail(loc(t), "syntax error: unexpected `" + std::string(ty) + "`", kSyntaxHint);
        open.pop_back();
      }
    }
    if (!open.empty()) {
      // Only an error if nothing closes it later in the file either.
      TSNode o = open.front();
      fail(loc(o), "syntax error: `" + std::string(type_of(o)) + "` was never closed", kSyntaxHint);
    }
    TSNode first = toks.empty() ? best : toks.front();
    std::string t = toks.empty() ? text(best) : text(first);
    if (t.size() > 40) t = t.substr(0, 40) + "...";
    if (t.empty()) t = "end of file";
    fail(loc(first), "syntax error: unexpected `" + t + "`", kSyntaxHint);
  }

  // ---- comments ------------------------------------------------------------
  void collect_comments(TSNode root) {
    // A pre-order walk with a cursor (see tree_children.h) that enters only the nodes
    // around a '#': a comment starts with one, so the others hold none (a walk of every
    // node costs a good part of the parse; asking for each child by index was quadratic).
    std::vector<unsigned> hashes;
    for (size_t i = src_.find('#'); i != std::string_view::npos; i = src_.find('#', i + 1))
      hashes.push_back(static_cast<unsigned>(i));
    auto holds_hash = [&](TSNode n) {
      auto it = std::lower_bound(hashes.begin(), hashes.end(), ts_node_start_byte(n));
      return it != hashes.end() && *it < ts_node_end_byte(n);
    };
    TSTreeCursor cursor = ts_tree_cursor_new(root);
    for (bool more = holds_hash(root); more;) {
      TSNode n = ts_tree_cursor_current_node(&cursor);
      if (holds_hash(n)) {
        if (type_of(n) == "comment") collect_comment(n);
        else if (ts_tree_cursor_goto_first_child(&cursor)) continue;
      }
      while (more && !ts_tree_cursor_goto_next_sibling(&cursor)) more = ts_tree_cursor_goto_parent(&cursor);
    }
    ts_tree_cursor_delete(&cursor);
  }
  void collect_comment(TSNode n) {
    Cmt c;
    c.begin = ts_node_start_byte(n);
    c.end = ts_node_end_byte(n);
    c.line = static_cast<int>(ts_node_start_point(n).row);
    unsigned b = c.begin;
    while (b > 0 && (src_[b - 1] == ' ' || src_[b - 1] == '\t' || src_[b - 1] == '\f')) --b;
    c.own_line = b == 0 || src_[b - 1] == '\n' || src_[b - 1] == '\r';
    cmts_.push_back(c);
  }
  std::vector<Cmt>::iterator comments_from(unsigned begin) {  // the first comment at or after `begin`
    return std::lower_bound(cmts_.begin(), cmts_.end(), begin, [](const Cmt& c, unsigned b) { return c.begin < b; });
  }
  Cmt* comment_at(unsigned begin) {
    auto it = comments_from(begin);
    return it != cmts_.end() && it->begin == begin ? &*it : nullptr;
  }
  std::string comment_text(const Cmt& c) const {
    std::string s(src_.substr(c.begin, c.end - c.begin));
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.pop_back();
    return s;
  }

  // Element lists: walks a bracketed node's children, lifting elements with `lift`
  // and attaching the comments among them. Returns whether the list ends with a comma.
  // (Templates, not std::function: this runs for every bracketed list of the file.)
  template <class LiftOne, class LastElem>
  bool elements(TSNode container, const LiftOne& lift_one, const LastElem& last_elem) {
    std::string pending;  // own-line comments waiting for the next element
    std::string open_comment;
    bool last_was_comma = false;
    int last_elem_line = -1;
    Expr* prev = nullptr;
    for (auto [c, field_name] : tree_children(container)) {
      std::string_view ty = type_of(c);
      if (ty == "comment") {
        Cmt* cm = comment_at(ts_node_start_byte(c));
        if (!cm) continue;
        cm->used = true;
        std::string t = comment_text(*cm);
        if (prev && !cm->own_line && cm->line == last_elem_line) {
          append_trailing(*prev, t);
        } else if (!cm->own_line && !prev) {
          // `[  # comment` right after the opening bracket: kept on the first element,
          // in a first line that starts with '\f'.
          open_comment = open_comment.empty() ? t : open_comment + "  " + t;
        } else {
          pending += t + "\n";
        }
        continue;
      }
      if (ty == ",") {
        last_was_comma = true;
        continue;
      }
      if (!ts_node_is_named(c)) continue;  // brackets
      if (lift_one(c)) {
        last_was_comma = false;
        prev = last_elem();
        last_elem_line = static_cast<int>(ts_node_end_point(c).row);
        if (!pending.empty()) {
          prev->comment = pending + prev->comment;
          pending.clear();
        }
        if (!open_comment.empty()) {
          prev->comment = "\f" + open_comment + "\n" + prev->comment;
          open_comment.clear();
        }
      }
    }
    if (!pending.empty() && prev) {
      // Own-line comments after the last element (before the closing bracket): they
      // follow its comment, each after a '\v'.
      size_t start = 0;
      while (start < pending.size()) {
        size_t nl = pending.find('\n', start);
        prev->comment += "\v" + pending.substr(start, nl - start);
        start = nl + 1;
      }
    }
    return last_was_comma;
  }
  static void append_trailing(Expr& e, const std::string& t) {
    size_t nl = e.comment.rfind('\n');
    std::string trailing = nl == std::string::npos ? e.comment : e.comment.substr(nl + 1);
    if (trailing.empty())
      e.comment += t;
    else
      e.comment += "  " + t;
  }

  // ---- expressions ---------------------------------------------------------
  ExprPtr make(ExprKind k, TSNode n) const {
    auto e = new_expr();
    e->kind = k;
    e->loc = loc(n);
    return e;
  }

  ExprPtr lift_expr(TSNode n) {
    std::string_view ty = type_of(n);
    if (ty == "identifier" || ty == "keyword_identifier") {
      auto e = make(ExprKind::Name, n);
      e->name = text(n);
      return e;
    }
    if (ty == "integer") return lift_int(n);
    if (ty == "float") return lift_float(n);
    if (ty == "true" || ty == "false") {
      auto e = make(ExprKind::Bool, n);
      e->bool_value = ty == "true";
      return e;
    }
    if (ty == "none") return make(ExprKind::None, n);
    if (ty == "ellipsis") return make(ExprKind::Ellipsis, n);
    if (ty == "string") return lift_string(n);
    if (ty == "concatenated_string") return lift_concatenated(n);
    if (ty == "attribute") {
      auto e = make(ExprKind::Attribute, n);
      e->object = lift_expr(field(n, kF.object));
      e->name = text(field(n, kF.attribute));
      return e;
    }
    if (ty == "subscript") return lift_subscript(n);
    if (ty == "call") return lift_call(n);
    if (ty == "binary_operator") {
      auto e = make(ExprKind::BinOp, n);
      e->items.push_back(lift_expr(field(n, kF.left)));
      e->name = type_of(field(n, kF.operator_));
      e->items.push_back(lift_expr(field(n, kF.right)));
      return e;
    }
    if (ty == "unary_operator") {
      auto e = make(ExprKind::UnaryOp, n);
      e->name = type_of(field(n, kF.operator_));
      e->object = lift_expr(field(n, kF.argument));
      return e;
    }
    if (ty == "not_operator") {
      auto e = make(ExprKind::UnaryOp, n);
      e->name = "not";
      e->object = lift_expr(field(n, kF.argument));
      return e;
    }
    if (ty == "boolean_operator") {
      auto e = make(ExprKind::BoolOp, n);
      e->name = type_of(field(n, kF.operator_));
      TSNode left = field(n, kF.left);
      if (type_of(left) == "boolean_operator" && type_of(field(left, kF.operator_)) == e->name) {
        ExprPtr l = lift_expr(left);
        e->items = l->items;
      } else {
        e->items.push_back(lift_expr(left));
      }
      e->items.push_back(lift_expr(field(n, kF.right)));
      return e;
    }
    if (ty == "comparison_operator") {
      auto e = make(ExprKind::Compare, n);
      for (auto [c, field_name] : tree_children(n)) {
        if (field_name && std::strcmp(field_name, "operators") == 0) {
          e->ops.push_back(std::string(type_of(c)));
        } else if (ts_node_is_named(c) && type_of(c) != "comment") {
          e->items.push_back(lift_expr(c));
        }
      }
      return e;
    }
    if (ty == "conditional_expression") {
      auto e = make(ExprKind::IfExp, n);
      for (TSNode c : tree_named_children(n)) {
        if (type_of(c) == "comment") continue;
        e->items.push_back(lift_expr(c));
      }
      if (e->items.size() != 3) unsupported(n, "conditional expression");
      return e;
    }
    if (ty == "parenthesized_expression") {
      TSNode inner{};
      bool found = false;
      for (TSNode c : tree_named_children(n)) {
        if (type_of(c) == "comment") continue;  // left to the statement
        inner = c;
        found = true;
      }
      if (!found) unsupported(n, "empty parentheses");
      ExprPtr e = lift_expr(inner);
      e->parenthesized = true;
      return e;
    }
    if (ty == "tuple" || ty == "tuple_pattern") return lift_sequence(n, ExprKind::Tuple, true);
    if (ty == "list" || ty == "list_pattern") return lift_sequence(n, ExprKind::List, true);
    if (ty == "set") return lift_sequence(n, ExprKind::Set, true);
    if (ty == "expression_list" || ty == "pattern_list") return lift_sequence(n, ExprKind::Tuple, false);
    if (ty == "dictionary") return lift_dict(n);
    if (ty == "list_splat" || ty == "list_splat_pattern") {
      auto e = make(ExprKind::Starred, n);
      e->object = lift_expr(first_named(n));
      return e;
    }
    if (ty == "list_comprehension") return lift_listcomp(n);
    if (ty == "lambda") {
      auto e = make(ExprKind::Lambda, n);
      TSNode params = field(n, kF.parameters);
      if (has(params)) lift_params(params, e->params, nullptr);
      e->object = lift_expr(field(n, kF.body));
      return e;
    }
    if (ty == "type") return lift_expr(first_named(n));
    // Type-expression nodes of annotations: `List[int]`, `int | None`, `a.B`, `*Ts`.
    if (ty == "generic_type") {
      auto e = make(ExprKind::Subscript, n);
      e->object = lift_expr(first_named(n));
      std::vector<ExprPtr> params;
      bool comma = false;
      for (TSNode c : tree_named_children(n)) {
        if (type_of(c) != "type_parameter") continue;
        uint32_t cc = ts_node_child_count(c);
        for (uint32_t k = 0; k < cc; ++k) {
          TSNode t = ts_node_child(c, k);
          if (type_of(t) == ",") { comma = true; continue; }
          if (!ts_node_is_named(t) || type_of(t) == "comment") continue;
          params.push_back(lift_expr(t));
          comma = false;
        }
      }
      if (params.size() == 1 && !comma) {
        e->items.push_back(params[0]);
      } else {
        auto t = make(ExprKind::Tuple, n);
        t->items = params;
        t->magic_trailing_comma = comma && params.size() > 1;
        e->items.push_back(t);
      }
      return e;
    }
    if (ty == "union_type") {
      // `A | B | C`: the members, left-associated like the `|` operator.
      std::vector<TSNode> members;
      std::function<void(TSNode)> collect = [&](TSNode k) {
        std::string_view kt = type_of(k);
        if (kt == "type" && ts_node_named_child_count(k) == 1) {
          collect(ts_node_named_child(k, 0));
        } else if (kt == "union_type") {
          for (uint32_t i = 0; i < ts_node_named_child_count(k); ++i)
            if (type_of(ts_node_named_child(k, i)) != "comment") collect(ts_node_named_child(k, i));
        } else if (kt == "binary_operator" && type_of(field(k, kF.operator_)) == "|") {
          collect(field(k, kF.left));
          collect(field(k, kF.right));
        } else {
          members.push_back(k);
        }
      };
      collect(n);
      if (members.size() < 2) unsupported(n, "type expression");
      ExprPtr acc = lift_expr(members[0]);
      for (size_t i = 1; i < members.size(); ++i) {
        auto e = make(ExprKind::BinOp, n);
        e->loc.end = ts_node_end_byte(members[i]);
        e->items = {acc, lift_expr(members[i])};
        e->name = "|";
        acc = e;
      }
      return acc;
    }
    if (ty == "member_type") {
      auto e = make(ExprKind::Attribute, n);
      std::vector<TSNode> kids;
      for (uint32_t i = 0; i < ts_node_named_child_count(n); ++i)
        if (type_of(ts_node_named_child(n, i)) != "comment") kids.push_back(ts_node_named_child(n, i));
      if (kids.size() != 2) unsupported(n, "type expression");
      e->object = lift_expr(kids[0]);
      e->name = text(kids[1]);
      return e;
    }
    if (ty == "splat_type") {
      auto e = make(ExprKind::Starred, n);
      e->object = lift_expr(first_named(n));
      return e;
    }
    if (ty == "slice") return lift_slice(n);
    if (ty == "keyword_argument") unsupported(n, "keyword argument outside a call");
    std::string what(ty);
    static const std::map<std::string, std::string> names = {
        {"generator_expression", "generator expression"},
        {"dictionary_comprehension", "dict comprehension"},
        {"set_comprehension", "set comprehension"},
        {"named_expression", "assignment expression (:=)"},
        {"await", "await expression"},
        {"yield", "yield expression"},
        {"dictionary_splat", "`**` outside a call or dict"},
    };
    auto it = names.find(what);
    unsupported(n, it == names.end() ? what : it->second);
  }

  TSNode first_named(TSNode n) const {
    for (TSNode c : tree_named_children(n)) {
      if (type_of(c) != "comment") return c;
    }
    return n;
  }

  static std::string strip_underscores(const std::string& s) {
    std::string r;
    for (char c : s)
      if (c != '_') r += c;
    return r;
  }

  ExprPtr lift_int(TSNode n) {
    std::string t = text(n);
    std::string d = strip_underscores(t);
    if (!d.empty() && (d.back() == 'j' || d.back() == 'J')) {
      auto e = make(ExprKind::Float, n);
      e->text = t;
      e->float_value = std::strtod(d.substr(0, d.size() - 1).c_str(), nullptr);
      return e;
    }
    auto e = make(ExprKind::Int, n);
    e->text = t;
    int base = 10;
    std::string digits = d;
    if (d.size() > 1 && d[0] == '0') {
      char p = static_cast<char>(std::tolower(static_cast<unsigned char>(d[1])));
      if (p == 'x') base = 16, digits = d.substr(2);
      else if (p == 'o') base = 8, digits = d.substr(2);
      else if (p == 'b') base = 2, digits = d.substr(2);
    }
    errno = 0;
    e->int_value = static_cast<long long>(std::strtoull(digits.c_str(), nullptr, base));
    return e;
  }

  ExprPtr lift_float(TSNode n) {
    auto e = make(ExprKind::Float, n);
    e->text = text(n);
    std::string d = strip_underscores(e->text);
    if (!d.empty() && (d.back() == 'j' || d.back() == 'J')) d.pop_back();
    e->float_value = std::strtod(d.c_str(), nullptr);
    return e;
  }

  // Decodes one string literal's spelling; sets is_f / is_bytes.
  static bool decode_literal(const std::string& raw, std::string& out, bool& is_f, bool& is_bytes) {
    size_t i = 0;
    bool is_raw = false;
    is_f = is_bytes = false;
    while (i < raw.size() && raw[i] != '"' && raw[i] != '\'') {
      char c = static_cast<char>(std::tolower(static_cast<unsigned char>(raw[i])));
      if (c == 'r') is_raw = true;
      if (c == 'f' || c == 't') is_f = true;
      if (c == 'b') is_bytes = true;
      ++i;
    }
    if (i >= raw.size()) return false;
    char q = raw[i];
    size_t qlen = raw.compare(i, 3, std::string(3, q)) == 0 && raw.size() - i >= 6 ? 3 : 1;
    size_t start = i + qlen;
    size_t stop = raw.size() >= qlen ? raw.size() - qlen : start;
    if (stop < start) stop = start;
    std::string body = raw.substr(start, stop - start);
    out.clear();
    if (is_raw) {
      out = body;
      return true;
    }
    for (size_t k = 0; k < body.size(); ++k) {
      char c = body[k];
      if (c != '\\' || k + 1 >= body.size()) {
        out += c;
        continue;
      }
      char n = body[++k];
      switch (n) {
        case '\n': break;
        case '\r': if (k + 1 < body.size() && body[k + 1] == '\n') ++k; break;
        case '\\': out += '\\'; break;
        case '\'': out += '\''; break;
        case '"': out += '"'; break;
        case 'a': out += '\a'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'v': out += '\v'; break;
        case 'x': case 'u': case 'U': {
          size_t len = n == 'x' ? 2 : n == 'u' ? 4 : 8;
          if (is_bytes && n != 'x') { out += '\\'; out += n; break; }
          unsigned long cp = std::strtoul(body.substr(k + 1, len).c_str(), nullptr, 16);
          k += len;
          if (is_bytes) { out += static_cast<char>(cp); break; }
          append_utf8(out, cp);
          break;
        }
        case 'N': {
          // \N{NAME}: keep verbatim (the printer keeps the source spelling).
          size_t close = body.find('}', k);
          out += '\\';
          out += body.substr(k, close == std::string::npos ? std::string::npos : close - k + 1);
          k = close == std::string::npos ? body.size() : close;
          break;
        }
        default:
          if (n >= '0' && n <= '7') {
            unsigned v = static_cast<unsigned>(n - '0');
            int digits = 1;
            while (digits < 3 && k + 1 < body.size() && body[k + 1] >= '0' && body[k + 1] <= '7') {
              v = v * 8 + static_cast<unsigned>(body[++k] - '0');
              ++digits;
            }
            if (is_bytes) out += static_cast<char>(v);
            else append_utf8(out, v);
          } else {
            out += '\\';
            out += n;
          }
      }
    }
    return true;
  }
  static void append_utf8(std::string& out, unsigned long cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  // String: text = decoded value; name = the source spelling (the printer reuses it,
  // normalised the way ruff does, while text still matches it).
  ExprPtr lift_string(TSNode n) {
    auto e = make(ExprKind::String, n);
    std::string raw = text(n);
    bool is_f = false, is_bytes = false;
    std::string out;
    decode_literal(raw, out, is_f, is_bytes);
    e->name = raw;
    if (is_f) {
      e->is_fstring = true;
      e->text = raw;
    } else {
      e->text = out;
    }
    return e;
  }

  ExprPtr lift_concatenated(TSNode n) {
    auto e = make(ExprKind::String, n);
    bool any_f = false;
    for (TSNode c : tree_named_children(n)) {
      if (type_of(c) == "comment") continue;  // left to the statement
      ExprPtr part = lift_string(c);
      any_f = any_f || part->is_fstring;
      e->values.push_back(part);
    }
    if (any_f) {
      // The parts stay in values (each with its spelling) so the printer can lay them out.
      e->is_fstring = true;
      e->text = text(n);
      e->name = e->text;
      return e;
    }
    for (auto& p : e->values) e->text += p->text;
    return e;
  }

  ExprPtr lift_subscript(TSNode n) {
    auto e = make(ExprKind::Subscript, n);
    e->object = lift_expr(field(n, kF.value));
    std::vector<ExprPtr> subs;
    bool trailing_comma = false;
    bool in_brackets = false;
    for (auto [c, field_name] : tree_children(n)) {
      std::string_view ty = type_of(c);
      if (ty == "[") { in_brackets = true; continue; }
      if (!in_brackets) continue;
      if (ty == "]") break;
      if (ty == ",") { trailing_comma = true; continue; }
      if (field_name && std::strcmp(field_name, "subscript") == 0) {
        subs.push_back(lift_expr(c));
        trailing_comma = false;
      }
    }
    if (subs.size() == 1 && !trailing_comma) {
      e->items.push_back(subs[0]);
    } else {
      auto t = new_expr();
      t->kind = ExprKind::Tuple;
      t->loc = subs.empty() ? e->loc : subs.front()->loc;
      if (!subs.empty()) t->loc.end = subs.back()->loc.end;
      t->items = subs;
      t->magic_trailing_comma = trailing_comma;
      e->items.push_back(t);
    }
    return e;
  }

  ExprPtr lift_slice(TSNode n) {
    auto e = make(ExprKind::Slice, n);
    e->items.assign(3, nullptr);
    int part = 0;
    for (auto [c, field_name] : tree_children(n)) {
      std::string_view ty = type_of(c);
      if (ty == ":") {
        ++part;
        continue;
      }
      if (!ts_node_is_named(c) || ty == "comment") continue;
      if (part < 3) e->items[part] = lift_expr(c);
    }
    if (part < 2) e->items.resize(2);
    return e;
  }

  ExprPtr lift_call(TSNode n) {
    auto e = make(ExprKind::Call, n);
    e->object = lift_expr(field(n, kF.function));
    TSNode args = field(n, kF.arguments);
    if (type_of(args) == "generator_expression") unsupported(args, "generator expression");
    e->magic_trailing_comma = lift_arguments(args, e->args);
    return e;
  }

  bool lift_arguments(TSNode args, std::vector<Argument>& out) {
    return elements(
        args,
        [&](TSNode c) {
          std::string_view ty = type_of(c);
          Argument a;
          if (ty == "keyword_argument") {
            a.name = text(field(c, kF.name));
            a.value = lift_expr(field(c, kF.value));
          } else if (ty == "list_splat") {
            a.star = true;
            a.value = lift_expr(first_named(c));
          } else if (ty == "dictionary_splat") {
            a.double_star = true;
            a.value = lift_expr(first_named(c));
          } else {
            a.value = lift_expr(c);
          }
          out.push_back(std::move(a));
          return true;
        },
        [&]() { return out.back().value.get(); });
  }

  ExprPtr lift_sequence(TSNode n, ExprKind kind, bool bracketed) {
    auto e = make(kind, n);
    e->parenthesized = kind == ExprKind::Tuple && bracketed;
    bool comma = elements(
        n,
        [&](TSNode c) {
          e->items.push_back(lift_expr(c));
          return true;
        },
        [&]() { return e->items.back().get(); });
    // A one-element tuple always has its comma; it is no magic trailing comma.
    e->magic_trailing_comma = comma && !(kind == ExprKind::Tuple && e->items.size() == 1);
    if (kind == ExprKind::Tuple && e->items.size() == 1 && !comma && !bracketed) {
      // `x,` without parentheses: still a tuple of one element.
    }
    return e;
  }

  ExprPtr lift_dict(TSNode n) {
    auto e = make(ExprKind::Dict, n);
    e->magic_trailing_comma = elements(
        n,
        [&](TSNode c) {
          std::string_view ty = type_of(c);
          if (ty == "pair") {
            e->items.push_back(lift_expr(field(c, kF.key)));
            e->values.push_back(lift_expr(field(c, kF.value)));
          } else if (ty == "dictionary_splat") {
            e->items.push_back(nullptr);
            e->values.push_back(lift_expr(first_named(c)));
          } else {
            unsupported(c, std::string(ty));
          }
          return true;
        },
        [&]() { return e->values.back().get(); });
    return e;
  }

  ExprPtr lift_listcomp(TSNode n) {
    auto e = make(ExprKind::ListComp, n);
    e->element = lift_expr(field(n, kF.body));
    for (TSNode c : tree_named_children(n)) {
      std::string_view ty = type_of(c);
      if (ty == "for_in_clause") {
        if (ts_node_child_count(c) > 0 && type_of(ts_node_child(c, 0)) == "async")
          unsupported(c, "async comprehension");
        Comprehension g;
        g.target = lift_expr(field(c, kF.left));
        // `for x in a, b` gives several right fields: a tuple.
        std::vector<ExprPtr> rights;
        for (auto [k, field_name] : tree_children(c))
          if (field_name && std::strcmp(field_name, "right") == 0) rights.push_back(lift_expr(k));
        if (rights.size() == 1) {
          g.iter = rights[0];
        } else {
          auto t = make(ExprKind::Tuple, c);
          t->items = rights;
          g.iter = t;
        }
        e->generators.push_back(std::move(g));
      } else if (ty == "if_clause") {
        if (e->generators.empty()) unsupported(c, "comprehension");
        e->generators.back().ifs.push_back(lift_expr(first_named(c)));
      }
    }
    return e;
  }

  // Parameters of a def (`parameters`) or a lambda (`lambda_parameters`).
  bool lift_params(TSNode n, std::vector<Parameter>& out, bool* comma_out, std::string* lost = nullptr) {
    std::vector<std::shared_ptr<Expr>> holders;
    bool comma = elements(
        n,
        [&](TSNode c) {
          std::string_view ty = type_of(c);
          Parameter p;
          if (ty == "identifier") {
            p.name = text(c);
          } else if (ty == "typed_parameter") {
            TSNode inner = first_named(c);
            std::string_view it = type_of(inner);
            if (it == "list_splat_pattern") { p.star = true; p.name = text(first_named(inner)); }
            else if (it == "dictionary_splat_pattern") { p.double_star = true; p.name = text(first_named(inner)); }
            else p.name = text(inner);
            p.annotation = lift_expr(field(c, kF.type));
          } else if (ty == "default_parameter") {
            p.name = text(field(c, kF.name));
            p.default_value = lift_expr(field(c, kF.value));
          } else if (ty == "typed_default_parameter") {
            p.name = text(field(c, kF.name));
            p.annotation = lift_expr(field(c, kF.type));
            p.default_value = lift_expr(field(c, kF.value));
          } else if (ty == "list_splat_pattern") {
            p.star = true;
            p.name = text(first_named(c));
          } else if (ty == "dictionary_splat_pattern") {
            p.double_star = true;
            p.name = text(first_named(c));
          } else if (ty == "keyword_separator") {
            p.name = "*";
          } else if (ty == "positional_separator") {
            p.name = "/";
          } else {
            unsupported(c, "parameter " + std::string(ty));
          }
          out.push_back(std::move(p));
          holders.push_back(new_expr());
          return true;
        },
        [&]() { return holders.back().get(); });
    // Parameter comments: carried on the default value or the annotation when there is one.
    for (size_t i = 0; i < holders.size(); ++i) {
      if (holders[i]->comment.empty()) continue;
      Parameter& p = out[i];
      ExprPtr carrier = p.default_value ? p.default_value : p.annotation;
      if (carrier) {
        carrier->comment = holders[i]->comment;
      } else if (lost) {
        // A bare parameter has nowhere to keep its comment: it moves to the def's line.
        std::string c = holders[i]->comment;
        for (char& ch : c)
          if (ch == '\n' || ch == '\v' || ch == '\f') ch = ' ';
        size_t a = c.find('#');
        if (a != std::string::npos) c = c.substr(a);
        *lost = lost->empty() ? c : *lost + "  " + c;
      }
    }
    if (comma_out) *comma_out = comma;
    return comma;
  }

  // ---- statements ----------------------------------------------------------
  std::vector<StmtPtr> lift_block(TSNode block) {
    std::vector<StmtPtr> out;
    for (TSNode c : tree_named_children(block)) {
      if (type_of(c) == "comment") continue;
      out.push_back(lift_stmt(c));
    }
    return out;
  }

  StmtPtr make_stmt(StmtKind k, TSNode n) {
    auto s = new_stmt();
    s->kind = k;
    s->loc = loc(n);
    return s;
  }

  // Registers a statement for comment attachment; header_end is the end of its header
  // (the ':' before the body) or the statement's end.
  void note(const StmtPtr& s, TSNode n, unsigned header_end, bool simple) {
    StmtInfo info{s.get(), ts_node_start_byte(n), header_end, ts_node_end_byte(n), 0, simple};
    info.header_line = line_of(header_end == 0 ? 0 : header_end - 1);
    info.column = static_cast<int>(ts_node_start_point(n).column);
    infos_.push_back(info);
  }
  int line_of(unsigned byte) const {
    auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), static_cast<size_t>(byte));
    return static_cast<int>(it - line_starts_.begin()) - 1;
  }
  // The end of the ':' that precedes `body` in n.
  unsigned colon_before(TSNode n, TSNode body) const {
    unsigned body_start = ts_node_start_byte(body);
    unsigned best = ts_node_start_byte(n);
    for (auto [c, field_name] : tree_children(n)) {
      if (ts_node_start_byte(c) >= body_start) break;
      if (type_of(c) == ":") best = ts_node_end_byte(c);
    }
    return best;
  }

  StmtPtr other(TSNode n, StmtKind kind = StmtKind::Other) {
    auto s = make_stmt(kind, n);
    s->text = text(n);
    // Comments inside verbatim text stay in it.
    for (auto& c : cmts_)
      if (c.begin >= ts_node_start_byte(n) && c.end <= ts_node_end_byte(n)) c.used = true;
    note(s, n, ts_node_end_byte(n), true);
    return s;
  }

  StmtPtr lift_stmt(TSNode n) {
    std::string_view ty = type_of(n);
    if (ty == "expression_statement") return lift_expression_statement(n);
    if (ty == "return_statement") {
      auto s = make_stmt(StmtKind::Return, n);
      note(s, n, ts_node_end_byte(n), true);
      TSNode v = first_named(n);
      if (!ts_node_eq(v, n)) s->value = lift_expr(v);
      return s;
    }
    if (ty == "pass_statement") return simple(n, StmtKind::Pass);
    if (ty == "break_statement") return simple(n, StmtKind::Break);
    if (ty == "continue_statement") return simple(n, StmtKind::Continue);
    if (ty == "if_statement") return lift_if(n, false);
    if (ty == "for_statement") {
      if (type_of(ts_node_child(n, 0)) == "async") return other(n);
      auto s = make_stmt(StmtKind::For, n);
      TSNode body = field(n, kF.body);
      note(s, n, colon_before(n, body), false);
      s->targets.push_back(lift_expr(field(n, kF.left)));
      s->value = lift_expr(field(n, kF.right));
      s->body = lift_block(body);
      TSNode alt = field(n, kF.alternative);
      if (has(alt)) s->orelse = lift_else(s, alt);
      return s;
    }
    if (ty == "while_statement") {
      auto s = make_stmt(StmtKind::While, n);
      TSNode body = field(n, kF.body);
      note(s, n, colon_before(n, body), false);
      s->value = lift_expr(field(n, kF.condition));
      s->body = lift_block(body);
      TSNode alt = field(n, kF.alternative);
      if (has(alt)) s->orelse = lift_else(s, alt);
      return s;
    }
    if (ty == "function_definition") return lift_def(n, {});
    if (ty == "class_definition") return lift_class(n, {});
    if (ty == "decorated_definition") return lift_decorated(n);
    if (ty == "import_statement") {
      auto s = make_stmt(StmtKind::Import, n);
      note(s, n, ts_node_end_byte(n), true);
      lift_import_names(n, s);
      return s;
    }
    if (ty == "import_from_statement" || ty == "future_import_statement") {
      auto s = make_stmt(StmtKind::ImportFrom, n);
      note(s, n, ts_node_end_byte(n), true);
      if (ty == "future_import_statement") {
        s->module = "__future__";
      } else {
        s->module = text(field(n, kF.module_name));
        s->module.erase(std::remove_if(s->module.begin(), s->module.end(),
                                       [](char c) { return c == ' ' || c == '\t' || c == '\\' || c == '\n'; }),
                        s->module.end());
      }
      lift_import_names(n, s);
      return s;
    }
    if (ty == "raise_statement") {
      auto s = make_stmt(StmtKind::Raise, n);
      note(s, n, ts_node_end_byte(n), true);
      TSNode v = first_named(n);
      if (!ts_node_eq(v, n) && type_of(v) != "comment") s->value = lift_expr(v);
      TSNode cause = field(n, kF.cause);
      if (has(cause)) s->targets.push_back(lift_expr(cause));
      return s;
    }
    if (ty == "assert_statement") {
      auto s = make_stmt(StmtKind::Assert, n);
      note(s, n, ts_node_end_byte(n), true);
      int k = 0;
      for (TSNode c : tree_named_children(n)) {
        if (type_of(c) == "comment") continue;
        if (k++ == 0) s->value = lift_expr(c);
        else s->targets.push_back(lift_expr(c));
      }
      return s;
    }
    if (ty == "with_statement") {
      if (type_of(ts_node_child(n, 0)) == "async") return other(n);
      auto s = make_stmt(StmtKind::With, n);
      TSNode body = field(n, kF.body);
      note(s, n, colon_before(n, body), false);
      TSNode clause = first_named(n);
      s->text = text(clause);
      bool has_comment = false;
      for (auto c = comments_from(ts_node_start_byte(clause)); c != cmts_.end() && c->end <= ts_node_end_byte(clause); ++c)
        c->used = has_comment = true;
      // The items are lifted too when they are in the subset (targets = context
      // expressions, names[i].second = the `as` target's text); else only `text` is kept.
      if (!has_comment) {
        try {
          for (TSNode item : tree_named_children(clause)) {
            if (type_of(item) != "with_item") continue;
            TSNode v = field(item, kF.value);
            if (type_of(v) == "as_pattern") {
              s->targets.push_back(lift_expr(first_named(v)));
              s->names.push_back({"", text(field(v, kF.alias))});
            } else {
              s->targets.push_back(lift_expr(v));
              s->names.push_back({"", ""});
            }
          }
          // `with (a, b,):` a magic trailing comma keeps the items one per line.
          uint32_t cc = ts_node_child_count(clause);
          if (cc >= 2 && type_of(ts_node_child(clause, 0)) == "(" && type_of(ts_node_child(clause, cc - 2)) == ",")
            s->magic_trailing_comma = true;
        } catch (const MigrationError&) {
          s->targets.clear();
          s->names.clear();
        }
      }
      s->body = lift_block(body);
      return s;
    }
    if (ty == "try_statement") {
      // Code inside a try the lifter can't read keeps the whole statement verbatim.
      size_t saved = infos_.size();
      try {
        return lift_try(n);
      } catch (const MigrationError&) {
        infos_.resize(saved);
        return other(n);
      }
    }
    return other(n);
  }

  // A try statement stays StmtKind::Other with its verbatim text, and its clauses are
  // lifted too (so the printer can lay out the code inside): body holds one Other per
  // clause, text = the clause header without its colon ("try", "except E as e", ...),
  // body = the clause's block.
  StmtPtr lift_try(TSNode n) {
    auto s = make_stmt(StmtKind::Other, n);
    s->text = text(n);
    TSNode first_block = field(n, kF.body);
    note(s, n, colon_before(n, first_block), false);
    for (TSNode c : tree_named_children(n)) {
      std::string_view ty = type_of(c);
      if (ty == "comment") continue;
      auto clause = new_stmt();
      clause->kind = StmtKind::Other;
      if (ty == "block") {
        clause->loc = s->loc;
        clause->text = "try";
        clause->body = lift_block(c);
        // the try clause shares the statement's header (its comment is the statement's)
        s->body.push_back(clause);
        continue;
      }
      TSNode block{};
      bool found = false;
      for (uint32_t k = 0; k < ts_node_named_child_count(c); ++k) {
        TSNode b = ts_node_named_child(c, k);
        if (type_of(b) == "block") {
          block = b;
          found = true;
        }
      }
      if (!found) return other(n);
      clause->loc = loc(c);
      unsigned colon = colon_before(c, block);
      std::string header(src_.substr(ts_node_start_byte(c), colon - 1 - ts_node_start_byte(c)));
      std::string norm;
      for (char ch : header) {
        bool ws = ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\\';
        if (ws) {
          if (!norm.empty() && norm.back() != ' ') norm += ' ';
        } else {
          norm += ch;
        }
      }
      while (!norm.empty() && norm.back() == ' ') norm.pop_back();
      clause->text = norm;
      StmtInfo info{clause.get(), ts_node_start_byte(c), colon, ts_node_end_byte(c), 0, false};
      info.header_line = line_of(colon - 1);
      info.column = static_cast<int>(ts_node_start_point(c).column);
      infos_.push_back(info);
      clause->body = lift_block(block);
      s->body.push_back(clause);
    }
    return s;
  }

  StmtPtr simple(TSNode n, StmtKind k) {
    auto s = make_stmt(k, n);
    note(s, n, ts_node_end_byte(n), true);
    return s;
  }

  std::vector<StmtPtr> lift_else(const StmtPtr& owner, TSNode else_clause) {
    TSNode body = field(else_clause, kF.body);
    StmtInfo info{owner.get(), ts_node_start_byte(else_clause), colon_before(else_clause, body),
                  ts_node_end_byte(else_clause), 0, false};
    info.header_line = line_of(info.header_end == 0 ? 0 : info.header_end - 1);
    info.column = static_cast<int>(ts_node_start_point(else_clause).column);
    info.is_else = true;
    infos_.push_back(info);
    return lift_block(body);
  }

  StmtPtr lift_if(TSNode n, bool is_elif) {
    auto s = make_stmt(StmtKind::If, n);
    s->is_elif = is_elif;
    TSNode body = field(n, kF.consequence);
    note(s, n, colon_before(n, body), false);
    s->value = lift_expr(field(n, kF.condition));
    s->body = lift_block(body);
    // alternatives: elif_clause* else_clause?
    std::vector<TSNode> alts;
    for (auto [c, field_name] : tree_children(n))
      if (field_name && std::strcmp(field_name, "alternative") == 0) alts.push_back(c);
    Stmt* cur = s.get();
    for (TSNode a : alts) {
      if (type_of(a) == "elif_clause") {
        auto e = make_stmt(StmtKind::If, a);
        e->is_elif = true;
        TSNode b = field(a, kF.consequence);
        note(e, a, colon_before(a, b), false);
        e->value = lift_expr(field(a, kF.condition));
        e->body = lift_block(b);
        cur->orelse.push_back(e);
        cur = e.get();
        last_elif_ = e;
      } else {
        StmtPtr owner = cur == s.get() ? s : nullptr;
        if (!owner) {
          // cur is an elif Stmt owned by its parent's orelse: find its shared_ptr.
          owner = last_elif_;
        }
        cur->orelse = lift_else(owner, a);
      }
    }
    return s;
  }

  StmtPtr lift_decorated(TSNode n) {
    // Decorators keep their comments in Expr::comment: own-line ones above a decorator
    // lead it; one at the end of its line trails it; ones between the last decorator and
    // the `def` follow (after '\v').
    std::vector<ExprPtr> decorators;
    std::string pending;
    auto take = [&](TSNode c) {
      Cmt* cm = comment_at(ts_node_start_byte(c));
      if (!cm) return;
      cm->used = true;
      std::string t = comment_text(*cm);
      if (!cm->own_line && !decorators.empty()) append_trailing(*decorators.back(), t);
      else pending += t + "\n";
    };
    for (TSNode c : tree_named_children(n)) {
      if (type_of(c) == "comment") {
        take(c);
      } else if (type_of(c) == "decorator") {
        decorators.push_back(lift_expr(first_named(c)));
        decorators.back()->comment = pending + decorators.back()->comment;
        pending.clear();
        for (uint32_t k = 0; k < ts_node_named_child_count(c); ++k) {
          TSNode cc = ts_node_named_child(c, k);
          if (type_of(cc) == "comment") take(cc);
        }
      }
    }
    if (!pending.empty() && !decorators.empty()) {
      size_t start = 0;
      while (start < pending.size()) {
        size_t nl = pending.find('\n', start);
        decorators.back()->comment += "\v" + pending.substr(start, nl - start);
        start = nl + 1;
      }
    }
    TSNode def = field(n, kF.definition);
    StmtPtr s = type_of(def) == "class_definition" ? lift_class(def, decorators) : lift_def(def, decorators);
    s->loc = loc(n);
    for (auto& info : infos_)
      if (info.stmt == s.get()) info.begin = ts_node_start_byte(n);
    return s;
  }

  StmtPtr lift_def(TSNode n, std::vector<ExprPtr> decorators) {
    if (type_of(ts_node_child(n, 0)) == "async" || has(field(n, kF.type_parameters))) {
      if (!decorators.empty()) return other(ts_node_parent(n));
      return other(n);
    }
    auto s = make_stmt(StmtKind::FunctionDef, n);
    TSNode body = field(n, kF.body);
    note(s, n, colon_before(n, body), false);
    s->decorators = std::move(decorators);
    s->name = text(field(n, kF.name));
    std::string lost;
    s->magic_trailing_comma = lift_params(field(n, kF.parameters), s->params, nullptr, &lost);
    s->trailing_comment = lost;
    TSNode ret = field(n, kF.return_type);
    if (has(ret)) s->returns = lift_expr(ret);
    s->body = lift_block(body);
    return s;
  }

  StmtPtr lift_class(TSNode n, std::vector<ExprPtr> decorators) {
    if (has(field(n, kF.type_parameters))) return other(n);
    auto s = make_stmt(StmtKind::ClassDef, n);
    TSNode body = field(n, kF.body);
    note(s, n, colon_before(n, body), false);
    s->decorators = std::move(decorators);
    s->name = text(field(n, kF.name));
    TSNode sup = field(n, kF.superclasses);
    if (has(sup)) s->magic_trailing_comma = lift_arguments(sup, s->bases);
    s->body = lift_block(body);
    return s;
  }

  void lift_import_names(TSNode n, const StmtPtr& s) {
    bool comma = false;
    for (auto [c, field_name] : tree_children(n)) {
      std::string_view ty = type_of(c);
      if (ty == ",") { comma = true; continue; }
      if (ty == "wildcard_import") { s->names.push_back({"*", ""}); continue; }
      if (!field_name || std::strcmp(field_name, "name") != 0) continue;
      comma = false;
      if (ty == "aliased_import") s->names.push_back({text(field(c, kF.name)), text(field(c, kF.alias))});
      else s->names.push_back({text(c), ""});
    }
    s->magic_trailing_comma = comma && s->kind == StmtKind::ImportFrom;
  }

  StmtPtr lift_expression_statement(TSNode n) {
    std::vector<TSNode> kids;
    for (TSNode c : tree_named_children(n)) {
      if (type_of(c) != "comment") kids.push_back(c);
    }
    if (kids.size() == 1) {
      TSNode c = kids[0];
      std::string_view ty = type_of(c);
      if (ty == "assignment") return lift_assignment(n, c);
      if (ty == "augmented_assignment") {
        auto s = make_stmt(StmtKind::AugAssign, n);
        note(s, n, ts_node_end_byte(n), true);
        s->targets.push_back(lift_expr(field(c, kF.left)));
        s->op = type_of(field(c, kF.operator_));
        TSNode r = field(c, kF.right);
        if (type_of(r) == "yield") return other(n);
        s->value = lift_expr(r);
        return s;
      }
      if (ty == "yield") return other(n);
      auto s = make_stmt(StmtKind::Expr, n);
      note(s, n, ts_node_end_byte(n), true);
      s->value = lift_expr(c);
      return s;
    }
    // `a, b` as a statement: a tuple without parentheses.
    auto s = make_stmt(StmtKind::Expr, n);
    note(s, n, ts_node_end_byte(n), true);
    auto t = make(ExprKind::Tuple, n);
    for (TSNode c : kids) t->items.push_back(lift_expr(c));
    s->value = t;
    return s;
  }

  StmtPtr lift_assignment(TSNode stmt_node, TSNode a) {
    TSNode type = field(a, kF.type);
    if (has(type)) {
      auto s = make_stmt(StmtKind::AnnAssign, stmt_node);
      note(s, stmt_node, ts_node_end_byte(stmt_node), true);
      s->targets.push_back(lift_expr(field(a, kF.left)));
      s->annotation = lift_expr(type);
      TSNode r = field(a, kF.right);
      if (has(r)) {
        if (type_of(r) == "yield" || type_of(r) == "assignment") return other(stmt_node);
        s->value = lift_expr(r);
      }
      return s;
    }
    auto s = make_stmt(StmtKind::Assign, stmt_node);
    note(s, stmt_node, ts_node_end_byte(stmt_node), true);
    TSNode cur = a;
    while (true) {
      s->targets.push_back(lift_expr(field(cur, kF.left)));
      TSNode r = field(cur, kF.right);
      if (type_of(r) == "assignment" && !has(field(r, kF.type))) {
        cur = r;
        continue;
      }
      if (type_of(r) == "yield" || type_of(r) == "assignment" || type_of(r) == "augmented_assignment")
        return other(stmt_node);
      s->value = lift_expr(r);
      break;
    }
    return s;
  }

  // ---- statement comments and blank lines ---------------------------------
  std::vector<size_t> line_starts_;
  void index_lines() {
    line_starts_.clear();
    line_starts_.push_back(0);
    for (size_t i = 0; i < src_.size(); ++i)
      if (src_[i] == '\n') line_starts_.push_back(i + 1);
  }
  bool line_is_blank(int row) const {
    if (row < 0 || static_cast<size_t>(row) >= line_starts_.size()) return false;
    for (size_t i = line_starts_[row]; i < src_.size() && src_[i] != '\n'; ++i)
      if (src_[i] != ' ' && src_[i] != '\t' && src_[i] != '\r' && src_[i] != '\f') return false;
    return true;
  }

  // Module trailing comments: an empty entry for each kept blank line (up to 2, as at
  // top level).
  void push_module_trailing(Module& m, const Cmt& c, const std::string& t) {
    if (line_is_blank(c.line - 1)) {
      m.trailing_comments.push_back("");
      if (line_is_blank(c.line - 2)) m.trailing_comments.push_back("");
    }
    m.trailing_comments.push_back(t);
  }

  // An empty line anywhere between two byte offsets.
  bool blank_line_between(unsigned from, unsigned to) const {
    int a = line_of(from), z = line_of(to);
    for (int r = a + 1; r < z; ++r)
      if (line_is_blank(r)) return true;
    return false;
  }

  // Own-line comments after a statement: lines after the first of trailing_comment, an
  // empty line for each kept blank line (up to 2).
  void add_own_line_trailing(Stmt* s, const Cmt& c, const std::string& t) {
    if (line_is_blank(c.line - 1)) {
      s->trailing_comment += "\n";
      if (line_is_blank(c.line - 2)) s->trailing_comment += "\n";
    }
    s->trailing_comment += "\n" + t;
  }

  void attach_statement_comments(Module& m) {
    // Parents: the innermost earlier statement whose range holds this one.
    {
      std::vector<int> open;
      for (size_t i = 0; i < infos_.size(); ++i) {
        while (!open.empty() && infos_[static_cast<size_t>(open.back())].end <= infos_[i].begin) open.pop_back();
        // an else pseudo-statement's range is inside its owner
        infos_[i].parent = open.empty() ? -1 : open.back();
        if (!infos_[i].simple) open.push_back(static_cast<int>(i));
      }
    }
    auto append_trailing = [](Stmt* s, const std::string& t) {
      std::string& tc = s->trailing_comment;
      size_t nl = tc.find('\n');
      std::string eol = nl == std::string::npos ? tc : tc.substr(0, nl);
      std::string rest = nl == std::string::npos ? "" : tc.substr(nl);
      eol = eol.empty() ? t : eol + "  " + t;
      tc = eol + rest;
    };
    // 1. Trailing comments: on the header line of a statement, after its header.
    for (auto& c : cmts_) {
      if (c.used || c.own_line) continue;
      StmtInfo* best = nullptr;
      for (auto& info : infos_) {
        if (info.header_line == c.line && c.begin >= info.header_end) best = &info;  // innermost last
      }
      if (!best) {
        // Inside a statement's expression (not in an element list): keep it at the statement's end.
        for (auto& info : infos_)
          if (info.simple && c.begin >= info.begin && c.end <= info.end) best = &info;
          else if (!info.simple && c.begin >= info.begin && c.begin < info.header_end) best = &info;
      }
      if (!best) continue;
      c.used = true;
      if (best->is_else) {
        std::string& tc = best->stmt->else_trailing_comment;
        tc = tc.empty() ? comment_text(c) : tc + "  " + comment_text(c);
      } else {
        append_trailing(best->stmt, comment_text(c));
      }
    }
    // 2. Own-line comments: lead the next statement (or else clause) when indented like it
    //    or less; comments indented deeper trail the block that ends before them.
    std::vector<size_t> order(infos_.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return infos_[a].begin < infos_[b].begin; });
    std::unordered_map<const void*, int> first_comment_row;
    std::unordered_map<const Stmt*, int> first_else_comment_row;
    for (auto& c : cmts_) {
      if (c.used) continue;
      c.used = true;
      int column = static_cast<int>(c.begin - line_starts_[static_cast<size_t>(c.line)]);
      auto it = std::upper_bound(order.begin(), order.end(), c.begin,
                                 [&](unsigned b, size_t i) { return b < infos_[i].begin; });
      const StmtInfo* next = it == order.end() ? nullptr : &infos_[*it];
      std::string t = comment_text(c);
      // The statement that ends last before the comment (innermost).
      int prev = -1;
      for (size_t i = 0; i < infos_.size(); ++i)
        if (!infos_[i].is_else && infos_[i].end <= c.begin && (prev < 0 || infos_[i].end >= infos_[static_cast<size_t>(prev)].end)) prev = static_cast<int>(i);
      bool lead = next && column <= next->column;
      if (lead && !next->is_else && prev >= 0 && blank_line_between(c.end, next->begin)) {
        // ruff: a comment set apart from the next statement by an empty line trails the
        // statement before it (its sibling in the same block), when there is one.
        int p = prev;
        int want = next->parent;
        while (p >= 0 && infos_[static_cast<size_t>(p)].parent != want) p = infos_[static_cast<size_t>(p)].parent;
        if (p >= 0 && !infos_[static_cast<size_t>(p)].is_else) {
          Stmt* s = infos_[static_cast<size_t>(p)].stmt;
          add_own_line_trailing(s, c, t);
          continue;
        }
      }
      if (!lead && prev >= 0) {
        // climb to the statement whose block the comment's indentation belongs to
        int p = prev;
        while (p >= 0 && infos_[static_cast<size_t>(p)].column > column) p = infos_[static_cast<size_t>(p)].parent;
        while (p >= 0 && (infos_[static_cast<size_t>(p)].is_else || infos_[static_cast<size_t>(p)].stmt->is_elif))
          p = infos_[static_cast<size_t>(p)].parent;
        if (p >= 0 && !(next == nullptr && column == 0 && infos_[static_cast<size_t>(p)].parent < 0 && false)) {
          Stmt* s = infos_[static_cast<size_t>(p)].stmt;
          if (next == nullptr && infos_[static_cast<size_t>(p)].parent < 0) {
            // after the last top-level statement: the module's trailing comments
          } else {
            add_own_line_trailing(s, c, t);
            continue;
          }
        }
        if (!next) {
          push_module_trailing(m, c, t);
          continue;
        }
      }
      if (!next) {
          push_module_trailing(m, c, t);
        continue;
      }
      if (next->is_else) {
        auto& lc = next->stmt->else_leading_comments;
        if (!lc.empty() && line_is_blank(c.line - 1)) lc.push_back("");
        if (lc.empty()) first_else_comment_row[next->stmt] = c.line;
        lc.push_back(t);
        continue;
      }
      Stmt* s = next->stmt;
      if (!s->leading_comments.empty() && line_is_blank(c.line - 1)) {
        s->leading_comments.push_back("");
        if (line_is_blank(c.line - 2)) s->leading_comments.push_back("");  // kept at top level
      }
      if (s->leading_comments.empty()) first_comment_row[s] = c.line;
      s->leading_comments.push_back(t);
    }
    // 3. Blank lines: an empty line right above the statement's first leading comment (or
    //    the statement); one between its last comment and itself stays an empty entry.
    for (auto& info : infos_) {
      Stmt* s = info.stmt;
      if (info.is_else) {
        int row = line_of(info.begin);
        if (!s->else_leading_comments.empty() && line_is_blank(row - 1)) s->else_leading_comments.push_back("");
        auto it = first_else_comment_row.find(s);
        int start = it == first_else_comment_row.end() ? row : it->second;
        s->blank_line_before_else = line_is_blank(start - 1);
        continue;
      }
      int row = s->loc.line - 1;
      bool starts_line = true;
      for (size_t i = line_starts_[static_cast<size_t>(row)]; i < s->loc.begin; ++i)
        if (src_[i] != ' ' && src_[i] != '\t' && src_[i] != '\f') starts_line = false;
      if (!starts_line) continue;  // `def f(): ...`, `x = 1; y = 2`
      if (!s->leading_comments.empty() && line_is_blank(row - 1)) {
        s->leading_comments.push_back("");
        if (line_is_blank(row - 2)) s->leading_comments.push_back("");  // kept at top level
      }
      auto it = first_comment_row.find(s);
      int start = it == first_comment_row.end() ? row : it->second;
      s->blank_line_before = line_is_blank(start - 1);
      s->empty_lines_before = s->blank_line_before ? (line_is_blank(start - 2) ? 2 : 1) : 0;
    }
  }
};

}  // namespace

Module parse_module(std::string_view text, const std::string& file) {
  TreePtr tree = parse_tree(text);
  Lifter lifter(text, file);
  return lifter.run(ts_tree_root_node(tree.get()));
}

size_t parse_only(std::string_view text) {
  TreePtr tree = parse_tree(text);
  TSTreeCursor cursor = ts_tree_cursor_new(ts_tree_root_node(tree.get()));
  size_t count = 0;
  // Iterative pre-order walk with a cursor (no recursion, no allocation per node).
  bool done = false;
  while (!done) {
    ++count;
    if (ts_tree_cursor_goto_first_child(&cursor)) continue;
    while (!ts_tree_cursor_goto_next_sibling(&cursor)) {
      if (!ts_tree_cursor_goto_parent(&cursor)) {
        done = true;
        break;
      }
    }
  }
  ts_tree_cursor_delete(&cursor);
  return count;
}

}  // namespace nnport::syntax
