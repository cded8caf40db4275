// The helper layers the Keras backend writes into a generated file when it needs them.
#pragma once

#include <string>

namespace nnport::backends {

// PyTorch's AdaptiveAvgPool2d / AdaptiveMaxPool2d as a Keras layer class named `cls`
// (`layers` and `ops` are the spellings of keras.layers. and keras.ops. in the file).
std::string keras_adaptive_pooling_source(const std::string& cls, const std::string& layers, const std::string& ops,
                                          bool is_max);

}  // namespace nnport::backends
