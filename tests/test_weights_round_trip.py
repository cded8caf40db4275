"""Weights round trips through `nnport weights`, for every catalog layer that has parameters.

Each model of `tests/weights_zoo/` (ordinary PyTorch, several layers and variants per file)
goes

    PyTorch --convert--> Keras --convert--> PyTorch --convert--> Keras
       T.pt  --weights-->  K.weights.h5 --weights--> T2.pt --weights--> K2.weights.h5

and the weights must come back bit-identical: T2.pt against T.pt (PyTorch -> Keras ->
PyTorch) and K2.weights.h5 against K.weights.h5 (Keras -> PyTorch -> Keras, starting from
the generated Keras file). T.pt is the worker's `torch init` (seeded, normalisation layers
perturbed so that no tensor is constant).

`nnport weights` runs its real code (`weights.convert_weights`: header options, the
engine's plan, both worker steps, the atomic write), but its worker steps go to one
long-lived process per framework (the suite's `workers`, as every `nnport weights` and
`nnport verify` run does) instead of a new process per step: importing TensorFlow takes
most of a worker's time. `test_command_line_writes_the_same_weights`
runs the real command line, worker processes included, once, and checks that it writes the
same tensors.

Missing, extra and mis-shaped parameters, in the source weights file or in a hand-edited
migrated file, are errors that name them, in both directions (`DEFECTS`).
"""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from conftest import nnport
from nnport import weights

pytestmark = pytest.mark.skipif(
    any(importlib.util.find_spec(name) is None for name in ("torch", "keras", "h5py")),
    reason="needs torch, keras and h5py installed",
)

ZOO = Path(__file__).resolve().parent / "weights_zoo"
SEED = 5


FORWARD, BACKWARD = "torch-keras-torch", "keras-torch-keras"


@dataclass(frozen=True)
class Case:
    """A zoo file, how to migrate it, and its input shapes in each framework's layout."""

    file: str
    torch_shapes: tuple[str, ...]
    layout: str = "keep"
    keras_shapes: tuple[str, ...] | None = None  # None: the same as torch_shapes
    variants: tuple[str, ...] = ()  # what the file exercises besides the plain layers
    xfail: dict[str, str] = field(default_factory=dict)  # round trip -> known bug

    @property
    def keras_input_shapes(self) -> tuple[str, ...]:
        return self.keras_shapes or self.torch_shapes


CASES = {
    "images": Case(
        "images.py",
        ("3,8,8",),
        layout="native",  # the Linear after the flatten gets its rows permuted both ways
        keras_shapes=("8,8,3",),
        variants=(
            "Conv2d bias=False",
            "BatchNorm2d affine=False",
            "BatchNorm1d after Linear",
            "Linear bias=False",
            "Linear after flatten (native layout)",
        ),
    ),
    "volumes": Case(
        "volumes.py",
        ("2,5,5,5",),
        variants=("Conv3d bias=False", "BatchNorm3d affine=False", "nn.Sequential"),
    ),
    "volumes-native": Case("volumes.py", ("2,5,5,5",), layout="native", keras_shapes=("5,5,5,2",)),
    "signals": Case(
        "signals.py",
        ("3,10",),
        variants=("Conv1d bias=False", "BatchNorm1d affine=False", "LayerNorm"),
    ),
    "sequences": Case(
        "sequences.py",
        ("int64:3",),
        variants=(
            "Embedding -> LSTM",
            "LSTM num_layers=2",
            "GRU bidirectional",
            "RNN num_layers=2 bidirectional",
            "batch_first=True",
        ),
    ),
    "no_bias_recurrent": Case(
        "no_bias_recurrent.py",
        ("3,4",),
        variants=(
            "LSTM, GRU, RNN bias=False",
            "LSTM bidirectional",
            "GRU num_layers=2",
            "RNN nonlinearity='relu'",
        ),
    ),
    "layernorm_no_affine": Case(
        "layernorm_no_affine.py",
        ("6",),
        variants=("LayerNorm elementwise_affine=False",),
    ),
}


# --- helpers ------------------------------------------------------------------------------


def shape_options(shapes) -> list[str]:
    return [f"--input-shape={shape}" for shape in shapes]


def convert(src: Path, out: Path, to: str, layout: str, shapes) -> None:
    process = nnport(
        "convert", src, "--to", to, "--layout", layout, *shape_options(shapes), "-o", out
    )
    assert process.returncode == 0, f"nnport convert {src.name} --to {to}:\n{process.stderr}"


