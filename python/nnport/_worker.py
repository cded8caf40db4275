"""One framework, one process.

    python -m nnport._worker serve FRAMEWORK [--extend FILE.py]...
    python -m nnport._worker FRAMEWORK COMMAND REQUEST.json

PyTorch and TensorFlow are fragile in one process (duplicate native runtimes,
thread pools, allocators), so `weights` and `verify` give each framework a worker
process of its own, which serves request after request (`nnport.workers`: importing
a framework is most of a worker's time), and exchange arrays through files (.npz, and
nnport's own tensors file for the weights: `plan.save_tensors`).
Each request runs as in a fresh process: the model files it loaded are forgotten
afterwards and Keras's session is cleared. The second form runs one request and
exits. A request is a JSON object whose keys depend on the command:

  torch init    model, entry, seed, out (.pt)
  torch export  model, entry, plan, weights (.pt), out (.tensors), result (.json)
  torch import  model, entry, plan, arrays (.tensors), out (.pt), [run]
  torch run     model, entry, [plan], weights (.pt), inputs (.npz), out (.npz), [layers_out]
  keras init    model, entry, plan, seed, out (.weights.h5)
  keras export  model, entry, plan, weights (.weights.h5 / .h5 / .keras), out (.tensors), [result]
  keras import  model, entry, plan, arrays (.tensors), out (.weights.h5), [run]
  keras run     model, entry, plan, weights (.weights.h5), inputs (.npz), out (.npz), [layers_out]
  torch|keras prepare   model, entry, plan: build the migrated model ahead for the next
                request's `import` (a serving worker keeps it)

A step's weights file (`out` of init and import, `weights` of run and export) may be
left out: then the weights stay in memory for the request's next step, which works on
the model as the step before left it.

A request may list further steps (`then`: requests with a `command` key), run in order
in the same process. `export` runs on the source model, `import` on the migrated one; `init` and `run`
work on either. `export` writes the plan's target tensors keyed by
`plan.tensor_key`; `import` reads them. The optional `run` of an import is a
`{"inputs", "out"}` object: run those inputs on the imported weights in the
same process. A `run` takes inputs in the *source* layout: when its framework
is the plan's target, it permutes them by `inputs[i].target_permutation` and
its outputs by `outputs[i].target_permutation`, so that all `run` outputs are
in the source layout (without a plan, nothing is permuted). With `layers_out` (.npz), a
`run` also saves the output of every plan layer, keyed by the layer's source path
(`verify --per-layer`): the layer's first output, before an activation fused into it
(Keras's `activation=`), permuted into the source layout by the layer's
`output_permutation` on the target side; for a source layer that became several
target layers, the last one's.

Exit status: 0 on success, 2 on an error explained on stderr (in the user's
model file, or the two models not lining up), 1 on a bug in nnport itself.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import sys
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from nnport import plan as planlib

BUILD_BATCH = 2  # batch of the random input that builds a model or traces its order
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


class WorkerError(Exception):
    """An error the user can act on; reported without a Python traceback."""


class UserCodeError(WorkerError):
    """An exception raised by the user's model file, its entry or its forward pass."""

    def __init__(self, what: str, path: str, error: BaseException):
        frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename == path]
        where = "".join(traceback.format_list(frames))
        if isinstance(error, SyntaxError) and error.lineno:
            where = f'  File "{error.filename}", line {error.lineno}\n    {error.text or ""}\n'
        message = f"{what} failed in {path}:\n{where}{type(error).__name__}: {error}"
        super().__init__(ANSI_ESCAPE.sub("", message).rstrip())  # Keras styles its messages


# --- the user's module ------------------------------------------------------


def load_module(path: str) -> dict[str, Any]:
    """Import a model file by path and return its namespace.

    The file's folder goes on sys.path so that its own sibling imports work,
    as they would when the user runs it.
    """
    path = str(Path(path).resolve())
    name = Path(path).stem
    if name in sys.modules:
        name = f"_nnport_user_{name}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise WorkerError(f"cannot import {path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(Path(path).parent))
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as error:  # noqa: BLE001 - any exception of the user's code is reported
        raise UserCodeError("importing the model file", path, error) from None
    return vars(module)


# Models built during one request and its `then` steps, by file and entry: verify's
# chained steps (init, run, export) use one model instead of building it and reading
# its weights back each time. Cleared before every request; a model that `prepare` built
# (while the other framework's worker was busy) waits in _PREPARED for the next request.
_MODELS: dict[tuple[str, str], Any] = {}
_PREPARED: dict[tuple[str, str], tuple[Any, tuple]] = {}

IN_MEMORY = ("in memory",)  # the weights a model holds when a step kept them in memory


def _weights_stamp(path: str) -> tuple:
    stat = os.stat(path)
    return (str(Path(path).resolve()), stat.st_mtime_ns, stat.st_size)


def _set_note(model, name: str, value) -> None:
    """An attribute of nnport's own on a model, past Keras's attribute tracking (which
    refuses new lists of layers on a built model)."""
    object.__setattr__(model, name, value)


def mark_weights(model, path: str | None) -> None:
    """Record that `model` holds exactly the weights in the file `path` (just saved or
    loaded; None: set by this request's steps and not saved), so a later step of the same
    request need not load them again."""
    _set_note(model, "_nnport_weights", IN_MEMORY if path is None else _weights_stamp(path))


def holds_weights(model, path: str | None) -> bool:
    """Whether `model` holds the weights of `path`; for None, whether an earlier step of
    this request gave it weights (a step without a weights file works on those)."""
    held = getattr(model, "_nnport_weights", None)
    if path is None:
        if held is None:
            raise WorkerError("no weights file given, and no earlier step set the model's weights")
        return True
    try:
        return held == _weights_stamp(path)
    except OSError:
        return False


