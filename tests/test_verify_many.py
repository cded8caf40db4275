"""`nnport verify` over many pairs: one worker process per framework for the whole run.

Every example is migrated in both directions by two batch runs (`nnport convert examples
-o OUT --manifest examples/manifest.json`); then one `nnport verify --manifest` in a new
process verifies all the pairs, with one `import torch` and one `import tensorflow` in all.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import nnport


def test_all_example_pairs_with_one_worker_per_framework(examples_dir, tmp_path, workers):
    cases = []
    for to in ("keras", "torch"):
        report = tmp_path / f"{to}.json"
        nnport(
            "convert", examples_dir, "--to", to, "-o", tmp_path / to,
            "--manifest", examples_dir / "manifest.json", "--report", report, check=True,
        )  # fmt: skip
        for file in json.loads(report.read_text())["files"]:
            if file["status"] in ("migrated", "warnings"):
                cases.append({"source": file["source"], "migrated": file["output"]})
    assert len(cases) == len(list(examples_dir.glob("*/*.py")))
    manifest = tmp_path / "cases.json"
    manifest.write_text(json.dumps({"cases": cases}))

    process = subprocess.run(
        [sys.executable, "-m", "nnport", "verify", "--manifest", str(manifest), "--trials", "2",
         "--json"],
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    assert process.returncode == 0, process.stdout[-4000:] + process.stderr[-4000:]
    result = json.loads(process.stdout)
    assert result["workers"] == {"torch": 1, "keras": 1}
    assert len(result["pairs"]) == len(cases)
    assert all(pair["ok"] for pair in result["pairs"])


def test_a_pair_that_cannot_be_verified_does_not_stop_the_others(
    examples_dir, tmp_path, workers, monkeypatch
):
    """In-process, through the suite's workers (no new one starts): a missing file is that
    pair's error, and the next pair is verified."""
    from nnport import verify
    from nnport import workers as workers_module

    def no_new_worker(*args):
        raise AssertionError("verify_many started a worker instead of using the suite's")

    out = tmp_path / "lstm_keras.py"
    src = examples_dir / "torch" / "lstm_classifier.py"
    nnport("convert", src, "--to", "keras", "--input-shape", "int64:20", "-o", out, check=True)
    workers.start()
    monkeypatch.setattr(workers_module, "_spawn", no_new_worker)
    result = verify.verify_many(
        [{"source": str(src), "migrated": str(tmp_path / "missing.py")},
         {"source": str(src), "migrated": str(out)}],
        trials=2,
    )  # fmt: skip
    first, second = result["pairs"]
    assert not first["ok"] and "missing.py" in first["error"]
    assert second["ok"] and not result["ok"]


def test_a_worker_that_dies_is_replaced(tmp_path, workers):
    """A model file that kills its process (os._exit) takes its worker down: the step
    fails with what the worker printed, and the next step gets a new worker. A file that
    raises is an explained error, and the worker goes on."""
    from nnport.workers import WorkerFailed, WorkerPool

    dies, raises, fine = tmp_path / "dies.py", tmp_path / "raises.py", tmp_path / "fine.py"
    dies.write_text("import os, sys\nprint('going down', file=sys.stderr)\nos._exit(3)\n")
    raises.write_text("raise RuntimeError('no model today')\n")
    fine.write_text("import torch\nmodel = torch.nn.Linear(2, 3)\n")
    request = {"entry": "model", "seed": 0, "out": str(tmp_path / "m.pt")}
    with WorkerPool() as pool:  # its own: this test kills workers
        with pytest.raises(WorkerFailed, match="going down") as died:
            pool.run("torch", "init", {**request, "model": str(dies)})
        assert died.value.status == 1
        with pytest.raises(WorkerFailed, match="no model today") as raised:
            pool.run("torch", "init", {**request, "model": str(raises)})
        assert raised.value.status == 2
        pool.run("torch", "init", {**request, "model": str(fine)})
        assert pool.started["torch"] == 2 and (tmp_path / "m.pt").stat().st_size > 0
