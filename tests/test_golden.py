"""Golden tests: each example's migrated code, reviewed once by eye, then fixed.

A change in the generated code fails here with a diff; if the change is intended, review
the new output and regenerate with `NNPORT_UPDATE_GOLDEN=1 pytest tests/test_golden.py`.
"""

import difflib
import os
from pathlib import Path

import nnport
import pytest

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden"

# (example, entry, input shape, style, layout)
CASES = [
    ("torch/alexnet.py", "AlexNet(num_classes=10)", "3,64,64", "subclass", "keep"),
    ("torch/alexnet.py", "AlexNet(num_classes=10)", "3,64,64", "sequential", "keep"),
    ("torch/alexnet_seq.py", None, "3,64,64", "sequential", "keep"),
    ("torch/alexnet_seq.py", None, "3,64,64", "subclass", "native"),
    (
        "torch/vgg16.py",
        "VGG(make_layers(cfgs['D']), num_classes=10)",
        "3,64,64",
        "subclass",
        "keep",
    ),
    ("torch/vgg16_seq.py", None, "3,64,64", "sequential", "keep"),
    ("torch/resnet_small.py", None, "3,32,32", "subclass", "keep"),
    ("torch/resnet_small.py", None, "3,32,32", "subclass", "native"),
    ("torch/lstm_classifier.py", None, "int64:20", "subclass", "keep"),
    ("keras/cifar_cnn.py", None, None, "sequential", "keep"),
    ("keras/cifar_cnn.py", None, None, "subclass", "native"),
    ("keras/cifar_cnn_subclass.py", None, "32,32,3", "subclass", "keep"),
    ("keras/cifar_cnn_subclass.py", None, "32,32,3", "sequential", "keep"),
    ("keras/lstm_sentiment.py", None, "100", "subclass", "keep"),
    ("keras/cnn_rnn_sentiment.py", None, "80", "subclass", "keep"),
    ("keras/two_input_functional.py", None, None, "subclass", "keep"),
]


def golden_name(example, style, layout):
    to = "torch" if example.startswith("keras/") else "keras"
    return f"{Path(example).stem}.{style}.{layout}.{to}.py"


@pytest.mark.parametrize("case", CASES, ids=lambda c: golden_name(c[0], c[3], c[4]))
def test_generated_code_matches_golden(case):
    example, entry, shape, style, layout = case
    source = (ROOT / "examples" / example).read_text()
    code = nnport.convert(
        source,
        to="torch" if example.startswith("keras/") else "keras",
        style=style,
        layout=layout,
        entry=entry,
        input_shape=shape,
        file=Path(example).name,
    )
    path = GOLDEN / golden_name(example, style, layout)
    if os.environ.get("NNPORT_UPDATE_GOLDEN"):
        path.write_text(code)
    expected = path.read_text()
    diff = "".join(
        difflib.unified_diff(
            expected.splitlines(True), code.splitlines(True), str(path), "generated"
        )
    )
    assert code == expected, diff
