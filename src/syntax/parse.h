// parse: Python source text -> syntax::Module, through tree-sitter and its Python grammar.
#pragma once

#include <string>
#include <string_view>

#include "syntax/ast.h"

namespace nnport::syntax {

// Parses `text` (the contents of `file`). On a syntax error throws MigrationError
// pointing at the first ERROR or MISSING node of tree-sitter's tree. Constructs
// outside the supported subset are not errors: they become StmtKind::Other with
// their verbatim text, or (inside expressions) a MigrationError naming the construct.
Module parse_module(std::string_view text, const std::string& file);

// Parses only, returns the number of syntax nodes (benchmark floor: the parse-only cost).
size_t parse_only(std::string_view text);

}  // namespace nnport::syntax
