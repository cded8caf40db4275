// The helper modules the PyTorch backend writes into a generated file when it needs them.
#pragma once

#include <map>
#include <string>

namespace nnport::backends {

// Helper class name -> its Python source ("Permute", "Reshape", "Activation", "KerasLSTM", ...).
const std::map<std::string, std::string>& torch_helper_sources();

}  // namespace nnport::backends
