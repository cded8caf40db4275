"""A layer norm without parameters (elementwise_affine=False) between linear layers."""

from torch import nn

model = nn.Sequential(
    nn.Linear(6, 8),
    nn.LayerNorm(8, elementwise_affine=False),
    nn.Tanh(),
    nn.Linear(8, 3),
)
