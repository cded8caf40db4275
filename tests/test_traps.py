"""Numerical tests of the known framework traps, one tiny PyTorch model each.

Every case writes a small PyTorch model file, migrates it with
`nnport convert --to keras`, checks that the migrated file passes `ruff check` and
`ruff format --check` unchanged, and runs `verify` (random source weights copied
over with the weight plan, 5 random inputs, tolerance 1e-5). A trap that the
catalog forgets to encode (a kernel not transposed, a gate order not changed,
an epsilon left at its Keras default, ...) makes the migrated model compute
another function, and the case fails.

`verify`'s torch worker perturbs normalisation layers (running statistics,
affine parameters) of the fresh source model, so BatchNorm's epsilon is
visible there. The BatchNorm cases also go through the `nnport weights` path
with statistics set by hand (`run_with_weights`), and check the moving averages
after one training step (momentum) in both frameworks.

Cases the engine cannot migrate assert the diagnostic it gives instead.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from conftest import nnport
from nnport import verify, weights

TRIALS = 5
TOLERANCE = 1e-5


@dataclass(frozen=True)
class Case:
    id: str
    source: str  # a PyTorch model file
    input_shapes: tuple[str, ...]
    entry: str = "model"
    layout: str = "keep"
    style: str | None = None
    # strings the migrated file must contain (the trap handled the idiomatic way)
    expect_code: tuple[str, ...] = field(default=())


def seq(*layers: str) -> str:
    """A model file holding one `nn.Sequential` of `layers`."""
    body = ",\n".join(f"    {layer}" for layer in layers)
    return f"import torch.nn as nn\n\nmodel = nn.Sequential(\n{body},\n)\n"


def module(init: str, forward: str, imports: str = "import torch.nn as nn") -> str:
    """A model file holding one nn.Module subclass `Net`."""
    return (
        f"{imports}\n\n\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        f"{textwrap.indent(textwrap.dedent(init).strip(), ' ' * 8)}\n\n"
        "    def forward(self, x):\n"
        f"{textwrap.indent(textwrap.dedent(forward).strip(), ' ' * 8)}\n"
    )


ACTIVATIONS = {
    "softmax": "nn.Softmax(dim=1)",
    "log_softmax": "nn.LogSoftmax(dim=1)",
    "gelu": "nn.GELU()",
    "elu": "nn.ELU()",
    "leaky_relu": "nn.LeakyReLU()",  # slope 0.01; Keras' LeakyReLU defaults to 0.3
    "silu": "nn.SiLU()",
    "softplus": "nn.Softplus()",
    "hardtanh": "nn.Hardtanh()",
    "relu6": "nn.ReLU6()",
    "sigmoid": "nn.Sigmoid()",
    "tanh": "nn.Tanh()",
}

FUNCTIONAL_ACTIVATIONS = [
    "F.softmax(y, dim=1)",
    "F.log_softmax(y, dim=-1)",
    "F.gelu(y)",
    "F.elu(y)",
    "F.leaky_relu(y)",
    "F.silu(y)",
    "F.softplus(y)",
    "F.hardtanh(y)",
    "F.relu6(y)",
    "torch.sigmoid(y)",
    "torch.tanh(y)",
    "y.relu()",
]

RECURRENT_LAST_STEP = """
out, (h, c) = self.rnn(x)
return out[:, -1, :]
"""

CASES = [
    # Dense kernel is (in, out), Linear weight is (out, in).
    Case("linear", seq("nn.Linear(6, 4)", "nn.ReLU()", "nn.Linear(4, 3)"), ("6",)),
    # OIHW -> HWIO; grouped convolution keeps groups and splits the kernel by group.
    Case(
        "conv2d-groups",
        seq("nn.Conv2d(4, 6, 3)", "nn.ReLU()", "nn.Conv2d(6, 4, (3, 2), groups=2)"),
        ("4,8,8",),
    ),
    Case(
        "conv1d", seq("nn.Conv1d(3, 5, 3)", "nn.ReLU()", "nn.Conv1d(5, 2, 2, stride=2)"), ("3,10",)
    ),
    Case(
        "conv3d", seq("nn.Conv3d(2, 4, 3)", "nn.ReLU()", "nn.Conv3d(4, 2, (1, 2, 3))"), ("2,6,6,6",)
    ),
    # padding=k//2 with stride 1 is "same"; with stride 2 TensorFlow's "same" pads
    # asymmetrically (more at the end) where (size - k) is odd, so explicit zero padding is
    # needed: 8x8 shows it numerically (TF would pad 1 before, 2 after), 9x9 would not.
    Case(
        "padding-1-stride-1",
        seq("nn.Conv2d(3, 4, 3, padding=1)"),
        ("3,7,7",),
        expect_code=('padding="same"',),
    ),
    Case(
        "padding-2-stride-2",
        seq("nn.Conv2d(3, 4, 5, stride=2, padding=2)"),
        ("3,9,9",),
        expect_code=("ZeroPadding2D",),
    ),
    Case(
        "padding-2-stride-2-even-input",
        seq("nn.Conv2d(3, 4, 5, stride=2, padding=2)"),
        ("3,8,8",),
    ),
    # padding="same" with an even kernel: PyTorch pads more at the end, as TensorFlow.
    Case(
        "padding-same-string",
        seq('nn.Conv2d(3, 4, 3, padding="same")', 'nn.Conv2d(4, 2, 4, padding="same")'),
        ("3,8,8",),
    ),
    # MaxPool2d's stride defaults to its kernel size, as in Keras (pool_size).
    Case("maxpool-default-stride", seq("nn.MaxPool2d(2)"), ("3,8,8",)),
    Case("maxpool-default-stride-odd-input", seq("nn.MaxPool2d(2)"), ("3,7,7",)),
    # Max pooling pads with -inf in PyTorch: "same" (not zero padding) is right.
    Case("maxpool-3-stride-1-padding-1", seq("nn.MaxPool2d(3, stride=1, padding=1)"), ("3,7,7",)),
    # count_include_pad=True (PyTorch's default): padded zeros count in the average.
    Case("avgpool-count-include-pad", seq("nn.AvgPool2d(3, stride=2, padding=1)"), ("3,7,7",)),
    # ceil_mode on an input where it does not change the output size.
    Case("maxpool-ceil-mode-same-size", seq("nn.MaxPool2d(2, ceil_mode=True)"), ("3,8,8",)),
    # epsilon 1e-5 (Keras: 1e-3), momentum 0.1 (Keras: 0.9 for the same update).
    Case(
        "batchnorm2d",
        seq("nn.Conv2d(3, 4, 3)", "nn.BatchNorm2d(4)", "nn.ReLU()"),
        ("3,6,6",),
        expect_code=("epsilon=1e-05", "momentum=0.9"),
    ),
    Case(
        "batchnorm1d",
        seq("nn.Linear(6, 5)", "nn.BatchNorm1d(5)", "nn.ReLU()"),
        ("6",),
        expect_code=("epsilon=1e-05", "momentum=0.9"),
    ),
    Case(
        "layernorm",
        seq("nn.Linear(6, 8)", "nn.LayerNorm(8)"),
        ("6",),
        expect_code=("epsilon=1e-05",),
    ),
    Case("embedding", seq("nn.Embedding(50, 8)", "nn.Flatten()", "nn.Linear(56, 3)"), ("int64:7",)),
    # Gate order i,f,g,o in both, but PyTorch has two biases (summed for Keras).
    Case(
        "lstm-last-step",
        module("self.rnn = nn.LSTM(6, 5, batch_first=True)", RECURRENT_LAST_STEP),
        ("7,6",),
        entry="Net()",
    ),
    Case(
        "lstm-returns-state",
        module(
            "self.rnn = nn.LSTM(6, 5, batch_first=True)",
            "out, (h, c) = self.rnn(x)\nreturn out, h, c",
        ),
        ("7,6",),
        entry="Net()",
    ),
    Case(
        "lstm-2-layers-bidirectional",
        module(
            "self.rnn = nn.LSTM(6, 5, num_layers=2, bidirectional=True, batch_first=True)",
            "out, _ = self.rnn(x)\nreturn out",
        ),
        ("7,6",),
        entry="Net()",
    ),
    # Gate order r,z,n (PyTorch) vs z,r,h (Keras); reset_after=True; biases stacked.
    Case(
        "gru",
        module("self.rnn = nn.GRU(6, 5, batch_first=True)", "out, h = self.rnn(x)\nreturn out"),
        ("7,6",),
        entry="Net()",
    ),
    Case(
        "gru-bidirectional",
        module(
            "self.rnn = nn.GRU(6, 5, batch_first=True, bidirectional=True)",
            "out, h = self.rnn(x)\nreturn out[:, -1, :]",
        ),
        ("7,6",),
        entry="Net()",
    ),
    Case(
        "rnn-tanh",
        module("self.rnn = nn.RNN(6, 5, batch_first=True)", "out, h = self.rnn(x)\nreturn out"),
        ("7,6",),
        entry="Net()",
    ),
    # Flatten after a convolution: element order differs between layouts.
    *(
        Case(
            f"flatten-after-conv-{layout}",
            seq("nn.Conv2d(3, 4, 3)", "nn.ReLU()", "nn.Flatten()", "nn.Linear(4 * 4 * 4, 5)"),
            ("3,6,6",),
            layout=layout,
        )
        for layout in ("keep", "native")
    ),
    # Overlapping bins: 5 rows into 3 bins are rows 0-1, 1-3, 3-4.
    Case("adaptive-avgpool-3x3-of-5x5", seq("nn.AdaptiveAvgPool2d((3, 3))"), ("3,5,5",)),
    Case(
        "adaptive-avgpool-1",
        seq("nn.Conv2d(3, 4, 3)", "nn.AdaptiveAvgPool2d(1)", "nn.Flatten()", "nn.Linear(4, 2)"),
        ("3,5,5",),
    ),
    # Softmax over the channel axis of an image: axis 1 (keep) or -1 (native).
    *(
        Case(
            f"softmax-channels-{layout}",
            seq("nn.Conv2d(3, 4, 3)", "nn.Softmax(dim=1)"),
            ("3,6,6",),
            layout=layout,
        )
        for layout in ("keep", "native")
    ),
    # Every activation on one Linear output (scaled, so that the clipping ones clip), each
    # its own output; then the same through torch.nn.functional and tensor methods.
    Case(
        "activations",
        module(
            "self.fc = nn.Linear(6, 8)\n"
            + "\n".join(f"self.{name} = {layer}" for name, layer in ACTIVATIONS.items()),
            "y = self.fc(x) * 3\nreturn ("
            + ", ".join(f"self.{name}(y)" for name in ACTIVATIONS)
            + ")",
        ),
        ("6",),
        entry="Net()",
    ),
    Case(
        "activations-functional",
        module(
            "self.fc = nn.Linear(6, 8)",
            "y = self.fc(x) * 3\nreturn (" + ", ".join(FUNCTIONAL_ACTIVATIONS) + ")",
            imports="import torch\nimport torch.nn as nn\nimport torch.nn.functional as F",
        ),
        ("6",),
        entry="Net()",
    ),
]

# Cases the engine does not migrate: source, entry, shapes, what the message must say.
UNSUPPORTED = [
    pytest.param(
        seq("nn.MaxPool2d(2, ceil_mode=True)"),
        "model",
        ("3,7,7",),
        ("model.py:4:5:", "ceil_mode"),
        id="maxpool-ceil-mode-changes-size",
    ),
    pytest.param(
        module("self.rnn = nn.LSTM(6, 5)", "out, _ = self.rnn(x)\nreturn out[-1]"),
        "Net()",
        ("7,6",),
        ("model.py:7:20:", "batch_first"),
        id="lstm-time-major",
    ),
    # Keras has all three (gelu(approximate=True), softplus(beta * x) / beta, clip).
    pytest.param(
        seq("nn.Linear(6, 4)", 'nn.GELU(approximate="tanh")'),
        "model",
        ("6",),
        ("model.py:5:5:", "approximate"),
        id="gelu-tanh-approximation",
    ),
    pytest.param(
        seq("nn.Linear(6, 4)", "nn.Softplus(beta=2.0)"),
        "model",
        ("6",),
        ("model.py:5:5:", "beta"),
        id="softplus-beta",
    ),
    pytest.param(
        seq("nn.Linear(6, 4)", "nn.Hardtanh(-2.0, 2.0)"),
        "model",
        ("6",),
        ("model.py:5:5:", "Hardtanh"),
        id="hardtanh-bounds",
    ),
]


def convert(src: Path, out: Path, entry: str, shapes, layout="keep", style=None):
    options = ["--to", "keras", "--layout", layout, "--entry", entry, "-o", out]
    options += [arg for shape in shapes for arg in ("--input-shape", shape)]
    if style:
        options += ["--style", style]
    return nnport("convert", src, *options)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_trap(case: Case, frameworks, lint, tmp_path):
    src, out = tmp_path / "model.py", tmp_path / "migrated.py"
    src.write_text(case.source)
    process = convert(src, out, case.entry, case.input_shapes, case.layout, case.style)
    assert process.returncode == 0, process.stderr
    assert "warning" not in process.stderr, process.stderr
    code = out.read_text()
    for expected in case.expect_code:
        assert expected in code, f"{expected!r} not in the migrated file:\n{code}"
    lint(out)

    report = verify.verify(
        src, out, entry=case.entry, input_shapes=case.input_shapes, trials=TRIALS,
        tolerance=TOLERANCE,
    )  # fmt: skip
    assert report["outputs"], "no outputs compared"
    assert all(row["ok"] for row in report["outputs"]), (
        verify.format_table(report) + "\n\nmigrated file:\n" + code
    )


@pytest.mark.parametrize("source, entry, shapes, says", UNSUPPORTED)
def test_unsupported_case_is_an_error(source, entry, shapes, says, tmp_path):
    """The engine names the construct and its place, exits non-zero and writes nothing
    (DESIGN.md: exit status 0 only when every requested migration succeeded)."""
    src, out = tmp_path / "model.py", tmp_path / "migrated.py"
    src.write_text(source)
    process = convert(src, out, entry, shapes)
    assert process.returncode != 0, process.stderr
    assert not out.exists(), "a failed migration must not write its output"
    for text in says:
        assert text in process.stderr, process.stderr
    assert "error:" in process.stderr and "hint:" in process.stderr, process.stderr


# --- BatchNorm through `nnport weights`, with statistics set by hand -----------


def run_statistics(workers, framework: str, request: dict) -> dict[str, np.ndarray]:
    """The `batchnorm_statistics` command (tests/worker_commands.py) in the suite's
    `framework` worker; the arrays it saved."""
    workers.run(framework, "batchnorm_statistics", request)
    with np.load(request["out"]) as data:
        return {key: data[key] for key in data.files}


def run_with_weights(workers, src: Path, dst: Path, entry: str, shape: str, tmp_path: Path):
    """Source outputs and migrated outputs (weights from `nnport weights`) on one input."""
    x = np.random.default_rng(1).standard_normal((8, *map(int, shape.split(",")))).astype("f4")
    inputs = tmp_path / "x.npy"
    np.save(inputs, x)
    pt, h5 = tmp_path / "model.pt", tmp_path / "migrated.weights.h5"
    torch_out = run_statistics(
        workers,
        "torch",
        {"model": str(src), "entry": entry, "weights": str(pt), "inputs": str(inputs),
         "out": str(tmp_path / "torch.npz")},
    )  # fmt: skip
    weights.convert_weights(src, dst, pt, h5, entry, [shape])  # `nnport weights`, in process
    keras_out = run_statistics(
        workers,
        "keras",
        {"model": str(dst), "entry": entry, "weights": str(h5), "inputs": str(inputs),
         "out": str(tmp_path / "keras.npz")},
    )  # fmt: skip
    return torch_out, keras_out


@pytest.mark.parametrize(
    "layers, shape",
    [
        (("nn.Conv2d(3, 4, 3)", "nn.BatchNorm2d(4)"), "3,6,6"),
        (("nn.Linear(6, 5)", "nn.BatchNorm1d(5)"), "6"),
    ],
    ids=["batchnorm2d", "batchnorm1d"],
)
def test_batchnorm_statistics_through_weights(layers, shape, workers, lint, tmp_path):
    src, dst = tmp_path / "model.py", tmp_path / "migrated.py"
    src.write_text(seq(*layers))
    process = convert(src, dst, "model", (shape,))
    assert process.returncode == 0, process.stderr
    lint(dst)

    torch_out, keras_out = run_with_weights(workers, src, dst, "model", shape, tmp_path)
    assert torch_out["y"].shape == keras_out["y"].shape
    mad = float(np.abs(torch_out["y"] - keras_out["y"]).max())
    assert mad <= 1e-4 * max(1.0, float(np.abs(torch_out["y"]).max())), f"MAD {mad}"
    # momentum: PyTorch's 0.1 is the weight of the batch; Keras' momentum is the weight of
    # the old value, so one training step must move the moving mean by the same amount.
    np.testing.assert_allclose(keras_out["mean0"], torch_out["mean0"], rtol=1e-4, atol=1e-5)
    # PyTorch updates running_var with the unbiased batch variance (n / (n - 1) times the
    # biased one), Keras with the biased one; no BatchNormalization argument changes that,
    # so training continued in Keras drifts. Known and reported, not yet handled.
    if not np.allclose(keras_out["var0"], torch_out["var0"], rtol=1e-4, atol=1e-6):
        pytest.xfail(
            "Keras updates the moving variance with the biased batch variance, PyTorch with "
            "the unbiased one (training equivalence only; inference is checked above)"
        )
