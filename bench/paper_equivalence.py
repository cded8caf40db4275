"""Random-input equivalence as in the paper (section 6.3.1, Figure 5), for every scenario.

    python bench/paper_equivalence.py            # 100 trials, full-size inputs (docs/evaluation)
    python bench/paper_equivalence.py --reduced  # the pytest-sized version, for a quick look

For each scenario of `paper_scenarios` (five networks x source style x target style x
direction): `nnport convert` the file, give the source model seeded random weights,
copy them with the weight plan, feed both models the same random inputs and take the
maximum absolute difference (MAD) of the outputs, per trial and overall — exactly what
`nnport verify` does. Writes `mad.csv`, `mad.md` and `mad_boxplot.png` to `--out`.

Goal (issue 4): MAD <= 1e-6 x max(1, max |output|) in every scenario.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import paper_scenarios
from nnport import verify

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
GOAL = 1e-6  # relative to max(1, max |output|)
PAPER_LARGEST_MAD = 5.96e-8
COMMAND = "python bench/paper_equivalence.py"


@dataclass
class Result:
    scenario: paper_scenarios.Scenario
    input_shape: str
    trials: int
    max_abs_output: float
    mad: float
    mad_per_trial: list[float]
    seconds: float
    error: str = ""  # why the scenario could not be measured

    @property
    def bound(self) -> float:
        return GOAL * max(1.0, self.max_abs_output)

    @property
    def meets_goal(self) -> bool:
        return not self.error and self.mad <= self.bound


class Migrations:
    """The migrated file of every scenario, converted on first use (a back scenario
    needs its forward scenario's output as its source)."""

    def __init__(self, workdir: Path, reduced: bool):
        self.workdir, self.reduced = workdir, reduced
        self.by_id = {s.id: s for s in paper_scenarios.scenarios()}
        self.files: dict[str, Path] = {}

    def source(self, scenario: paper_scenarios.Scenario) -> Path:
        if scenario.back_of is None:
            return EXAMPLES / scenario.file
        return self.migrated(self.by_id[scenario.back_of])

    def migrated(self, scenario: paper_scenarios.Scenario) -> Path:
        if scenario.id not in self.files:
            out = self.workdir / f"{scenario.id}.py"
            command = [
                sys.executable, "-m", "nnport", "convert", str(self.source(scenario)),
                "--to", scenario.target_framework, "--style", scenario.target_style,
                "--layout", paper_scenarios.LAYOUT, "--entry", scenario.entry,
                "--input-shape", scenario.input_shape(self.reduced), "-o", str(out),
            ]  # fmt: skip
            process = subprocess.run(command, check=False, capture_output=True, text=True)
            if process.returncode != 0:
                raise RuntimeError(f"{scenario.id}: nnport convert failed:\n{process.stderr}")
            self.files[scenario.id] = out
        return self.files[scenario.id]


def run(scenario: paper_scenarios.Scenario, migrations: Migrations, trials: int) -> Result:
    """Migrate and verify one scenario; raises if the outputs cannot be compared."""
    src, dst = migrations.source(scenario), migrations.migrated(scenario)
    shape = scenario.input_shape(migrations.reduced)
    start = time.perf_counter()
    report = verify.verify(src, dst, scenario.entry, [shape], trials=trials, tolerance=1.0)
    seconds = time.perf_counter() - start
    (row,) = report["outputs"]  # every network of the paper has one output
    if row["mad"] is None:
        raise RuntimeError(f"{scenario.id}: {row.get('error')}")
    return Result(
        scenario, shape, trials, row["max_abs_source"], row["mad"], row["mad_per_trial"], seconds
    )


# --- reports --------------------------------------------------------------------------

CSV_FIELDS = [
    "network", "direction", "scenario", "kind", "input_shape", "trials", "max_abs_output",
    "mad", "mad_median", "goal_bound", "meets_goal", "seconds",
]  # fmt: skip


def csv_row(r: Result) -> dict:
    s = r.scenario
    return {
        "network": s.network,
        "direction": s.direction,
        "scenario": s.label,
        "kind": "back" if s.back_of else "forward",
        "input_shape": r.input_shape,
        "trials": r.trials,
        "max_abs_output": f"{r.max_abs_output:.6e}",
        "mad": f"{r.mad:.6e}",
        "mad_median": f"{statistics.median(r.mad_per_trial):.6e}",
        "goal_bound": f"{r.bound:.3e}",
        "meets_goal": r.meets_goal,
        "seconds": f"{r.seconds:.1f}",
    }


def save_results(results: list[Result], path: Path, meta: dict) -> None:
    """Every measurement, per-trial MADs included, so the reports can be redrawn."""
    rows = [
        {**csv_row(r), "id": r.scenario.id, "error": r.error, "mad_per_trial": r.mad_per_trial}
        for r in results
    ]
    path.write_text(json.dumps({**meta, "results": rows}, indent=1) + "\n")


def load_results(path: Path) -> tuple[list[Result], dict]:
    """What `save_results` wrote (scenarios that no longer exist are left out)."""
    data = json.loads(path.read_text())
    by_id = {s.id: s for s in paper_scenarios.scenarios()}
    results = [
        Result(
            by_id[row["id"]],
            row["input_shape"],
            int(row["trials"]),
            float(row["max_abs_output"]),
            float(row["mad"]),
            row["mad_per_trial"],
            float(row["seconds"]),
            row.get("error", ""),
        )
        for row in data.pop("results")
        if row["id"] in by_id
    ]
    return results, data


def write_csv(results: list[Result], path: Path) -> None:
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=CSV_FIELDS)
        writer.writeheader()
        writer.writerows(csv_row(r) for r in results)


