#include "backends/keras/keras_helpers.h"

#include <fmt/format.h>

namespace nnport::backends {

std::string keras_adaptive_pooling_source(const std::string& cls, const std::string& layers, const std::string& ops,
                                          bool is_max) {
  return fmt::format(
      "class {0}({1}Layer):\n"
      "    \"\"\"PyTorch's Adaptive{2}Pool2d for channel-last inputs.\n\n"
      "    Output cell (i, j) pools input rows floor(i * H / h) to ceil((i + 1) * H / h) and\n"
      "    the columns likewise, so bins may overlap or repeat when H is not a multiple of h.\n"
      "    \"\"\"\n\n"
      "    def __init__(self, output_size, **kwargs):\n"
      "        super().__init__(**kwargs)\n"
      "        if isinstance(output_size, int):\n"
      "            output_size = (output_size, output_size)\n"
      "        self.output_size = tuple(output_size)\n\n"
      "    def call(self, x):\n"
      "        height, width = x.shape[1], x.shape[2]\n"
      "        out_h = self.output_size[0] or height\n"
      "        out_w = self.output_size[1] or width\n"
      "        rows = []\n"
      "        for i in range(out_h):\n"
      "            top, bottom = (i * height) // out_h, -(-((i + 1) * height) // out_h)\n"
      "            cells = []\n"
      "            for j in range(out_w):\n"
      "                left, right = (j * width) // out_w, -(-((j + 1) * width) // out_w)\n"
      "                window = x[:, top:bottom, left:right, :]\n"
      "                cells.append({3}{4}(window, axis=(1, 2)))\n"
      "            rows.append({3}stack(cells, axis=1))\n"
      "        return {3}stack(rows, axis=1)\n\n"
      "    def get_config(self):\n"
      "        return {{**super().get_config(), \"output_size\": self.output_size}}\n",
      cls, layers, is_max ? "Max" : "Avg", ops, is_max ? "max" : "mean");
}

}  // namespace nnport::backends
