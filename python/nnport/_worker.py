"""One framework, one process: `python -m nnport._worker FRAMEWORK COMMAND REQUEST.json`.

PyTorch and TensorFlow are fragile in one process (duplicate native runtimes,
thread pools, allocators), so `weights` and `verify` start this worker once per
step and exchange arrays through .npz files. The request is a JSON object whose
keys depend on the command:

  torch init    model, entry, seed, out (.pt)
  torch export  model, entry, plan, weights (.pt), out (.npz), result (.json)
  torch run     model, entry, weights (.pt), inputs (.npz), out (.npz)
  keras import  model, entry, plan, arrays (.npz), out (.weights.h5)
  keras run     model, entry, plan, weights (.weights.h5), inputs (.npz), out (.npz)

Exit status: 0 on success, 2 on an error explained on stderr (in the user's
model file, or the two models not lining up), 1 on a bug in nnport itself.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import sys
import traceback
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


def warn(message: str) -> None:
    print(f"nnport: warning: {message}", file=sys.stderr)


# --- PyTorch ------------------------------------------------------------------


def _torch_model(request: dict):
    import torch

    model = build_model(request)
    if not isinstance(model, torch.nn.Module):
        raise WorkerError(
            f"`{request['entry']}` built a {type(model).__name__}, not a torch.nn.Module"
        )
    return model


def _torch_load(model, path: str) -> dict:
    import torch

    state = torch.load(path, map_location="cpu", weights_only=True)
    try:
        model.load_state_dict(state)
    except RuntimeError as error:
        raise WorkerError(f"{path} does not fit the model:\n{error}") from None
    return state


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
    torch.save(model.state_dict(), request["out"])


def _torch_inputs(arrays: list[np.ndarray]):
    import torch

    return [torch.from_numpy(array) for array in arrays]


def torch_export(request: dict) -> None:
    """Build every target tensor from a state_dict, in the observed call order."""
    import torch

    plan = request["plan"]
    model = _torch_model(request)
    state = _torch_load(model, request["weights"])
    model.eval()

    modules = dict(model.named_modules())
    for layer in plan["layers"]:
        module = modules.get(layer["path"])
        if module is None:
            raise WorkerError(
                f"the plan names layer {layer['path']!r}; the model has no such module"
            )
        if type(module).__name__ != layer["source_class"]:
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
                arrays[planlib.tensor_key(i, j, k)] = planlib.build_tensor(spec, sources, where)
    np.savez(request["out"], **arrays)
    Path(request["result"]).write_text(json.dumps({"plan": plan}))


def torch_run(request: dict) -> None:
    import torch

    model = _torch_model(request)
    _torch_load(model, request["weights"])
    model.eval()
    inputs = _torch_inputs(load_arrays(request["inputs"]))
    with torch.no_grad():
        outputs = flatten(call_model(request, lambda: model(*inputs)))
    save_arrays(request["out"], [output.detach().cpu().numpy() for output in outputs])


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


def _keras_target_inputs(plan: dict, arrays: list[np.ndarray]) -> list[np.ndarray]:
    specs = plan["inputs"]
    if len(arrays) != len(specs):
        raise WorkerError(f"the plan has {len(specs)} inputs, got {len(arrays)} arrays")
    return [planlib.permute(a, s.get("target_permutation")) for a, s in zip(arrays, specs)]


def _keras_model(request: dict):
    """Build the migrated model and its weights by calling it once."""
    import keras

    model = build_model(request)
    if not isinstance(model, keras.layers.Layer):
        raise WorkerError(f"`{request['entry']}` built a {type(model).__name__}, not a Keras model")
    return model


def _build_inputs(plan: dict) -> list[np.ndarray]:
    arrays = planlib.random_inputs(plan, BUILD_BATCH, np.random.default_rng(0))
    return _keras_target_inputs(plan, arrays)


def keras_layers_in_call_order(request: dict, model, classes: set[str]) -> list:
    """Layers of the given classes, in the order a forward pass first calls them.

    `Layer.__call__` is patched at class level for the duration of one call.
    A layer called while another recorded-class layer is running belongs to
    it (the LSTM inside a Bidirectional), so only the outer one counts.
    """
    import keras

    original = keras.layers.Layer.__call__
    recorded: list = []
    active = 0

    def recording_call(layer, *args, **kwargs):
        nonlocal active
        if type(layer).__name__ not in classes:
            return original(layer, *args, **kwargs)
        if active == 0 and not any(layer is seen for seen in recorded):
            recorded.append(layer)
        active += 1
        try:
            return original(layer, *args, **kwargs)
        finally:
            active -= 1

    inputs = _build_inputs(request["plan"])
    keras.layers.Layer.__call__ = recording_call
    try:
        call_model(request, lambda: _keras_call(model, inputs, training=False))
    finally:
        keras.layers.Layer.__call__ = original
    return recorded


def keras_import(request: dict) -> None:
    """Set every target layer's weights from the exported arrays and save them."""
    plan = request["plan"]
    model = _keras_model(request)
    planned = list(planlib.targets(plan))
    layers = keras_layers_in_call_order(request, model, {t["class"] for *_, t in planned})
    if len(layers) != len(planned):
        found = ", ".join(f"{layer.name} ({type(layer).__name__})" for layer in layers)
        raise WorkerError(
            f"the plan expects {len(planned)} parameterised layers in the migrated model, "
            f"its forward pass calls {len(layers)}: {found or 'none'}"
        )

    with np.load(request["arrays"]) as arrays:
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
                raise WorkerError(
                    f"{where} ({target['class']}): the plan gives {len(specs)} tensors, "
                    f"the layer has {len(current)}"
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
    model.save_weights(request["out"])
    if "run" in request:
        # verify: run the saved weights in this process too (importing TensorFlow is the
        # expensive part of a worker)
        keras_run({**request, **request["run"], "weights": request["out"]})


def keras_run(request: dict) -> None:
    import keras

    plan = request["plan"]
    model = _keras_model(request)
    call_model(request, lambda: _keras_call(model, _build_inputs(plan), training=False))
    model.load_weights(request["weights"])
    inputs = _keras_target_inputs(plan, load_arrays(request["inputs"]))
    outputs = flatten(call_model(request, lambda: _keras_call(model, inputs, training=False)))
    arrays = [
        planlib.permute(keras.ops.convert_to_numpy(output), planlib.output_permutation(plan, i))
        for i, output in enumerate(outputs)
    ]
    save_arrays(request["out"], arrays)


COMMANDS: dict[tuple[str, str], Callable[[dict], None]] = {
    ("torch", "init"): torch_init,
    ("torch", "export"): torch_export,
    ("torch", "run"): torch_run,
    ("keras", "import"): keras_import,
    ("keras", "run"): keras_run,
}


def main(argv: list[str]) -> int:
    if len(argv) != 3 or tuple(argv[:2]) not in COMMANDS:
        known = ", ".join(" ".join(key) for key in COMMANDS)
        print(
            f"usage: python -m nnport._worker FRAMEWORK COMMAND REQUEST.json ({known})",
            file=sys.stderr,
        )
        return 2
    framework, command, request_path = argv
    if framework == "keras":
        os.environ.setdefault("KERAS_BACKEND", "tensorflow")
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    request = json.loads(Path(request_path).read_text())
    try:
        COMMANDS[framework, command](request)
    except (WorkerError, planlib.PlanError) as error:
        print(f"nnport: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
