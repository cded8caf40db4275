// Layout (paper 4.3): decides for every value whether the migrated model holds it
// channel-first or channel-last, and where transposes go. Convolutions and pooling run
// in the target's native layout; operations whose meaning depends on axis order
// (flatten, reshape, permute, indexing, linear on a spatial tensor) see the source
// layout; transposes are inserted only where a region of one layout meets the other.
#pragma once

#include "pivot/model.h"

namespace nnport::passes {

struct LayoutPlan {
  // Per model input: permutation (with the batch axis) from the source input to the
  // migrated model's input; empty = identity.
  std::vector<std::vector<int>> input_permutations;
  // Per model output: permutation applied at the end of the migrated model (keep), or
  // the permutation that brings the migrated model's output back to the source layout
  // (native, where the model returns channel-last tensors).
  std::vector<std::vector<int>> output_permutations;
  bool outputs_in_target_layout = false;  // native: outputs are left channel-last
};

// `target_native` is the layout convolutions run in, in the target framework;
// `keep`: the migrated model accepts/returns the source's layout.
LayoutPlan assign_layouts(pivot::Model& m, pivot::Layout target_native, bool keep);

// Permutation (with batch axis) turning a channel-first tensor of `rank` axes into
// channel-last, and its inverse.
std::vector<int> to_channels_last(size_t rank);
std::vector<int> to_channels_first(size_t rank);

}  // namespace nnport::passes
