"""Bad input for nnport: a syntax error (a missing comma on line 9)."""

import torch.nn as nn

model = nn.Sequential(
    nn.Linear(16, 32),
    nn.ReLU(),
    nn.Dropout(0.5),
    nn.Linear(32 10),
)
