"""1-D convolutions over a signal (channels first), batch norms with and without affine
parameters, a layer norm."""

import torch
from torch import nn


class SignalNet(nn.Module):
    def __init__(self, channels=3, width=8):
        super().__init__()
        self.conv1 = nn.Conv1d(channels, width, 3)
        self.bn1 = nn.BatchNorm1d(width)
        self.conv2 = nn.Conv1d(width, width, 3, bias=False)
        self.bn2 = nn.BatchNorm1d(width, affine=False)
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, 2)

    def forward(self, x):
        x = torch.relu(self.bn1(self.conv1(x)))
        x = torch.relu(self.bn2(self.conv2(x)))
        x = x.permute(0, 2, 1)
        x = self.norm(x)
        return self.head(x[:, -1, :])
