"""Keras -> PyTorch weights and verify, without the engine.

Small hand-written pairs (a Keras model and the PyTorch model nnport would
migrate it to) with hand-written weight plans in place of the engine's. The
worker steps (keras init / export / run, torch import / run) of all pairs run
in the suite's worker processes (`batch`); `verify` and `nnport weights` then run
once each through their real code.
"""

from __future__ import annotations

import importlib.util
import json
import textwrap
from pathlib import Path

import numpy as np
import pytest
from nnport import plan as planlib
from nnport import verify, weights
from nnport.workers import WorkerFailed

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("torch") is None or importlib.util.find_spec("keras") is None,
    reason="needs torch and keras installed",
)

TOLERANCE = 1e-5
BATCH = 4


def tensor(name, shape, sources, steps=(), combine=None):
    return {
        "name": name,
        "shape": list(shape),
        "from": list(sources),
        "combine": combine,
        "steps": list(steps),
    }


def transpose(*perm):
    return {"op": "transpose", "perm": list(perm)}


def gates(order, axis=0, blocks=3):
    return {"op": "reorder_blocks", "axis": axis, "blocks": blocks, "order": list(order)}


def take(index, axis=0):
    return {"op": "take", "axis": axis, "index": index}


def layer(path, source_class, module, torch_class, tensors):
    return {
        "path": path,
        "op": source_class.lower(),
        "source_class": source_class,
        "targets": [{"module": module, "class": torch_class, "tensors": tensors}],
    }


def make_plan(entry, inputs, outputs, layers, layout="keep"):
    return {
        "version": 1,
        "source": {"framework": "keras", "file": "source_model.py"},
        "target": {"framework": "torch", "layout": layout},
        "entry": entry,
        "inputs": [
            {"name": f"x{i}", "target_permutation": None, "high": None, "dtype": "float32", **spec}
            for i, spec in enumerate(inputs)
        ],
        "outputs": [
            {"name": f"output{i}", "target_permutation": perm} for i, perm in enumerate(outputs)
        ],
        "layers": layers,
    }


# --- the pairs ------------------------------------------------------------------------

KERAS_CNN = """
    import keras
    from keras import layers


    def make():
        inputs = keras.Input(shape=(8, 8, 3))
        x = layers.Conv2D(4, 3)(inputs)
        x = layers.BatchNormalization()(x)
        features = layers.ReLU()(x)
        logits = layers.Dense(5)(layers.Flatten()(features))
        return keras.Model(inputs, [features, logits])
"""

# --layout keep: the PyTorch model takes and returns channels-last tensors, so it
# flattens (H, W, C) like Keras; --layout native: channels-first throughout.
TORCH_CNN = {
    "keep": """
        import torch
        from torch import nn


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d(3, 4, 3)
                self.bn = nn.BatchNorm2d(4, eps=1e-3)
                self.bn.num_batches_tracked.fill_(7)  # kept: the plan sets floats only
                self.fc = nn.Linear(144, 5)

            def forward(self, x):
                x = torch.relu(self.bn(self.conv(x.permute(0, 3, 1, 2))))
                features = x.permute(0, 2, 3, 1)
                return features, self.fc(torch.flatten(features, 1))


        def make():
            return Net()
    """,
    "native": """
        import torch
        from torch import nn


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d(3, 4, 3)
                self.bn = nn.BatchNorm2d(4, eps=1e-3)
                self.fc = nn.Linear(144, 5)

            def forward(self, x):
                features = torch.relu(self.bn(self.conv(x)))
                return features, self.fc(torch.flatten(features, 1))


        def make():
            return Net()
    """,
}


