"""`nnport verify`: does the migrated model compute the same function?

The protocol of the paper (section 6.3.1): give the source model random
weights, copy them into the migrated model with `nnport weights`, feed both the
same random inputs and report the maximum absolute difference (MAD) of every
output. All trials run as one batch: the maximum over the batch is the
maximum over the trials, and each framework is started once.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import math
import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from nnport import plan as planlib
from nnport import weights, workers


def verify(
    src,
    dst,
    entry: str | None = None,
    input_shapes: Sequence[str] = (),
    trials: int = 100,
    tolerance: float = 1e-5,
    seed: int = 0,
    per_layer: bool = False,
) -> dict:
    """Compare SRC's model and DST's migrated model on `trials` random inputs.

    With `per_layer`, also compare the output of every layer that has weights (the plan's
    layers, paired through the pivot model) and name the first that diverges.
    """
    if trials < 1:
        raise weights.ConversionError("--trials must be at least 1")
    options = weights.generated_options(dst)
    direction = weights.direction_to(options["to"])
    plan = weights.plan_for_migrated(src, options, entry, input_shapes)
    entry = entry or plan["entry"]
    source, target = direction.source, direction.target

    with workers.scratch_dir("nnport-verify-") as tmp:
        work = Path(tmp)
        inputs = planlib.random_inputs(plan, trials, np.random.default_rng(seed))
        np.savez(work / "inputs.npz", **{str(i): array for i, array in enumerate(inputs)})

        def run(framework: str) -> dict:
            request = {"inputs": str(work / "inputs.npz"), "out": str(work / f"{framework}.npz")}
            if per_layer:
                request["layers_out"] = str(work / f"{framework}.layers.npz")
            return request

        # The source side in one process: random weights, its outputs, the target arrays
        # (the weights stay in memory between these steps). Meanwhile the target's worker
        # builds the migrated model (`prepare`), which its `import` then takes.
        pool = workers.current()
        model = {"model": str(src), "entry": entry, "plan": plan}
        prepared = pool.submit(target, "prepare", {**model, "model": str(dst)})
        source_run = {**model, **run(source), "command": "run"}
        export = weights.export_request(plan, src, None, entry, work)
        try:
            weights.run_worker(
                source, "init", {**model, "seed": seed, "then": [source_run, export]}
            )
        finally:
            try:
                prepared.result()
            except workers.WorkerFailed:
                pass  # the import builds the model again and reports the error
        target_import = weights.import_request(dst, None, entry, work, run=run(target))
        weights.run_worker(target, "import", target_import)
        results, layers = {}, {}
        for framework in (source, target):
            with np.load(work / f"{framework}.npz") as data:
                results[framework] = [data[str(i)] for i in range(len(data.files))]
            if per_layer:
                with np.load(work / f"{framework}.layers.npz") as data:
                    layers[framework] = {key: data[key] for key in data.files}

    rows = compare(plan, results[source], results[target], tolerance)
    report = {
        "outputs": rows,
        "tolerance": tolerance,
        "trials": trials,
        "ok": bool(rows) and all(row["ok"] for row in rows),
    }
    if per_layer:
        report["layers"] = compare_layers(plan, layers[source], layers[target], tolerance)
        diverged = [row for row in report["layers"] if row["mad"] is not None and not row["ok"]]
        report["first_divergence"] = diverged[0]["path"] if diverged else None
    return report


def compare_layers(
    plan: planlib.Plan, expected: dict, actual: dict, tolerance: float
) -> list[dict]:
    """One row per plan layer, in call order: the MAD of its output in the two models.

    Intermediate values can be far from 1 (a deep network's feature maps), so a layer
    passes when its MAD is within `tolerance` x max(1, max |source output|).
    """
    rows = []
    for layer in plan["layers"]:
        path = layer["path"]
        row = {
            "path": path,
            "source_class": layer["source_class"],
            "target_class": layer["targets"][-1]["class"],
            "shape": None,
            "max_abs_source": None,
            "mad": None,
            "ok": False,
        }
        a, b = expected.get(path), actual.get(path)
        if a is None or b is None:
            side = "source" if a is None else "migrated"
            row["error"] = f"not called in the {side} model"
        elif a.shape != b.shape:
            row["error"] = (
                f"shapes differ: {list(a.shape)} vs {list(b.shape)} in the migrated model"
            )
        else:
            a64 = a.astype(np.float64)
            row["shape"] = list(a.shape)
            row["max_abs_source"] = float(np.abs(a64).max()) if a.size else 0.0
            mad = float(np.abs(a64 - b.astype(np.float64)).max()) if a.size else 0.0
            row["mad"] = mad
            row["ok"] = bool(mad <= tolerance * max(1.0, row["max_abs_source"]))
        rows.append(row)
    return rows


def compare(
    plan: planlib.Plan, expected: list[np.ndarray], actual: list[np.ndarray], tolerance: float
) -> list[dict]:
    """One report row per output: its MAD, or why it cannot be compared."""
    rows = []
    for i in range(max(len(expected), len(actual))):
        row = {
            "name": planlib.output_name(plan, i),
            "shape": None,
            "max_abs_source": None,
            "mad": None,
            "ok": False,
        }
        if i >= len(actual):
            row["error"] = "the migrated model does not return this output"
        elif i >= len(expected):
            row["error"] = "the source model does not return this output"
        elif expected[i].shape != actual[i].shape:
            row["error"] = f"shape {list(actual[i].shape)} in the migrated model"
        if i < len(expected):
            a = expected[i].astype(np.float64)
            row["shape"] = list(a.shape)
            row["max_abs_source"] = float(np.abs(a).max()) if a.size else 0.0
        if "error" not in row:
            difference = np.abs(a - actual[i].astype(np.float64))
            row["mad"] = float(difference.max()) if difference.size else 0.0
            row["ok"] = bool(row["mad"] <= tolerance)  # NaN fails
            if difference.ndim >= 1 and difference.size:  # axis 0 is the batch: one per trial
                row["mad_per_trial"] = difference.reshape(len(difference), -1).max(axis=1).tolist()
        rows.append(row)
    return rows


def format_table(report: dict) -> str:
    lines = [f"{'output':<16} {'shape':<20} {'max |source|':>12} {'MAD':>10}  result"]
    for row in report["outputs"]:
        shape = "x".join(map(str, row["shape"])) if row["shape"] is not None else "-"
        big = f"{row['max_abs_source']:.3e}" if row["max_abs_source"] is not None else "-"
        mad = f"{row['mad']:.3e}" if row["mad"] is not None else "-"
        result = "ok" if row["ok"] else f"FAIL{': ' + row['error'] if 'error' in row else ''}"
        lines.append(f"{row['name']:<16} {shape:<20} {big:>12} {mad:>10}  {result}")
    verdict = "PASS" if report["ok"] else "FAIL"
    lines.append(f"{verdict}: tolerance {report['tolerance']:g}, {report['trials']} random inputs")
    if "layers" in report:
        lines += ["", format_layers(report)]
    return "\n".join(lines)


def format_layers(report: dict) -> str:
    lines = [
        f"{'layer (source)':<24} {'source -> migrated':<28} {'max |source|':>12} {'MAD':>10}  result"
    ]
    for row in report["layers"]:
        classes = f"{row['source_class']} -> {row['target_class']}"
        big = f"{row['max_abs_source']:.3e}" if row["max_abs_source"] is not None else "-"
        mad = f"{row['mad']:.3e}" if row["mad"] is not None else "-"
        if row["ok"]:
            result = "ok"
        elif row["mad"] is None:
            result = f"not compared: {row['error']}"
        else:
            result = "DIVERGES" if row["path"] == report["first_divergence"] else "differs"
        lines.append(f"{row['path']:<24} {classes:<28} {big:>12} {mad:>10}  {result}")
    first = report["first_divergence"]
    if first is None:
        lines.append("no layer diverges (tolerance x max(1, max |source|) per layer)")
    else:
        (row,) = [row for row in report["layers"] if row["path"] == first]
        lines.append(
            f"first divergence: layer {first!r} ({row['source_class']} -> {row['target_class']}), "
            f"MAD {row['mad']:.3e} > {report['tolerance']:g} x max(1, {row['max_abs_source']:.3e})"
        )
    return "\n".join(lines)


def _json_safe(value):
    """Strict JSON: a NaN or infinite MAD becomes null (its row says not ok)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_safe(item) for item in value]
    return value


