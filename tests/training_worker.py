"""One framework, one process: runs a model file's own training function for
`tests/test_training_migration.py`.

    python tests/training_worker.py FRAMEWORK fit REQUEST.json

Request keys: model (file), entry, plan, weights (initial weights, a state_dict `.pt` or
a Keras `.weights.h5`), function (the training function the file defines; it is called as
`function(model, x, y, **kwargs)` with NumPy arrays, as the files' own `__main__` blocks
call it), kwargs, data (.npz with x and y in the source model's
layout), out (.npz). The worker switches dropout off (its random masks differ between the
frameworks), calls the function, and saves the model's outputs on x before and after training (evaluation
mode) and the function's return value when it is a list of numbers (a Keras history).
"""

from __future__ import annotations

import sys

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


COMMANDS = {("torch", "fit"): torch_fit, ("keras", "fit"): keras_fit}

if __name__ == "__main__":
    sys.exit(_worker.main(sys.argv[1:], COMMANDS, "python tests/training_worker.py"))
