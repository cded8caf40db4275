"""Bad input for nnport: a layer that no framework has (line 14)."""

import torch
from torch import nn


class Net(nn.Module):
    def __init__(self, num_classes=3):
        super().__init__()
        self.fc = nn.Linear(16, num_classes)
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(nn.Frobnicate(3)(self.fc(x)))