# --- many pairs, one worker per framework ----------------------------------------------


@dataclass
class Case:
    """One pair to verify: a source file and the file nnport migrated from it. The entry
    and input shapes default to the ones in the migrated file's header."""

    source: str
    migrated: str
    entry: str | None = None
    input_shapes: Sequence[str] = ()
    trials: int | None = None
    tolerance: float | None = None
    seed: int | None = None
    per_layer: bool | None = None

    @classmethod
    def from_dict(cls, item: dict, base: Path) -> Case:
        known = {f.name for f in fields(cls)}
        unknown = set(item) - known
        if unknown or "source" not in item or "migrated" not in item:
            raise weights.ConversionError(
                f"a verify case has keys source, migrated and optionally "
                f"{', '.join(sorted(known - {'source', 'migrated'}))}; got {sorted(item)}"
            )
        case = cls(**item)
        case.source, case.migrated = (str(base / p) for p in (case.source, case.migrated))
        if isinstance(case.input_shapes, str):
            case.input_shapes = [case.input_shapes]
        return case


def verify_many(
    cases: Iterable[Case | dict],
    trials: int = 100,
    tolerance: float = 1e-5,
    seed: int = 0,
    per_layer: bool = False,
    progress: Callable[[Case, dict], None] | None = None,
) -> dict:
    """Verify every pair with one worker process per framework (the current pool's, or
    one for this call); a case's own trials/tolerance/seed/per_layer override the
    arguments. Returns `{"pairs": [report + source, migrated, seconds], "ok", "workers"}`;
    a pair that cannot be verified has `ok` false and its `error`."""
    pool = workers.current() if workers._active else None
    with contextlib.ExitStack() as stack:
        if pool is None:
            pool = stack.enter_context(workers.WorkerPool())
        pairs = []
        with pool.current():
            for case in cases:
                case = case if isinstance(case, Case) else Case.from_dict(case, Path("."))
                start = time.perf_counter()
                try:
                    report = verify(
                        case.source,
                        case.migrated,
                        case.entry,
                        case.input_shapes,
                        trials if case.trials is None else case.trials,
                        tolerance if case.tolerance is None else case.tolerance,
                        seed if case.seed is None else case.seed,
                        per_layer if case.per_layer is None else case.per_layer,
                    )
                except (weights.ConversionError, planlib.PlanError, OSError) as error:
                    report = {"ok": False, "error": str(error)}
                report = {"source": str(case.source), "migrated": str(case.migrated), **report}
                report["seconds"] = round(time.perf_counter() - start, 3)
                pairs.append(report)
                if progress:
                    progress(case, report)
        return {
            "pairs": pairs,
            "ok": bool(pairs) and all(r["ok"] for r in pairs),
            "workers": dict(pool.started),
        }


