"""`nnport verify`: does the migrated model compute the same function?

The protocol of the paper (section 6.3.1): give the source model random
weights, copy them into the migrated model with `nnport weights`, feed both the
same random inputs and report the maximum absolute difference (MAD) of every
output. All trials run as one batch: the maximum over the batch is the
maximum over the trials, and each framework is started once.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from nnport import plan as planlib
from nnport import weights


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

    with tempfile.TemporaryDirectory(prefix="nnport-verify-") as tmp:
        work = Path(tmp)
        src_weights = work / f"source{direction.source_suffixes[0]}"
        dst_weights = work / f"migrated{direction.target_suffix}"
        inputs = planlib.random_inputs(plan, trials, np.random.default_rng(seed))
        np.savez(work / "inputs.npz", **{str(i): array for i, array in enumerate(inputs)})

        def run(framework: str) -> dict:
            request = {"inputs": str(work / "inputs.npz"), "out": str(work / f"{framework}.npz")}
            if per_layer:
                request["layers_out"] = str(work / f"{framework}.layers.npz")
            return request

        # The source side in one process: random weights, its outputs, the target arrays.
        model = {"model": str(src), "entry": entry, "plan": plan}
        source_run = {**model, **run(source), "command": "run", "weights": str(src_weights)}
        export = weights.export_request(plan, src, src_weights, entry, work)
        init = {**model, "seed": seed, "out": str(src_weights), "then": [source_run, export]}
        weights.run_worker(source, "init", init, work)
        target_import = weights.import_request(dst, dst_weights, entry, work, run=run(target))
        weights.run_worker(target, "import", target_import, work)
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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="nnport verify",
        description="Check that DST.py (migrated from SRC.py) computes the same function.",
    )
    parser.add_argument("src", metavar="SRC.py", help="the source model file")
    parser.add_argument("dst", metavar="DST.py", help="the file `nnport convert` wrote from it")
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
    try:
        report = verify(
            args.src,
            args.dst,
            args.entry,
            args.input_shape,
            args.trials,
            args.tolerance,
            args.seed,
            args.per_layer,
        )
    except (weights.ConversionError, planlib.PlanError, OSError) as error:
        print(f"nnport verify: error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(_json_safe(report), indent=2) if args.json else format_table(report))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
