"""nnport: migrate neural-network source code between PyTorch and Keras.

The migration itself is static analysis in C++ (the ``nnport._core`` extension): nothing here
imports or runs the model code, and no deep-learning framework is needed to convert::

    import nnport

    source = open("alexnet.py").read()
    keras_code = nnport.convert(
        source, to="keras", entry="AlexNet(num_classes=10)", input_shape=(3, 64, 64)
    )

Checking a migration needs the frameworks, each in a worker process of its own; a
:class:`Session` keeps those workers for many checks::

    with nnport.Session() as session:
        report = session.verify("alexnet.py", "alexnet_keras.py", trials=10)
        print(report["ok"])

A failed migration raises :class:`MigrationError` (a ``ValueError``) whose message names
``file:line:col``, shows the offending line and says what to do. Warnings of a successful
migration are written to ``sys.stderr``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from numbers import Integral
from typing import Any

from . import _core
from ._core import MigrationError

__all__ = [
    "MigrationError",
    "Session",
    "catalog",
    "convert",
    "inspect",
    "verify_many",
    "weight_plan",
]
__version__ = "0.1.0"

#: One input's shape without the batch dimension, ``(3, 64, 64)``, or the command-line form
#: ``"[DTYPE:]D1,D2,..."`` (``"int64:200"``); or a list of these, one per model input.
InputShape = str | Sequence[int] | Sequence[str | Sequence[int]] | None


def _input_specs(input_shape: InputShape) -> list[str]:
    """Turns ``input_shape`` into the engine's ``--input-shape`` strings, one per input."""
    if input_shape is None:
        return []
    if isinstance(input_shape, str):
        return [input_shape]
    items = list(input_shape)
    if items and all(isinstance(d, Integral) for d in items):
        return [_one_spec(items)]  # a single input given as its dimensions
    return [_one_spec(item) for item in items]


def _one_spec(spec: str | Sequence[int]) -> str:
    if isinstance(spec, str):
        return spec
    dims = list(spec)
    if not all(isinstance(d, Integral) and not isinstance(d, bool) for d in dims):
        raise TypeError(f"an input shape is a sequence of ints or a string, not {spec!r}")
    return ",".join(str(int(d)) for d in dims)


def convert(
    source_text: str,
    to: str = "keras",
    style: str | None = None,
    input_shape: InputShape = None,
    layout: str = "keep",
    entry: str | None = None,
    file: str = "<string>",
    lazy: bool = False,
) -> str:
    """Migrates the source code of a model file and returns the target framework's code.

    Args:
        source_text: the Python source of the model file.
        to: target framework, ``"keras"`` or ``"torch"``.
        style: ``"sequential"`` or ``"subclass"``; None keeps the source's style.
        input_shape: input shape(s) without the batch dimension, see :data:`InputShape`.
        layout: ``"keep"`` (accept the same tensors as the source) or ``"native"``.
        entry: expression that builds the model (``"AlexNet(num_classes=10)"``); None finds
            it in the file.
        file: the file name used in diagnostics.
        lazy: Keras -> PyTorch only: use lazy modules where shapes are unknown.
    """
    return _core.convert(
        source_text,
        file,
        to,
        style or "",
        layout,
        entry or "",
        _input_specs(input_shape),
        lazy,
    )


def inspect(
    source_text: str,
    format: str = "text",
    entry: str | None = None,
    input_shape: InputShape = None,
    file: str = "<string>",
) -> str:
    """The pivot model of the entry as ``"text"``, ``"json"`` or ``"dot"``."""
    return _core.inspect(source_text, file, format, entry or "", _input_specs(input_shape))


def weight_plan(
    source_text: str,
    to: str = "keras",
    layout: str = "keep",
    entry: str | None = None,
    input_shape: InputShape = None,
    file: str = "<string>",
) -> dict[str, Any]:
    """The weight plan (``docs/weight-plan.md``) for the model that :func:`convert` writes."""
    text = _core.weight_plan(source_text, file, to, layout, entry or "", _input_specs(input_shape))
    return json.loads(text)


def catalog() -> dict[str, Any]:
    """The engine's catalog of layers and ops (``docs/catalog.md``)."""
    return json.loads(_core.catalog_json())


def __getattr__(name: str) -> Any:
    """`Session` and `verify_many` (nnport.verify) load NumPy: only when asked for."""
    if name in ("Session", "verify_many"):
        from . import verify

        return getattr(verify, name)
    raise AttributeError(f"module 'nnport' has no attribute {name!r}")
