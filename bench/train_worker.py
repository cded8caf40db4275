"""One framework, one process: trains a model for `bench/paper_training.py`.

    python bench/train_worker.py FRAMEWORK COMMAND REQUEST.json

FRAMEWORK is `torch` or `keras` (Keras 3 on TensorFlow); PyTorch and TensorFlow never
share a process. COMMAND is

  init   build the model with its framework's default initialisation after seeding
         the framework's random generators with `seed`; save the weights to `out`
         (a state_dict `.pt` or a Keras `.weights.h5`). Keys: model, entry, plan, seed, out.
  train  build the model, take its initial weights from `weights` (a file `init` or
         `nnport weights` wrote) or, without it, from the seeded default initialisation;
         train it on the data file's batches and write a JSON report to `out`.
         Keys: model, entry, plan, seed, data, out, [weights], dropout (bool), lr,
         momentum, batch_size, loss ("logits", "softmax" or "sigmoid"), threads, and
         optionally steps (at most this many batches), dtype ("float32" or "float64"),
         jit (XLA for the Keras step).

The data file (.npz) holds x_train, y_train, x_test, y_test in the *source* model's
layout and `order`, one row of training-set indices per epoch: batch k of epoch e is
`order[e, k*batch_size:(k+1)*batch_size]`, the same for both frameworks. The plan's
`inputs[0].target_permutation` turns the source layout into the migrated model's
(`nnport._worker.model_inputs`).

The report: `losses` (the mean loss of every training batch, in step order, as float64),
`test_accuracy` (eval mode: `model.eval()` / `training=False`), `test_predictions`,
`dropout_layers` (how many dropout layers were switched off, or left on), timings.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
from nnport import _worker

EPSILON = 1e-7  # keras.backend.epsilon(): Keras clips probabilities to [eps, 1 - eps]
EVAL_BATCH = 120


def _batches(order: np.ndarray, batch_size: int, steps: int | None = None):
    """The training batches in order: epoch by epoch, `steps` of them at most."""
    count = 0
    for epoch in order:
        for start in range(0, len(epoch), batch_size):
            if steps is not None and count == steps:
                return
            count += 1
            yield epoch[start : start + batch_size]


def _inputs(request: dict, framework: str, x: np.ndarray) -> np.ndarray:
    """Source-layout inputs in the layout `framework`'s model of the plan takes."""
    (array,) = _worker.model_inputs(request["plan"], framework, [x])
    return np.ascontiguousarray(array)


def _report(request: dict, losses, outputs: np.ndarray, y_test, dropout_layers, times) -> None:
    """Write the run's report: every step's loss, test accuracy and predictions (from the
    model's test outputs), and `times` = (started, ready, trained) perf_counter readings."""
    predictions = _predict(request, outputs)
    started, ready, trained = times
    report = {
        "losses": [float(v) for v in losses],
        "test_accuracy": float(np.mean(predictions == y_test)),
        "test_predictions": [int(p) for p in predictions],
        "dropout_layers": dropout_layers,
        "setup_seconds": ready - started,
        "train_seconds": trained - ready,
    }
    Path(request["out"]).write_text(json.dumps(report))


def _predict(request: dict, outputs: np.ndarray) -> np.ndarray:
    if request["loss"] == "sigmoid":
        return (outputs.reshape(-1) > 0.5).astype(np.int64)
    return np.argmax(outputs, axis=-1)


# --- PyTorch ------------------------------------------------------------------------


def _torch_build(request: dict):
    import torch

    torch.manual_seed(request["seed"])
    model = _worker._torch_model(request)
    _worker._torch_materialize(request, model, request["plan"])
    return model


def torch_init(request: dict) -> None:
    import torch

    torch.save(_torch_build(request).state_dict(), request["out"])