def _model_key(request: dict) -> tuple[str, str]:
    return (str(Path(request["model"]).resolve()), request["entry"])


def _file_stamp(request: dict) -> tuple:
    return _weights_stamp(request["model"])


def cached_model(request: dict, build: Callable[[dict], Any]) -> Any:
    key = _model_key(request)
    if key not in _MODELS:
        prepared = _PREPARED.pop(key, None)
        if prepared is not None and prepared[1] == _file_stamp(request):
            _MODELS[key] = prepared[0]
        else:
            _MODELS[key] = build(request)
            _set_note(_MODELS[key], "_nnport_weights", None)  # its own initial weights
    return _MODELS[key]


def keep_prepared(request: dict, model) -> None:
    """Keep a model built ahead (the `prepare` command) for the next request."""
    _set_note(model, "_nnport_weights", None)
    _PREPARED.clear()
    _PREPARED[_model_key(request)] = (model, _file_stamp(request))


def build_model(request: dict) -> Any:
    """Evaluate the entry expression in the model file's namespace."""
    path = str(Path(request["model"]).resolve())
    namespace = load_module(path)
    try:
        return eval(request["entry"], namespace)
    except Exception as error:  # noqa: BLE001 - any exception of the user's code is reported
        raise UserCodeError(f"building the model with `{request['entry']}`", path, error) from None


def call_model(request: dict, function: Callable[[], Any]) -> Any:
    """Run the user's forward pass, reporting its exceptions as the user's errors."""
    try:
        return function()
    except Exception as error:  # noqa: BLE001 - any exception of the user's code is reported
        path = str(Path(request["model"]).resolve())
        raise UserCodeError("the forward pass", path, error) from None


def flatten(value: Any) -> list[Any]:
    """Outputs in order: a tensor, a tuple/list, or nested ones like `(out, (h, c))`."""
    if isinstance(value, (tuple, list)):
        return [leaf for item in value for leaf in flatten(item)]
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in flatten(item)]
    return [value]


def load_arrays(path: str) -> list[np.ndarray]:
    """Arrays of an exchange file keyed "0", "1", ... in that order."""
    with np.load(path) as data:
        return [data[str(i)] for i in range(len(data.files))]


def save_arrays(path: str, arrays: list[np.ndarray]) -> None:
    np.savez(path, **{str(i): array for i, array in enumerate(arrays)})


_WARNINGS: list[str] = []  # the current request's, for a serving worker's reply


def warn(message: str) -> None:
    _WARNINGS.append(message)
    print(f"nnport: warning: {message}", file=sys.stderr)


# --- the plan's inputs and outputs, for either side -----------------------------


def is_target(plan: dict | None, framework: str) -> bool:
    """Whether `framework` is the plan's target (migrated) side."""
    return bool(plan) and plan.get("target", {}).get("framework") == framework


def model_inputs(plan: dict | None, framework: str, arrays: list[np.ndarray]) -> list[np.ndarray]:
    """Source-layout inputs as `framework`'s model of the plan takes them."""
    if plan is None:
        return arrays
    specs = plan["inputs"]
    if len(arrays) != len(specs):
        raise WorkerError(f"the plan has {len(specs)} inputs, got {len(arrays)} arrays")
    if not is_target(plan, framework):
        return arrays
    return [planlib.permute(a, s.get("target_permutation")) for a, s in zip(arrays, specs)]


def model_outputs(plan: dict | None, framework: str, arrays: list[np.ndarray]) -> list[np.ndarray]:
    """`framework`'s outputs in the source model's layout."""
    if not is_target(plan, framework):
        return arrays
    return [planlib.permute(a, planlib.output_permutation(plan, i)) for i, a in enumerate(arrays)]


def build_inputs(plan: dict, framework: str) -> list[np.ndarray]:
    """Random inputs that build a model (Keras) or trace its call order."""
    arrays = planlib.random_inputs(plan, BUILD_BATCH, np.random.default_rng(0))
    return model_inputs(plan, framework, arrays)


def layer_output(plan: dict, framework: str, path: str, output) -> np.ndarray:
    """A captured layer output as `verify --per-layer` compares it: the first tensor,
    in the source layout."""
    array = np.asarray(output)
    if is_target(plan, framework):
        (layer,) = [layer for layer in plan["layers"] if layer["path"] == path]
        array = planlib.permute(array, layer.get("output_permutation"))
    return array


# --- PyTorch ------------------------------------------------------------------


def _torch_model(request: dict):
    return cached_model(request, _build_torch_model)


def _build_torch_model(request: dict):
    import torch

    model = build_model(request)
    if not isinstance(model, torch.nn.Module):
        raise WorkerError(
            f"`{request['entry']}` built a {type(model).__name__}, not a torch.nn.Module"
        )
    return model


def _torch_save(model, path: str | None) -> None:
    """Save the state_dict to `path`; None: keep it in memory for the request's next step."""
    import torch

    if path is not None:
        torch.save(model.state_dict(), path)
    mark_weights(model, path)


def _torch_load(model, path: str | None) -> dict:
    import torch

    if holds_weights(model, path):
        return model.state_dict()
    state = torch.load(path, map_location="cpu", weights_only=True)
    try:
        model.load_state_dict(state)
    except RuntimeError as error:
        raise WorkerError(f"{path} does not fit the model:\n{error}") from None
    mark_weights(model, path)
    return state


def _torch_materialize(request: dict, model, plan: dict) -> None:
    """Give lazy modules (`nnport convert --lazy`) their parameters: one forward pass."""
    import torch
    from torch.nn.parameter import is_lazy

    if any(is_lazy(t) for t in (*model.parameters(), *model.buffers())):
        inputs = _torch_inputs(build_inputs(plan, "torch"))
        with torch.no_grad():
            call_model(request, lambda: model(*inputs))


