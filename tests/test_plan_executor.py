"""The weight-plan executor, without the engine.

Unit tests of each plan step use numpy alone. The end-to-end tests use small
hand-written PyTorch/Keras pairs and hand-written plans in place of the
engine's, and run the real worker processes.
"""

from __future__ import annotations

import importlib.util
import json
import textwrap

import numpy as np
import pytest
from nnport import plan as planlib
from nnport import verify, weights

# Each framework runs in its own worker process; find_spec checks that they are
# installed without importing both into this one (pytest.importorskip would).
requires_frameworks = pytest.mark.skipif(
    importlib.util.find_spec("torch") is None or importlib.util.find_spec("keras") is None,
    reason="needs torch and keras installed",
)


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


# --- steps --------------------------------------------------------------------


def test_transpose_conv_kernel_oihw_to_hwio():
    weight = np.arange(4 * 3 * 2 * 2).reshape(4, 3, 2, 2)
    kernel = planlib.build_tensor(
        tensor("kernel", (2, 2, 3, 4), ["weight"], [transpose(2, 3, 1, 0)]), {"weight": weight}, "c"
    )
    assert kernel[1, 0, 2, 3] == weight[3, 2, 1, 0]


def test_reshape_is_c_order():
    out = planlib.apply_step(np.arange(6), {"op": "reshape", "shape": [2, 3]})
    np.testing.assert_array_equal(out, [[0, 1, 2], [3, 4, 5]])


def test_reorder_blocks_gru_gates():
    # PyTorch GRU gates r, z, n -> Keras z, r, h along the gate axis.
    weight = np.concatenate([np.full((2, 3), gate) for gate in "rzn"], axis=0)
    out = planlib.apply_step(
        weight, {"op": "reorder_blocks", "axis": 0, "blocks": 3, "order": [1, 0, 2]}
    )
    assert list(out[::2, 0]) == ["z", "r", "n"]


def test_reorder_blocks_rejects_uneven_split():
    with pytest.raises(planlib.PlanError, match="does not split into 4 blocks"):
        planlib.apply_step(
            np.zeros((6, 2)),
            {"op": "reorder_blocks", "axis": 0, "blocks": 4, "order": [0, 1, 2, 3]},
        )


def test_permute_rows_makes_dense_after_flatten_equivalent():
    # A Linear after a channels-first flatten == a Dense after a channels-last flatten.
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 3, 5))  # C, H, W
    weight = rng.standard_normal((7, 4 * 3 * 5))  # torch Linear: (out, in)
    step = {"op": "permute_rows", "axis": 1, "from_shape": [4, 3, 5], "perm": [1, 2, 0]}
    kernel = planlib.apply_step(planlib.apply_step(weight, step), transpose(1, 0))
    expected = weight @ x.reshape(-1)
    np.testing.assert_allclose(np.transpose(x, (1, 2, 0)).reshape(-1) @ kernel, expected)


def test_permute_rows_checks_length():
    with pytest.raises(planlib.PlanError, match="flattens to 12"):
        planlib.apply_step(
            np.zeros((2, 10)),
            {"op": "permute_rows", "axis": 1, "from_shape": [3, 2, 2], "perm": [1, 2, 0]},
        )


def test_combine_sum_adds_lstm_biases():
    sources = {"bias_ih_l0": np.ones(8), "bias_hh_l0": np.full(8, 2.0)}
    bias = planlib.build_tensor(
        tensor("bias", [8], ["bias_ih_l0", "bias_hh_l0"], combine="sum"), sources, "lstm"
    )
    np.testing.assert_array_equal(bias, np.full(8, 3.0))


def test_combine_stack_makes_a_new_leading_axis():
    sources = {"bias_ih_l0": np.zeros(6), "bias_hh_l0": np.ones(6)}
    bias = planlib.build_tensor(
        tensor("bias", [2, 6], ["bias_ih_l0", "bias_hh_l0"], combine="stack"), sources, "gru"
    )
    np.testing.assert_array_equal(bias[1], np.ones(6))


