"""Acceptance: every example network, migrated, computes the same function.

For each scenario (source file × target style × layout) the engine migrates the
file with `nnport convert`, the output must pass `ruff check` and
`ruff format --check` unchanged, and `verify` must find every output within
1e-5 of the source model's on random inputs, with the source's random weights
copied over by `nnport weights`. Small inputs keep this fast; the paper's full
protocol (100 trials, full-size inputs) lives in the benchmark.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from nnport import plan as planlib
from nnport import verify, weights

TRIALS = 10
TOLERANCE = 1e-5


@dataclass(frozen=True)
class Scenario:
    file: str  # relative to examples/
    entry: str
    input_shapes: tuple[str, ...]
    style: str  # target style
    layout: str
    to: str = "keras"

    @property
    def id(self) -> str:
        name = self.file.removesuffix(".py").replace("/", "-")
        return f"{name}-to-{self.to}-{self.style}-{self.layout}"


def cnn_scenarios(sequential_file: str, subclass_file: str, entry: str, shape: str):
    """Both source styles into both target styles with --layout keep (the default).
    `--layout native` for the paper's networks is tests/test_paper_equivalence.py."""
    sources = {"sequential": (sequential_file, "model"), "subclass": (subclass_file, entry)}
    for file, source_entry in sources.values():
        for style in ("sequential", "subclass"):
            yield Scenario(file, source_entry, (shape,), style, "keep")


SCENARIOS = [
    *cnn_scenarios(
        "torch/alexnet_seq.py", "torch/alexnet.py", "AlexNet(num_classes=10)", "3,64,64"
    ),
    *cnn_scenarios(
        "torch/vgg16_seq.py",
        "torch/vgg16.py",
        "VGG(make_layers(cfgs['D']), num_classes=10)",
        "3,64,64",
    ),
    Scenario("torch/resnet_small.py", "SmallResNet()", ("3,32,32",), "subclass", "keep"),
    Scenario("torch/resnet_small.py", "SmallResNet()", ("3,32,32",), "subclass", "native"),
    Scenario("torch/lstm_classifier.py", "LSTMClassifier()", ("int64:20",), "subclass", "keep"),
]

# Keras -> PyTorch (issue 3): the tutorial CNN in both source styles into both target
# styles, the recurrent sentiment networks, and the two-input functional model. Input
# shapes come from the files where they state them (input_shape=, keras.Input).
KERAS_SCENARIOS = [
    Scenario("keras/cifar_cnn.py", "model", (), "sequential", "keep", "torch"),
    Scenario("keras/cifar_cnn.py", "model", (), "subclass", "keep", "torch"),
    Scenario(
        "keras/cifar_cnn_subclass.py", "CifarCNN()", ("32,32,3",), "subclass", "keep", "torch"
    ),
    Scenario(
        "keras/cifar_cnn_subclass.py", "CifarCNN()", ("32,32,3",), "sequential", "keep", "torch"
    ),
    Scenario("keras/lstm_sentiment.py", "SentimentLSTM()", ("100",), "subclass", "keep", "torch"),
    Scenario(
        "keras/cnn_rnn_sentiment.py", "CNNRNNSentiment()", ("80",), "subclass", "keep", "torch"
    ),
    Scenario("keras/two_input_functional.py", "model", (), "subclass", "keep", "torch"),
    Scenario("keras/two_input_functional.py", "model", (), "subclass", "native", "torch"),
]


# Every PyTorch model the scenarios migrate, plus the variants the files also define.
EXAMPLES = sorted({(s.file, s.entry, s.input_shapes) for s in SCENARIOS}) + [
    ("torch/vgg16.py", "vgg16_bn(num_classes=10)", ("3,64,64",)),
]