def torch_init(request: dict) -> None:
    """Seeded random weights, with normalisation layers perturbed too.

    Fresh normalisation layers are the identity (mean 0, variance 1, weight 1,
    bias 0), which would hide a mix-up of their tensors in `verify`.
    """
    import torch

    torch.manual_seed(request["seed"])
    model = _torch_model(request)
    with torch.no_grad():
        for module in model.modules():
            if "Norm" not in type(module).__name__:
                continue
            if getattr(module, "running_var", None) is not None:
                module.running_mean.normal_(0.0, 0.1)
                module.running_var.uniform_(0.5, 1.5)
            if isinstance(getattr(module, "weight", None), torch.nn.Parameter):
                module.weight.uniform_(0.5, 1.5)
            if isinstance(getattr(module, "bias", None), torch.nn.Parameter):
                module.bias.normal_(0.0, 0.1)
    _torch_save(model, request.get("out"))


def _torch_inputs(arrays: list[np.ndarray]):
    import torch

    return [torch.from_numpy(array) for array in arrays]


def _torch_contiguous(array: np.ndarray) -> np.ndarray:
    """np.ascontiguousarray, with PyTorch's copy (blocked and multi-threaded: 2-3x faster
    on the transposed kernels of large Linear layers) where it takes the array's strides."""
    import torch

    if array.flags.c_contiguous or any(stride < 0 for stride in array.strides):
        return np.ascontiguousarray(array)
    try:
        return torch.from_numpy(array).contiguous().numpy()
    except (TypeError, ValueError, RuntimeError):  # a dtype or layout torch does not take
        return np.ascontiguousarray(array)


def torch_export(request: dict) -> None:
    """Build every target tensor from a state_dict, in the observed call order."""
    import torch

    plan = request["plan"]
    model = _torch_model(request)
    state = _torch_load(model, request.get("weights"))
    model.eval()

    modules = dict(model.named_modules())
    for layer in plan["layers"]:
        module = modules.get(layer["path"])
        if module is None:
            raise WorkerError(
                f"the plan names layer {layer['path']!r}; the model has no such module"
            )
        # a subclass has its base's parameters (nnport's KerasLSTM is an nn.LSTM)
        if layer["source_class"] not in {cls.__name__ for cls in type(module).__mro__}:
            raise WorkerError(
                f"layer {layer['path']!r} is a {type(module).__name__}; "
                f"the plan expects a {layer['source_class']}"
            )

    observed: list[str] = []

    def record(path: str):
        def hook(module, args):
            if path not in observed:
                observed.append(path)

        return hook

    handles = [
        modules[layer["path"]].register_forward_pre_hook(record(layer["path"]))
        for layer in plan["layers"]
    ]
    inputs = _torch_inputs(planlib.random_inputs(plan, BUILD_BATCH, np.random.default_rng(0)))
    with torch.no_grad():
        call_model(request, lambda: model(*inputs))
    for handle in handles:
        handle.remove()

    engine_order = [layer["path"] for layer in plan["layers"]]
    plan = planlib.reorder_layers(plan, observed)
    if observed != engine_order:
        warn(
            "the forward pass calls the layers in another order than the engine predicted; using it"
        )

    arrays = {}
    for i, layer in enumerate(plan["layers"]):
        prefix = f"{layer['path']}." if layer["path"] else ""
        sources = {  # the layer's own tensors, by their names relative to it
            key[len(prefix) :]: tensor.detach().cpu().numpy()
            for key, tensor in state.items()
            if key.startswith(prefix) and "." not in key[len(prefix) :]
        }
        for j, target in enumerate(layer["targets"]):
            where = f"{layer['path']} -> {target['class']}"
            for k, spec in enumerate(target["tensors"]):
                arrays[planlib.tensor_key(i, j, k)] = planlib.build_tensor(
                    spec, sources, where, _torch_contiguous
                )
    planlib.save_tensors(request["out"], arrays)
    Path(request["result"]).write_text(json.dumps({"plan": plan}))


def torch_import(request: dict) -> None:
    """Set the migrated model's state_dict from the exported arrays and save it.

    Every floating-point entry of the state_dict must come from the plan; the
    others (BatchNorm's `num_batches_tracked`) keep the model's own value.
    """
    import torch

    plan = request["plan"]
    model = _torch_model(request)
    _torch_materialize(request, model, plan)
    modules = dict(model.named_modules())
    state = model.state_dict()
    produced: dict[str, Any] = {}
    arrays = planlib.load_tensors(request["arrays"])
    for i, j, layer_plan, target in planlib.targets(plan):
        path = target.get("module")
        where = f"source layer {layer_plan['path']!r} -> target module {path!r}"
        if path is None:
            raise WorkerError(f"{where}: the plan does not name the target module")
        module = modules.get(path)
        if module is None:
            raise WorkerError(f"{where}: the migrated model has no such module")
        if type(module).__name__ != target["class"]:
            raise WorkerError(
                f"{where}: the plan expects a {target['class']}, "
                f"the migrated model has a {type(module).__name__}"
            )
        where = f"{where} ({target['class']})"
        for k, spec in enumerate(target["tensors"]):
            key = f"{path}.{spec['name']}" if path else spec["name"]
            if key not in state:
                prefix = f"{path}." if path else ""
                own = [n[len(prefix) :] for n in state if n.startswith(prefix)]
                own = [n for n in own if "." not in n]
                raise WorkerError(
                    f"{where}, tensor {spec['name']!r}: the migrated model has no {key!r} "
                    f"(the module has: {', '.join(own) or 'none'})"
                )
            if key in produced:
                raise WorkerError(f"{where}, tensor {spec['name']!r}: {key!r} is set twice")
            if planlib.tensor_key(i, j, k) not in arrays:
                raise WorkerError(
                    f"{where}, tensor {spec['name']!r}: not in {request['arrays']} "
                    "(exported with another plan?)"
                )
            value, existing = arrays[planlib.tensor_key(i, j, k)], state[key]
            if list(value.shape) != list(existing.shape):
                raise WorkerError(
                    f"{where}, tensor {spec['name']!r}: converted shape {list(value.shape)}, "
                    f"the module expects {list(existing.shape)}"
                )
            with warnings.catch_warnings():  # read-only (a mapped file): load_state_dict copies it
                warnings.simplefilter("ignore", UserWarning)
                produced[key] = torch.from_numpy(value).to(existing.dtype)
    missing = [
        key
        for key, value in state.items()
        if key not in produced and (value.is_floating_point() or value.is_complex())
    ]
    if missing:
        raise WorkerError(
            f"the plan gives no value for {', '.join(repr(key) for key in missing)} "
            "of the migrated model"
        )
    model.load_state_dict({**state, **produced})
    _torch_save(model, request.get("out"))
    if "run" in request:
        # verify: run the imported weights in this process too (importing a framework is
        # the expensive part of a worker)
        torch_run({**request, **request["run"], "weights": request.get("out")})