def cnn_plan(layout: str = "keep") -> dict:
    fc_steps = [transpose(1, 0)]
    if layout == "native":  # Keras rows follow an (H, W, C) flatten, PyTorch's (C, H, W)
        fc_steps.append(
            {"op": "permute_rows", "axis": 1, "from_shape": [6, 6, 4], "perm": [2, 0, 1]}
        )
    native = layout == "native"
    return make_plan(
        "make()",
        [{"shape": [8, 8, 3], "target_permutation": [0, 3, 1, 2] if native else None}],
        [[0, 2, 3, 1] if native else None, None],
        [
            layer(
                "conv2d",
                "Conv2D",
                "conv",
                "Conv2d",
                [
                    tensor("weight", [4, 3, 3, 3], ["kernel"], [transpose(3, 2, 0, 1)]),
                    tensor("bias", [4], ["bias"]),
                ],
            ),
            layer(
                "batch_normalization",
                "BatchNormalization",
                "bn",
                "BatchNorm2d",
                [
                    tensor("weight", [4], ["gamma"]),
                    tensor("bias", [4], ["beta"]),
                    tensor("running_mean", [4], ["moving_mean"]),
                    tensor("running_var", [4], ["moving_variance"]),
                ],
            ),
            layer(
                "dense",
                "Dense",
                "fc",
                "Linear",
                [tensor("weight", [5, 144], ["kernel"], fc_steps), tensor("bias", [5], ["bias"])],
            ),
        ],
        layout,
    )


KERAS_LSTM = """
    import keras
    from keras import layers


    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.embedding = layers.Embedding(30, 8)
            self.lstm = layers.LSTM(5)

        def call(self, x):
            return self.lstm(self.embedding(x))
"""

TORCH_LSTM = """
    from torch import nn


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(30, 8)
            self.lstm = nn.LSTM(8, 5, batch_first=True)

        def forward(self, x):
            out, _ = self.lstm(self.embedding(x))
            return out[:, -1]
"""


def lstm_tensors(units: int, inputs: int, prefix: str = "", suffix: str = "") -> list[dict]:
    """Keras and PyTorch share the LSTM gate order (i, f, c/g, o); Keras has one bias."""
    return [
        tensor(
            f"weight_ih_l0{suffix}", [4 * units, inputs], [f"{prefix}kernel"], [transpose(1, 0)]
        ),
        tensor(
            f"weight_hh_l0{suffix}",
            [4 * units, units],
            [f"{prefix}recurrent_kernel"],
            [transpose(1, 0)],
        ),
        tensor(f"bias_ih_l0{suffix}", [4 * units], [f"{prefix}bias"]),
        tensor(f"bias_hh_l0{suffix}", [4 * units], [], [{"op": "zeros", "shape": [4 * units]}]),
    ]


def lstm_plan() -> dict:
    return make_plan(
        "Net()",
        [{"shape": [7], "dtype": "int64", "high": 30}],
        [None],
        [
            layer(
                "embedding",
                "Embedding",
                "embedding",
                "Embedding",
                [tensor("weight", [30, 8], ["embeddings"])],
            ),
            layer("lstm", "LSTM", "lstm", "LSTM", lstm_tensors(5, 8)),
        ],
    )


KERAS_GRU = """
    import keras
    from keras import layers

    model = keras.Sequential([keras.Input(shape=(6, 3)), layers.GRU(4, return_sequences=True)])
"""

TORCH_GRU = """
    from torch import nn


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(3, 4, batch_first=True)

        def forward(self, x):
            return self.gru(x)[0]


    model = Net()
"""


def gru_plan() -> dict:
    # Keras gates z, r, h; PyTorch r, z, n. reset_after=True: a (2, 3 * units) bias,
    # input bias first, then recurrent bias.
    return make_plan(
        "model",
        [{"shape": [6, 3]}],
        [None],
        [
            layer(
                "gru",
                "GRU",
                "gru",
                "GRU",
                [
                    tensor(
                        "weight_ih_l0", [12, 3], ["kernel"], [transpose(1, 0), gates([1, 0, 2])]
                    ),
                    tensor(
                        "weight_hh_l0",
                        [12, 4],
                        ["recurrent_kernel"],
                        [transpose(1, 0), gates([1, 0, 2])],
                    ),
                    tensor("bias_ih_l0", [12], ["bias"], [take(0), gates([1, 0, 2])]),
                    tensor("bias_hh_l0", [12], ["bias"], [take(1), gates([1, 0, 2])]),
                ],
            )
        ],
    )