def test_several_sources_need_a_combine_rule():
    with pytest.raises(planlib.PlanError, match="no `combine` rule"):
        planlib.build_tensor(
            tensor("bias", [4], ["a", "b"]), {"a": np.zeros(4), "b": np.zeros(4)}, "x"
        )


def test_take_splits_a_keras_gru_bias():
    # Keras GRU reset_after=True: one (2, 3 * units) bias, input bias then recurrent bias.
    bias = np.stack([np.arange(6), np.arange(6) + 10])
    sources = {"bias": bias}
    ih = planlib.build_tensor(
        tensor("bias_ih_l0", [6], ["bias"], [{"op": "take", "axis": 0, "index": 0}]), sources, "g"
    )
    hh = planlib.build_tensor(
        tensor("bias_hh_l0", [6], ["bias"], [{"op": "take", "axis": 0, "index": 1}]), sources, "g"
    )
    np.testing.assert_array_equal(ih, bias[0])
    np.testing.assert_array_equal(hh, bias[1])


def test_take_removes_the_axis():
    out = planlib.apply_step(np.arange(24).reshape(2, 3, 4), {"op": "take", "axis": 1, "index": 2})
    np.testing.assert_array_equal(out, np.arange(24).reshape(2, 3, 4)[:, 2, :])


@pytest.mark.parametrize(
    "step, says",
    [
        ({"op": "take", "axis": 0, "index": 2}, "index 2 is out of range for axis 0 of length 2"),
        ({"op": "take", "axis": 2, "index": 0}, "axis 2 is out of range for a tensor of rank 2"),
    ],
)
def test_take_checks_its_range(step, says):
    with pytest.raises(planlib.PlanError, match=f"^gru -> GRU.bias_ih_l0: take: {says}"):
        planlib.build_tensor(
            tensor("bias_ih_l0", [6], ["bias"], [step]), {"bias": np.zeros((2, 6))}, "gru -> GRU"
        )


def test_zeros_needs_no_source():
    spec = tensor("bias", [5], [], [{"op": "zeros", "shape": [5]}])
    bias = planlib.build_tensor(spec, {}, "conv")
    assert bias.dtype == np.float32 and not bias.any()


def test_shape_mismatch_names_the_tensor():
    spec = tensor("kernel", (3, 4), ["weight"])  # forgot the transpose
    with pytest.raises(
        planlib.PlanError, match=r"classifier\.1 -> Dense\.kernel: built shape \[4, 3\]"
    ):
        planlib.build_tensor(spec, {"weight": np.zeros((4, 3))}, "classifier.1 -> Dense")


def test_missing_source_tensor_names_it():
    with pytest.raises(planlib.PlanError, match="'bias' not found"):
        planlib.build_tensor(
            tensor("bias", [3], ["bias"]), {"weight": np.zeros((3, 3))}, "fc -> Dense"
        )


def test_unknown_step_is_an_error():
    with pytest.raises(planlib.PlanError, match="unknown weight-plan step 'flip'"):
        planlib.build_tensor(tensor("k", [2], ["w"], [{"op": "flip"}]), {"w": np.zeros(2)}, "x")


def test_numpy_errors_name_the_tensor():
    with pytest.raises(planlib.PlanError, match=r"^fc -> Dense\.kernel: "):
        planlib.build_tensor(
            tensor("kernel", [2, 2], ["w"], [transpose(0, 1, 2)]),
            {"w": np.zeros((2, 2))},
            "fc -> Dense",
        )


# --- plans ----------------------------------------------------------------------


def test_load_rejects_unknown_version():
    with pytest.raises(planlib.PlanError, match="version 2"):
        planlib.load('{"version": 2}')


