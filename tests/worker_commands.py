"""Worker commands of the tests, served by the suite's worker processes (`workers` in
conftest.py: `WorkerPool(extensions=[this file])`) next to nnport's own.

`fit` (tests/test_training_migration.py) runs a model file's own training function;
`state`/`edit_state` read and edit state_dicts (tests/test_weights_round_trip.py);
`batchnorm_statistics` runs a BatchNorm model and one training step (tests/test_traps.py).
Request keys: model (file), entry, plan, weights (initial weights, a state_dict `.pt` or
a Keras `.weights.h5`), function (the training function the file defines; it is called as
`function(model, x, y, **kwargs)` with NumPy arrays, as the files' own `__main__` blocks
call it), kwargs, data (.npz with x and y in the source model's
layout), out (.npz). The worker switches dropout off (its random masks differ between the
frameworks), calls the function, and saves the model's outputs on x before and after training (evaluation
mode) and the function's return value when it is a list of numbers (a Keras history).
"""

from __future__ import annotations

import json

import numpy as np
from nnport import _worker


def _data(request: dict, framework: str) -> tuple[np.ndarray, np.ndarray]:
    arrays = np.load(request["data"])
    (x,) = _worker.model_inputs(request["plan"], framework, [arrays["x"]])
    return np.ascontiguousarray(x), arrays["y"]


def _result(value) -> np.ndarray:
    try:
        return np.asarray(value, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        return np.zeros(0)


def torch_fit(request: dict) -> None:
    import torch

    torch.manual_seed(0)
    model = _worker._torch_model(request)
    _worker._torch_load(model, request["weights"])
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    x, y = _data(request, "torch")
    model.eval()
    with torch.no_grad():
        before = model(torch.from_numpy(x)).numpy()
    function = _worker.load_module(request["model"])[request["function"]]
    returned = function(model, x, y, **request["kwargs"])
    model.eval()
    with torch.no_grad():
        outputs = model(torch.from_numpy(x)).numpy()
    outputs, before = (
        _worker.model_outputs(request["plan"], "torch", [o])[0] for o in (outputs, before)
    )
    np.savez(request["out"], outputs=outputs, before=before, returned=_result(returned))


def keras_fit(request: dict) -> None:
    import keras

    keras.utils.set_random_seed(0)
    model = _worker._keras_model(request)
    _worker._keras_call(model, _worker.build_inputs(request["plan"], "keras"), training=False)
    _worker._keras_load(model, request["weights"])
    for layer in model._flatten_layers():
        if isinstance(layer, keras.layers.Dropout):
            layer.rate = 0.0
    x, y = _data(request, "keras")
    before = np.asarray(model(x, training=False))
    function = _worker.load_module(request["model"])[request["function"]]
    returned = function(model, x, y, **request["kwargs"])
    outputs = np.asarray(model(x, training=False))
    outputs, before = (
        _worker.model_outputs(request["plan"], "keras", [o])[0] for o in (outputs, before)
    )
    np.savez(request["out"], outputs=outputs, before=before, returned=_result(returned))


def torch_state(request: dict) -> None:
    """A state_dict's entries as numpy arrays in its own order (`out`, .npz keyed 0, 1, ...)
    and their names (`names`, .json)."""
    import torch

    state = torch.load(request["weights"], map_location="cpu", weights_only=True)
    np.savez(request["out"], **{str(i): t.numpy() for i, t in enumerate(state.values())})
    with open(request["names"], "w") as file:
        json.dump(list(state), file)


def torch_edit_state(request: dict) -> None:
    """A state_dict with entries dropped (`drop`), added or replaced by ones of another
    shape (`put`: name -> shape), written to `out`."""
    import torch

    state = torch.load(request["weights"], map_location="cpu", weights_only=True)
    for name in request.get("drop", []):
        del state[name]
    for name, shape in request.get("put", {}).items():
        state[name] = torch.ones(shape)
    torch.save(state, request["out"])


def torch_batchnorm_statistics(request: dict) -> None:
    """tests/test_traps.py: BatchNorm layers far from the identity (eps 1e-3 instead of
    1e-5 shows clearly with small variances), saved to `weights`; the outputs on `inputs`
    in evaluation mode, then the moving statistics after one training step, to `out`."""
    import torch

    model = _worker.build_model(request)
    torch.manual_seed(0)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                n = m.num_features
                m.running_mean.copy_(torch.linspace(-2.0, 3.0, n))
                m.running_var.copy_(torch.linspace(0.001, 0.05, n))
                m.weight.copy_(torch.linspace(0.5, 2.0, n))
                m.bias.copy_(torch.linspace(-1.0, 1.0, n))
    torch.save(model.state_dict(), request["weights"])
    x = torch.from_numpy(np.load(request["inputs"]))
    model.eval()
    with torch.no_grad():
        y = model(x).numpy()
    model.train()
    with torch.no_grad():
        model(x)  # one training step of the moving statistics
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    means = {f"mean{i}": m.running_mean.numpy().copy() for i, m in enumerate(norms)}
    variances = {f"var{i}": m.running_var.numpy().copy() for i, m in enumerate(norms)}
    np.savez(request["out"], y=y, **means, **variances)


def keras_batchnorm_statistics(request: dict) -> None:
    """The migrated side of `torch_batchnorm_statistics`, with the converted `weights`."""
    import keras

    model = _worker.build_model(request)
    x = np.load(request["inputs"])
    model(x[:2], training=False)  # build
    model.load_weights(request["weights"])
    y = keras.ops.convert_to_numpy(model(x, training=False))
    model(x, training=True)  # one training step of the moving statistics
    norms = [
        layer
        for layer in model._flatten_layers()
        if isinstance(layer, keras.layers.BatchNormalization)
    ]
    to_numpy = keras.ops.convert_to_numpy
    means = {f"mean{i}": to_numpy(layer.moving_mean) for i, layer in enumerate(norms)}
    variances = {f"var{i}": to_numpy(layer.moving_variance) for i, layer in enumerate(norms)}
    np.savez(request["out"], y=y, **means, **variances)


COMMANDS = {
    ("torch", "fit"): torch_fit,
    ("keras", "fit"): keras_fit,
    ("torch", "state"): torch_state,
    ("torch", "edit_state"): torch_edit_state,
    ("torch", "batchnorm_statistics"): torch_batchnorm_statistics,
    ("keras", "batchnorm_statistics"): keras_batchnorm_statistics,
}