def meta_date() -> str:
    return datetime.date.today().isoformat()


def write_markdown(results: list[Result], path: Path, meta: dict) -> None:
    seconds, command = meta["seconds"], meta["command"]
    met = sum(r.meets_goal for r in results)
    largest = max((r for r in results if not r.error), key=lambda r: r.mad)
    measured = (
        f"Measured {meta['date']} with `{command}` "
        f"({len(results)} scenarios, {results[0].trials} random inputs each, "
        f"{seconds / 60:.1f} min on {platform.machine()} CPU, 2 cores)."
    )
    protocol = (
        "Each scenario migrates the file with `nnport convert --layout native`, gives the source "
        "model seeded random weights (each framework's default initialisation, normalisation "
        "layers perturbed), copies them into the migrated model with the weight plan and feeds "
        "both the same random inputs (N(0, 1) for images, uniform token ids for the recurrent "
        "networks); MAD is the largest absolute difference of the outputs, per trial and over "
        "all trials. *Back* scenarios migrate a forward scenario's output back into the source "
        "framework. Goal: MAD <= 1e-6 x max(1, max |output|)."
    )
    summary = (
        f"**{met} of {len(results)} scenarios meet the goal.** Largest MAD: "
        f"{largest.mad:.2e} ({largest.scenario.network} {largest.scenario.direction} "
        f"{largest.scenario.label}, outputs up to {largest.max_abs_output:.2e}); "
        f"the paper reports MADs up to {PAPER_LARGEST_MAD:.2e}."
    )
    header = "| network | direction | scenario | input | max \\|output\\| | MAD (max) | MAD (median) | goal | meets |"
    lines = [
        "# Random-input equivalence (paper section 6.3.1)",
        "",
        measured,
        "",
        protocol,
        "",
        summary,
        "",
        *[f"Re-measured since: `{rerun}`." for rerun in meta.get("reruns", [])],
        "",
        "![MAD per scenario](mad_boxplot.png)",
        "",
        header,
        "|---|---|---|---|---:|---:|---:|---:|:-:|",
    ]
    for r in results:
        s = r.scenario
        kind = " (back)" if s.back_of else ""
        lines.append(
            f"| {s.network} | {s.direction} | {s.label}{kind} | {r.input_shape} | "
            f"{r.max_abs_output:.3e} | {r.mad:.3e} | {statistics.median(r.mad_per_trial):.3e} | "
            f"{r.bound:.0e} | {'yes' if r.meets_goal else '**no**'} |"
        )
        if r.error:
            lines[-1] = f"| {s.network} | {s.direction} | {s.label}{kind} | {r.input_shape} | "
            lines[-1] += f"failed: {r.error} | | | | **no** |"
    path.write_text("\n".join(lines) + "\n")