def torch_run(request: dict) -> None:
    import torch

    plan = request.get("plan")
    model = _torch_model(request)
    if plan is not None:
        _torch_materialize(request, model, plan)
    _torch_load(model, request.get("weights"))
    model.eval()
    inputs = _torch_inputs(model_inputs(plan, "torch", load_arrays(request["inputs"])))
    captured: dict[str, np.ndarray] = {}
    handles = []
    if request.get("layers_out"):
        modules = dict(model.named_modules())
        target = is_target(plan, "torch")
        for layer in plan["layers"]:
            module = modules.get(layer["targets"][-1].get("module") if target else layer["path"])
            if module is not None:
                handles.append(
                    module.register_forward_hook(_torch_capture(layer["path"], captured))
                )
    with torch.no_grad():
        outputs = flatten(call_model(request, lambda: model(*inputs)))
    for handle in handles:
        handle.remove()
    arrays = [output.detach().cpu().numpy() for output in outputs]
    save_arrays(request["out"], model_outputs(plan, "torch", arrays))
    if request.get("layers_out"):
        layers = {path: layer_output(plan, "torch", path, a) for path, a in captured.items()}
        np.savez(request["layers_out"], **layers)


def _torch_capture(path: str, captured: dict):
    """A forward hook keeping the first output of a module's first call."""

    def hook(module, args, output):
        if path not in captured:
            captured[path] = flatten(output)[0].detach().cpu().numpy()

    return hook


# --- Keras --------------------------------------------------------------------


def _keras_call(model, inputs: list, **kwargs):
    """Call a Keras model the way its kind expects several inputs.

    Functional models take one list; subclassed models (what nnport writes from
    a PyTorch `forward(self, a, b)`) take them positionally.
    """
    if len(inputs) == 1:
        return model(inputs[0], **kwargs)
    if any(cls.__name__ == "Functional" for cls in type(model).__mro__):
        return model(inputs, **kwargs)
    return model(*inputs, **kwargs)


def _keras_model(request: dict):
    return cached_model(request, _build_keras_model)


def _keras_save(model, path: str | None) -> None:
    """Save the weights to `path`; None: keep them in memory for the request's next step."""
    if path is not None:
        model.save_weights(path)
    mark_weights(model, path)


def _build_keras_model(request: dict):
    """The model the entry builds; its weights exist once it is called (built).

    Layers the file calls while it builds the model (functional code, at import or in
    the entry) are recorded in that order on the model (`_nnport_build_order`): it is the
    order in which nnport's engine, reading the same code, meets them. Keras's own
    execution order of a functional graph can differ (parallel branches run in reverse).
    """
    import keras

    original = keras.layers.Layer.__call__
    built: list = []

    def recording_call(layer, *args, **kwargs):
        if not any(layer is seen for seen in built):
            built.append(layer)
        return original(layer, *args, **kwargs)

    keras.layers.Layer.__call__ = recording_call
    try:
        model = build_model(request)
    finally:
        keras.layers.Layer.__call__ = original
    if not isinstance(model, keras.layers.Layer):
        raise WorkerError(f"`{request['entry']}` built a {type(model).__name__}, not a Keras model")
    model._nnport_build_order = built
    return model


def _keras_load(model, path: str | None) -> None:
    if holds_weights(model, path):
        return
    failure = None
    try:
        model.load_weights(path)
    except (ValueError, OSError, KeyError) as error:
        failure = ANSI_ESCAPE.sub("", str(error)).strip()
    if path.endswith(".weights.h5") and (failure or _h5_count(path) != len(model.weights)):
        # Keras accepts extra layers in the file and names neither tensors nor shapes
        # when it refuses one: compare the file with what the model itself saves
        problems = _weights_file_differences(model, path)
        if problems:
            raise WorkerError(f"{path} does not fit the model:\n" + "\n".join(problems))
    if failure:
        raise WorkerError(f"{path} does not fit the model:\n{failure}")
    mark_weights(model, path)


def _h5_datasets(path: str) -> dict[str, list[int]]:
    """Every tensor of a .weights.h5 file: its path in the file and its shape."""
    import h5py

    found: dict[str, list[int]] = {}
    with h5py.File(path, "r") as f:
        f.visititems(
            lambda name, item: (
                found.__setitem__(name, list(item.shape))
                if isinstance(item, h5py.Dataset)
                else None
            )
        )
    return found


