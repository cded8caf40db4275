#include "syntax/print_literals.h"

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

namespace nnport::syntax::printing {

int binop_prec(const std::string& op) {
  if (op == "|") return P_BOR;
  if (op == "^") return P_BXOR;
  if (op == "&") return P_BAND;
  if (op == "<<" || op == ">>") return P_SHIFT;
  if (op == "+" || op == "-") return P_ARITH;
  if (op == "**") return P_POWER;
  return P_TERM;  // * / // % @
}

int prec(const Expr& e) {
  switch (e.kind) {
    case ExprKind::Lambda: return P_LAMBDA;
    case ExprKind::IfExp: return P_IFEXP;
    case ExprKind::BoolOp: return e.name == "or" ? P_OR : P_AND;
    case ExprKind::UnaryOp: return e.name == "not" ? P_NOT : P_UNARY;
    case ExprKind::Compare: return P_CMP;
    case ExprKind::BinOp: return binop_prec(e.name);
    case ExprKind::Tuple: return e.parenthesized || e.items.size() == 0 ? P_ATOM : 0;
    case ExprKind::Starred: return P_ATOM - 1;
    default: return P_ATOM;
  }
}

std::string float_repr(double v) {
  if (std::isnan(v)) return "float(\"nan\")";
  if (std::isinf(v)) return v > 0 ? "float(\"inf\")" : "-float(\"inf\")";
  char buf[64];
  int prec_digits = 1;
  for (; prec_digits <= 17; ++prec_digits) {
    std::snprintf(buf, sizeof buf, "%.*e", prec_digits - 1, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  // buf holds d.ddde±XX with the shortest digits: rebuild Python's repr.
  std::string s(buf);
  bool neg = s[0] == '-';
  if (neg) s = s.substr(1);
  size_t epos = s.find('e');
  std::string mant = s.substr(0, epos);
  int exp = std::atoi(s.c_str() + epos + 1);
  std::string digits;
  for (char c : mant)
    if (c != '.') digits += c;
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  std::string r;
  if (exp >= 16 || exp < -4) {
    r = digits.substr(0, 1);
    if (digits.size() > 1) r += "." + digits.substr(1);
    char eb[16];
    std::snprintf(eb, sizeof eb, "e%c%02d", exp < 0 ? '-' : '+', std::abs(exp));
    r += eb;
  } else if (exp >= 0) {
    if (static_cast<int>(digits.size()) <= exp + 1) {
      r = digits + std::string(static_cast<size_t>(exp + 1) - digits.size(), '0') + ".0";
    } else {
      r = digits.substr(0, static_cast<size_t>(exp + 1)) + "." + digits.substr(static_cast<size_t>(exp + 1));
    }
  } else {
    r = "0." + std::string(static_cast<size_t>(-exp - 1), '0') + digits;
  }
  return neg ? "-" + r : r;
}

std::string normalize_number(const std::string& t) {
  std::string s = t;
  if (s.size() > 1 && s[0] == '0' && std::isalpha(static_cast<unsigned char>(s[1]))) {
    char p = static_cast<char>(std::tolower(static_cast<unsigned char>(s[1])));
    s[1] = p;
    if (p == 'x') {
      for (size_t i = 2; i < s.size(); ++i) s[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(s[i])));
    }
    return s;
  }
  for (auto& c : s)
    if (c == 'E' || c == 'J') c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  size_t eplus = s.find("e+");
  if (eplus != std::string::npos) s.erase(eplus + 1, 1);  // `1e+05` -> `1e05`
  // `1.` -> `1.0`, `1.e5` -> `1.0e5`, `.5` -> `0.5`.
  if (!s.empty() && s[0] == '.') s = "0" + s;
  size_t dot = s.find('.');
  if (dot != std::string::npos) {
    bool digit_after = dot + 1 < s.size() && std::isdigit(static_cast<unsigned char>(s[dot + 1]));
    if (!digit_after) s.insert(dot + 1, "0");
  }
  return s;
}

bool is_decimal_int_spelling(const Expr& e) {
  if (e.kind != ExprKind::Int) return false;
  std::string t = e.text.empty() ? std::to_string(e.int_value) : e.text;
  return !(t.size() > 1 && t[0] == '0' && std::isalpha(static_cast<unsigned char>(t[1])));
}

void append_utf8(std::string& out, unsigned long cp) {
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

bool decode_spelling(const std::string& raw, std::string& out, std::string& prefix, std::string& quote, std::string& body) {
  size_t i = 0;
  while (i < raw.size() && raw[i] != '"' && raw[i] != '\'') ++i;
  if (i >= raw.size()) return false;
  prefix = raw.substr(0, i);
  char q = raw[i];
  size_t qlen = raw.size() - i >= 6 && raw.compare(i, 3, std::string(3, q)) == 0 ? 3 : 1;
  quote = raw.substr(i, qlen);
  if (raw.size() < i + 2 * qlen) return false;
  body = raw.substr(i + qlen, raw.size() - i - 2 * qlen);
  bool is_raw = false;
  for (char c : prefix)
    if (c == 'r' || c == 'R') is_raw = true;
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
        unsigned long cp = std::strtoul(body.substr(k + 1, len).c_str(), nullptr, 16);
        k += len;
        append_utf8(out, cp);
        break;
      }
      case 'N': {
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
          append_utf8(out, v);
        } else {
          out += '\\';
          out += n;
        }
    }
  }
  return true;
}

