"""Bad input for nnport: a layer size only known when the program runs (line 10)."""

import os

from torch import nn

model = nn.Sequential(
    nn.Linear(16, 32),
    nn.ReLU(),
    nn.Linear(int(os.environ["N"]), 10),
)