def test_reorder_layers_trusts_the_observed_order():
    plan = {"layers": [{"path": "a"}, {"path": "b"}, {"path": "c"}]}
    assert [layer["path"] for layer in planlib.reorder_layers(plan, ["b", "a", "c"])["layers"]] == [
        "b",
        "a",
        "c",
    ]


def test_reorder_layers_requires_the_same_layers():
    plan = {"layers": [{"path": "a"}, {"path": "b"}]}
    with pytest.raises(planlib.PlanError, match="never called: b; not in the plan: c"):
        planlib.reorder_layers(plan, ["a", "c"])


def test_random_inputs_follow_the_plan():
    plan = {
        "inputs": [
            {"name": "image", "shape": [3, 4, 4], "dtype": "float32", "high": None},
            {"name": "tokens", "shape": [9], "dtype": "int64", "high": 5},
        ]
    }
    image, tokens = planlib.random_inputs(plan, 8, np.random.default_rng(0))
    assert image.shape == (8, 3, 4, 4) and image.dtype == np.float32
    assert tokens.shape == (8, 9) and tokens.dtype == np.int64
    assert tokens.min() >= 0 and tokens.max() < 5


def test_integer_inputs_need_a_bound():
    plan = {"inputs": [{"name": "tokens", "shape": [9], "dtype": "int64", "high": None}]}
    with pytest.raises(planlib.PlanError, match="no `high` bound"):
        planlib.random_inputs(plan, 1, np.random.default_rng(0))


def test_generated_options_come_from_the_header(tmp_path):
    dst = tmp_path / "out.py"
    dst.write_text(
        "# Generated by nnport 0.1.0 from alexnet.py: --to keras --style sequential "
        "--layout native --entry 'AlexNet(num_classes=10)' --input-shape 3,64,64\nimport keras\n"
    )
    assert weights.generated_options(dst) == {
        "to": "keras",
        "layout": "native",
        "style": "sequential",
        "lazy": False,
        "entry": "AlexNet(num_classes=10)",
        "input_shapes": ["3,64,64"],
        "source": "alexnet.py",
    }
    dst.write_text(
        "# Generated by nnport 0.1.0 from m.py: --to torch --style subclass --layout keep --lazy "
        "--entry model --input-shape int64:20 --input-shape 4\n"
    )
    options = weights.generated_options(dst)
    assert options["lazy"] is True and options["entry"] == "model"
    assert options["input_shapes"] == ["int64:20", "4"]
    dst.write_text(  # quoted as a shell quotes: a ' inside the entry
        "# Generated by nnport 0.1.0 from v.py: --to keras --style subclass --layout keep "
        "--entry 'VGG(make_layers(cfgs['\"'\"'D'\"'\"']))'\n"
    )
    assert weights.generated_options(dst)["entry"] == "VGG(make_layers(cfgs['D']))"
    dst.write_text("import keras\n")
    assert weights.generated_options(dst) == {
        "to": "keras",
        "layout": "keep",
        "style": "",
        "lazy": False,
    }
    dst.write_text("import numpy as np\nfrom torch import nn\n")  # hand-written PyTorch
    assert weights.generated_options(dst) == {
        "to": "torch",
        "layout": "keep",
        "style": "",
        "lazy": False,
    }


@pytest.mark.parametrize(
    "src_weights, source, target",
    [("m.pt", "torch", "keras"), ("m.weights.h5", "keras", "torch"), ("m.h5", "keras", "torch")],
)
def test_direction_follows_the_weights_file(src_weights, source, target):
    direction = weights.direction_of(src_weights)
    assert (direction.source, direction.target) == (source, target)


def test_keras_weights_convert_to_a_state_dict(tmp_path):
    with pytest.raises(weights.ConversionError, match=r"torch weights file must end in \.pt"):
        weights.convert_weights(
            "a.py", "b.py", tmp_path / "model.weights.h5", tmp_path / "model.weights.h5"
        )