KERAS_BILSTM = """
    import keras
    from keras import layers

    model = keras.Sequential(
        [keras.Input(shape=(5, 3)), layers.Bidirectional(layers.LSTM(4, return_sequences=True))]
    )
"""

TORCH_BILSTM = """
    from torch import nn


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(3, 4, batch_first=True, bidirectional=True)

        def forward(self, x):
            return self.lstm(x)[0]


    model = Net()
"""


def bilstm_plan() -> dict:
    tensors = lstm_tensors(4, 3, "forward/") + lstm_tensors(4, 3, "backward/", "_reverse")
    return make_plan(
        "model",
        [{"shape": [5, 3]}],
        [None],
        [layer("bidirectional", "Bidirectional", "lstm", "LSTM", tensors)],
    )


KERAS_DENSE = """
    import keras
    from keras import layers

    model = keras.Sequential([layers.Dense(3, activation="tanh"), layers.Dense(2)])
"""

# `nnport convert --lazy`: shapes the engine does not know come from the first call.
TORCH_LAZY = """
    from torch import nn

    model = nn.Sequential(nn.LazyLinear(3), nn.Tanh(), nn.LazyLinear(2))
"""


def dense_plan() -> dict:
    def dense(path, module, inputs, units):
        return layer(
            path,
            "Dense",
            module,
            "Linear",
            [
                tensor("weight", [units, inputs], ["kernel"], [transpose(1, 0)]),
                tensor("bias", [units], ["bias"]),
            ],
        )

    return make_plan(
        "model", [{"shape": [6]}], [None], [dense("dense", "0", 6, 3), dense("dense_1", "2", 3, 2)]
    )


# name: (Keras source, PyTorch migrated, plan)
CASES = {
    "cnn-keep": (KERAS_CNN, TORCH_CNN["keep"], cnn_plan("keep")),
    "cnn-native": (KERAS_CNN, TORCH_CNN["native"], cnn_plan("native")),
    "embedding-lstm": (KERAS_LSTM, TORCH_LSTM, lstm_plan()),
    "gru-reset-after": (KERAS_GRU, TORCH_GRU, gru_plan()),
    "bidirectional-lstm": (KERAS_BILSTM, TORCH_BILSTM, bilstm_plan()),
    "lazy-linear": (KERAS_DENSE, TORCH_LAZY, dense_plan()),
}


def plan_with(plan: dict, change) -> dict:
    plan = json.loads(json.dumps(plan))
    change(plan)
    return plan


def tensors_of(plan: dict, module: str) -> list[dict]:
    return next(
        target["tensors"]
        for layer in plan["layers"]
        for target in layer["targets"]
        if target["module"] == module
    )


# Plans that must fail, on the cnn-keep pair: (step that fails, change to the plan).
ERRORS = {
    "wrong-source-class": (
        "export",
        lambda plan: plan["layers"][0].update(source_class="Conv1D"),
    ),
    "wrong-shape": (  # the Dense kernel not transposed
        "import",
        lambda plan: tensors_of(plan, "fc")[0].update(shape=[144, 5], steps=[]),
    ),
    "missing-tensor": ("import", lambda plan: tensors_of(plan, "fc")[1].update(name="bais")),
    "missing-module": (
        "import",
        lambda plan: plan["layers"][2]["targets"][0].update(module="classifier"),
    ),
    "uncovered-buffer": ("import", lambda plan: tensors_of(plan, "bn").pop()),  # running_var
}


# --- running worker steps in one process per framework ------------------------------------


def batch(workers, jobs: list[tuple[str, str, dict]]) -> list[str | None]:
    """Run worker steps in the suite's workers; the error message of each, or None."""
    errors = []
    for framework, command, request in jobs:
        try:
            workers.run(framework, command, request)
            errors.append(None)
        except WorkerFailed as error:
            assert error.status == 2, str(error)  # an explained error, not a crash
            errors.append(str(error))
    return errors


def load(path: Path) -> list[np.ndarray]:
    with np.load(path) as data:
        return [data[str(i)] for i in range(len(data.files))]


