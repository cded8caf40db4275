// The helper modules the PyTorch backend writes into a generated file when it needs them
// (Permute, Reshape, Activation, the Keras-output recurrent layers), as Python source.
#include "backends/torch/torch_helpers.h"

namespace nnport::backends {

const std::map<std::string, std::string>& torch_helper_sources() {
  static const std::map<std::string, std::string> kHelperSources = {
      {"Permute",
       "class Permute(nn.Module):\n"
       "    \"\"\"Reorders a tensor's axes (batch axis included), like Tensor.permute.\"\"\"\n\n"
       "    def __init__(self, *dims):\n"
       "        super().__init__()\n"
       "        self.dims = dims\n\n"
       "    def forward(self, x):\n"
       "        return x.permute(*self.dims)\n\n"
       "    def extra_repr(self):\n"
       "        return \", \".join(map(str, self.dims))\n"},
      {"Reshape",
       "class Reshape(nn.Module):\n"
       "    \"\"\"Reshapes every sample to `shape` (the batch axis is kept), like keras.layers.Reshape.\"\"\"\n\n"
       "    def __init__(self, *shape):\n"
       "        super().__init__()\n"
       "        self.shape = shape\n\n"
       "    def forward(self, x):\n"
       "        return x.reshape(x.shape[0], *self.shape)\n\n"
       "    def extra_repr(self):\n"
       "        return \", \".join(map(str, self.shape))\n"},
      {"Activation",
       "class Activation(nn.Module):\n"
       "    \"\"\"A Keras activation given by name, looked up when the model is built.\n\n"
       "    The name comes from a constructor argument, or from a value nnport could not\n"
       "    resolve statically (see the warning it printed).\n"
       "    \"\"\"\n\n"
       "    def __init__(self, name):\n"
       "        super().__init__()\n"
       "        functions = {\n"
       "            None: nn.Identity,\n"
       "            \"linear\": nn.Identity,\n"
       "            \"relu\": nn.ReLU,\n"
       "            \"relu6\": nn.ReLU6,\n"
       "            \"sigmoid\": nn.Sigmoid,\n"
       "            \"tanh\": nn.Tanh,\n"
       "            \"elu\": nn.ELU,\n"
       "            \"selu\": nn.SELU,\n"
       "            \"gelu\": nn.GELU,\n"
       "            \"swish\": nn.SiLU,\n"
       "            \"silu\": nn.SiLU,\n"
       "            \"softplus\": nn.Softplus,\n"
       "            \"softsign\": nn.Softsign,\n"
       "            \"hard_sigmoid\": nn.Hardsigmoid,\n"
       "            \"mish\": nn.Mish,\n"
       "            \"softmax\": lambda: nn.Softmax(dim=-1),\n"
       "            \"log_softmax\": lambda: nn.LogSoftmax(dim=-1),\n"
       "            \"leaky_relu\": lambda: nn.LeakyReLU(0.2),\n"
       "        }\n"
       "        if callable(name):\n"
       "            name = name.__name__\n"
       "        if name not in functions:\n"
       "            raise ValueError(f\"unknown activation {name!r}\")\n"
       "        self.name = name\n"
       "        self.function = functions[name]()\n\n"
       "    def forward(self, x):\n"
       "        return self.function(x)\n"},
      {"KerasRecurrent",
       "class KerasRecurrent:\n"
       "    \"\"\"Gives a PyTorch recurrent layer the outputs of its Keras counterpart.\n\n"
       "    The whole sequence (return_sequences=True) or the last step, then the final states\n"
       "    (return_state=True); a bidirectional layer merges its two directions like\n"
       "    keras.layers.Bidirectional (merge_mode). Input is batch-first.\n"
       "    \"\"\"\n\n"
       "    single_bias = True  # Keras's layer has one bias per gate\n\n"
       "    def __init__(self, *args, return_sequences=False, return_state=False, merge_mode=\"concat\", **kwargs):\n"
       "        super().__init__(*args, batch_first=True, **kwargs)\n"
       "        self.return_sequences = return_sequences\n"
       "        self.return_state = return_state\n"
       "        self.merge_mode = merge_mode\n"
       "        if self.single_bias and self.bias:\n"
       "            # PyTorch adds two biases (bias_ih + bias_hh) where Keras has one: the second\n"
       "            # stays zero and out of training, or the bias would learn twice as fast\n"
       "            for name, parameter in self.named_parameters():\n"
       "                if name.startswith(\"bias_hh\"):\n"
       "                    nn.init.zeros_(parameter)\n"
       "                    parameter.requires_grad_(False)\n\n"
       "    def forward(self, x):\n"
       "        output, state = super().forward(x)\n"
       "        states = list(state) if isinstance(state, tuple) else [state]\n"
       "        if self.bidirectional:\n"
       "            forward, backward = output.chunk(2, dim=-1)\n"
       "            # the backward direction ends at the first step\n"
       "            if not self.return_sequences:\n"
       "                forward, backward = forward[:, -1], backward[:, 0]\n"
       "            if self.merge_mode == \"concat\":\n"
       "                y = torch.cat([forward, backward], dim=-1)\n"
       "            elif self.merge_mode == \"sum\":\n"
       "                y = forward + backward\n"
       "            elif self.merge_mode == \"mul\":\n"
       "                y = forward * backward\n"
       "            else:\n"
       "                y = (forward + backward) / 2\n"
       "            finals = [s[-2] for s in states] + [s[-1] for s in states]\n"
       "        else:\n"
       "            y = output if self.return_sequences else output[:, -1]\n"
       "            finals = [s[-1] for s in states]\n"
       "        return [y, *finals] if self.return_state else y\n"},
      {"KerasLSTM", "class KerasLSTM(KerasRecurrent, nn.LSTM):\n    \"\"\"nn.LSTM with keras.layers.LSTM's outputs.\"\"\"\n"},
      {"GRUResetBefore",
       "class GRUResetBefore(nn.GRU):\n"
       "    \"\"\"A GRU that applies the reset gate before the recurrent product (Keras's\n"
       "    reset_after=False); nn.GRU applies it after. Same parameters as nn.GRU.\n"
       "    \"\"\"\n\n"
       "    def forward(self, x):\n"
       "        outputs, finals = [], []\n"
       "        for suffix in [\"\", \"_reverse\"][: 2 if self.bidirectional else 1]:\n"
       "            w_ih, w_hh = getattr(self, \"weight_ih_l0\" + suffix), getattr(self, \"weight_hh_l0\" + suffix)\n"
       "            b_ih = getattr(self, \"bias_ih_l0\" + suffix, None)\n"
       "            b_hh = getattr(self, \"bias_hh_l0\" + suffix, None)\n"
       "            gates_x = nn.functional.linear(x, w_ih, b_ih)\n"
       "            h = x.new_zeros(x.shape[0], self.hidden_size)\n"
       "            steps = range(x.shape[1] - 1, -1, -1) if suffix else range(x.shape[1])\n"
       "            sequence = [None] * x.shape[1]\n"
       "            w_hr, w_hz, w_hn = w_hh.chunk(3)\n"
       "            b_hr, b_hz, b_hn = b_hh.chunk(3) if b_hh is not None else (None, None, None)\n"
       "            for t in steps:\n"
       "                x_r, x_z, x_n = gates_x[:, t].chunk(3, dim=-1)\n"
       "                r = torch.sigmoid(x_r + nn.functional.linear(h, w_hr, b_hr))\n"
       "                z = torch.sigmoid(x_z + nn.functional.linear(h, w_hz, b_hz))\n"
       "                n = torch.tanh(x_n + nn.functional.linear(r * h, w_hn, b_hn))\n"
       "                h = (1 - z) * n + z * h\n"
       "                sequence[t] = h\n"
       "            outputs.append(torch.stack(sequence, dim=1))\n"
       "            finals.append(h)\n"
       "        return torch.cat(outputs, dim=-1), torch.stack(finals)\n"},
      {"KerasGRUResetBefore",
       "class KerasGRUResetBefore(KerasRecurrent, GRUResetBefore):\n"
       "    \"\"\"keras.layers.GRU(reset_after=False) with its outputs.\"\"\"\n"},
      {"KerasGRU",
       "class KerasGRU(KerasRecurrent, nn.GRU):\n"
       "    \"\"\"nn.GRU (Keras reset_after=True) with keras.layers.GRU's outputs.\"\"\"\n\n"
       "    single_bias = False  # reset_after=True: Keras has an input and a recurrent bias too\n"},
      {"KerasSimpleRNN",
       "class KerasSimpleRNN(KerasRecurrent, nn.RNN):\n    \"\"\"nn.RNN with keras.layers.SimpleRNN's outputs.\"\"\"\n"},
  };
  return kHelperSources;
}

}  // namespace nnport::backends