def write_boxplot(results: list[Result], path: Path) -> None:
    """Figure 5 of the paper, both directions: MAD of every trial, one box per scenario."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    floor = 1e-12  # a MAD of exactly 0 has no place on a log axis
    directions = ["torch->keras", "keras->torch"]
    fig, axes = plt.subplots(2, 1, figsize=(14, 9), constrained_layout=True)
    for ax, direction in zip(axes, directions):
        chosen = [r for r in results if r.scenario.direction == direction and not r.error]
        data = [[max(m, floor) for m in r.mad_per_trial] for r in chosen]
        labels = [
            f"{r.scenario.network}\n{r.scenario.label}{' (b)' if r.scenario.back_of else ''}"
            for r in chosen
        ]
        ax.boxplot(data, showfliers=True)
        ax.set_xticks(range(1, len(labels) + 1), labels, fontsize=7)
        ax.set_yscale("log")
        ax.axhline(PAPER_LARGEST_MAD, color="tab:red", linestyle="--", linewidth=1)
        ax.text(0.6, PAPER_LARGEST_MAD * 1.3, "paper's largest MAD", color="tab:red", fontsize=8)
        ax.set_ylabel("MAD per random input")
        ax.set_title(f"{direction.replace('->', ' -> ')} (zeros drawn at {floor:g}; (b) = back)")
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, help="random inputs per scenario (default 100)")
    parser.add_argument(
        "--reduced", action="store_true", help="small inputs and 4 trials, as pytest runs it"
    )
    parser.add_argument(
        "--only",
        default="",
        help="run the scenarios whose id contains this; the others keep their results in --out",
    )
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "evaluation")
    parser.add_argument("--work", type=Path, help="keep the migrated files here")
    args = parser.parse_args(argv)
    trials = args.trials or (4 if args.reduced else 100)

    import tempfile

    with tempfile.TemporaryDirectory(prefix="nnport-paper-") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        migrations = Migrations(work, args.reduced)
        results = []
        start = time.perf_counter()
        for scenario in paper_scenarios.scenarios():
            if args.only not in scenario.id:
                continue
            try:
                r = run(scenario, migrations, trials)
            except Exception as error:  # noqa: BLE001 - reported in the table, the rest goes on
                message = " ".join(str(error).split())[:300]
                r = Result(scenario, scenario.input_shape(args.reduced), trials, 0.0,
                           float("nan"), [float("nan")], 0.0, message)  # fmt: skip
            verdict = "ok" if r.meets_goal else (f"FAILED: {r.error}" if r.error else "ABOVE GOAL")
            print(
                f"{scenario.id:<44} MAD {r.mad:.3e}  max|out| {r.max_abs_output:.3e}  "
                f"{verdict}  ({r.seconds:.0f} s)",
                flush=True,
            )
            results.append(r)
        seconds = time.perf_counter() - start
    if not results:
        print("no scenario matches --only", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    command = " ".join([COMMAND, *(argv if argv is not None else sys.argv[1:])])
    meta = {"date": meta_date(), "seconds": seconds, "command": command}
    if args.only and (args.out / "mad.json").is_file():
        # re-measure some scenarios: the others keep their recorded results
        earlier, meta = load_results(args.out / "mad.json")
        fresh = {r.scenario.id: r for r in results}
        order = [s.id for s in paper_scenarios.scenarios()]
        kept = [r for r in earlier if r.scenario.id not in fresh]
        results = sorted(kept + results, key=lambda r: order.index(r.scenario.id))
        meta["reruns"] = [*meta.get("reruns", []), f"{command} ({meta_date()})"]
        meta["seconds"] += seconds
    save_results(results, args.out / "mad.json", meta)
    write_csv(results, args.out / "mad.csv")
    write_markdown(results, args.out / "mad.md", meta)
    write_boxplot(results, args.out / "mad_boxplot.png")
    print(f"wrote {args.out}/mad.csv, mad.md, mad_boxplot.png ({seconds / 60:.1f} min)")
    return 0 if all(r.meets_goal for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