@pytest.mark.parametrize("scenario", SCENARIOS + KERAS_SCENARIOS, ids=lambda s: s.id)
def test_migrated_model_is_equivalent(
    scenario, frameworks, lint, examples_dir, run_nnport, tmp_path
):
    src = examples_dir / scenario.file
    out = tmp_path / "out.py"
    shapes = [arg for shape in scenario.input_shapes for arg in ("--input-shape", shape)]
    process = run_nnport(
        "convert", src, "--to", scenario.to, "--style", scenario.style, "--layout", scenario.layout,
        "--entry", scenario.entry, *shapes, "-o", out,
    )  # fmt: skip
    assert process.returncode == 0, process.stderr
    assert out.is_file()

    lint(out)

    report = verify.verify(
        src, out, scenario.entry, scenario.input_shapes, trials=TRIALS, tolerance=TOLERANCE
    )
    assert report["ok"], verify.format_table(report)


def input_spec(shape: str) -> dict:
    """A plan input from an `--input-shape` value; token ids stay below every vocabulary."""
    dtype, _, dims = shape.rpartition(":")
    return {
        "name": "x",
        "shape": [int(d) for d in dims.split(",")],
        "dtype": dtype or "float32",
        "high": 100,
    }


@pytest.mark.parametrize(
    "file, entry, input_shapes", EXAMPLES, ids=[f"{file}:{entry}" for file, entry, _ in EXAMPLES]
)
def test_example_runs_in_torch(file, entry, input_shapes, frameworks, examples_dir, tmp_path):
    """The examples themselves build and run, so an equivalence failure is the migration's."""
    src, pt, out = examples_dir / file, tmp_path / "model.pt", tmp_path / "out.npz"
    request = {"model": str(src), "entry": entry}
    weights.run_worker("torch", "init", {**request, "seed": 0, "out": str(pt)}, tmp_path)
    plan = {"inputs": [input_spec(shape) for shape in input_shapes]}
    inputs = planlib.random_inputs(plan, 2, np.random.default_rng(0))
    np.savez(tmp_path / "inputs.npz", **{str(i): array for i, array in enumerate(inputs)})
    request |= {"weights": str(pt), "inputs": str(tmp_path / "inputs.npz"), "out": str(out)}
    weights.run_worker("torch", "run", request, tmp_path)
    with np.load(out) as outputs:
        assert outputs["0"].shape[0] == 2 and np.isfinite(outputs["0"]).all()


def test_weights_command_writes_keras_weights(frameworks, examples_dir, run_nnport, tmp_path):
    """`nnport weights` end to end, as a user runs it after `nnport convert`."""
    src, out = examples_dir / "torch/lstm_classifier.py", tmp_path / "lstm_keras.py"
    shape = ["--input-shape", "int64:20"]
    run_nnport("convert", src, "--to", "keras", *shape, "-o", out, check=True)
    pt, h5 = tmp_path / "lstm.pt", tmp_path / "lstm.weights.h5"
    request = {"model": str(src), "entry": "LSTMClassifier()", "seed": 0, "out": str(pt)}
    weights.run_worker("torch", "init", request, tmp_path)

    process = run_nnport("weights", src, out, pt, "-o", h5, *shape)
    assert process.returncode == 0, process.stderr
    assert h5.stat().st_size > 0

    process = run_nnport("weights", src, out, pt, "-o", tmp_path / "lstm.h5", *shape)
    assert process.returncode == 2 and ".weights.h5" in process.stderr


def test_lazy_modules_without_an_input_shape(frameworks, lint, examples_dir, run_nnport, tmp_path):
    """`--lazy` with no input shape anywhere: PyTorch's lazy modules infer the sizes, the
    layout permutes still go where the convolutions' rank says, and the weights copy."""
    src, out = examples_dir / "keras/cifar_cnn_subclass.py", tmp_path / "lazy.py"
    process = run_nnport("convert", src, "--to", "torch", "--lazy", "-o", out)
    assert process.returncode == 0, process.stderr
    code = out.read_text()
    assert "nn.LazyConv2d(32, (3, 3))" in code and "nn.LazyLinear(64)" in code, code
    assert "inputs.permute(0, 3, 1, 2)" in code, code
    lint(out)
    report = verify.verify(src, out, "CifarCNN()", ("32,32,3",), trials=TRIALS, tolerance=TOLERANCE)
    assert report["ok"], verify.format_table(report)