def _describe_h5(model, name: str) -> str:
    """`fc2/vars/1` as "layer 'fc2', variable 'bias' (fc2/vars/1)".

    Keras stores a layer's variables under its attribute path (`layers/<name>` inside a
    Sequential or list) as `vars/<i>`, i counting trainable then non-trainable variables.
    """
    owner_path, _, index = name.rpartition("/vars/")
    owner, parts = model, [p for p in owner_path.split("/") if p]
    while parts and owner is not None:
        part = parts.pop(0)
        if part == "layers" and parts:
            children = getattr(owner, "layers", []) or []
            owner = next((c for c in children if c.name == parts[0]), None)
            parts.pop(0)
        else:
            owner = getattr(owner, part, None)
    label = owner_path.rsplit("/", 1)[-1] if owner_path else name
    if owner is None or not index.isdigit():
        return f"layer {label!r} ({name}), which the model does not have"
    variables = [*owner.trainable_weights, *owner.non_trainable_weights]
    if int(index) >= len(variables):
        return f"layer {label!r}, variable {index} ({name})"
    return f"layer {label!r}, variable {_keras_weight_name(variables[int(index)])!r} ({name})"


def _h5_count(path: str) -> int:
    try:
        return len(_h5_datasets(path))
    except OSError:
        return -1


def _weights_file_differences(model, path: str) -> list[str]:
    """What a weights file has that the model has not, and the reverse, by the file's
    paths (`fc2/vars/1`: the second variable of layer `fc2`) and shapes."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="nnport-weights-") as tmp:
        expected_path = str(Path(tmp) / "expected.weights.h5")
        model.save_weights(expected_path)
        expected = _h5_datasets(expected_path)
    try:
        found = _h5_datasets(path)
    except OSError as error:
        return [f"cannot read it as HDF5: {error}"]
    problems = [
        f"missing {_describe_h5(model, name)} (shape {shape})"
        for name, shape in expected.items()
        if name not in found
    ]
    problems += [
        f"extra {_describe_h5(model, name)} (shape {shape}): the model has no such variable"
        for name, shape in found.items()
        if name not in expected
    ]
    problems += [
        f"{_describe_h5(model, name)} has shape {found[name]}, the model expects {shape}"
        for name, shape in expected.items()
        if name in found and found[name] != shape
    ]
    return problems


def _keras_is_leaf(layer) -> bool:
    """A layer whose weights are one unit: a Keras layer (a Bidirectional with its two
    LSTMs, an LSTM with its cell) or a user layer without sublayers; not a model or a
    user layer that groups others."""
    import keras

    if isinstance(layer, keras.Model):
        return False
    if type(layer).__module__.split(".")[0] == "keras":
        return True
    sublayers = getattr(layer, "_flatten_layers", None)  # Keras 3's own listing
    return sublayers is None or not list(sublayers(include_self=False, recursive=False))


def keras_layers_in_call_order(
    request: dict, model, inputs: list[np.ndarray], classes: set[str] | None = None
) -> list:
    """Layers in the order a forward pass on `inputs` first calls them: those of the
    given classes or, without `classes`, the leaf layers (`_keras_is_leaf`) that have
    weights once the call returns (the call may be the one that builds them).

    `Layer.__call__` is patched at class level for the duration of one call.
    A layer called while another recorded layer is running belongs to
    it (the LSTM inside a Bidirectional), so only the outer one counts.
    The answer is kept on the model for the same `classes` (a model `prepare` built
    ahead has it already); `inputs` are always the plan's build inputs.
    """
    import keras

    known = getattr(model, "_nnport_call_order", {})
    key = None if classes is None else frozenset(classes)
    if key in known:
        return list(known[key])
    original = keras.layers.Layer.__call__
    recorded: list = []
    active = 0

    def wanted(layer) -> bool:
        return type(layer).__name__ in classes if classes is not None else _keras_is_leaf(layer)

    def recording_call(layer, *args, **kwargs):
        nonlocal active
        if not wanted(layer):
            return original(layer, *args, **kwargs)
        if active == 0 and not any(layer is seen for seen in recorded):
            recorded.append(layer)
        active += 1
        try:
            return original(layer, *args, **kwargs)
        finally:
            active -= 1

    keras.layers.Layer.__call__ = recording_call
    try:
        call_model(request, lambda: _keras_call(model, inputs, training=False))
    finally:
        keras.layers.Layer.__call__ = original
    # a functional model's layers in the order its code called them while building it
    order = {id(layer): i for i, layer in enumerate(getattr(model, "_nnport_build_order", []))}
    if all(id(layer) in order for layer in recorded):
        recorded.sort(key=lambda layer: order[id(layer)])
    if classes is None:
        recorded = [layer for layer in recorded if layer.weights]
    _set_note(model, "_nnport_call_order", {**known, key: list(recorded)})
    return recorded


def _keras_weight_name(variable) -> str:
    """A variable's own name: "kernel" for the path "lstm/lstm_cell/kernel"."""
    return (getattr(variable, "name", None) or variable.path).rsplit("/", 1)[-1]


def _perturb_constants(model, rng: np.random.Generator) -> None:
    """Make constant-initialised weights random, keeping positive ones positive.

    Keras starts biases and BatchNormalization's beta and moving mean at 0, its
    gamma and moving variance at 1 (and an LSTM bias at 0 or 1 per gate): in
    `verify` that would hide a mix-up of these tensors.
    """
    import keras

    scaled = {"gamma", "moving_variance"}
    shifted = {"bias", "beta", "moving_mean"}
    for variable in model.weights:
        if not keras.backend.is_float_dtype(variable.dtype):
            continue
        value = np.asarray(keras.ops.convert_to_numpy(variable), dtype=np.float64)
        name = _keras_weight_name(variable)
        constant = value.size > 0 and bool(np.all(value == value.flat[0]))
        if name in scaled or (constant and value.flat[0] > 0):
            value = value * rng.uniform(0.5, 1.5, value.shape)
        elif name in shifted or constant:
            value = value + rng.normal(0.0, 0.1, value.shape)
        else:
            continue
        variable.assign(keras.ops.cast(value, variable.dtype))