def _torch_loss(kind: str):
    import torch
    import torch.nn.functional as F

    if kind == "logits":
        return torch.nn.CrossEntropyLoss()
    if kind == "softmax":
        # keras.losses.SparseCategoricalCrossentropy() on probabilities: clip them to
        # [eps, 1 - eps], take the log and apply softmax cross-entropy to that log
        # (tensorflow backend, nn.sparse_categorical_crossentropy); mirrored here exactly.
        return lambda p, y: F.cross_entropy(torch.log(p.clamp(EPSILON, 1.0 - EPSILON)), y)
    if kind == "sigmoid":
        # keras.losses.BinaryCrossentropy() on probabilities: clip to [eps, 1 - eps], then
        # -(y log p + (1 - y) log(1 - p)), averaged. (torch's BCELoss clamps the log at
        # -100 instead of clipping p, so it is not used.)
        def bce(p, y):
            p = p.clamp(EPSILON, 1.0 - EPSILON)
            y = y.reshape(p.shape).to(p.dtype)
            return -(y * torch.log(p) + (1.0 - y) * torch.log(1.0 - p)).mean()

        return bce
    raise ValueError(f"unknown loss {kind!r}")


def torch_train(request: dict) -> None:
    import torch

    torch.set_num_threads(request["threads"])
    started = time.perf_counter()
    model = _torch_build(request)
    if request.get("weights"):
        _worker._torch_load(model, request["weights"])
    if request.get("dtype", "float32") == "float64":
        model.double()
    dropout_layers = 0
    for module in model.modules():
        if isinstance(module, torch.nn.modules.dropout._DropoutNd):
            dropout_layers += 1
            if not request["dropout"]:
                module.p = 0.0
        elif isinstance(module, torch.nn.RNNBase) and module.dropout:
            dropout_layers += 1
            if not request["dropout"]:
                module.dropout = 0.0

    with np.load(request["data"]) as data:
        x_train, y_train = _inputs(request, "torch", data["x_train"]), data["y_train"]
        x_test, y_test = _inputs(request, "torch", data["x_test"]), data["y_test"]
        order = data["order"]
    integer = np.issubdtype(x_train.dtype, np.integer)
    float_dtype = np.dtype(request.get("dtype", "float32"))
    x_train_t = torch.from_numpy(x_train.astype(np.int64 if integer else float_dtype))
    x_test_t = torch.from_numpy(x_test.astype(np.int64 if integer else float_dtype))
    y_dtype = torch.float64 if request["loss"] == "sigmoid" else torch.int64
    y_train_t = torch.from_numpy(y_train).to(y_dtype)

    loss_fn = _torch_loss(request["loss"])
    momentum = request["momentum"]
    if request.get("dtype", "float32") == "float64":
        # Keras's SGD turns its Python float momentum into a tensor through float32
        # (ops.cast(0.9, "float64") == 0.8999999761581421): use the same constant
        momentum = float(np.float32(momentum))
    optimizer = torch.optim.SGD(model.parameters(), lr=request["lr"], momentum=momentum)
    ready = time.perf_counter()
    losses = []
    model.train()
    for index in _batches(order, request["batch_size"], request.get("steps")):
        index_t = torch.from_numpy(index)
        output = model(x_train_t[index_t])
        loss = loss_fn(output, y_train_t[index_t])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach().double()))
    trained = time.perf_counter()

    model.eval()
    outputs = []
    with torch.no_grad():
        for start in range(0, len(x_test_t), EVAL_BATCH):
            outputs.append(model(x_test_t[start : start + EVAL_BATCH]).numpy())
    times = (started, ready, trained)
    _report(request, losses, np.concatenate(outputs), y_test, dropout_layers, times)


# --- Keras --------------------------------------------------------------------------


def _keras_build(request: dict):
    import keras

    keras.config.set_floatx(request.get("dtype", "float32"))
    keras.utils.set_random_seed(request["seed"])
    model = _worker.build_model(request)
    # the first call builds the weights (the default initialisation, seeded above)
    build = _worker.build_inputs(request["plan"], "keras")
    _worker.call_model(request, lambda: _worker._keras_call(model, build, training=False))
    return model


def keras_init(request: dict) -> None:
    _keras_build(request).save_weights(request["out"])


