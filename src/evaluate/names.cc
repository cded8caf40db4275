#include "evaluate/names.h"

namespace nnport::evaluate {

size_t Names::position(const std::string& name) const {
  if (entries_.size() <= kScanned) {
    for (size_t i = 0; i < entries_.size(); ++i)
      if (entries_[i].first == name) return i;
    return npos;
  }
  auto it = index_.find(name);
  return it == index_.end() ? npos : it->second;
}

size_t Names::set(const std::string& name, ValuePtr v) {
  size_t i = position(name);
  if (i != npos) {
    entries_[i].second = std::move(v);
    return i;
  }
  entries_.emplace_back(name, std::move(v));
  if (entries_.size() == kScanned + 1)  // from now on through the index
    for (size_t k = 0; k < entries_.size(); ++k) index_.emplace(entries_[k].first, k);
  else if (entries_.size() > kScanned + 1)
    index_.emplace(name, entries_.size() - 1);
  return entries_.size() - 1;
}

}  // namespace nnport::evaluate
