"""What does `nnport verify` cost per pair once its workers are running?

In one run:

  (a) `python -c "import torch"` and `python -c "import tensorflow"` in subprocesses, best of
      3 each: what every verify paid before it had workers that stay (two fresh imports);
  (b) one `nnport.Session` verifying the same migrated pair N times (AlexNet, 57 M
      parameters, at 3x64x64 as the tests run it and at 3x224x224, PyTorch -> Keras, 10
      random inputs): the first pair (workers start), then the median of the rest;
  (c) the same for the Keras tutorial CNN -> PyTorch (a small model: the fixed cost).

It prints a table with the per-pair cost after the first, and its ratio to (a), and writes it
to bench/verify.md with the date, the exact command and the machine.

    python bench/bench_verify.py [--pairs N] [--output FILE]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nnport

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"

CASES = [
    # (label, example, --to, entry, input shape)
    ("AlexNet 3x64x64 (as the tests run it), PyTorch -> Keras", "torch/alexnet.py", "keras",
     "AlexNet(num_classes=10)", "3,64,64"),
    ("AlexNet 3x224x224, PyTorch -> Keras", "torch/alexnet.py", "keras", "AlexNet(num_classes=10)",
     "3,224,224"),
    ("TF tutorial CNN 32x32x3, Keras -> PyTorch", "keras/cifar_cnn.py", "torch", "model", ""),
]  # fmt: skip


def import_time(module: str, runs: int = 3) -> float:
    best = float("inf")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", f"import {module}"], check=True, env=env)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=6, help="verifications per case (default 6)")
    parser.add_argument("--output", default=str(REPO / "bench" / "verify.md"))
    args = parser.parse_args()

    imports = {name: import_time(name) for name in ("torch", "tensorflow")}
    fresh = sum(imports.values())
    rows = []
    with tempfile.TemporaryDirectory() as tmp, nnport.Session() as session:
        for label, example, to, entry, shape in CASES:
            src, out = EXAMPLES / example, Path(tmp) / f"{Path(example).stem}_{to}.py"
            shapes = [shape] if shape else []
            out.write_text(nnport.convert(src.read_text(), to=to, entry=entry,
                                          input_shape=shape or None, file=src.name))  # fmt: skip
            seconds = []
            for _ in range(args.pairs):
                start = time.perf_counter()
                report = session.verify(str(src), str(out), entry, shapes, trials=10)
                seconds.append(time.perf_counter() - start)
                assert report["ok"], report
            rest = statistics.median(seconds[1:])
            rows.append((label, seconds[0], rest, fresh / rest))
        started = dict(session.started)

    command = "python bench/bench_verify.py" + "".join(f" {shlex.quote(a)}" for a in sys.argv[1:])
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    lines = [
        "# verify cost per pair (bench/bench_verify.py)",
        "",
        f"Date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC",
        f"Command: `{command}`",
        (
            f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; "
            f"load average at the end {load}"
        ),
        "",
        (
            f"- fresh imports, best of 3: `import torch` {imports['torch']:.2f} s, "
            f"`import tensorflow` {imports['tensorflow']:.2f} s: **{fresh:.2f} s** per verify "
            "before the workers stayed"
        ),
        (
            f"- one `nnport.Session`, {args.pairs} verifications per case, 10 random inputs each; "
            f"worker processes started: {started}"
        ),
        "",
        "| pair | first (workers start) | each after the first (median) | two fresh imports / after the first |",
        "| --- | ---: | ---: | ---: |",
    ]
    lines += [
        f"| {label} | {first:.2f} s | {rest:.2f} s | {ratio:.1f}x |"
        for label, first, rest, ratio in rows
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    Path(args.output).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
