#pragma once
#include <vector>

#include "catalog/catalog.h"

namespace nnport::catalog {
std::vector<OpDef> build_table();  // the entries (table.cc)
}