def plan_of(src: Path, dst: Path, shapes) -> dict:
    """The weight plan `nnport weights src dst` executes."""
    return weights.plan_for_migrated(src, weights.generated_options(dst), None, shapes)


def weighted_ops(plan: dict) -> set[str]:
    """Catalog ops of the plan's layers that carry at least one tensor."""
    return {
        layer["op"]
        for layer in plan["layers"]
        if any(target["tensors"] for target in layer["targets"])
    }


def torch_state(pool, pt: Path) -> list[tuple[str, np.ndarray]]:
    """A .pt state_dict's entries in order, as numpy arrays (read by the torch worker)."""
    out, names = pt.with_suffix(".npz"), pt.with_suffix(".names.json")
    pool.run("torch", "state", {"weights": str(pt), "out": str(out), "names": str(names)})
    with np.load(out) as data:
        arrays = [data[str(i)] for i in range(len(data.files))]
    return list(zip(json.loads(names.read_text()), arrays))


def keras_tensors(h5: Path) -> dict[str, np.ndarray]:
    """Every dataset of a .weights.h5 file by its path."""
    import h5py

    found = {}
    with h5py.File(h5, "r") as file:
        file.visititems(
            lambda name, item: (
                found.update({name: item[()]}) if isinstance(item, h5py.Dataset) else None
            )
        )
    return found


def kind(key: str) -> str:
    """What an entry is, whatever its module path and layer index: `lstm.weight_ih_l1_reverse`
    and `lstm.1.weight_ih_l0_reverse` are both `weight_ih_reverse`."""
    return re.sub(r"_l\d+", "", key.rsplit(".", 1)[-1])


def identical(a: np.ndarray, b: np.ndarray) -> bool:
    """Bit-identical: same dtype, shape and bytes (NaN-safe, -0.0 differs from 0.0)."""
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


# --- the round trips --------------------------------------------------------------------


@pytest.fixture(scope="module")
def pool(workers):
    """The suite's worker processes (conftest.py), which also serve the tests' `state` and
    `edit_state` commands (tests/worker_commands.py)."""
    return workers


def run_case(case: Case, pool, work: Path) -> dict:
    """Convert the code three times and the weights three times; record the first failing
    weights step's error."""
    stem = Path(case.file).stem
    files = {
        "T": work / case.file,
        "K": work / f"{stem}_keras.py",
        "T2": work / f"{stem}_torch.py",
        "K2": work / f"{stem}_keras2.py",
        "T.pt": work / f"{stem}.pt",
        "K.h5": work / f"{stem}_keras.weights.h5",
        "T2.pt": work / f"{stem}_torch.pt",
        "K2.h5": work / f"{stem}_keras2.weights.h5",
    }
    torch_shapes, keras_shapes = case.torch_shapes, case.keras_input_shapes
    files["T"].write_text((ZOO / case.file).read_text())  # no __pycache__ in tests/weights_zoo
    convert(files["T"], files["K"], "keras", case.layout, torch_shapes)
    convert(files["K"], files["T2"], "torch", case.layout, keras_shapes)
    convert(files["T2"], files["K2"], "keras", case.layout, torch_shapes)
    plans = {
        "T->K": plan_of(files["T"], files["K"], torch_shapes),
        "K->T2": plan_of(files["K"], files["T2"], keras_shapes),
        "T2->K2": plan_of(files["T2"], files["K2"], torch_shapes),
    }
    init = {"model": str(files["T"]), "entry": plans["T->K"]["entry"], "seed": SEED}
    pool.run("torch", "init", {**init, "out": str(files["T.pt"])})
    errors = {}
    for step, src, dst, src_weights, shapes in [
        ("T->K", "T", "K", "T.pt", torch_shapes),
        ("K->T2", "K", "T2", "K.h5", keras_shapes),
        ("T2->K2", "T2", "K2", "T2.pt", torch_shapes),
    ]:
        out = files[{"K": "K.h5", "T2": "T2.pt", "K2": "K2.h5"}[dst]]
        try:
            weights.convert_weights(files[src], files[dst], files[src_weights], out, None, shapes)
        except weights.ConversionError as error:
            errors[step] = str(error)
            break
    return {"files": files, "plans": plans, "errors": errors}


@pytest.fixture(scope="module")
def outcome(pool, tmp_path_factory) -> dict[str, dict]:
    results = {}
    for name, case in CASES.items():
        work = tmp_path_factory.mktemp(name)
        results[name] = run_case(case, pool, work)
    return results


