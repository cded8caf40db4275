#include "backends/common/graph_index.h"

namespace nnport::backends {

GraphIndex::GraphIndex(const pivot::Model& m) {
  for (const auto& n : m.nodes) {
    by_parent_[n.parent].push_back(&n);
    if (n.kind != "call") continue;
    chained_.emplace(std::make_pair(n.parent, n.child_index), &n);  // the first one wins
    called_.insert(n.module);
    if (!n.parent.empty()) chained_calls_.insert(n.module);
  }
}

const pivot::Node* GraphIndex::chained(const std::string& container, int index) const {
  auto it = chained_.find({container, index});
  return it == chained_.end() ? nullptr : it->second;
}

const std::vector<const pivot::Node*>& GraphIndex::chained_by(const std::string& container) const {
  static const std::vector<const pivot::Node*> kNone;
  auto it = by_parent_.find(container);
  return it == by_parent_.end() ? kNone : it->second;
}

}  // namespace nnport::backends