def test_verify_compare_reports_shapes_and_nan():
    plan = {"outputs": [{"name": "logits"}]}
    a, b = np.ones((2, 3)), np.ones((2, 3))
    b[0, 0] = np.nan
    rows = verify.compare(plan, [a, np.zeros(2)], [b, np.zeros(3)], 1e-5)
    assert [row["name"] for row in rows] == ["logits", "output1"]
    assert not rows[0]["ok"] and not rows[1]["ok"]
    assert "shape [3]" in rows[1]["error"]


def test_verify_exit_status_follows_the_report(monkeypatch, capsys):
    row = {"name": "y", "shape": [2], "max_abs_source": 1.0, "mad": float("nan"), "ok": False}
    report = {"outputs": [row], "tolerance": 1e-5, "trials": 2, "ok": False}
    monkeypatch.setattr(verify, "verify", lambda *args, **kwargs: report)
    assert verify.main(["a.py", "b.py", "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["outputs"][0]["mad"] is None  # strict JSON
    assert verify.main(["a.py", "b.py"]) == 1
    assert "FAIL" in capsys.readouterr().out


def test_verify_errors_exit_2(tmp_path, capsys):
    assert verify.main([str(tmp_path / "a.py"), str(tmp_path / "missing.py")]) == 2
    assert "missing.py" in capsys.readouterr().err


# --- end to end, with hand-written models and plans --------------------------------

TORCH_CNN = """
    import torch.nn as nn

    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 5))
"""

# The same function in Keras, two ways: channels-first at the boundaries and at
# the flatten (--layout keep), or channels-last throughout (--layout native), where
# the Dense kernel's rows follow the channels-last flatten.
KERAS_CNN = {
    "keep": """
        import keras
        from keras import layers

        model = keras.Sequential(
            [
                keras.Input(shape=(3, 8, 8)),
                layers.Permute((2, 3, 1)),
                layers.Conv2D(4, 3),
                layers.ReLU(),
                layers.Permute((3, 1, 2)),
                layers.Flatten(),
                layers.Dense(5),
            ]
        )
    """,
    "native": """
        import keras
        from keras import layers

        model = keras.Sequential([layers.Conv2D(4, 3), layers.ReLU(), layers.Flatten(), layers.Dense(5)])
    """,
}


def cnn_plan(variant: str) -> dict:
    dense_steps = [transpose(1, 0)]
    if variant == "native":  # the Keras model flattens (H, W, C)
        dense_steps.insert(
            0, {"op": "permute_rows", "axis": 1, "from_shape": [4, 6, 6], "perm": [1, 2, 0]}
        )
    return {
        "version": 1,
        "source": {"framework": "torch", "file": "cnn.py"},
        "target": {"framework": "keras", "layout": "native" if variant == "native" else "keep"},
        "entry": "model",
        "inputs": [
            {
                "name": "x",
                "shape": [3, 8, 8],
                "dtype": "float32",
                "target_permutation": [0, 2, 3, 1] if variant == "native" else None,
                "high": None,
            }
        ],
        "outputs": [{"name": "logits", "target_permutation": None}],
        "layers": [
            {
                "path": "0",
                "op": "conv2d",
                "source_class": "Conv2d",
                "targets": [
                    {
                        "class": "Conv2D",
                        "tensors": [
                            tensor("kernel", [3, 3, 3, 4], ["weight"], [transpose(2, 3, 1, 0)]),
                            tensor("bias", [4], ["bias"]),
                        ],
                    }
                ],
            },
            {
                "path": "3",
                "op": "linear",
                "source_class": "Linear",
                "targets": [
                    {
                        "class": "Dense",
                        "tensors": [
                            tensor("kernel", [144, 5], ["weight"], dense_steps),
                            tensor("bias", [5], ["bias"]),
                        ],
                    }
                ],
            },
        ],
    }


TORCH_RNN = """
    import torch.nn as nn


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(50, 8)
            self.bilstm = nn.LSTM(8, 6, batch_first=True, bidirectional=True)
            self.lstm = nn.LSTM(12, 5, batch_first=True)

        def forward(self, x):
            out, _ = self.bilstm(self.embedding(x))
            out, (h, c) = self.lstm(out)
            return out, (h[0], c[0])
"""

KERAS_RNN = """
    import keras
    from keras import layers


    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.embedding = layers.Embedding(50, 8)
            self.bilstm = layers.Bidirectional(layers.LSTM(6, return_sequences=True))
            self.lstm = layers.LSTM(5, return_sequences=True, return_state=True)

        def call(self, x):
            out = self.bilstm(self.embedding(x))
            out, h, c = self.lstm(out)
            return out, (h, c)
"""


def lstm_tensors(units: int, inputs: int, suffix: str = "") -> list[dict]:
    """PyTorch and Keras share the LSTM gate order (i, f, g/c, o); Keras has one bias."""
    return [
        tensor("kernel", [inputs, 4 * units], [f"weight_ih_l0{suffix}"], [transpose(1, 0)]),
        tensor(
            "recurrent_kernel", [units, 4 * units], [f"weight_hh_l0{suffix}"], [transpose(1, 0)]
        ),
        tensor("bias", [4 * units], [f"bias_ih_l0{suffix}", f"bias_hh_l0{suffix}"], combine="sum"),
    ]


def rnn_plan() -> dict:
    return {
        "version": 1,
        "source": {"framework": "torch", "file": "rnn.py"},
        "target": {"framework": "keras", "layout": "keep"},
        "entry": "Net()",
        "inputs": [
            {"name": "x", "shape": [7], "dtype": "int64", "target_permutation": None, "high": 50}
        ],
        "outputs": [{"name": "out", "target_permutation": None}],
        "layers": [
            {
                "path": "embedding",
                "op": "embedding",
                "source_class": "Embedding",
                "targets": [
                    {"class": "Embedding", "tensors": [tensor("embeddings", [50, 8], ["weight"])]}
                ],
            },
            {
                "path": "bilstm",
                "op": "lstm",
                "source_class": "LSTM",
                "targets": [
                    {
                        "class": "Bidirectional",
                        "tensors": lstm_tensors(6, 8) + lstm_tensors(6, 8, "_reverse"),
                    }
                ],
            },
            {
                "path": "lstm",
                "op": "lstm",
                "source_class": "LSTM",
                "targets": [{"class": "LSTM", "tensors": lstm_tensors(5, 12)}],
            },
        ],
    }


@pytest.fixture
def write_pair(tmp_path, monkeypatch, workers):
    """Write a source/migrated pair and make `plan` the engine's answer for it (for the
    tests that run both models in the suite's workers)."""

    def write(source: str, migrated: str, plan: dict):
        src, dst = tmp_path / "source_model.py", tmp_path / "migrated_model.py"
        src.write_text(textwrap.dedent(source))
        dst.write_text(textwrap.dedent(migrated))
        monkeypatch.setattr(weights, "weight_plan", lambda *args, **kwargs: plan)
        return src, dst

    return write


@requires_frameworks
@pytest.mark.parametrize("variant", ["keep", "native"])
def test_verify_hand_written_cnn(write_pair, variant, capsys):
    src, dst = write_pair(TORCH_CNN, KERAS_CNN[variant], cnn_plan(variant))
    assert verify.main([str(src), str(dst), "--trials", "10", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] and report["trials"] == 10
    [row] = report["outputs"]
    assert row["name"] == "logits" and row["shape"] == [10, 5] and row["mad"] <= 1e-5


@requires_frameworks
def test_verify_hand_written_rnn_with_bidirectional_and_states(write_pair):
    src, dst = write_pair(TORCH_RNN, KERAS_RNN, rnn_plan())
    report = verify.verify(src, dst, trials=10)
    assert report["ok"], report
    assert [row["shape"] for row in report["outputs"]] == [[10, 7, 5], [10, 5], [10, 5]]


@requires_frameworks
def test_observed_call_order_wins_over_the_plan(write_pair, capfd):
    plan = cnn_plan("keep")
    plan["layers"].reverse()
    src, dst = write_pair(TORCH_CNN, KERAS_CNN["keep"], plan)
    assert verify.verify(src, dst, trials=2)["ok"]
    assert "another order than the engine predicted" in capfd.readouterr().err


@requires_frameworks
def test_convert_weights_writes_the_file(write_pair, tmp_path):
    src, dst = write_pair(TORCH_CNN, KERAS_CNN["keep"], cnn_plan("keep"))
    pt = tmp_path / "source.pt"
    weights.run_worker(
        "torch", "init", {"model": str(src), "entry": "model", "seed": 1, "out": str(pt)}, tmp_path
    )
    out = tmp_path / "out" / "model.weights.h5"
    out.parent.mkdir()
    assert weights.main([str(src), str(dst), str(pt), "-o", str(out)]) == 0
    assert out.stat().st_size > 0
    assert [p.name for p in out.parent.iterdir()] == ["model.weights.h5"]


@requires_frameworks
def test_target_shape_mismatch_names_layer_and_tensor_and_writes_nothing(write_pair, tmp_path):
    plan = cnn_plan("keep")
    plan["layers"][1]["targets"][0]["tensors"][0] = tensor(
        "kernel", [5, 144], ["weight"]
    )  # no transpose
    src, dst = write_pair(TORCH_CNN, KERAS_CNN["keep"], plan)
    pt = tmp_path / "source.pt"
    weights.run_worker(
        "torch", "init", {"model": str(src), "entry": "model", "seed": 1, "out": str(pt)}, tmp_path
    )
    out = tmp_path / "model.weights.h5"
    with pytest.raises(weights.ConversionError) as error:
        weights.convert_weights(src, dst, pt, out)
    message = str(error.value)
    assert "source layer '3'" in message and "(Dense)" in message and "tensor 'kernel'" in message
    assert "[5, 144]" in message and "[144, 5]" in message
    assert not out.exists()


@requires_frameworks
def test_errors_in_the_model_file_are_reported(write_pair, tmp_path):
    src, dst = write_pair(
        "import torch.nn as nn\n\nmodel = nn.Linear(3)\n", KERAS_CNN["keep"], cnn_plan("keep")
    )
    with pytest.raises(
        weights.ConversionError,
        match=r"(?s)importing the model file failed in .*source_model\.py.*line 3.*TypeError",
    ):
        verify.verify(src, dst, trials=1)


def test_tensors_file_round_trips_every_dtype_and_shape(tmp_path):
    arrays = {
        "0/0/0": np.arange(24, dtype=np.float32).reshape(2, 3, 4),
        "0/0/1": np.asarray(7, dtype=np.int64),  # a scalar
        "1/0/0": np.zeros((0, 5), dtype=np.float64),  # empty
        "1/0/1": np.asfortranarray(np.ones((3, 2), dtype=np.float16)),  # written C-ordered
        "2/0/0": np.array([True, False]),
    }
    path = tmp_path / "arrays.tensors"
    planlib.save_tensors(str(path), arrays)
    loaded = planlib.load_tensors(str(path))
    assert list(loaded) == list(arrays)
    for key, array in arrays.items():
        assert loaded[key].dtype == array.dtype and loaded[key].shape == array.shape
        np.testing.assert_array_equal(loaded[key], array)
        assert not loaded[key].flags.writeable or not array.size  # a view of the mapped file
    path.write_bytes(b"PK\x03\x04 not ours")
    with pytest.raises(planlib.PlanError, match="not an nnport tensors file"):
        planlib.load_tensors(str(path))