def cases_of(round_trip: str):
    """The cases as parameters of one round trip's test, known bugs as strict xfails."""
    return [
        pytest.param(
            name,
            id=name,
            marks=[pytest.mark.xfail(strict=True, reason=case.xfail[round_trip])]
            if round_trip in case.xfail
            else [],
        )
        for name, case in CASES.items()
    ]


def check_steps(result: dict, steps) -> None:
    for step in steps:
        assert step not in result["errors"], f"nnport weights {step}: {result['errors'][step]}"


def summed_biases(plan: dict) -> dict[str, str]:
    """PyTorch entries the plan adds into one Keras tensor (`combine: "sum"`, a recurrent
    layer's bias_ih + bias_hh): first key -> the other."""
    summed = {}
    for layer in plan["layers"]:
        prefix = f"{layer['path']}." if layer["path"] else ""
        for target in layer["targets"]:
            for spec in target["tensors"]:
                if spec.get("combine") == "sum":
                    first, second = spec["from"]
                    summed[prefix + first] = prefix + second
    return summed


@pytest.mark.parametrize("name", cases_of(FORWARD))
def test_torch_keras_torch_is_bit_identical(name, outcome, pool):
    """T.pt -> K.weights.h5 -> T2.pt gives back every state_dict entry bit for bit, in the
    same order (module paths may differ: `lstm.weight_ih_l1` is `lstm.1.weight_ih_l0` in a
    file migrated back from Keras, whose 2-layer LSTM is two layers).

    The one exception, by design: PyTorch's LSTM and RNN have two biases, Keras one, their
    sum (the plan's `combine: "sum"`); on the way back bias_ih holds that sum and bias_hh
    zeros. There the test compares bias_ih with the float32 sum (one rounding, the same one
    the plan executor does) bit for bit, and bias_hh with zeros. A GRU keeps both biases
    (Keras's reset_after bias is (2, 3*units)), so they come back unchanged.
    """
    result = outcome[name]
    check_steps(result, ["T->K", "K->T2"])
    files = result["files"]
    original = torch_state(pool, files["T.pt"])
    final = torch_state(pool, files["T2.pt"])
    assert [kind(k) for k, _ in final] == [kind(k) for k, _ in original], (
        [k for k, _ in original],
        [k for k, _ in final],
    )
    values = dict(original)
    summed = summed_biases(result["plans"]["T->K"])
    second = {b: a for a, b in summed.items()}
    for (key, value), (final_key, final_value) in zip(original, final):
        if key in summed:  # bias_ih: the sum of both biases
            expected = np.sum(np.stack([value, values[summed[key]]]), axis=0)
        elif key in second:  # bias_hh: zeros
            expected = np.zeros_like(value)
        else:
            expected = value
        assert identical(final_value, expected), (
            f"{key} -> {final_key}: {final_value} != {expected}"
        )
    # not vacuous: every float tensor of the source is random (no constant biases or statistics)
    floats = [v for _, v in original if v.dtype.kind == "f"]
    assert floats and all(np.unique(v).size == v.size for v in floats)


@pytest.mark.parametrize("name", cases_of(BACKWARD))
def test_keras_torch_keras_is_bit_identical(name, outcome):
    """K.weights.h5 (the generated Keras file's weights) -> T2.pt -> K2.weights.h5 gives
    back every Keras tensor bit for bit: Keras has one recurrent bias, PyTorch's bias_ih
    carries it and bias_hh is zero, so nothing is lost this way round."""
    result = outcome[name]
    check_steps(result, ["T->K", "K->T2", "T2->K2"])
    files = result["files"]
    before, after = keras_tensors(files["K.h5"]), keras_tensors(files["K2.h5"])
    assert sorted(after) == sorted(before)
    assert before, "no weights at all"
    for path, value in before.items():
        assert identical(after[path], value), path


