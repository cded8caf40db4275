"""Numerical tests of the known Keras -> PyTorch traps, a few tiny Keras models.

The counterpart of test_traps.py for `nnport convert --to torch`. Every case writes a small
Keras 3 model file (Sequential, functional or a `keras.Model` subclass; `keras` or
`tf.keras` spellings), migrates it, checks that the migrated file passes `ruff check` and
`ruff format --check` unchanged, and runs `verify` (random source weights copied over with
the weight plan, 5 random inputs, tolerance 1e-5). A trap the catalog forgets to encode
(TensorFlow's asymmetric "same" padding, an epsilon or a LeakyReLU slope left at PyTorch's
default, a gate order not changed, a Flatten in the wrong element order, ...) makes the
migrated model compute another function, and the case fails.

A `verify` costs 20-30 s (each framework starts in its own process), so each case groups
several traps into one model, and returns intermediate tensors as extra outputs where that
tells the traps apart in the report. `verify`'s Keras worker randomises constant-initialised
weights (biases, BatchNormalization's gamma, beta and moving statistics), so epsilons and
bias layouts are visible.

Cases the engine cannot migrate assert the diagnostic it gives instead (no frameworks
needed).
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import nnport
from nnport import verify

TRIALS = 5
TOLERANCE = 1e-5

# A functional model becomes a class named after it; nnport says so.
FUNCTIONAL_WARNING = "becomes class"


@dataclass(frozen=True)
class Case:
    id: str
    source: str  # a Keras model file
    input_shapes: tuple[str, ...] = ()  # empty: the file states them (keras.Input)
    entry: str = "model"
    layout: str = "keep"
    style: str | None = None
    # strings the migrated file must contain (the trap handled the idiomatic way)
    expect_code: tuple[str, ...] = field(default=())
    # the only warnings the conversion may give (substrings of the warning line)
    warnings: tuple[str, ...] = field(default=())
    # why the case fails because of a known engine bug (a strict xfail)
    xfail: str | None = None


def dedent(text: str) -> str:
    return textwrap.dedent(text).lstrip()


# TensorFlow's "same" pads (k - 1 - (n - 1) % s) in total, the larger half at the end: with
# stride 2 on an even size that is 0 before, 1 after (16 -> 8 for the convolution, 8 -> 4
# for the pooling), which PyTorch's symmetric `padding=` cannot express. Max pooling pads
# with -inf (TensorFlow ignores padded elements), average pooling averages real elements
# only (count_include_pad=False). Pooling strides default to the pool size.
PADDING_AND_POOLING = dedent(
    """
    import keras
    from keras import layers

    model = keras.Sequential(
        [
            keras.Input(shape=(16, 16, 3)),
            layers.Conv2D(4, 3, strides=2, padding="same", activation="relu"),
            layers.MaxPooling2D(3, strides=2, padding="same"),
            layers.AveragePooling2D(3, strides=1, padding="same"),
            layers.MaxPooling2D(2),
        ]
    )
    """
)

# BatchNormalization's epsilon 1e-3 (PyTorch: 1e-5), after a convolution and after a Dense;
# LeakyReLU's layer default slope 0.3 and activation="leaky_relu"'s 0.2 (PyTorch: 0.01);
# ELU; LayerNormalization's epsilon 1e-3; the Softmax layer and activation="softmax" (last
# axis). Flatten after a convolution flattens in channel-last order: with --layout keep
# the migrated model permutes back before nn.Flatten, with --layout native the weight plan
# permutes the Dense's columns instead. Outputs before and after each normalisation, so a
# failing epsilon shows in its own row.
NORMALISATION_AND_ACTIVATIONS = dedent(
    """
    import keras
    from keras import layers

    image = keras.Input(shape=(6, 6, 3))
    x = layers.Conv2D(4, 3)(image)
    x = layers.BatchNormalization()(x)
    x = layers.LeakyReLU()(x)
    x = layers.Flatten()(x)
    h = layers.Dense(8, activation="leaky_relu")(x)
    b = layers.BatchNormalization()(h)
    e = layers.ELU()(b)
    n = layers.LayerNormalization()(e)
    s = layers.Softmax()(n)
    p = layers.Dense(5, activation="softmax")(n)
    model = keras.Model(image, [h, b, e, n, s, p])
    """
)

# Keras' LSTM gates are i,f,c,o with one bias, GRU's z,r,h (reset_after=True: an input and a
# recurrent bias), PyTorch's i,f,g,o and r,z,n with two biases; return_sequences=False is
# the last step. tf.keras spelling. (A subclass: as a functional model, these parallel
# branches run into PARALLEL_BRANCHES below.)
RECURRENT = dedent(
    """
    import tensorflow as tf


    class Net(tf.keras.Model):
        def __init__(self, units=5):
            super().__init__()
            self.lstm = tf.keras.layers.LSTM(units)
            self.lstm_seq = tf.keras.layers.LSTM(units, return_sequences=True)
            self.gru = tf.keras.layers.GRU(units)
            self.gru_seq = tf.keras.layers.GRU(units, return_sequences=True)
            self.rnn = tf.keras.layers.SimpleRNN(units)
            self.rnn_seq = tf.keras.layers.SimpleRNN(units, return_sequences=True)

        def call(self, x):
            return (
                self.lstm(x),
                self.lstm_seq(x),
                self.gru(x),
                self.gru_seq(x),
                self.rnn(x),
                self.rnn_seq(x),
            )
    """
)

# Bidirectional with return_sequences=False: the backward direction's output is the one at
# the first step (where it ends), merged by concatenation or by sum. return_state=True gives
# the last output and the final h and c, all used.
# The layers no other case has: 3-D convolution and pooling, Reshape and Permute (helper
# modules in PyTorch), ZeroPadding1D/2D (PyTorch's pads are last axis first), Multiply and
# Subtract (operators), global pooling over 1-D and 2-D; three outputs.
LAYER_ZOO = dedent(
    """
    import keras
    from keras import layers

    inputs = keras.Input(shape=(6, 6, 6, 2))
    x = layers.Conv3D(4, 3, padding="same", activation="relu")(inputs)
    x = layers.MaxPooling3D(2)(x)
    x = layers.AveragePooling3D(1)(x)
    x = layers.Reshape((9, 12))(x)
    y = layers.ZeroPadding1D((1, 2))(x)
    y = layers.Conv1D(5, 3)(y)
    z = layers.Dense(9)(layers.Permute((2, 1))(x))
    m = layers.Multiply()([z, z])
    w = layers.Reshape((12, 9, 1))(layers.Permute((2, 1))(m))
    w = layers.ZeroPadding2D(((1, 0), (2, 1)))(w)
    w = layers.GlobalMaxPooling2D()(w)
    outputs = [layers.GlobalAveragePooling1D()(y), w, layers.Subtract()([z, m])]
    model = keras.Model(inputs, outputs)
    """
)

# GRU(reset_after=False): the reset gate before the recurrent product, which nn.GRU
# does not do; with a bidirectional wrapper and without biases.
GRU_RESET_BEFORE = dedent(
    """
    import keras
    from keras import layers


    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.a = layers.GRU(5, reset_after=False, return_sequences=True)
            self.b = layers.Bidirectional(layers.GRU(3, reset_after=False))
            self.c = layers.GRU(4, reset_after=False, use_bias=False)

        def call(self, x):
            y = self.a(x)
            return self.b(y), self.c(y)
    """
)

BIDIRECTIONAL_AND_STATES = dedent(
    """
    import keras
    from keras import layers


    class Net(keras.Model):
        def __init__(self, units=5):
            super().__init__()
            self.concat_lstm = layers.Bidirectional(layers.LSTM(units))
            self.sum_lstm = layers.Bidirectional(layers.LSTM(units), merge_mode="sum")
            self.state_lstm = layers.LSTM(units, return_state=True)
            self.join = layers.Concatenate()

        def call(self, x):
            out, h, c = self.state_lstm(x)
            return self.concat_lstm(x), self.sum_lstm(x), self.join([out, h, c])
    """
)

# Embedding's output is channel-last: Conv1d needs it permuted. Conv1D "same" with an even
# kernel (TensorFlow and PyTorch both pad 1 before, 2 after) and with stride 2 on an even
# length (TensorFlow pads 0 before, 1 after). GlobalMaxPooling1D over the steps. The Dense
# activations come from a constructor parameter (leaky_relu: slope 0.2) and an attribute.
EMBEDDING_CONV1D = dedent(
    """
    import keras
    from keras import layers


    class Net(keras.Model):
        def __init__(self, vocab_size=50, activation="leaky_relu"):
            super().__init__()
            self.head_activation = "softmax"
            self.embedding = layers.Embedding(vocab_size, 8)
            self.conv1 = layers.Conv1D(6, 4, padding="same")
            self.conv2 = layers.Conv1D(6, 3, strides=2, padding="same", activation="relu")
            self.pool = layers.GlobalMaxPooling1D()
            self.hidden = layers.Dense(5, activation=activation)
            self.head = layers.Dense(3, activation=self.head_activation)

        def call(self, tokens):
            x = self.conv2(self.conv1(self.embedding(tokens)))
            h = self.hidden(self.pool(x))
            return h, self.head(h)
    """
)

# Two layers of one class on the same input: the weight plan must pair each source layer
# with its own migrated layer, whatever order Keras runs the branches in.
PARALLEL_BRANCHES = dedent(
    """
    import keras
    from keras import layers

    features = keras.Input(shape=(6,))
    a = layers.Dense(3)(features)
    b = layers.Dense(3)(features)
    model = keras.Model(features, [a, b])
    """
)

CASES = [
    Case(
        "same-padding-and-pooling",
        PADDING_AND_POOLING,
        expect_code=(
            "nn.ZeroPad2d((0, 1, 0, 1))",
            'nn.ConstantPad2d((0, 1, 0, 1), float("-inf"))',
            "count_include_pad=False",
            "nn.MaxPool2d(2)",
        ),
    ),
    *(
        Case(
            f"normalisation-activations-flatten-{layout}",
            NORMALISATION_AND_ACTIVATIONS,
            layout=layout,
            expect_code=(
                "nn.BatchNorm2d(4, eps=0.001",
                "nn.BatchNorm1d(8, eps=0.001",
                "nn.LayerNorm(8, eps=0.001)",
                "negative_slope=0.3",
                "negative_slope=0.2",
            ),
            warnings=(FUNCTIONAL_WARNING,),
        )
        for layout in ("keep", "native")
    ),
    Case("recurrent", RECURRENT, ("7,6",), entry="Net()"),
    Case(
        "layer-zoo",
        LAYER_ZOO,
        warnings=(FUNCTIONAL_WARNING,),
        expect_code=("nn.ZeroPad1d((1, 2))", "nn.ZeroPad2d((2, 1, 1, 0))", "Reshape(9, 12)"),
    ),
    Case(
        "gru-reset-before",
        GRU_RESET_BEFORE,
        ("6,4",),
        entry="Net()",
        expect_code=("KerasGRUResetBefore(4, 5, return_sequences=True)",),
    ),
    Case(
        "bidirectional-and-states",
        BIDIRECTIONAL_AND_STATES,
        ("7,6",),
        entry="Net()",
        expect_code=('merge_mode="sum"', "return_state=True"),
    ),
    # With an activation argument other than the parameter's default.
    Case(
        "embedding-conv1d-activation-parameter",
        EMBEDDING_CONV1D,
        ("12",),
        entry='Net(activation="elu")',
        expect_code=(".permute(0, 2, 1)", "(0, 1)"),
    ),
    Case(
        "parallel-branches",
        PARALLEL_BRANCHES,
        warnings=(FUNCTIONAL_WARNING,),
    ),
]


def seq(*layers: str) -> str:
    """A Keras Sequential model file, one layer a line (so diagnostics have a line each)."""
    body = "".join(f"        {layer},\n" for layer in layers)
    return f"import keras\nfrom keras import layers\n\nmodel = keras.Sequential(\n    [\n{body}    ]\n)\n"


def subclass(layer: str) -> str:
    """A keras.Model subclass `Net` applying `layer` (line 8) to its input."""
    return dedent(
        f"""
        import keras
        from keras import layers


        class Net(keras.Model):
            def __init__(self):
                super().__init__()
                self.layer = {layer}

            def call(self, x):
                return self.layer(x)
        """
    )


# Cases the engine does not migrate: source, entry, shapes, what the message must say.
UNSUPPORTED = [
    # SimpleRNN runs tanh or relu only, in PyTorch
    pytest.param(
        subclass('layers.SimpleRNN(4, activation="sigmoid")'),
        "Net()",
        ("7,6",),
        ("model.py:8:22:", "SimpleRNN activation"),
        id="simple-rnn-sigmoid",
    ),
    # located at the offending element, also after a keras.Input element
    pytest.param(
        seq(
            "keras.Input(shape=(7, 6))",
            "layers.Dense(3)",
            'layers.SimpleRNN(4, activation="sigmoid")',
        ),
        "model",
        (),
        ("model.py:8:9:", "SimpleRNN activation"),
        id="simple-rnn-sigmoid-after-input",
    ),
    pytest.param(
        seq("keras.Input(shape=(3, 8, 8))", 'layers.Conv2D(4, 3, data_format="channels_first")'),
        "model",
        (),
        ("model.py:7:", "channels_first"),
        id="conv2d-channels-first",
    ),
    pytest.param(
        seq("keras.Input(shape=(7,))", "layers.Embedding(50, 8, mask_zero=True)", "layers.LSTM(4)"),
        "model",
        (),
        ("model.py:7:", "mask_zero"),
        id="embedding-mask-zero",
    ),
    pytest.param(
        seq("layers.Dense(4)", "layers.Dense(2)"),
        "model",
        (),
        ("model.py:6:9:", "in_features", "--input-shape", "--lazy"),
        id="dense-without-input-shape",
    ),
]


def convert(src: Path, out: Path, entry: str, shapes, layout="keep", style=None):
    options = ["--to", "torch", "--layout", layout, "--entry", entry, "-o", out]
    options += [arg for shape in shapes for arg in ("--input-shape", shape)]
    if style:
        options += ["--style", style]
    return nnport("convert", src, *options)


def check_warnings(stderr: str, allowed: tuple[str, ...]) -> None:
    for line in stderr.splitlines():
        if "warning:" in line:
            assert any(text in line for text in allowed), stderr


def case_param(case: Case):
    marks = [pytest.mark.xfail(strict=True, reason=case.xfail)] if case.xfail else []
    return pytest.param(case, id=case.id, marks=marks)


@pytest.mark.parametrize("case", [case_param(case) for case in CASES])
def test_trap(case: Case, frameworks, lint, tmp_path):
    src, out = tmp_path / "model.py", tmp_path / "migrated.py"
    src.write_text(case.source)
    process = convert(src, out, case.entry, case.input_shapes, case.layout, case.style)
    assert process.returncode == 0, process.stderr
    check_warnings(process.stderr, case.warnings)
    code = out.read_text()
    for expected in case.expect_code:
        assert expected in code, f"{expected!r} not in the migrated file:\n{code}"
    lint(out)

    report = verify.verify(
        src, out, case.entry, case.input_shapes, trials=TRIALS, tolerance=TOLERANCE
    )
    assert report["outputs"], "no outputs compared"
    assert all(row["ok"] for row in report["outputs"]), (
        verify.format_table(report) + "\n\nmigrated file:\n" + code
    )


@pytest.mark.parametrize("source, entry, shapes, says", UNSUPPORTED)
def test_unsupported_case_is_an_error(source, entry, shapes, says, tmp_path):
    """The engine names the construct and its place, exits non-zero and writes nothing."""
    src, out = tmp_path / "model.py", tmp_path / "migrated.py"
    src.write_text(source)
    process = convert(src, out, entry, shapes)
    assert process.returncode != 0, process.stderr
    assert not out.exists(), "a failed migration must not write its output"
    for text in says:
        assert text in process.stderr, process.stderr
    assert "error:" in process.stderr and "hint:" in process.stderr, process.stderr


def test_activation_parameter_stays_a_parameter(tmp_path):
    """The migrated class keeps the constructor's `activation` parameter, so it must use it:
    the file is converted with one call (the default) and may be built with another."""
    src, out = tmp_path / "model.py", tmp_path / "migrated.py"
    src.write_text(EMBEDDING_CONV1D)
    process = convert(src, out, "Net()", ("12",))
    assert process.returncode == 0, process.stderr
    code = out.read_text()
    assert "def __init__(self, vocab_size=50, activation=" in code, code
    uses = re.findall(r"\bactivation\b", code.split("def __init__", 1)[1])
    assert len(uses) > 1, f"`activation` is never read:\n{code}"
