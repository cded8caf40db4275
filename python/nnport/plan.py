"""Executor for the engine's weight plan (docs/weight-plan.md).

The engine knows every framework fact (weight layouts, gate orders, flatten
orders); this module only *executes* what a plan says, with numpy alone, so the
same code serves both framework workers and can be unit-tested without either
framework installed.
"""

from __future__ import annotations

import json
import math
import mmap
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

PLAN_VERSION = 1

Plan = dict[str, Any]


class PlanError(ValueError):
    """A plan that cannot be executed, or whose result does not fit the target."""


def load(text: str) -> Plan:
    """Parse the engine's JSON plan and reject versions this executor does not know."""
    plan = json.loads(text)
    if plan.get("version") != PLAN_VERSION:
        raise PlanError(
            f"weight plan version {plan.get('version')!r} is not supported "
            f"(this nnport executes version {PLAN_VERSION})"
        )
    return plan


# --- tensors ----------------------------------------------------------------


def _transpose(array: np.ndarray, step: Mapping[str, Any]) -> np.ndarray:
    return np.transpose(array, step["perm"])


def _reshape(array: np.ndarray, step: Mapping[str, Any]) -> np.ndarray:
    return np.reshape(array, step["shape"])


def _reorder_blocks(array: np.ndarray, step: Mapping[str, Any]) -> np.ndarray:
    axis, blocks = step["axis"], step["blocks"]
    if array.shape[axis] % blocks:
        raise PlanError(
            f"reorder_blocks: axis {axis} of length {array.shape[axis]} "
            f"does not split into {blocks} blocks"
        )
    parts = np.split(array, blocks, axis=axis)
    return np.concatenate([parts[i] for i in step["order"]], axis=axis)


def _permute_rows(array: np.ndarray, step: Mapping[str, Any]) -> np.ndarray:
    # Row j of the result must meet element j of flatten(transpose(X, perm));
    # that element sits at position index[j] of flatten(X).
    axis, from_shape = step["axis"], step["from_shape"]
    if array.shape[axis] != math.prod(from_shape):
        raise PlanError(
            f"permute_rows: axis {axis} has length {array.shape[axis]}, "
            f"but from_shape {from_shape} flattens to {math.prod(from_shape)}"
        )
    index = np.arange(math.prod(from_shape)).reshape(from_shape)
    index = np.transpose(index, step["perm"]).reshape(-1)
    return np.take(array, index, axis=axis)


def _take(array: np.ndarray, step: Mapping[str, Any]) -> np.ndarray:
    axis, index = step["axis"], step["index"]
    if not -array.ndim <= axis < array.ndim:
        raise PlanError(f"take: axis {axis} is out of range for a tensor of rank {array.ndim}")
    if not -array.shape[axis] <= index < array.shape[axis]:
        raise PlanError(
            f"take: index {index} is out of range for axis {axis} of length {array.shape[axis]}"
        )
    return np.take(array, index, axis=axis)


def _zeros(array: np.ndarray | None, step: Mapping[str, Any]) -> np.ndarray:
    dtype = array.dtype if array is not None else np.float32
    return np.zeros(step["shape"], dtype=dtype)


_STEPS = {
    "transpose": _transpose,
    "reshape": _reshape,
    "reorder_blocks": _reorder_blocks,
    "permute_rows": _permute_rows,
    "take": _take,
}


def apply_step(array: np.ndarray | None, step: Mapping[str, Any]) -> np.ndarray:
    """Apply one plan step; only `zeros` may start from nothing."""
    op = step.get("op")
    if op == "zeros":
        return _zeros(array, step)
    if op not in _STEPS:
        raise PlanError(f"unknown weight-plan step {op!r}")
    if array is None:
        raise PlanError(f"step {op!r} has no source tensor to work on")
    return _STEPS[op](array, step)


def _combine(sources: Sequence[np.ndarray], combine: str | None) -> np.ndarray | None:
    if not sources:
        return None
    if combine is None:
        if len(sources) != 1:
            raise PlanError(f"{len(sources)} source tensors but no `combine` rule")
        return sources[0]
    if combine == "sum":
        return np.sum(np.stack(sources), axis=0)
    if combine == "stack":
        return np.stack(sources, axis=0)
    raise PlanError(f"unknown combine rule {combine!r}")


def build_tensor(
    spec: Mapping[str, Any],
    sources: Mapping[str, np.ndarray],
    where: str,
    contiguous: Callable[[np.ndarray], np.ndarray] = np.ascontiguousarray,
) -> np.ndarray:
    """Build one target tensor from the source layer's tensors.

    `where` names the source layer and target for error messages, e.g.
    "features.0 -> Conv2D"; every error says which tensor failed, because a
    plan has hundreds of them. `contiguous` makes the result C-contiguous (the torch
    worker passes a faster, multi-threaded copy than NumPy's for transposed kernels).
    """
    name = f"{where}.{spec['name']}"
    try:
        missing = [s for s in spec.get("from", []) if s not in sources]
        if missing:
            known = ", ".join(sorted(sources)) or "none"
            raise PlanError(f"source tensor {missing[0]!r} not found (layer has: {known})")
        array = _combine([sources[s] for s in spec.get("from", [])], spec.get("combine"))
        for step in spec.get("steps", []):
            array = apply_step(array, step)
        if array is None:
            raise PlanError("no source tensors and no `zeros` step")
    except (PlanError, ValueError) as error:
        raise PlanError(f"{name}: {error}") from error
    if list(array.shape) != list(spec["shape"]):
        raise PlanError(
            f"{name}: built shape {list(array.shape)}, but the target expects {list(spec['shape'])}"
        )
    return contiguous(array)


