// Shape inference (paper 4.1): propagates shapes through the graph from the model's
// inputs and fills the attributes a target framework needs but a source may not state
// (in_features, in_channels, input_size, num_features, normalized_shape).
// Partial, like ONNX's: an unknown dimension stays unknown; only a contradiction is an error.
#pragma once

#include "pivot/model.h"

namespace nnport::passes {

// Output shapes of one node from its inputs' shapes (in the source framework's layout).
void infer_node(pivot::Model& m, pivot::Node& n);
// The pass: every node in order; records each layer's first input/output shapes.
void infer_shapes(pivot::Model& m);

// Normalises an int-or-tuple attribute to `rank` entries.
std::vector<long long> expand(const pivot::Attr& a, int rank, long long fallback);

}  // namespace nnport::passes