std::string normalize_string_spelling(const std::string& raw, bool docstring) {
  std::string value, prefix, quote, body;
  size_t i = 0;
  while (i < raw.size() && raw[i] != '"' && raw[i] != '\'') ++i;
  if (i >= raw.size()) return raw;
  prefix = raw.substr(0, i);
  // ruff's prefix: `r`/`R` first (its case kept), then lowercase `b`/`f`/`t`; `u` dropped.
  std::string np, rest;
  for (char c : prefix) {
    if (c == 'u' || c == 'U') continue;
    if (c == 'r' || c == 'R') np += c;
    else rest += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  np += rest;
  char q = raw[i];
  size_t qlen = raw.size() - i >= 6 && raw.compare(i, 3, std::string(3, q)) == 0 ? 3 : 1;
  if (raw.size() < i + 2 * qlen) return raw;
  body = raw.substr(i + qlen, raw.size() - i - 2 * qlen);
  bool is_raw = np.find('r') != std::string::npos || np.find('R') != std::string::npos;
  bool is_f = np.find('f') != std::string::npos;
  if (!np.empty() && (np[0] == 'r' || np[0] == 'R')) {
    // raw: no escapes to normalise
  } else {
    bool is_bytes = np.find('b') != std::string::npos;
    std::string nb;
    for (size_t k = 0; k < body.size(); ++k) {
      char c = body[k];
      if (c != '\\' || k + 1 >= body.size()) {
        nb += c;
        continue;
      }
      char n = body[k + 1];
      nb += c;
      nb += n;
      ++k;
      size_t len = n == 'x' ? 2 : (n == 'u' && !is_bytes) ? 4 : (n == 'U' && !is_bytes) ? 8 : 0;
      if (len) {
        for (size_t j = 0; j < len && k + 1 < body.size() && std::isxdigit(static_cast<unsigned char>(body[k + 1])); ++j)
          nb += static_cast<char>(std::tolower(static_cast<unsigned char>(body[++k])));
      } else if (n == 'N' && !is_bytes && k + 1 < body.size() && body[k + 1] == '{') {
        while (k + 1 < body.size() && body[k] != '}') nb += static_cast<char>(std::toupper(static_cast<unsigned char>(body[++k])));
      }
    }
    body = nb;
  }
  if (qlen == 3) {
    // Triple-quoted: """ unless the body has """ or ends with `"`.
    if (q == '"') return np + std::string(qlen, q) + body + std::string(qlen, q);
    if (body.find("\"\"\"") != std::string::npos || (!body.empty() && body.back() == '"'))
      return np + std::string(qlen, q) + body + std::string(qlen, q);
    return np + "\"\"\"" + body + "\"\"\"";
  }
  (void)docstring;
  // Count quotes (unescaped) to decide.
  int singles = 0, doubles = 0;
  for (size_t k = 0; k < body.size(); ++k) {
    if (body[k] == '\\' && k + 1 < body.size()) {
      char n = body[k + 1];
      if (n == '\'') ++singles;
      if (n == '"') ++doubles;
      ++k;
      continue;
    }
    if (body[k] == '\'') ++singles;
    if (body[k] == '"') ++doubles;
  }
  if (is_f) {
    // Quotes inside replacement fields can't be re-escaped (before 3.12): keep the spelling.
    int depth = 0;
    for (size_t k = 0; k < body.size(); ++k) {
      char c = body[k];
      if (depth == 0 && (c == '{' || c == '}') && k + 1 < body.size() && body[k + 1] == c) {
        ++k;
        continue;
      }
      if (c == '{') ++depth;
      else if (c == '}' && depth > 0) --depth;
      else if (depth > 0 && (c == '\'' || c == '"' || c == '\\'))
        return np + std::string(qlen, q) + body + std::string(qlen, q);
    }
  }
  char pref = doubles > singles ? '\'' : '"';
  if (is_raw) {
    // Raw strings can't re-escape: switch only if the body lacks the preferred quote.
    if (q == pref || body.find(pref) != std::string::npos) return np + std::string(qlen, q) + body + std::string(qlen, q);
    return np + pref + body + pref;
  }
  std::string out;
  for (size_t k = 0; k < body.size(); ++k) {
    char c = body[k];
    if (c == '\\' && k + 1 < body.size()) {
      char n = body[k + 1];
      if ((n == '\'' || n == '"') && n != pref) {
        out += n;  // unnecessary escape
      } else {
        out += c;
        out += n;
      }
      ++k;
      continue;
    }
    if (c == pref) out += '\\';
    out += c;
  }
  return np + pref + out + pref;
}

std::string quote_value(const std::string& v) {
  int singles = 0, doubles = 0;
  for (char c : v) {
    if (c == '\'') ++singles;
    if (c == '"') ++doubles;
  }
  char q = doubles > singles ? '\'' : '"';
  std::string out(1, q);
  for (unsigned char c : v) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c == static_cast<unsigned char>(q)) {
          out += '\\';
          out += static_cast<char>(c);
        } else if (c < 0x20 || c == 0x7f) {
          char b[8];
          std::snprintf(b, sizeof b, "\\x%02x", c);
          out += b;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += q;
  return out;
}

std::string string_literal(const Expr& e) {
  if (e.is_fstring) return normalize_string_spelling(e.text.empty() ? e.name : e.text, false);
  if (!e.name.empty() && e.values.empty()) {
    // The source spelling is kept (normalised like ruff) while it still holds the value.
    std::string value, prefix, quote, body;
    bool bytes = false;
    for (char c : e.name) {
      if (c == '"' || c == '\'') break;
      if (c == 'b' || c == 'B') bytes = true;
    }
    if (bytes || (decode_spelling(e.name, value, prefix, quote, body) && value == e.text))
      return normalize_string_spelling(e.name, false);
  }
  return quote_value(e.text);
}

bool is_multiline_string(const Expr& e) {
  if (e.kind != ExprKind::String) return false;
  std::string s = string_literal(e);
  return s.find('\n') != std::string::npos;
}

std::string open_bracket_comment(const std::string& first_comment) {
  if (first_comment.empty() || first_comment[0] != '\f') return "";
  size_t nl = first_comment.find('\n');
  return first_comment.substr(1, nl == std::string::npos ? std::string::npos : nl - 1);
}

std::string normalize_comment(const std::string& c) {
  std::string t = c;
  while (!t.empty() && (t.back() == ' ' || t.back() == '\t' || t.back() == '\r')) t.pop_back();
  if (t.empty() || t[0] != '#') t = "# " + t;
  std::string content = t.substr(1);
  if (content.empty()) return "#";
  char f = content[0];
  if (f == ' ' || f == '!' || f == ':' || f == '#' || f == '\'' || f == '|') return t;
  return "# " + content;
}

bool is_pragma(const std::string& c) {
  std::string s = c.substr(1);
  size_t i = 0;
  while (i < s.size() && s[i] == ' ') ++i;
  s = s.substr(i);
  static const char* prefixes[] = {"noqa", "type:", "pyright:", "pylint:", "nosec", "isort:", "ruff:", "mypy:", "flake8"};
  for (const char* p : prefixes)
    if (s.compare(0, std::strlen(p), p) == 0) return true;
  return false;
}

void split_element_comment(const std::string& full, std::vector<std::string>& above, std::string& trailing, std::vector<std::string>* below) {
  std::string c = full.substr(0, full.find('\v'));
  if (!c.empty() && c[0] == '\f') {
    size_t nl = c.find('\n');
    c = nl == std::string::npos ? std::string() : c.substr(nl + 1);
  }
  if (below) {
    size_t v = full.find('\v');
    while (v != std::string::npos) {
      size_t next = full.find('\v', v + 1);
      below->push_back(full.substr(v + 1, next == std::string::npos ? std::string::npos : next - v - 1));
      v = next;
    }
  }
  size_t start = 0;
  while (true) {
    size_t nl = c.find('\n', start);
    if (nl == std::string::npos) {
      trailing = c.substr(start);
      return;
    }
    above.push_back(c.substr(start, nl - start));
    start = nl + 1;
  }
}

}  // namespace nnport::syntax::printing
