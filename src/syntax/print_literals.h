// The printer's Python helpers: operator precedence, the spelling of number and string
// literals and comments as ruff writes them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "syntax/ast.h"

namespace nnport::syntax::printing {
// Precedence levels (higher binds tighter), Python's table.
enum Prec {
  P_LAMBDA = 1,
  P_IFEXP,
  P_OR,
  P_AND,
  P_NOT,
  P_CMP,
  P_BOR,
  P_BXOR,
  P_BAND,
  P_SHIFT,
  P_ARITH,
  P_TERM,
  P_UNARY,
  P_POWER,
  P_AWAIT,
  P_ATOM,
};

// Parentheses the source wrote around an expression (a Tuple's flag means its own ones).
inline bool sp(const Expr& e) { return e.parenthesized && e.kind != ExprKind::Tuple; }

int binop_prec(const std::string& op);

int prec(const Expr& e);

enum class Level { TopLevel, Compound, Expression, Parenthesized };

// ---- literals -------------------------------------------------------------

std::string float_repr(double v);

// ruff's number normalisation: lowercase prefixes/exponent/suffix, uppercase hex digits,
// a trailing `.` gets a `0`.
std::string normalize_number(const std::string& t);

bool is_decimal_int_spelling(const Expr& e);

void append_utf8(std::string& out, unsigned long cp);

// Decodes a string literal's spelling (the parser's rules) to compare
// against the node's value.
bool decode_spelling(const std::string& raw, std::string& out, std::string& prefix, std::string& quote, std::string& body);

// Chooses the quote ruff would use and re-escapes the body.
std::string normalize_string_spelling(const std::string& raw, bool docstring);

// A string value written as a Python literal (double quotes unless more escapes).
std::string quote_value(const std::string& v);

std::string string_literal(const Expr& e);

bool is_multiline_string(const Expr& e);

// ---- comments ---------------------------------------------------------------

// The comment after an opening bracket, kept on the first element ("\f# ...\n").
std::string open_bracket_comment(const std::string& first_comment);

std::string normalize_comment(const std::string& c);

bool is_pragma(const std::string& c);

// Splits Expr::comment into own-line comments above the element and the trailing one.
void split_element_comment(const std::string& full, std::vector<std::string>& above, std::string& trailing, std::vector<std::string>* below = nullptr);


}  // namespace nnport::syntax::printing
