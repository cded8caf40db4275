// Lookups over the pivot graph that both backends make for every layer or node they
// write, answered from indexes built once: scanning all of Model::nodes for each of them
// made emission quadratic in the model's size.
#pragma once

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "pivot/model.h"

namespace nnport::backends {

class GraphIndex {
 public:
  // Indexes `m.nodes`, which must not change while the index is used.
  explicit GraphIndex(const pivot::Model& m);

  // The first node (in graph order) that calls child `index` of the container at
  // `container` through the container's chain (Node::parent, Node::child_index); null if
  // none.
  const pivot::Node* chained(const std::string& container, int index) const;
  // The nodes whose Node::parent is `container`, in graph order.
  const std::vector<const pivot::Node*>& chained_by(const std::string& container) const;
  // Does a container chain a call of the module at `path` (a "call" node with a parent)?
  bool chained_call(const std::string& path) const { return chained_calls_.count(path) > 0; }
  // Does any "call" node call the module at `path`?
  bool called(const std::string& path) const { return called_.count(path) > 0; }

 private:
  std::map<std::pair<std::string, int>, const pivot::Node*> chained_;
  std::map<std::string, std::vector<const pivot::Node*>> by_parent_;
  std::set<std::string> chained_calls_, called_;
};

}  // namespace nnport::backends
