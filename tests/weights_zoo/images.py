"""2-D convolutions over an image, batch norms with and without affine parameters, linear
layers with and without bias."""

import torch
from torch import nn


class ImageNet(nn.Module):
    def __init__(self, num_classes=5):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(4)
        self.conv2 = nn.Conv2d(4, 6, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(6, affine=False)
        self.fc1 = nn.Linear(6 * 6 * 6, 16, bias=False)
        self.bn3 = nn.BatchNorm1d(16)
        self.fc2 = nn.Linear(16, num_classes)

    def forward(self, x):
        x = torch.relu(self.bn1(self.conv1(x)))
        x = torch.relu(self.bn2(self.conv2(x)))
        x = torch.flatten(x, 1)
        x = torch.relu(self.bn3(self.fc1(x)))
        return self.fc2(x)