class Session(workers.WorkerPool):
    """Worker processes kept for many `verify` and `weights` calls.

    For example::

        with nnport.Session() as session:
            for src, dst in pairs:
                report = session.verify(src, dst, trials=10)
    """

    def verify(self, src, dst, entry=None, input_shapes=(), **options) -> dict:
        with self.current():
            return verify(src, dst, entry, input_shapes, **options)

    def verify_many(self, cases: Iterable[Case | dict], **options) -> dict:
        with self.current():
            return verify_many(cases, **options)

    def weights(self, src, dst, src_weights, out, entry=None, input_shapes=()) -> Path:
        with self.current():
            return weights.convert_weights(src, dst, src_weights, out, entry, input_shapes)


def read_manifest(path: str | os.PathLike) -> list[Case]:
    """Cases from a JSON file: a list of objects (or `{"cases": [...]}`) with the keys of
    `Case`; relative paths are relative to the manifest's folder."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise weights.ConversionError(f"{path}:{error.lineno}:{error.colno}: {error.msg}") from None
    items = data.get("cases") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise weights.ConversionError(f'{path}: expected a list of cases or {{"cases": [...]}}')
    return [Case.from_dict(item, path.parent) for item in items]


def pairs_in(src_dir: Path, out_dir: Path) -> list[Case]:
    """The migrated files under `out_dir` (those with nnport's header), each paired with the
    file of the same relative path under `src_dir`, as `nnport convert SRC_DIR -o OUT_DIR`
    writes them."""
    cases = []
    for migrated in sorted(out_dir.rglob("*.py")):
        options = weights.generated_options(migrated)
        if "source" not in options:
            continue  # copied, not migrated
        source = src_dir / migrated.relative_to(out_dir)
        cases.append(Case(str(source), str(migrated)))
    return cases


def format_many(result: dict) -> str:
    lines = []
    for pair in result["pairs"]:
        if "error" in pair:
            verdict, detail = "ERROR", pair["error"].splitlines()[0]
        else:
            mads = [row["mad"] for row in pair["outputs"] if row["mad"] is not None]
            verdict = "PASS" if pair["ok"] else "FAIL"
            detail = f"MAD {max(mads):.3e}" if mads else "no output compared"
        lines.append(f"{verdict:<5} {pair['migrated']}  {detail}  ({pair['seconds']:.1f} s)")
    counts = collections.Counter(
        "error" if "error" in p else "passed" if p["ok"] else "failed" for p in result["pairs"]
    )
    started = ", ".join(f"{name} {n}" for name, n in sorted(result["workers"].items()))
    lines.append(
        f"{len(result['pairs'])} pairs: {counts['passed']} passed, {counts['failed']} failed, "
        f"{counts['error']} not verified; worker processes: {started or 'none'}"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="nnport verify",
        description="Check that DST.py (migrated from SRC.py) computes the same function; "
        "or every pair of a manifest, or of two folders (SRC_DIR and the OUT_DIR `nnport "
        "convert SRC_DIR -o OUT_DIR` wrote), with one worker process per framework.",
    )
    parser.add_argument("src", metavar="SRC", nargs="?", help="the source model file, or folder")
    parser.add_argument(
        "dst", metavar="DST", nargs="?", help="the file `nnport convert` wrote from it, or folder"
    )
    parser.add_argument(
        "--manifest", metavar="CASES.json", help="verify the pairs this file lists instead"
    )
    weights.add_model_options(parser)
    parser.add_argument(
        "--trials", type=int, default=100, help="number of random inputs (default 100)"
    )
    parser.add_argument(
        "--tolerance", type=float, default=1e-5, help="largest accepted MAD (default 1e-5)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the random weights and inputs")
    parser.add_argument(
        "--per-layer",
        action="store_true",
        help="also compare every layer with weights and name the first that diverges",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    pair = args.src is not None and args.dst is not None
    if (args.manifest is not None) == pair or (args.manifest and args.src):
        parser.error("give SRC and DST, or --manifest CASES.json")
    options = {
        "trials": args.trials,
        "tolerance": args.tolerance,
        "seed": args.seed,
        "per_layer": args.per_layer,
    }
    try:
        if args.manifest or (Path(args.src).is_dir() and Path(args.dst).is_dir()):
            if args.entry or args.input_shape:
                parser.error("--entry and --input-shape are per pair: put them in a manifest")
            if args.manifest:
                cases = read_manifest(args.manifest)
            else:
                cases = pairs_in(Path(args.src), Path(args.dst))

            def progress(case: Case, report: dict) -> None:
                if sys.stderr.isatty():  # the table comes at the end; say how far it is
                    done = len(progress.seen) + 1
                    progress.seen.append(report)
                    print(f"\rverified {done}/{len(cases)}", end="", file=sys.stderr, flush=True)

            progress.seen = []
            result = verify_many(cases, progress=progress, **options)
            if progress.seen and sys.stderr.isatty():
                print(file=sys.stderr)
            print(json.dumps(_json_safe(result), indent=2) if args.json else format_many(result))
            return 0 if result["ok"] else 1
        report = verify(args.src, args.dst, args.entry, args.input_shape, **options)
    except (weights.ConversionError, planlib.PlanError, OSError) as error:
        print(f"nnport verify: error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(_json_safe(report), indent=2) if args.json else format_table(report))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