def keras_init(request: dict) -> None:
    """Seeded random weights, built by one call on the plan's (source) inputs."""
    import keras

    keras.utils.set_random_seed(request["seed"])
    plan = request["plan"]
    model = _keras_model(request)
    call_model(request, lambda: _keras_call(model, build_inputs(plan, "keras"), training=False))
    _perturb_constants(model, np.random.default_rng(request["seed"]))
    _keras_save(model, request.get("out"))


def keras_source_tensors(layer) -> tuple[dict[str, np.ndarray], set[str]]:
    """A source layer's weights by their plan names, and the names it has twice.

    Plan names are the variables' names ("kernel", "moving_mean"); a
    Bidirectional's are "forward/<name>" and "backward/<name>".
    """
    import keras

    parts = [("", layer)]
    if hasattr(layer, "forward_layer") and hasattr(layer, "backward_layer"):
        parts = [("forward/", layer.forward_layer), ("backward/", layer.backward_layer)]
    tensors: dict[str, np.ndarray] = {}
    twice: set[str] = set()
    for prefix, owner in parts:
        for variable in owner.weights:
            name = prefix + _keras_weight_name(variable)
            if name in tensors:
                twice.add(name)
            tensors[name] = np.asarray(keras.ops.convert_to_numpy(variable))
    return {n: t for n, t in tensors.items() if n not in twice}, twice


def keras_export(request: dict) -> None:
    """Build every target tensor from a Keras model's weights.

    The plan's layers are the source layers that have weights, in call order;
    they pair with the model's leaf layers that have weights, in the order of
    a forward pass, whose class must be the plan's `source_class`.
    """
    plan = request["plan"]
    model = _keras_model(request)
    layers = keras_layers_in_call_order(request, model, build_inputs(plan, "keras"))  # builds it
    _keras_load(model, request.get("weights"))

    planned = plan["layers"]
    if len(layers) != len(planned):
        expected = ", ".join(f"{p['path']} ({p['source_class']})" for p in planned)
        found = ", ".join(f"{layer.name} ({type(layer).__name__})" for layer in layers)
        raise WorkerError(
            f"the plan expects {len(planned)} layers with weights in the source model "
            f"({expected or 'none'}); its forward pass calls {len(layers)}: {found or 'none'}"
        )
    arrays = {}
    for i, (layer_plan, layer) in enumerate(zip(planned, layers)):
        found = type(layer).__name__
        if found != layer_plan["source_class"]:
            raise WorkerError(
                f"layer {i + 1} with weights in call order, {layer.name!r}, is a {found}; "
                f"the plan expects a {layer_plan['source_class']} (source layer "
                f"{layer_plan['path']!r})"
            )
        sources, twice = keras_source_tensors(layer)
        for j, target in enumerate(layer_plan["targets"]):
            where = f"{layer.name} ({found}) -> {target.get('module') or target['class']}"
            for k, spec in enumerate(target["tensors"]):
                ambiguous = twice.intersection(spec.get("from", []))
                if ambiguous:
                    raise WorkerError(
                        f"{where}.{spec['name']}: layer {layer.name!r} has several weights "
                        f"named {min(ambiguous)!r}"
                    )
                arrays[planlib.tensor_key(i, j, k)] = planlib.build_tensor(spec, sources, where)
    planlib.save_tensors(request["out"], arrays)
    if "result" in request:  # the plan, as `torch export` writes it (no reordering here)
        Path(request["result"]).write_text(json.dumps({"plan": plan}))


def keras_import(request: dict) -> None:
    """Set every target layer's weights from the exported arrays and save them."""
    plan = request["plan"]
    model = _keras_model(request)
    planned = list(planlib.targets(plan))
    classes = {t["class"] for *_, t in planned}
    layers = keras_layers_in_call_order(request, model, build_inputs(plan, "keras"), classes)
    if len(layers) != len(planned):
        found = ", ".join(f"{layer.name} ({type(layer).__name__})" for layer in layers)
        # the first planned layer the forward pass does not match, in call order
        k = next(
            (k for k, (p, layer) in enumerate(zip(planned, layers))
             if type(layer).__name__ != p[3]["class"]),
            min(len(planned), len(layers)),
        )  # fmt: skip
        if len(layers) < len(planned):
            _, _, layer_plan, target = planned[k]
            first = (
                f"the first without a counterpart is the {target['class']} for source layer "
                f"{layer_plan['path']!r}"
            )
        else:
            first = f"the first unplanned one is {layers[k].name!r} ({type(layers[k]).__name__})"
        raise WorkerError(
            f"the plan expects {len(planned)} parameterised layers in the migrated model, "
            f"its forward pass calls {len(layers)}: {found or 'none'}; {first}"
        )

    arrays = planlib.load_tensors(request["arrays"])
    for (i, j, layer_plan, target), layer in zip(planned, layers):
        where = f"source layer {layer_plan['path']!r} -> target layer {layer.name!r}"
        if type(layer).__name__ != target["class"]:
            raise WorkerError(
                f"{where}: the plan expects a {target['class']}, "
                f"the migrated model calls a {type(layer).__name__} here"
            )
        current = layer.get_weights()
        specs = target["tensors"]
        if len(current) != len(specs):
            planned_names = [spec["name"].rsplit("/", 1)[-1] for spec in specs]
            own = [_keras_weight_name(v) for v in layer.weights]
            missing = [n for n in planned_names if n not in own]
            extra = [n for n in own if n not in planned_names]
            detail = "; ".join(
                part
                for part in (
                    f"the layer has no {', '.join(map(repr, missing))}" if missing else "",
                    f"the plan gives nothing for its {', '.join(map(repr, extra))}"
                    if extra
                    else "",
                )
                if part
            )
            raise WorkerError(
                f"{where} ({target['class']}): the plan gives {len(specs)} tensors "
                f"({', '.join(planned_names)}), the layer has {len(current)} "
                f"({', '.join(own) or 'none'})" + (f": {detail}" if detail else "")
            )
        values = []
        for k, (spec, existing) in enumerate(zip(specs, current)):
            value = arrays[planlib.tensor_key(i, j, k)]
            if value.shape != existing.shape:
                raise WorkerError(
                    f"{where} ({target['class']}), tensor {spec['name']!r}: "
                    f"converted shape {list(value.shape)}, the layer expects {list(existing.shape)}"
                )
            values.append(value.astype(existing.dtype))
        layer.set_weights(values)
    _keras_save(model, request.get("out"))
    if "run" in request:
        # verify: run the imported weights in this process too (importing TensorFlow is
        # the expensive part of a worker)
        keras_run({**request, **request["run"], "weights": request.get("out")})


