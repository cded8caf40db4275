"""Does conversion time grow linearly with the size of the model, and stay close to parsing?

Generates model files of five styles, written the way people write them, at 10, 100, 1,000 and
10,000 layers, into a temporary directory:

  torch-sequential  `model = nn.Sequential(...)`: Conv2d/BatchNorm2d/ReLU blocks, a Linear head;
  torch-subclass    an `nn.Module` with one field per layer, `forward` calling them, and a
                    residual block (`x = F.relu(x + self.bnN(self.convN(...)))`) every few layers;
  keras-sequential  `keras.Sequential([keras.Input(...), layers.Conv2D(...), ...])`;
  keras-sequential-add  `model = keras.Sequential()` and one `model.add(...)` per layer;
  keras-subclass    a `keras.Model` with one field per layer, `call` calling them, residual
                    blocks written `x = x + y`;
  keras-functional  `keras.Input` ... `keras.Model(inputs, outputs)`, residual blocks written
                    `x = layers.add([x, y])`.

For each file, in one run, it times in-process (best of N, after one warm-up call):

  parse:    `_core.parse_only(text)` (tree-sitter only, the floor);
  convert:  `_core.convert(...)` (the whole pipeline, PyTorch -> Keras or Keras -> PyTorch,
            `--layout keep`, the input shape given);

and prints a table with lines, both times, convert/parse, convert time per layer and the
per-layer time relative to the 100-layer file of the same style (1.0 = linear). All ratios
come from the same run; it writes the table to bench/scaling.md with the date, the exact
command and the machine.

    python bench/bench_scaling.py [--sizes 10,100,1000,10000] [--repeat N] [--budget S]
                                  [--core PATH/_core*.so] [--output FILE]

`--core` loads the engine extension from a build tree instead of the installed package
(e.g. `--core build/scaling/_core.cpython-311-x86_64-linux-gnu.so`); nothing is copied.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib.machinery
import importlib.util
import io
import os
import platform
import shlex
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# Every generated model keeps its spatial size and channel count constant through the stack
# (3x3 convolutions with "same" padding), so that shape inference has real work at every
# layer and the model is valid at any depth.
CHANNELS = 8
SIZE = 8  # input height and width


def load_core(path: str | None):
    """The engine extension: the installed `nnport._core`, or the one built at `path`."""
    if path is None:
        from nnport import _core

        return _core
    loader = importlib.machinery.ExtensionFileLoader("nnport._core", path)
    spec = importlib.util.spec_from_file_location("nnport._core", path, loader=loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


# --- generators: each returns (source text, entry, input shape, target) --------------------
# `layers` is the number of layer objects (modules) the file constructs; each generator
# builds repeated units of a few layers until it has that many, then a classifier head.


def torch_sequential(layers: int) -> tuple[str, str, str, str]:
    out = ["import torch.nn as nn", "", "model = nn.Sequential("]
    body = layers - 3  # the head: Flatten, Linear, ReLU ... counted below
    made = 0
    in_ch = 3
    while made < body:
        out.append(f"    nn.Conv2d({in_ch}, {CHANNELS}, kernel_size=3, padding=1, bias=False),")
        out.append(f"    nn.BatchNorm2d({CHANNELS}),")
        out.append("    nn.ReLU(inplace=True),")
        in_ch = CHANNELS
        made += 3
    out.append("    nn.Flatten(),")
    out.append(f"    nn.Linear({CHANNELS * SIZE * SIZE}, 32),")
    out.append("    nn.Linear(32, 10),")
    out.append(")")
    return "\n".join(out) + "\n", "", f"3,{SIZE},{SIZE}", "keras"


def torch_subclass(layers: int) -> tuple[str, str, str, str]:
    init, forward = [], []
    made, i, in_ch = 0, 0, 3
    body = layers - 3
    while made < body:
        if i % 3 == 2 and in_ch == CHANNELS:  # every third unit is a residual block
            init += [
                f"        self.conv{i}a = nn.Conv2d({CHANNELS}, {CHANNELS}, 3, padding=1, bias=False)",
                f"        self.bn{i}a = nn.BatchNorm2d({CHANNELS})",
                f"        self.conv{i}b = nn.Conv2d({CHANNELS}, {CHANNELS}, 3, padding=1, bias=False)",
                f"        self.bn{i}b = nn.BatchNorm2d({CHANNELS})",
            ]
            forward += [
                f"        out = F.relu(self.bn{i}a(self.conv{i}a(x)))",
                f"        out = self.bn{i}b(self.conv{i}b(out))",
                "        x = F.relu(x + out)",
            ]
            made += 4
        else:
            init += [
                f"        self.conv{i} = nn.Conv2d({in_ch}, {CHANNELS}, kernel_size=3, padding=1)",
                f"        self.bn{i} = nn.BatchNorm2d({CHANNELS})",
                f"        self.relu{i} = nn.ReLU()",
            ]
            forward += [
                f"        x = self.conv{i}(x)",
                f"        x = self.bn{i}(x)",
                f"        x = self.relu{i}(x)",
            ]
            made += 3
            in_ch = CHANNELS
        i += 1
    init += [
        "        self.pool = nn.AdaptiveAvgPool2d(1)",
        f"        self.fc1 = nn.Linear({CHANNELS}, 32)",
        "        self.fc2 = nn.Linear(32, num_classes)",
    ]
    forward += [
        "        x = self.pool(x)",
        "        x = torch.flatten(x, 1)",
        "        x = F.relu(self.fc1(x))",
        "        return self.fc2(x)",
    ]
    text = "\n".join(
        [
            "import torch",
            "import torch.nn as nn",
            "import torch.nn.functional as F",
            "",
            "",
            "class Net(nn.Module):",
            "    def __init__(self, num_classes=10):",
            "        super().__init__()",
            *init,
            "",
            "    def forward(self, x):",
            *forward,
        ]
    )
    return text + "\n", "Net()", f"3,{SIZE},{SIZE}", "keras"


def keras_sequential(layers: int) -> tuple[str, str, str, str]:
    out = [
        "import keras",
        "from keras import layers",
        "",
        "model = keras.Sequential(",
        "    [",
        f"        keras.Input(shape=({SIZE}, {SIZE}, 3)),",
    ]
    made, body = 0, layers - 3
    while made < body:
        out.append(f'        layers.Conv2D({CHANNELS}, 3, padding="same", use_bias=False),')
        out.append("        layers.BatchNormalization(),")
        out.append('        layers.Activation("relu"),')
        made += 3
    out.append("        layers.Flatten(),")
    out.append('        layers.Dense(32, activation="relu"),')
    out.append("        layers.Dense(10),")
    out += ["    ]", ")"]
    return "\n".join(out) + "\n", "", f"{SIZE},{SIZE},3", "torch"


def keras_sequential_add(layers: int) -> tuple[str, str, str, str]:
    out = [
        "import keras",
        "from keras import layers",
        "",
        "model = keras.Sequential()",
        f"model.add(keras.Input(shape=({SIZE}, {SIZE}, 3)))",
    ]
    made, body = 0, layers - 3
    while made < body:
        out.append(f'model.add(layers.Conv2D({CHANNELS}, 3, padding="same", use_bias=False))')
        out.append("model.add(layers.BatchNormalization())")
        out.append('model.add(layers.Activation("relu"))')
        made += 3
    out.append("model.add(layers.Flatten())")
    out.append('model.add(layers.Dense(32, activation="relu"))')
    out.append("model.add(layers.Dense(10))")
    return "\n".join(out) + "\n", "", f"{SIZE},{SIZE},3", "torch"


def keras_subclass(layers: int) -> tuple[str, str, str, str]:
    init, call = [], []
    made, i = 0, 0
    body = layers - 3
    while made < body:
        if i % 3 == 2:  # every third unit is a residual block
            init += [
                f'        self.conv{i}a = layers.Conv2D({CHANNELS}, 3, padding="same", activation="relu")',
                f"        self.bn{i}a = layers.BatchNormalization()",
                f'        self.conv{i}b = layers.Conv2D({CHANNELS}, 3, padding="same")',
                f"        self.bn{i}b = layers.BatchNormalization()",
            ]
            call += [
                f"        y = self.bn{i}a(self.conv{i}a(x))",
                f"        y = self.bn{i}b(self.conv{i}b(y))",
                "        x = x + y",
            ]
            made += 4
        else:
            init += [
                f'        self.conv{i} = layers.Conv2D({CHANNELS}, 3, padding="same")',
                f"        self.bn{i} = layers.BatchNormalization()",
                f'        self.act{i} = layers.Activation("relu")',
            ]
            call += [
                f"        x = self.conv{i}(x)",
                f"        x = self.bn{i}(x)",
                f"        x = self.act{i}(x)",
            ]
            made += 3
        i += 1
    init += [
        "        self.pool = layers.GlobalAveragePooling2D()",
        '        self.fc1 = layers.Dense(32, activation="relu")',
        "        self.fc2 = layers.Dense(num_classes)",
    ]
    call += ["        x = self.pool(x)", "        x = self.fc1(x)", "        return self.fc2(x)"]
    text = "\n".join(
        [
            "import keras",
            "from keras import layers",
            "",
            "",
            "class Net(keras.Model):",
            "    def __init__(self, num_classes=10):",
            "        super().__init__()",
            *init,
            "",
            "    def call(self, inputs):",
            "        x = inputs",
            *call,
        ]
    )
    return text + "\n", "", f"{SIZE},{SIZE},3", "torch"


def keras_functional(layers: int) -> tuple[str, str, str, str]:
    out = [
        "import keras",
        "from keras import layers",
        "",
        f'inputs = keras.Input(shape=({SIZE}, {SIZE}, 3), name="image")',
        "x = inputs",
    ]
    made, i, body = 0, 0, layers - 3
    while made < body:
        if i % 3 == 2:  # every third unit is a residual block
            out += [
                f'y = layers.Conv2D({CHANNELS}, 3, padding="same", activation="relu")(x)',
                f'y = layers.Conv2D({CHANNELS}, 3, padding="same")(y)',
                "y = layers.BatchNormalization()(y)",
                "x = layers.add([x, y])",
                "x = layers.ReLU()(x)",
            ]
            made += 5
        else:
            out += [
                f'x = layers.Conv2D({CHANNELS}, 3, padding="same", use_bias=False)(x)',
                "x = layers.BatchNormalization()(x)",
                'x = layers.Activation("relu")(x)',
            ]
            made += 3
        i += 1
    out += [
        "x = layers.GlobalAveragePooling2D()(x)",
        'x = layers.Dense(32, activation="relu")(x)',
        'outputs = layers.Dense(10, activation="softmax")(x)',
        "",
        'model = keras.Model(inputs=inputs, outputs=outputs, name="deep")',
    ]
    return "\n".join(out) + "\n", "", "", "torch"


STYLES: dict[str, Callable[[int], tuple[str, str, str, str]]] = {
    "torch-sequential": torch_sequential,
    "torch-subclass": torch_subclass,
    "keras-sequential": keras_sequential,
    "keras-sequential-add": keras_sequential_add,
    "keras-subclass": keras_subclass,
    "keras-functional": keras_functional,
}


def best_of(function: Callable[[], object], repeat: int, budget: float) -> tuple[float, int]:
    """Smallest wall time of up to `repeat` calls (one warm-up call first), and the number of
    timed calls: fewer when the calls so far used up `budget` seconds; a warm-up call longer
    than the budget is the one measurement."""
    start = time.perf_counter()
    function()
    warm_up = time.perf_counter() - start
    if warm_up > budget:
        return warm_up, 1
    best, runs, spent = float("inf"), 0, 0.0
    while runs < repeat:
        start = time.perf_counter()
        function()
        took = time.perf_counter() - start
        best, runs, spent = min(best, took), runs + 1, spent + took
        if spent + took > budget:
            break
    return best, runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10,100,1000,10000", help="layer counts")
    parser.add_argument("--styles", default=",".join(STYLES), help="styles to run")
    parser.add_argument("--repeat", type=int, default=20, help="timed calls per cell (best of)")
    parser.add_argument(
        "--budget", type=float, default=2.5, help="seconds of timed calls per cell at most"
    )
    parser.add_argument("--core", help="path of a built _core extension to load instead")
    parser.add_argument("--output", type=Path, default=REPO / "bench" / "scaling.md")
    parser.add_argument("--keep", type=Path, help="write the generated files here, and keep them")
    args = parser.parse_args(argv)
    command = shlex.join(["python", *(sys.argv if argv is None else ["bench_scaling.py", *argv])])
    sizes = [int(s) for s in args.sizes.split(",")]
    styles = args.styles.split(",")
    core = load_core(args.core)
    started = time.perf_counter()

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        directory = args.keep or Path(tmp)
        directory.mkdir(parents=True, exist_ok=True)
        for style in styles:
            for size in sizes:
                text, entry, shape, target = STYLES[style](size)
                name = f"{style.replace('-', '_')}_{size}.py"
                (directory / name).write_text(text)
                text = (directory / name).read_text()
                shapes = [shape] if shape else []
                repeat = args.repeat if size < 10000 else max(3, args.repeat // 4)

                def convert(text=text, name=name, target=target, entry=entry, shapes=shapes):
                    # the engine writes its warnings to sys.stderr: keep them off the terminal
                    with contextlib.redirect_stderr(io.StringIO()):
                        return core.convert(text, name, target, "", "keep", entry, shapes)

                parse, parse_runs = best_of(
                    lambda text=text: core.parse_only(text), repeat, args.budget
                )
                conv, conv_runs = best_of(convert, repeat, args.budget)
                rows.append(
                    {
                        "style": style,
                        "layers": size,
                        "lines": text.count("\n"),
                        "parse": parse,
                        "convert": conv,
                        "runs": min(parse_runs, conv_runs),
                    }
                )
                print(
                    f"{style:17} {size:>6} layers: parse {parse * 1e3:9.3f} ms, "
                    f"convert {conv * 1e3:9.3f} ms ({conv / parse:.2f}x)",
                    file=sys.stderr,
                    flush=True,
                )

    base = {r["style"]: r["convert"] / r["layers"] for r in rows if r["layers"] == 100}
    header = (
        "| style | layers | lines | parse (ms) | convert (ms) | convert/parse "
        "| per layer (µs) | per layer vs 100 | runs |"
    )
    lines = [header, "|" + " --- |" * 9]
    worst_parse, worst_layer = 0.0, 0.0
    for r in rows:
        per_layer = r["convert"] / r["layers"]
        ratio = per_layer / base[r["style"]] if r["style"] in base else float("nan")
        worst_parse = max(worst_parse, r["convert"] / r["parse"])
        if r["layers"] >= 100:
            worst_layer = max(worst_layer, ratio)
        lines.append(
            f"| {r['style']} | {r['layers']:,} | {r['lines']:,} | {r['parse'] * 1e3:.3f} "
            f"| {r['convert'] * 1e3:.3f} | {r['convert'] / r['parse']:.2f}x "
            f"| {per_layer * 1e6:.1f} | {ratio:.2f}x | {r['runs']} |"
        )
    table = "\n".join(lines)
    now = dt.datetime.now().astimezone()
    elapsed = time.perf_counter() - started
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    report = f"""# Conversion time against model size (bench/bench_scaling.py)

Date: {now:%Y-%m-%d %H:%M %Z}
Command: `{command}`
Machine: {platform.machine()}, {cpu}, {os.cpu_count()} CPUs, Python {platform.python_version()};
load average at the end {", ".join(f"{x:.2f}" for x in os.getloadavg())}
Engine: {"installed package" if args.core is None else args.core}

- **parse**: `_core.parse_only` (tree-sitter only), best of the runs shown.
- **convert**: `_core.convert` in-process (PyTorch -> Keras or Keras -> PyTorch, `--layout keep`,
  the input shape given), best of the runs shown.
- **per layer vs 100**: convert time per layer divided by that of the 100-layer file of the
  same style, in this run (1.00x = linear).
- Generated files: {CHANNELS}-channel 3x3 convolutions on {SIZE}x{SIZE} inputs; the subclass
  and functional styles have a residual block every third unit.

{table}

Worst convert/parse: {worst_parse:.2f}x; worst per-layer ratio (100 layers and up): {worst_layer:.2f}x.
Whole run: {elapsed:.1f} s.
"""
    print(report)
    args.output.write_text(report)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