def test_every_weighted_catalog_op_is_exercised(outcome):
    """Every catalog op with Keras weights is in a round trip here (the plans' ops of layers
    that carry tensors): a new weighted op needs a zoo case. Each op must pass PyTorch ->
    Keras -> PyTorch in a case not marked xfail; Keras -> PyTorch -> Keras counts the cases
    marked xfail too (strict: once the bug is fixed, they pass or the mark must go)."""
    from nnport import _core

    catalog = json.loads(_core.catalog_json())
    expected = {op["id"] for op in catalog["ops"] if op.get("keras_weights")}
    assert expected >= {"linear", "lstm", "conv2d"}, expected  # the catalog reads as assumed
    for round_trip, legs, cases in [
        (FORWARD, ("T->K", "K->T2"), [n for n, c in CASES.items() if FORWARD not in c.xfail]),
        (BACKWARD, ("K->T2", "T2->K2"), list(CASES)),
    ]:
        for leg in legs:
            covered = set().union(*(weighted_ops(outcome[n]["plans"][leg]) for n in cases))
            missing = sorted(expected - covered)
            assert not missing, f"no {round_trip} case exercises {missing} ({leg})"


def test_command_line_writes_the_same_weights(outcome, tmp_path):
    """The real `nnport weights` command line, with its own worker processes, writes the same
    tensors as the pooled workers above (PyTorch -> Keras: torch export, keras import; once,
    since starting TensorFlow again is most of its time)."""
    result = outcome["signals"]
    check_steps(result, ["T->K"])
    files, case = result["files"], CASES["signals"]
    out = tmp_path / "cli.weights.h5"
    process = nnport(
        "weights",
        files["T"],
        files["K"],
        files["T.pt"],
        "-o",
        out,
        *shape_options(case.torch_shapes),
    )
    assert process.returncode == 0, process.stderr
    assert process.stdout.strip() == f"wrote {out}"
    expected, actual = keras_tensors(files["K.h5"]), keras_tensors(out)
    assert sorted(actual) == sorted(expected)
    assert all(identical(actual[path], value) for path, value in expected.items())


# --- missing, extra and mis-shaped parameters -------------------------------------------

TO_KERAS, TO_TORCH = "torch->keras", "keras->torch"


@dataclass(frozen=True)
class Defect:
    """A defect in the source weights file or in the migrated file of the `images` case
    (`nnport weights images.py images_keras.py images.pt`, or `nnport weights
    images_keras.py images_torch.py images_keras.weights.h5`), and what the error says."""

    direction: str
    says: tuple[str, ...]
    state: dict | None = None  # torch `edit_state` request: drop, put
    h5: Callable[[object], None] | None = None  # edits an open h5py.File
    migrated: tuple[tuple[str, str], ...] = ()  # text replacements in the migrated file
    xfail: str | None = None


def h5_replace(path: str, value: np.ndarray):
    def edit(file) -> None:
        del file[path]
        file.create_dataset(path, data=value)

    return edit