def keras_run(request: dict) -> None:
    import keras

    plan = request["plan"]
    model = _keras_model(request)
    if not model.built:  # its weights exist once it is called
        call_model(request, lambda: _keras_call(model, build_inputs(plan, "keras"), training=False))
    _keras_load(model, request.get("weights"))
    inputs = model_inputs(plan, "keras", load_arrays(request["inputs"]))
    if not request.get("layers_out"):
        outputs = flatten(call_model(request, lambda: _keras_call(model, inputs, training=False)))
    else:
        paths = _keras_plan_layers(request, model, plan)
        with _keras_capture(paths) as captured:
            outputs = flatten(
                call_model(request, lambda: _keras_call(model, inputs, training=False))
            )
        layers = {path: layer_output(plan, "keras", path, a) for path, a in captured.items()}
        np.savez(request["layers_out"], **layers)
    arrays = [np.asarray(keras.ops.convert_to_numpy(output)) for output in outputs]
    save_arrays(request["out"], model_outputs(plan, "keras", arrays))


def _keras_plan_layers(request: dict, model, plan: dict) -> dict[int, str]:
    """The model's layers that stand for plan layers: id(layer) -> the plan layer's path.

    Source side: the leaf layers with weights, in call order, as `export` pairs them.
    Target side: the layers of the plan's target classes, as `import` pairs them; a
    source layer that became several (a 2-layer LSTM) is represented by the last.
    """
    build = build_inputs(plan, "keras")
    if not is_target(plan, "keras"):
        layers = keras_layers_in_call_order(request, model, build)
        return {id(layer): lp["path"] for layer, lp in zip(layers, plan["layers"])}
    planned = list(planlib.targets(plan))
    classes = {t["class"] for *_, t in planned}
    layers = keras_layers_in_call_order(request, model, build, classes)
    return {
        id(layer): lp["path"]
        for (_, j, lp, _), layer in zip(planned, layers)
        if j == len(lp["targets"]) - 1
    }


@contextlib.contextmanager
def _keras_capture(paths: dict[int, str]):
    """Record the first output of the first call of each layer in `paths`, before the
    activation fused into it: PyTorch applies that activation outside the module, so
    only the pre-activation output has a counterpart there. The activation is applied
    right after, so the forward pass computes exactly what it computes without this."""
    import keras

    original = keras.layers.Layer.__call__
    captured: dict[str, np.ndarray] = {}

    def recording_call(layer, *args, **kwargs):
        path = paths.get(id(layer))
        if path is None or path in captured:
            return original(layer, *args, **kwargs)
        activation = getattr(layer, "activation", None)
        fused = not isinstance(layer, (keras.layers.RNN, keras.layers.Bidirectional)) and (
            activation is not None and activation is not keras.activations.linear
        )
        if fused:
            layer.activation = keras.activations.linear
        try:
            output = original(layer, *args, **kwargs)
        finally:
            if fused:
                layer.activation = activation
        captured[path] = np.asarray(keras.ops.convert_to_numpy(flatten(output)[0]))
        return activation(output) if fused else output

    keras.layers.Layer.__call__ = recording_call
    try:
        yield captured
    finally:
        keras.layers.Layer.__call__ = original


def torch_prepare(request: dict) -> None:
    """Build the migrated model ahead, while the source framework's worker works, for the
    `import` that follows (verify sends both to this worker)."""
    model = _build_torch_model(request)
    _torch_materialize(request, model, request["plan"])
    keep_prepared(request, model)


def keras_prepare(request: dict) -> None:
    """Build the migrated model ahead, its weights and the call order `import` needs."""
    plan = request["plan"]
    model = _build_keras_model(request)
    classes = {target["class"] for *_, target in planlib.targets(plan)}
    keras_layers_in_call_order(request, model, build_inputs(plan, "keras"), classes)
    keep_prepared(request, model)


COMMANDS: dict[tuple[str, str], Callable[[dict], None]] = {
    ("torch", "init"): torch_init,
    ("torch", "export"): torch_export,
    ("torch", "import"): torch_import,
    ("torch", "run"): torch_run,
    ("torch", "prepare"): torch_prepare,
    ("keras", "init"): keras_init,
    ("keras", "export"): keras_export,
    ("keras", "import"): keras_import,
    ("keras", "run"): keras_run,
    ("keras", "prepare"): keras_prepare,
}


