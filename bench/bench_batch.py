"""How fast does `nnport convert DIR -o OUT` migrate a whole tree of files?

Builds a tree of model files in a temporary folder: the project's examples plus generated
ones (bench_scaling.py's five styles, 20 to 200 layers each; --files in all), half PyTorch,
half Keras, with a manifest giving each file its input shape. Then, in one run, through the
installed `nnport` command (the native executable beside this Python):

  batch, all cores  `nnport convert torch/ --to keras -o ...` and `keras/ --to torch` (the
                    default: one job per core);
  batch, 1 job      the same with --jobs 1;
  loop, native      `nnport convert FILE -o OUT` once per file, over a sample of --sample
                    files (what a shell loop costs with the native command);
  loop, Python      `python -m nnport convert FILE -o OUT` once per file, over the same
                    sample (a shell loop paying Python's start-up per file).

It prints source lines per second for each, per core for the batches, and the ratios to the
Python loop; and writes the table to bench/batch.md with the date, the command and the
machine.

    python bench/bench_batch.py [--files N] [--sample K] [--output FILE]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_scaling  # the generators of the scaling benchmark (this folder)

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"


def native_command() -> str:
    native = Path(sys.executable).with_name("nnport")
    if not native.is_file():
        sys.exit(f"no native `nnport` command beside {sys.executable}: install nnport first")
    return str(native)


def make_tree(root: Path, files: int) -> dict[str, int]:
    """The tree: root/torch and root/keras, and root/<dir>/manifest.json each. Returns the
    source lines per folder."""
    lines: dict[str, int] = {"torch": 0, "keras": 0}
    manifests: dict[str, dict] = {"torch": {}, "keras": {}}
    examples = json.loads((EXAMPLES / "manifest.json").read_text())["files"]
    for folder in ("torch", "keras"):
        shutil.copytree(EXAMPLES / folder, root / folder / "examples")
        for path in (root / folder / "examples").glob("*.py"):
            lines[folder] += len(path.read_text().splitlines())
            options = examples.get(f"{folder}/{path.name}")
            if options:
                manifests[folder][f"examples/{path.name}"] = options
    styles = list(bench_scaling.STYLES.items())
    sizes = [20, 50, 100, 200]
    for i in range(files):
        style, generate = styles[i % len(styles)]
        text, entry, shape, _ = generate(sizes[(i // len(styles)) % len(sizes)])
        folder = "torch" if style.startswith("torch") else "keras"
        rel = f"generated/{style}/model_{i:04}.py"
        path = root / folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        lines[folder] += len(text.splitlines())
        options = {"input_shape": shape} if shape else {}
        if entry:
            options["entry"] = entry
        if options:
            manifests[folder][rel] = options
    for folder, manifest in manifests.items():
        (root / folder / "manifest.json").write_text(json.dumps({"files": manifest}))
    return lines


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    process = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if process.returncode != 0:
        sys.exit(f"{shlex.join(command)} exited {process.returncode}:\n{process.stdout[-3000:]}")
    return seconds


def batch(nnport: str, root: Path, out: Path, jobs: list[str]) -> float:
    seconds = 0.0
    for folder, to in (("torch", "keras"), ("keras", "torch")):
        seconds += timed(
            [nnport, "convert", str(root / folder), "--to", to, "-o", str(out / folder),
             "--manifest", str(root / folder / "manifest.json"), *jobs]
        )  # fmt: skip
    return seconds


def loop(command: list[str], root: Path, out: Path, sample: list[Path]) -> float:
    """One conversion per file of the sample, as a shell loop runs them."""
    manifests = {
        folder: json.loads((root / folder / "manifest.json").read_text())["files"]
        for folder in ("torch", "keras")
    }
    seconds = 0.0
    for path in sample:
        folder = path.relative_to(root).parts[0]
        rel = str(path.relative_to(root / folder))
        options = manifests[folder].get(rel, {})
        args = [str(path), "--to", "keras" if folder == "torch" else "torch"]
        if "entry" in options:
            args += ["--entry", options["entry"]]
        if "input_shape" in options:
            args += ["--input-shape", options["input_shape"]]
        seconds += timed([*command, "convert", *args, "-o", str(out / folder / rel)])
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=600, help="generated files (default 600)")
    parser.add_argument("--sample", type=int, default=60, help="files for the loops (default 60)")
    parser.add_argument("--output", default=str(REPO / "bench" / "batch.md"))
    args = parser.parse_args()
    nnport = native_command()
    cores = os.cpu_count() or 1

    with tempfile.TemporaryDirectory() as tmp:
        root, out = Path(tmp) / "tree", Path(tmp) / "out"
        lines = make_tree(root, args.files)
        total_lines = sum(lines.values())
        all_files = sorted(root.rglob("*.py"))
        step = max(1, len(all_files) // args.sample)
        sample = all_files[::step][: args.sample]
        sample_lines = sum(len(p.read_text().splitlines()) for p in sample)

        batch(nnport, root, out / "warm-up", [])  # file cache, page cache
        results = [
            (f"batch, {cores} jobs (default)", cores, total_lines,
             batch(nnport, root, out / "all", [])),
            ("batch, 1 job", 1, total_lines, batch(nnport, root, out / "one", ["--jobs", "1"])),
            ("loop, native `nnport convert FILE`", 1, sample_lines,
             loop([nnport], root, out / "native", sample)),
            ("loop, `python -m nnport convert FILE`", 1, sample_lines,
             loop([sys.executable, "-m", "nnport"], root, out / "python", sample)),
        ]  # fmt: skip

    python_rate = results[-1][2] / results[-1][3]
    command = "python bench/bench_batch.py" + "".join(f" {shlex.quote(a)}" for a in sys.argv[1:])
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    table = [
        "| run | files | source lines | seconds | lines/s | lines/s per core | vs Python loop |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, jobs, n_lines, seconds in results:
        files = len(all_files) if name.startswith("batch") else len(sample)
        rate = n_lines / seconds
        table.append(
            f"| {name} | {files} | {n_lines:,} | {seconds:.2f} | {rate:,.0f} | "
            f"{rate / jobs:,.0f} | {rate / python_rate:.0f}x |"
        )
    text = "\n".join(
        [
            "# Batch conversion (bench/bench_batch.py)",
            "",
            f"Date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC",
            f"Command: `{command}`",
            (
                f"Machine: {platform.machine()}, {cores} CPUs, Python {platform.python_version()}; "
                f"load average at the end {load}"
            ),
            "",
            (
                f"The tree: the {len(list(EXAMPLES.glob('*/*.py')))} examples and {args.files} "
                f"generated model files (bench_scaling.py's styles, 20-200 layers), "
                f"{total_lines:,} source lines; the loops run a sample of {len(sample)} of them. "
                "The batch rows convert the two folders (PyTorch -> Keras, Keras -> PyTorch) "
                "with their manifests; their time includes writing the output files."
            ),
            "",
            *table,
        ]
    )
    print(text)
    Path(args.output).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
