"""`nnport verify --per-layer`: the first layer where a migrated model goes wrong.

Each case migrates a model, checks that no layer diverges, then plants one wrong
attribute in the migrated file by hand and checks that verify names the layer the
mistake first shows up in (a layer with weights: the plan pairs only those).
"""

from __future__ import annotations

import json
import textwrap

from nnport import verify

TRIALS = 4


def convert(run_nnport, src, out, *options):
    process = run_nnport("convert", src, *options, "-o", out)
    assert process.returncode == 0, process.stderr


def plant(path, old: str, new: str, occurrence: int) -> None:
    """Replace the `occurrence`-th (1-based) `old` in the file by `new`."""
    text = path.read_text()
    parts = text.split(old)
    assert len(parts) > occurrence, f"{old!r} occurs {len(parts) - 1} times in {path}"
    path.write_text(old.join(parts[:occurrence]) + new + old.join(parts[occurrence:]))


def test_a_wrong_pooling_shows_in_the_next_convolution(
    frameworks, examples_dir, run_nnport, tmp_path, capsys
):
    """Keras -> PyTorch: the tutorial CNN; the second max pooling becomes an average."""
    src, out = examples_dir / "keras/cifar_cnn.py", tmp_path / "cnn.py"
    convert(run_nnport, src, out, "--to", "torch")

    report = verify.verify(src, out, trials=TRIALS, per_layer=True)
    assert report["ok"], verify.format_table(report)
    assert report["first_divergence"] is None
    assert [row["path"] for row in report["layers"]] == ["0", "2", "4", "6", "7"]
    assert all(row["ok"] and row["mad"] is not None for row in report["layers"])

    plant(out, "nn.MaxPool2d((2, 2))", "nn.AvgPool2d((2, 2))", occurrence=2)
    status = verify.main([str(src), str(out), "--trials", str(TRIALS), "--per-layer", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert status == 1
    # the pooling feeds the third convolution (Sequential index 4): the first two agree
    assert report["first_divergence"] == "4"
    rows = {row["path"]: row for row in report["layers"]}
    assert rows["0"]["ok"] and rows["2"]["ok"]
    assert rows["4"]["mad"] > 1e-2


SMALL_CNN = """\
    import torch
    from torch import nn


    class SmallCNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
            self.bn1 = nn.BatchNorm2d(8)
            self.conv2 = nn.Conv2d(8, 8, 3, stride=2)
            self.bn2 = nn.BatchNorm2d(8)
            self.fc = nn.Linear(8 * 7 * 7, 5)

        def forward(self, x):
            x = torch.relu(self.bn1(self.conv1(x)))
            x = torch.relu(self.bn2(self.conv2(x)))
            return self.fc(torch.flatten(x, 1))
"""


def test_a_wrong_epsilon_is_named_at_its_batch_norm(frameworks, run_nnport, tmp_path):
    """PyTorch -> Keras, channel-last inside: feature maps are compared through the
    layers' output permutations; the second BatchNormalization gets a wrong epsilon."""
    src, out = tmp_path / "small_cnn.py", tmp_path / "small_cnn_keras.py"
    src.write_text(textwrap.dedent(SMALL_CNN))
    options = ["--to", "keras", "--layout", "native", "--entry", "SmallCNN()"]
    convert(run_nnport, src, out, *options, "--input-shape", "3,16,16")
    args = ("SmallCNN()", ["3,16,16"])

    report = verify.verify(src, out, *args, trials=TRIALS, per_layer=True)
    assert report["ok"], verify.format_table(report)
    assert [row["path"] for row in report["layers"]] == ["conv1", "bn1", "conv2", "bn2", "fc"]
    assert report["first_divergence"] is None, verify.format_table(report)

    plant(out, "epsilon=1e-05", "epsilon=0.5", occurrence=2)
    report = verify.verify(src, out, *args, trials=TRIALS, per_layer=True)
    assert not report["ok"]
    assert report["first_divergence"] == "bn2", verify.format_table(report)
    text = verify.format_table(report)
    assert "first divergence: layer 'bn2' (BatchNorm2d -> BatchNormalization)" in text
