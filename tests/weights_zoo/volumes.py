"""3-D convolutions and batch norms over a volume."""

from torch import nn

model = nn.Sequential(
    nn.Conv3d(2, 4, 3),
    nn.BatchNorm3d(4),
    nn.ReLU(),
    nn.Conv3d(4, 3, (1, 2, 2), bias=False),
    nn.BatchNorm3d(3, affine=False),
    nn.Flatten(),
    nn.Linear(3 * 3 * 2 * 2, 4),
)