# (says: every text must be in the message)
DEFECTS = {
    # PyTorch -> Keras, the source state_dict
    "pt-missing": Defect(TO_KERAS, ('"fc2.bias"', "Missing"), state={"drop": ["fc2.bias"]}),
    "pt-extra": Defect(TO_KERAS, ('"fc2.scale"', "Unexpected"), state={"put": {"fc2.scale": [5]}}),
    "pt-misshaped": Defect(
        TO_KERAS, ("fc1.weight", "[16, 200]", "[16, 216]"), state={"put": {"fc1.weight": [16, 200]}}
    ),
    # PyTorch -> Keras, the migrated Keras file
    "keras-file-missing-tensor": Defect(
        TO_KERAS,
        ("'fc2'", "'bias'"),
        migrated=(("layers.Dense(num_classes)", "layers.Dense(num_classes, use_bias=False)"),),
    ),
    "keras-file-extra-tensor": Defect(
        TO_KERAS,
        ("'fc1'", "'bias'"),
        migrated=(("layers.Dense(16, use_bias=False)", "layers.Dense(16)"),),
    ),
    "keras-file-misshaped": Defect(
        TO_KERAS,
        ("'fc1'", "tensor 'kernel'", "[216, 16]", "[216, 17]"),
        migrated=(("layers.Dense(16, use_bias=False)", "layers.Dense(17, use_bias=False)"),),
    ),
    "keras-file-extra-layer": Defect(
        TO_KERAS,
        ("extra (Dense)",),
        migrated=(
            (
                "        self.fc2 = layers.Dense(num_classes)\n",
                (
                    "        self.fc2 = layers.Dense(num_classes)\n"
                    "        self.extra = layers.Dense(3, name='extra')\n"
                ),
            ),
            ("return self.fc2(x)", "return self.extra(self.fc2(x))"),
        ),
    ),
    "keras-file-missing-layer": Defect(
        TO_KERAS,
        ("'fc2'",),
        migrated=(("return self.fc2(x)", "return x"),),
    ),
    # Keras -> PyTorch, the source .weights.h5 (the layer fc2 is the group "fc2")
    "h5-missing": Defect(
        TO_TORCH,
        ("'fc2'", "bias"),
        h5=lambda file: file.__delitem__("fc2/vars/1"),
    ),
    "h5-extra": Defect(
        TO_TORCH,
        ("'fc2'",),
        h5=lambda file: file.create_dataset("fc2/vars/2", data=np.ones(5, "f4")),
    ),
    "h5-misshaped": Defect(
        TO_TORCH,
        ("'fc2'", "kernel", "16, 6"),
        h5=h5_replace("fc2/vars/0", np.ones((16, 6), "f4")),
    ),
    "h5-extra-layer": Defect(
        TO_TORCH,
        ("'extra'",),
        h5=lambda file: file.create_dataset("extra/vars/0", data=np.ones((5, 2), "f4")),
    ),
    # Keras -> PyTorch, the migrated PyTorch file
    "torch-file-missing-tensor": Defect(
        TO_TORCH,
        ("'fc2.bias'", "tensor 'bias'"),
        migrated=(("nn.Linear(16, num_classes)", "nn.Linear(16, num_classes, bias=False)"),),
    ),
    "torch-file-extra-tensor": Defect(
        TO_TORCH,
        ("'fc1.bias'",),
        migrated=(("nn.Linear(216, 16, bias=False)", "nn.Linear(216, 16)"),),
    ),
    "torch-file-misshaped": Defect(
        TO_TORCH,
        ("'fc1'", "tensor 'weight'", "[16, 216]", "[17, 216]"),
        migrated=(("nn.Linear(216, 16, bias=False)", "nn.Linear(216, 17, bias=False)"),),
    ),
    "torch-file-extra-layer": Defect(
        TO_TORCH,
        ("'extra.weight'", "'extra.bias'"),
        migrated=(
            (
                "        self.fc2 = nn.Linear(16, num_classes)\n",
                (
                    "        self.fc2 = nn.Linear(16, num_classes)\n"
                    "        self.extra = nn.Linear(5, 3)\n"
                ),
            ),
            ("return self.fc2(x)", "return self.extra(self.fc2(x))"),
        ),
    ),
    "torch-file-missing-layer": Defect(
        TO_TORCH,
        ("module 'fc2'", "no such module"),
        migrated=(
            ("        self.fc2 = nn.Linear(16, num_classes)\n", ""),
            ("return self.fc2(x)", "return x"),
        ),
    ),
}


def defects():
    return [
        pytest.param(
            name,
            id=name,
            marks=[pytest.mark.xfail(strict=True, reason=d.xfail)] if d.xfail else [],
        )
        for name, d in DEFECTS.items()
    ]


@pytest.mark.parametrize("name", defects())
def test_defect_is_an_error_that_names_it(name, outcome, pool, tmp_path):
    import shutil

    import h5py

    defect = DEFECTS[name]
    result, case = outcome["images"], CASES["images"]
    check_steps(result, ["T->K", "K->T2"])
    files = result["files"]
    if defect.direction == TO_KERAS:
        src, dst, src_weights = files["T"], files["K"], files["T.pt"]
        out, shapes = tmp_path / "out.weights.h5", case.torch_shapes
    else:
        src, dst, src_weights = files["K"], files["T2"], files["K.h5"]
        out, shapes = tmp_path / "out.pt", case.keras_input_shapes
    if defect.state is not None:
        edited = tmp_path / src_weights.name
        request = {"weights": str(src_weights), "out": str(edited), **defect.state}
        pool.run("torch", "edit_state", request)
        src_weights = edited
    if defect.h5 is not None:
        edited = tmp_path / src_weights.name
        shutil.copyfile(src_weights, edited)
        with h5py.File(edited, "r+") as file:
            defect.h5(file)
        src_weights = edited
    if defect.migrated:
        text = dst.read_text()
        for old, new in defect.migrated:
            assert text.count(old) == 1, f"{old!r} is not once in {dst.name}:\n{text}"
            text = text.replace(old, new)
        dst = tmp_path / dst.name
        dst.write_text(text)
    with pytest.raises(weights.ConversionError) as error:
        weights.convert_weights(src, dst, src_weights, out, None, shapes)
    message = str(error.value)
    for text in defect.says:
        assert text in message, message
    assert not out.exists()
