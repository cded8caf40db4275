"""How long does a migration take, next to parsing the file and to importing TensorFlow?

For every example in examples/torch and examples/keras, in one run:

  (a) convert: the engine's whole migration in-process (`nnport._core.convert`, PyTorch ->
      Keras or Keras -> PyTorch, the example's entry and input shape), best of N repetitions;
  (b) parse:   the parse-only floor of the same file. The engine has `syntax::parse_only`
      in C++; when `nnport._core` binds it (`_core.parse_only(text)`), that is what is timed.
      Otherwise a clearly labelled substitute is timed: `_core.convert(..., to="torch")` on
      the PyTorch file, which parses and lifts the syntax tree, then stops at once ("the file
      is already PyTorch code") — an upper bound of the parse-only cost;
      `analyse` (`_core.inspect`: everything but emitting code) is shown too;
  (c) `python -c "import tensorflow"` wall time in a subprocess, best of 3 (what running a
      migrated model costs before its first layer), with `python -c pass` as the baseline;
      fewer runs when the machine is so loaded that three would exceed the time budget.

Prints a table with absolute times and the ratios convert/parse and import-tensorflow/convert,
and writes it to bench/results.md with the date and the exact command.

    python bench/bench_convert.py [--repeat N] [--imports K] [--budget S] [--output FILE]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nnport
from nnport import _core

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"


@dataclass(frozen=True)
class Example:
    file: str  # relative to examples/
    entry: str  # "" lets the engine find the model (the module-level `model`)
    shape: str  # "" when the file states it

    @property
    def target(self) -> str:
        return "keras" if self.file.startswith("torch/") else "torch"


EXAMPLE_LIST = [
    Example("torch/alexnet.py", "AlexNet(num_classes=10)", "3,64,64"),
    Example("torch/alexnet_seq.py", "", "3,64,64"),
    Example("torch/vgg16.py", "VGG(make_layers(cfgs['D']), num_classes=10)", "3,64,64"),
    Example("torch/vgg16_seq.py", "", "3,64,64"),
    Example("torch/resnet_small.py", "", "3,32,32"),
    Example("torch/lstm_classifier.py", "", "int64:20"),
    Example("keras/cifar_cnn.py", "", ""),
    Example("keras/cifar_cnn_subclass.py", "", "32,32,3"),
    Example("keras/lstm_sentiment.py", "", "100"),
    Example("keras/cnn_rnn_sentiment.py", "", "80"),
    Example("keras/two_input_functional.py", "", ""),
    Example("keras/cifar_cnn_functional.py", "", ""),
    Example("keras/lstm_sentiment_functional.py", "", ""),
    Example("keras/cnn_rnn_sentiment_functional.py", "", ""),
]


def best_of(function: Callable[[], object], repeat: int) -> float:
    """Smallest wall time of `repeat` calls, in seconds (one untimed warm-up call first)."""
    function()
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def parse_floor(source: str, file: str) -> tuple[Callable[[], object], str]:
    """The parse-only call, or the labelled substitute when `_core` does not bind it."""
    if hasattr(_core, "parse_only"):
        return (lambda: _core.parse_only(source)), "parse_only (C++ syntax::parse_only)"

    def parse_and_stop():
        try:
            _core.convert(source, file, "torch")
        except nnport.MigrationError as error:
            if "already PyTorch" not in str(error):
                raise
        else:
            raise RuntimeError(f"{file}: convert --to torch was expected to stop after parsing")

    return parse_and_stop, "SUBSTITUTE: parse+lift (convert --to torch stops after parsing)"


def subprocess_time(code: str, repeat: int, deadline: float) -> tuple[float, int]:
    """Best wall time of `python -c CODE` in a fresh process, and how many runs it took.

    Runs once at least; stops repeating when another run would end after `deadline`
    (a `time.perf_counter()` value), so that a loaded machine keeps the budget.
    """
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    best, runs = float("inf"), 0
    while runs < repeat:
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-c", code],
            check=True,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        took = time.perf_counter() - start
        best, runs = min(best, took), runs + 1
        if time.perf_counter() + took > deadline:
            break
    return best, runs


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=50, help="repetitions of (a), (b) (best of)")
    parser.add_argument("--imports", type=int, default=3, help="repetitions of (c) (best of)")
    parser.add_argument("--output", type=Path, default=REPO / "bench" / "results.md")
    parser.add_argument(
        "--budget",
        type=float,
        default=110.0,
        help="seconds for the whole run; (c) repeats less when it would exceed them",
    )
    args = parser.parse_args(argv)
    command = shlex.join(["python", *(sys.argv if argv is None else ["bench_convert.py", *argv])])
    started = time.perf_counter()

    rows = []
    parse_label = ""
    for example in EXAMPLE_LIST:
        path = EXAMPLES / example.file
        source = path.read_text()
        shapes = [example.shape] if example.shape else []

        def convert(source=source, example=example, shapes=shapes):
            return _core.convert(
                source, example.file, example.target, "", "keep", example.entry, shapes
            )

        def analyse(source=source, example=example, shapes=shapes):
            return _core.inspect(source, example.file, "text", example.entry, shapes)

        parse, parse_label = parse_floor(source, example.file)
        rows.append(
            {
                "file": example.file,
                "lines": source.count("\n"),
                "parse": best_of(parse, args.repeat),
                "analyse": best_of(analyse, args.repeat),
                "convert": best_of(convert, args.repeat),
            }
        )

    overhead = 0.0
    if not hasattr(_core, "parse_only"):  # the substitute's fixed cost: a failure, no parsing
        overhead = best_of(parse_floor("import torch\n", "empty.py")[0], args.repeat)
    python_start, _ = subprocess_time("pass", args.imports, float("inf"))
    import_tf, import_runs = subprocess_time(
        "import tensorflow", args.imports, started + args.budget
    )

    total = {key: sum(row[key] for row in rows) for key in ("lines", "parse", "analyse", "convert")}
    header = (
        "| file | lines | parse (ms) | analyse (ms) | convert (ms) | convert/parse "
        "| import tensorflow/convert |"
    )
    lines = [header, "|" + " --- |" * 7]
    for row in [*rows, {"file": "**all**", **total}]:
        lines.append(
            f"| {row['file']} | {row['lines']} | {ms(row['parse'])} | {ms(row['analyse'])} "
            f"| {ms(row['convert'])} | {row['convert'] / row['parse']:.1f}x "
            f"| {import_tf / row['convert']:,.0f}x |"
        )
    table = "\n".join(lines)
    now = dt.datetime.now().astimezone()
    elapsed = time.perf_counter() - started
    substitute_note = (
        f" `_core` has no binding of `syntax::parse_only`, so this is the substitute; its fixed"
        f" cost (a one-line file through the same error path) is {ms(overhead)} ms."
        if overhead
        else ""
    )
    budget_note = (
        f" (not {args.imports}: the {args.budget:g} s budget of the run)"
        if import_runs < args.imports
        else ""
    )
    report = f"""# Conversion time (bench/bench_convert.py)

Date: {now:%Y-%m-%d %H:%M %Z}
Command: `{command}`
Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()},
nnport {nnport.__version__}; load average at the end {", ".join(f"{x:.2f}" for x in os.getloadavg())}

- **convert**: `nnport._core.convert` in-process (PyTorch -> Keras or Keras -> PyTorch, `--layout keep`, the
  example's entry and input shape), best of {args.repeat}.
- **parse**: {parse_label}, best of {args.repeat}.{substitute_note}
- **analyse**: `nnport._core.inspect` (parse, evaluate, recognise, shape inference; no code
  emitted), best of {args.repeat}.
- **import tensorflow**: `python -c "import tensorflow"` in a subprocess, best of
  {import_runs}{budget_note}: **{import_tf:.3f} s** (`python -c pass`: {python_start:.3f} s, so the import
  itself is {import_tf - python_start:.3f} s).

{table}

Whole run: {elapsed:.1f} s.
"""
    print(report)
    args.output.write_text(report)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