@pytest.fixture(scope="module")
def outcome(tmp_path_factory, workers):
    """Every case and error plan through keras init, export and run, then torch import
    (with run): the files of each case, and each step's error (None: it worked)."""
    work = tmp_path_factory.mktemp("keras-to-torch")
    keras_jobs, torch_jobs, files = [], [], {}
    for name, (source, migrated, plan) in CASES.items():
        case = work / name
        case.mkdir()
        src, dst = case / "source_model.py", case / "migrated_model.py"
        src.write_text(textwrap.dedent(source))
        dst.write_text(textwrap.dedent(migrated))
        inputs = planlib.random_inputs(plan, BATCH, np.random.default_rng(1))
        np.savez(case / "inputs.npz", **{str(i): a for i, a in enumerate(inputs)})
        files[name] = {"src": src, "dst": dst, "dir": case, "h5": case / "source.weights.h5"}
        source_request = {"model": str(src), "entry": plan["entry"], "plan": plan}
        keras_jobs += [
            (
                "keras",
                "init",
                {**source_request, "seed": 3, "out": str(case / "source.weights.h5")},
            ),
            (
                "keras",
                "export",
                {**source_request, "weights": str(case / "source.weights.h5")}
                | {"out": str(case / "arrays.tensors")},
            ),
            (
                "keras",
                "run",
                {**source_request, "weights": str(case / "source.weights.h5")}
                | {"inputs": str(case / "inputs.npz"), "out": str(case / "keras.npz")},
            ),
        ]
        torch_jobs.append(
            (
                "torch",
                "import",
                {"model": str(dst), "entry": plan["entry"], "plan": plan}
                | {"arrays": str(case / "arrays.tensors"), "out": str(case / "migrated.pt")}
                | {"run": {"inputs": str(case / "inputs.npz"), "out": str(case / "torch.npz")}},
            )
        )

    cnn = files["cnn-keep"]
    for name, (step, change) in ERRORS.items():
        plan = plan_with(CASES["cnn-keep"][2], change)
        arrays = cnn["dir"] / f"{name}.tensors"
        if step == "export" or name == "wrong-shape":
            request = {"model": str(cnn["src"]), "entry": "make()", "plan": plan}
            keras_jobs.append(
                ("keras", "export", {**request, "weights": str(cnn["h5"]), "out": str(arrays)})
            )
        else:  # the plan's change does not touch the arrays
            arrays = cnn["dir"] / "arrays.tensors"
        if step == "import":
            request = {"model": str(cnn["dst"]), "entry": "make()", "plan": plan}
            out = cnn["dir"] / f"{name}.pt"
            torch_jobs.append(
                ("torch", "import", {**request, "arrays": str(arrays), "out": str(out)})
            )

    keras_errors = batch(workers, keras_jobs)
    torch_errors = batch(workers, torch_jobs)
    errors = {}
    for (_, command, request), error in zip(keras_jobs + torch_jobs, keras_errors + torch_errors):
        errors[command, request["out"]] = error
    return {"files": files, "errors": errors, "work": work}


def step_error(outcome, command: str, out: Path) -> str | None:
    return outcome["errors"][command, str(out)]


@pytest.mark.parametrize("name", list(CASES))
def test_migrated_model_computes_the_same_function(outcome, name):
    case = outcome["files"][name]["dir"]
    for command, out in [
        ("init", case / "source.weights.h5"),
        ("export", case / "arrays.tensors"),
        ("run", case / "keras.npz"),
        ("import", case / "migrated.pt"),
    ]:
        assert step_error(outcome, command, out) is None, (
            f"{command}: {step_error(outcome, command, out)}"
        )
    expected, actual = load(case / "keras.npz"), load(case / "torch.npz")
    assert [a.shape for a in actual] == [e.shape for e in expected]
    for e, a in zip(expected, actual):
        assert np.abs(e).max() > 1e-3  # not a trivial function
        np.testing.assert_allclose(a, e, rtol=0, atol=TOLERANCE)


