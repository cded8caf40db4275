"""A small PyTorch image classifier used to test the syntax round trip."""

import math
from collections import OrderedDict
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F


CONFIG = {
    "num_classes": 10,
    "dropout": 0.5,
    "eps": 1e-05,
    "lr": 0.001,
    "betas": (0.9, 0.999),
}
LAYER_SIZES = [64, 128, 256, 512]
SCALE = -1.5e-3 * 2**-3


def conv_bn(in_channels: int, out_channels: int, stride: int = 1) -> nn.Sequential:
    """Conv + BatchNorm + ReLU."""
    return nn.Sequential(
        nn.Conv2d(
            in_channels,
            out_channels,
            kernel_size=3,
            stride=stride,
            padding=1,
            bias=False,
        ),
        nn.BatchNorm2d(out_channels, eps=1e-05, momentum=0.1),
        nn.ReLU(inplace=True),
    )


class ResidualBlock(nn.Module):
    def __init__(self, channels, dropout=0.0):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)  # second conv
        self.dropout = nn.Dropout(p=dropout) if dropout > 0 else nn.Identity()

    def forward(self, x):
        residual = x
        out = F.relu(self.conv1(x))
        out = self.dropout(self.conv2(out))
        return F.relu(out + residual)


class Net(nn.Module):
    """An image classifier.

    Args:
        num_classes: number of output classes.
    """

    def __init__(
        self,
        num_classes: int = 10,
        width_multiplier: float = 1.0,
        use_residual_blocks: bool = True,
    ):
        super(Net, self).__init__()
        widths = [int(w * width_multiplier) for w in LAYER_SIZES]
        # feature extractor
        self.features = nn.Sequential(
            conv_bn(3, widths[0]),
            # downsampling stages
            conv_bn(widths[0], widths[1], stride=2),  # 16x16
            conv_bn(widths[1], widths[2], stride=2),  # 8x8
            ResidualBlock(widths[2], dropout=0.1)
            if use_residual_blocks
            else nn.Identity(),
            nn.AdaptiveAvgPool2d((1, 1)),
            # nn.Dropout(0.2),
        )
        self.classifier = nn.Sequential(
            OrderedDict(
                [("flatten", nn.Flatten()), ("fc", nn.Linear(widths[2], num_classes))]
            )
        )
        self.temperature = nn.Parameter(torch.ones(1) * 1.5)

        self._init_weights()

    def _init_weights(self):
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
            else:
                pass

    def forward(
        self, x: torch.Tensor, mask: Optional[torch.Tensor] = None
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        features = self.features(x)
        logits = self.classifier(features) / self.temperature
        if mask is not None:
            logits = logits.masked_fill(~mask, float("-inf"))
        probs = F.softmax(logits, dim=-1)
        return logits, probs

    @property
    def num_parameters(self):
        return sum([p.numel() for p in self.parameters() if p.requires_grad])

    @staticmethod
    def output_size(input_size, kernel_size=3, stride=1, padding=0, dilation=1):
        return math.floor(
            (input_size + 2 * padding - dilation * (kernel_size - 1) - 1) / stride + 1
        )


def train_step(
    model,
    batch,
    optimizer,
    scaler=None,
    max_grad_norm: float = 1.0,
    log_every: int = 100,
):
    images, labels = (
        batch[0].to("cuda", non_blocking=True),
        batch[1].to("cuda", non_blocking=True),
    )
    logits, _ = model(images)
    loss = F.cross_entropy(logits, labels, label_smoothing=0.1) + 0.0001 * sum(
        [p.pow(2.0).sum() for p in model.parameters()]
    )
    optimizer.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
    optimizer.step()
    accuracy = (logits.argmax(dim=-1) == labels).float().mean().item()
    stats = {
        "loss": loss.item(),
        "accuracy": accuracy,
        "grad_norm": max_grad_norm,
        "lr": optimizer.param_groups[0]["lr"],
    }
    return stats


def evaluate(model, loader):
    model.eval()
    total, correct = 0, 0
    for i, (images, labels) in enumerate(loader):
        logits, _ = model(images)
        correct += (logits.argmax(-1) == labels).sum().item()
        total += labels.shape[0]
        if i % 10 == 0 and total > 0:
            print(f"step {i}: {correct / total:.3f}")
    return correct / max(total, 1)


if __name__ == "__main__":
    model = Net(num_classes=CONFIG["num_classes"])
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=CONFIG["lr"], betas=CONFIG["betas"], weight_decay=0.01
    )
    x = torch.randn(2, 3, 32, 32)
    out = model(x)[0][:, :5]
    print(out.shape, x[..., 0].mean(), x[:, 1:-1, ::2].std())