def tensor_key(layer_index: int, target_index: int, tensor_index: int) -> str:
    """Key of a built tensor in the exchange file (`save_tensors`)."""
    return f"{layer_index}/{target_index}/{tensor_index}"


# --- the exchange file of built tensors ---------------------------------------
#
# `export` writes every target tensor into one file that `import` reads in the other
# framework's worker: a magic line, the length of a JSON index (8 bytes, little-endian),
# the index ({key: [dtype, shape, offset]}), then the raw C-ordered data, each tensor at a
# 64-byte boundary. Unlike .npz, nothing is zipped or checksummed, and the reader maps the
# file instead of copying it: an AlexNet's 230 MB pass in a fraction of .npz's time (the
# file lies in /dev/shm, see `nnport.workers.scratch_dir`).

TENSORS_MAGIC = b"NNPORT-TENSORS-1\n"
_ALIGN = 64


def save_tensors(path: str, arrays: Mapping[str, np.ndarray]) -> None:
    """Write `arrays` (C-contiguous, native byte order) as an exchange file."""
    index, offset = {}, 0
    for key, array in arrays.items():
        offset = (offset + _ALIGN - 1) // _ALIGN * _ALIGN
        index[key] = [array.dtype.str, list(array.shape), offset]
        offset += array.nbytes
    header = json.dumps(index).encode()
    start = len(TENSORS_MAGIC) + 8 + len(header)
    start = (start + _ALIGN - 1) // _ALIGN * _ALIGN
    with open(path, "wb") as file:
        file.write(TENSORS_MAGIC + len(header).to_bytes(8, "little") + header)
        file.write(b"\0" * (start - file.tell()))
        for key, array in arrays.items():
            file.write(b"\0" * (start + index[key][2] - file.tell()))
            if array.nbytes:
                file.write(memoryview(np.ascontiguousarray(array).reshape(-1)).cast("B"))


def load_tensors(path: str) -> dict[str, np.ndarray]:
    """The tensors of an exchange file, read-only views of the mapped file."""
    with open(path, "rb") as file:
        magic = file.read(len(TENSORS_MAGIC))
        if magic != TENSORS_MAGIC:
            raise PlanError(f"{path} is not an nnport tensors file")
        size = int.from_bytes(file.read(8), "little")
        index = json.loads(file.read(size))
        start = (len(TENSORS_MAGIC) + 8 + size + _ALIGN - 1) // _ALIGN * _ALIGN
        mapped = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) if index else b""
    arrays = {}
    for key, (dtype, shape, offset) in index.items():
        dtype = np.dtype(dtype)
        count = math.prod(shape)
        array = np.frombuffer(mapped, dtype, count, start + offset) if count else np.empty(0, dtype)
        arrays[key] = array.reshape(shape)
    return arrays


# --- layers -----------------------------------------------------------------


def targets(plan: Plan) -> Iterator[tuple[int, int, dict, dict]]:
    """Every target layer in call order: (layer index, target index, layer, target)."""
    for i, layer in enumerate(plan["layers"]):
        for j, target in enumerate(layer["targets"]):
            yield i, j, layer, target


def reorder_layers(plan: Plan, observed: Sequence[str]) -> Plan:
    """Return the plan with its layers in the observed call order.

    The engine derives the order statically; a forward pass is the ground
    truth, so it wins, but both must name the same layers, or the two models
    would not line up at all.
    """
    by_path = {layer["path"]: layer for layer in plan["layers"]}
    if sorted(observed) != sorted(by_path) or len(set(observed)) != len(observed):
        never = sorted(set(by_path) - set(observed))
        extra = sorted(set(observed) - set(by_path))
        raise PlanError(
            "the forward pass does not call the plan's layers"
            + (f"; never called: {', '.join(never)}" if never else "")
            + (f"; not in the plan: {', '.join(extra)}" if extra else "")
        )
    return {**plan, "layers": [by_path[path] for path in observed]}


# --- inputs and outputs -----------------------------------------------------


def random_inputs(plan: Plan, batch: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Random inputs in the *source* layout: floats ~ N(0, 1), integers in [0, high)."""
    arrays = []
    for spec in plan["inputs"]:
        shape = (batch, *spec["shape"])
        dtype = np.dtype(spec.get("dtype") or "float32")
        if np.issubdtype(dtype, np.integer):
            if not spec.get("high"):
                raise PlanError(f"integer input {spec['name']!r} has no `high` bound in the plan")
            arrays.append(rng.integers(0, spec["high"], size=shape, dtype=dtype))
        else:
            arrays.append(rng.standard_normal(shape).astype(dtype))
    return arrays


def permute(array: np.ndarray, permutation: Sequence[int] | None) -> np.ndarray:
    """Apply a plan `target_permutation` (null means identity)."""
    if permutation is None:
        return array
    return np.ascontiguousarray(np.transpose(array, permutation))


def output_name(plan: Plan, index: int) -> str:
    """The plan's name for output `index`; models may return more than the plan lists."""
    outputs = plan.get("outputs", [])
    return outputs[index]["name"] if index < len(outputs) else f"output{index}"


def output_permutation(plan: Plan, index: int) -> Sequence[int] | None:
    outputs = plan.get("outputs", [])
    return outputs[index].get("target_permutation") if index < len(outputs) else None