def _prepare(framework: str) -> None:
    """Environment for `framework` before it is imported: TensorFlow quiet and Keras on it."""
    if framework == "keras":
        os.environ.setdefault("KERAS_BACKEND", "tensorflow")
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _fresh_state(framework: str) -> None:
    """What a model file or an earlier request may have changed, back to a fresh process's
    values: Keras's layer-name counters (weights files use the names), dtypes, autograd."""
    if framework == "keras":
        import keras

        keras.config.set_floatx("float32")
        keras.backend.clear_session()  # also the dtype policy: derived from floatx again
    else:
        import torch

        torch.set_default_dtype(torch.float32)
        torch.set_grad_enabled(True)


def run_request(framework: str, request: dict, commands: dict) -> None:
    """One request and its `then` steps, each as in a fresh process: verify's source side
    chains `init`, `run` and `export` (importing a framework is most of a worker's time)."""
    _MODELS.clear()
    try:
        for step in [request, *request.get("then", [])]:
            _fresh_state(framework)
            commands[framework, step["command"]](step)
    finally:
        _MODELS.clear()
        if request["command"] != "prepare":
            _PREPARED.clear()  # not taken by this request: nobody will


def main(
    argv: list[str],
    commands: dict[tuple[str, str], Callable[[dict], None]] = COMMANDS,
    program: str = "python -m nnport._worker",
) -> int:
    """Run one request with `commands` (other workers, e.g. the training benchmark's,
    reuse this with their own table), or serve requests (`serve FRAMEWORK`)."""
    if argv[:1] == ["serve"]:
        return serve(argv[1:], commands)
    if len(argv) != 3 or tuple(argv[:2]) not in commands:
        known = ", ".join(" ".join(key) for key in commands)
        print(
            f"usage: {program} FRAMEWORK COMMAND REQUEST.json ({known})\n"
            f"       {program} serve FRAMEWORK [--extend FILE.py]...",
            file=sys.stderr,
        )
        return 2
    framework, command, request_path = argv
    _prepare(framework)
    request = json.loads(Path(request_path).read_text())
    try:
        run_request(framework, {**request, "command": command}, commands)
    except (WorkerError, planlib.PlanError) as error:
        print(f"nnport: error: {error}", file=sys.stderr)
        return 2
    return 0


# --- serving: one process answers many requests (nnport.workers) ---------------------------


def _extension_commands(path: str) -> dict[tuple[str, str], Callable[[dict], None]]:
    """The COMMANDS table of a Python file that adds worker commands (a test's or a
    benchmark's), loaded by path."""
    spec = importlib.util.spec_from_file_location(f"_nnport_extension_{Path(path).stem}", path)
    if spec is None or spec.loader is None:
        raise WorkerError(f"cannot load worker commands from {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.COMMANDS


class _Isolation:
    """Undo, after a request, what loading the user's files did to the process: their
    modules (and the sibling modules they imported) leave sys.modules, their folders
    leave sys.path, so the next request loads its own files afresh."""

    def __enter__(self):
        importlib.invalidate_caches()  # a file written since the last request is found
        self._modules = set(sys.modules)
        self._path = list(sys.path)
        return self

    def __exit__(self, *exc):
        installed = (sys.prefix, sys.base_prefix, sys.exec_prefix)
        for name in set(sys.modules) - self._modules:
            file = getattr(sys.modules[name], "__file__", None) or ""
            if not file.startswith(installed):
                del sys.modules[name]
        sys.path[:] = self._path
        return False


def serve(argv: list[str], commands: dict) -> int:
    """`serve FRAMEWORK [--extend FILE.py]...`: answer requests, one JSON object a line
    on standard input, each with one JSON line on the original standard output:
    `{"status": 0, "warnings": [...]}`, or status 2 and the `error` the user can act on,
    or status 1 and the traceback of a bug. What the frameworks and the model files
    print goes to standard error (fd 1 becomes a copy of fd 2), and they read an
    empty standard input, so neither can disturb the exchange."""
    if not argv or argv[0] not in ("torch", "keras") or len(argv) % 2 != 1:
        print(
            "usage: python -m nnport._worker serve FRAMEWORK [--extend FILE.py]...", file=sys.stderr
        )
        return 2
    framework, extensions = argv[0], argv[2::2]
    requests = os.fdopen(os.dup(0), "r", encoding="utf-8")
    replies = os.fdopen(os.dup(1), "w", encoding="utf-8")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)
    sys.dont_write_bytecode = True  # no __pycache__ in the users' folders
    _prepare(framework)
    table = dict(commands)
    for path in extensions:
        table.update(_extension_commands(path))
    importlib.import_module("keras" if framework == "keras" else "torch")  # once, up front

    def reply(answer: dict) -> None:
        replies.write(json.dumps(answer) + "\n")
        replies.flush()

    reply({"status": 0, "ready": os.getpid()})
    for line in requests:
        request = json.loads(line)
        _WARNINGS.clear()
        with _Isolation():
            try:
                if (framework, request.get("command")) not in table:
                    raise WorkerError(
                        f"the {framework} worker has no command {request.get('command')!r}"
                    )
                run_request(framework, request, table)
                answer = {"status": 0}
            except (WorkerError, planlib.PlanError) as error:
                answer = {"status": 2, "error": str(error)}
            except (Exception, SystemExit):  # noqa: BLE001 - a bug (or exit()): reported, goes on
                answer = {"status": 1, "error": traceback.format_exc()}
        answer["warnings"] = list(_WARNINGS)
        sys.stdout.flush()
        sys.stderr.flush()
        reply(answer)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # no slow interpreter teardown of the framework


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