def test_keras_init_randomises_constant_weights(outcome):
    """Keras starts biases and BatchNormalization's statistics constant; `verify` would
    not see them mixed up. Positive ones (gamma, moving variance) stay positive."""
    import h5py

    values = {}
    with h5py.File(outcome["files"]["cnn-keep"]["h5"], "r") as file:
        file.visititems(
            lambda name, item: (
                values.update({name: item[()]}) if isinstance(item, h5py.Dataset) else None
            )
        )
    assert len(values) == 8, sorted(values)  # Conv2D 2, BatchNormalization 4, Dense 2
    assert all(np.unique(value).size == value.size for value in values.values()), values
    norm = sorted(name for name in values if "batch_normalization" in name)
    gamma, moving_variance = values[norm[0]], values[norm[3]]
    assert gamma.min() > 0 and moving_variance.min() > 0


def test_integer_buffers_keep_the_model_value(outcome, workers, tmp_path):
    """The plan sets every floating-point tensor; `num_batches_tracked` stays the model's (7)."""
    migrated = outcome["files"]["cnn-keep"]["dir"] / "migrated.pt"
    assert step_error(outcome, "import", migrated) is None
    out, names = tmp_path / "state.npz", tmp_path / "names.json"
    workers.run("torch", "state", {"weights": str(migrated), "out": str(out), "names": str(names)})
    names = json.loads(names.read_text())
    with np.load(out) as arrays:
        state = dict(zip(names, (arrays[str(i)] for i in range(len(names)))))
    assert int(state["bn.num_batches_tracked"]) == 7
    assert "fc.weight" in state and "bn.running_var" in state


ERROR_MESSAGES = {
    "wrong-source-class": ["'conv2d'", "is a Conv2D; the plan expects a Conv1D"],
    "wrong-shape": ["'fc'", "(Linear)", "tensor 'weight'", "[144, 5]", "[5, 144]"],
    "missing-tensor": ["'fc'", "tensor 'bais'", "no 'fc.bais'", "has: weight, bias"],
    "missing-module": ["'classifier'", "no such module"],
    "uncovered-buffer": ["no value for 'bn.running_var'"],
}


@pytest.mark.parametrize("name", list(ERRORS))
def test_errors_name_layer_and_tensor(outcome, name):
    step, _ = ERRORS[name]
    case = outcome["files"]["cnn-keep"]["dir"]
    out = case / (f"{name}.tensors" if step == "export" else f"{name}.pt")
    message = step_error(outcome, step, out)
    assert message is not None, f"{name}: the {step} step did not fail"
    for part in ERROR_MESSAGES[name]:
        assert part in message, message
    assert not out.exists()


# --- through verify and `nnport weights` ----------------------------------------------


def test_verify_native_layout_with_permuted_inputs_and_outputs(tmp_path, monkeypatch, workers):
    source, migrated, plan = CASES["cnn-native"]
    src, dst = tmp_path / "cnn.py", tmp_path / "cnn_torch.py"
    src.write_text(textwrap.dedent(source))
    dst.write_text(textwrap.dedent(migrated))  # no header: it imports torch, so `--to torch`
    monkeypatch.setattr(weights, "weight_plan", lambda *args, **kwargs: plan)
    report = verify.verify(src, dst, trials=5)
    assert report["ok"], verify.format_table(report)
    assert [row["shape"] for row in report["outputs"]] == [[5, 6, 6, 4], [5, 5]]


def test_weights_command_writes_a_state_dict(outcome, tmp_path, monkeypatch, capsys):
    files = outcome["files"]["gru-reset-after"]
    monkeypatch.setattr(weights, "weight_plan", lambda *args, **kwargs: CASES["gru-reset-after"][2])
    out = tmp_path / "out" / "gru.pt"
    out.parent.mkdir()
    bad = weights.main(
        [str(files["src"]), str(files["dst"]), str(files["h5"]), "-o", str(tmp_path / "gru.h5")]
    )
    assert bad == 2 and "must end in .pt" in capsys.readouterr().err
    assert (
        weights.main([str(files["src"]), str(files["dst"]), str(files["h5"]), "-o", str(out)]) == 0
    )
    assert [p.name for p in out.parent.iterdir()] == ["gru.pt"]
    assert out.stat().st_size > 0