def _keras_loss(kind: str):
    import keras
    import tensorflow as tf

    if kind == "logits":
        return keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    if kind == "softmax":
        loss = keras.losses.SparseCategoricalCrossentropy()
    elif kind == "sigmoid":
        loss = keras.losses.BinaryCrossentropy()
    else:
        raise ValueError(f"unknown loss {kind!r}")

    # Keras's losses find the logits behind a softmax/sigmoid output (the tensor's
    # `_keras_logits`, or its Softmax/Sigmoid op in a graph) and then use them instead of
    # the probabilities. The migrated PyTorch model has no such logits, so both sides
    # compute the loss from the probabilities: tf.identity hides the logits, and Keras
    # clips the probabilities to [eps, 1 - eps] as the PyTorch side does.
    return lambda y, p: loss(y, tf.identity(p))


def keras_train(request: dict) -> None:
    import keras
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(request["threads"])
    tf.config.threading.set_inter_op_parallelism_threads(request["threads"])
    started = time.perf_counter()
    model = _keras_build(request)
    if request.get("weights"):
        _worker._keras_load(model, request["weights"])
    dropout_layers = 0
    for layer in model._flatten_layers(include_self=True, recursive=True):
        if isinstance(layer, keras.layers.Dropout):
            dropout_layers += 1
            if not request["dropout"]:
                layer.rate = 0.0
        cell = getattr(layer, "cell", None)  # a recurrent layer's own dropout
        for name in ("dropout", "recurrent_dropout"):
            if isinstance(getattr(cell, name, None), float) and getattr(cell, name):
                dropout_layers += 1
                if not request["dropout"]:
                    setattr(cell, name, 0.0)

    with np.load(request["data"]) as data:
        x_train, y_train = _inputs(request, "keras", data["x_train"]), data["y_train"]
        x_test, y_test = _inputs(request, "keras", data["x_test"]), data["y_test"]
        order = data["order"]
    if np.issubdtype(x_train.dtype, np.integer):
        x_train, x_test = x_train.astype(np.int32), x_test.astype(np.int32)
    else:
        x_train = x_train.astype(request.get("dtype", "float32"))
        x_test = x_test.astype(request.get("dtype", "float32"))
    y_train = y_train.astype(np.float64 if request["loss"] == "sigmoid" else np.int64)
    if request["loss"] == "sigmoid":
        y_train = y_train.reshape(-1, 1)

    loss_fn = _keras_loss(request["loss"])
    optimizer = keras.optimizers.SGD(learning_rate=request["lr"], momentum=request["momentum"])
    variables = model.trainable_variables
    optimizer.build(variables)

    # jit_compile: XLA, faster for some networks on this CPU (model.fit's "auto" turns it
    # off on CPU-only machines); either way the step's loss is the batch's loss
    @tf.function(reduce_retracing=True, jit_compile=bool(request.get("jit")))
    def step(x, y):
        with tf.GradientTape() as tape:
            output = _worker._keras_call(model, [x], training=True)
            loss = loss_fn(y, output)
        gradients = tape.gradient(loss, variables)
        optimizer.apply_gradients(zip(gradients, variables))
        return loss

    @tf.function(reduce_retracing=True)
    def predict(x):
        return _worker._keras_call(model, [x], training=False)

    ready = time.perf_counter()
    losses = []
    for index in _batches(order, request["batch_size"], request.get("steps")):
        loss = step(tf.constant(x_train[index]), tf.constant(y_train[index]))
        losses.append(float(np.float64(loss.numpy())))
    trained = time.perf_counter()

    outputs = [
        predict(tf.constant(x_test[start : start + EVAL_BATCH])).numpy()
        for start in range(0, len(x_test), EVAL_BATCH)
    ]
    times = (started, ready, trained)
    _report(request, losses, np.concatenate(outputs), y_test, dropout_layers, times)


COMMANDS = {
    ("torch", "init"): torch_init,
    ("torch", "train"): torch_train,
    ("keras", "init"): keras_init,
    ("keras", "train"): keras_train,
}


def main(argv: list[str]) -> int:
    return _worker.main(argv, COMMANDS, "python bench/train_worker.py")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
