"""`nnport convert SRC_DIR -o OUT_DIR`: many files in one run (fast tier, no framework).

The examples plus generated model files and files that are not models go through the
`nnport` command: every file gets a status, the folder layout is mirrored, one failure
never stops the run, and an interrupted run leaves no half-written file.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO_ROOT


def command() -> list[str]:
    """The installed native `nnport` command beside this Python (what users run), else
    the package's `python -m nnport`."""
    native = Path(sys.executable).with_name("nnport")
    if native.is_file() and os.access(native, os.X_OK):
        return [str(native)]
    return [sys.executable, "-m", "nnport"]


def run(*args, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*command(), *map(str, args)], capture_output=True, text=True, check=False, **kwargs
    )


def torch_model(name: str, blocks: int) -> str:
    """A PyTorch model file in torchvision's idiom: a Sequential of conv blocks, a head."""
    body = []
    channels = 3
    for i in range(blocks):
        width = 8 + 4 * (i % 3)
        body += [
            f"            nn.Conv2d({channels}, {width}, kernel_size=3, padding=1),",
            f"            nn.BatchNorm2d({width}),",
            "            nn.ReLU(inplace=True),",
        ]
        channels = width
    lines = "\n".join(body)
    return f'''"""{name}: a generated test network."""
import torch
from torch import nn


class {name}(nn.Module):
    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.features = nn.Sequential(
{lines}
        )
        self.pool = nn.AdaptiveAvgPool2d((1, 1))
        self.classifier = nn.Linear({channels}, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.features(x))
        return self.classifier(torch.flatten(x, 1))
'''


@pytest.fixture
def tree(tmp_path: Path, examples_dir: Path) -> Path:
    """A project: the examples in two folders, generated models, a helper module without a
    framework, a PyTorch utility without a model, and a file nnport cannot migrate."""
    src = tmp_path / "project"
    shutil.copytree(examples_dir / "torch", src / "models")
    (src / "models" / "generated").mkdir()
    for i in range(20):
        name = f"Net{i}"
        (src / "models" / "generated" / f"net{i}.py").write_text(torch_model(name, 1 + i % 5))
    (src / "config.py").write_text("BATCH_SIZE = 32\nLEARNING_RATE = 0.01\n")
    (src / "utils.py").write_text("import torch\n\n\ndef count(model):\n    return 0\n")
    (src / "broken.py").write_text(
        "import torch.nn as nn\n\n\nclass Broken(nn.Module):\n"
        "    def __init__(self):\n        super().__init__()\n"
        "        self.layer = nn.NoSuchLayer(3)\n\n"
        "    def forward(self, x):\n        return self.layer(x)\n"
    )
    (src / ".git").mkdir()
    (src / ".git" / "hook.py").write_text("import torch\n")  # hidden folders are skipped
    return src


def test_a_folder_migrates_file_by_file(tree: Path, tmp_path: Path):
    out, report_path = tmp_path / "out", tmp_path / "report.json"
    manifest = tmp_path / "manifest.json"
    manifest.write_text(
        json.dumps(
            {
                "files": {
                    "models/vgg16.py": {
                        "entry": "VGG(make_layers(cfgs['A']), num_classes=10)",
                        "input_shape": "3,32,32",
                    }
                }
            }
        )
    )
    process = run(
        "convert", tree, "--to", "keras", "-o", out, "--report", report_path, "--manifest", manifest,
        "--input-shape", "3,32,32", "--jobs", "2",
    )  # fmt: skip
    assert process.returncode == 2 and "--manifest" in process.stderr  # --input-shape is per file
    process = run(
        "convert", tree, "--to", "keras", "-o", out, "--report", report_path, "--manifest", manifest
    )
    assert process.returncode == 1, process.stdout + process.stderr  # broken.py failed
    report = json.loads(report_path.read_text())
    status = {f["path"]: f["status"] for f in report["files"]}

    assert status["broken.py"] == "failed"
    assert status["config.py"] == "no-model" and status["utils.py"] == "no-model"
    assert status["models/vgg16.py"] == "migrated"  # its entry came from the manifest
    assert all(status[f"models/generated/net{i}.py"] == "migrated" for i in range(20))
    assert not any(path.startswith(".git") for path in status)
    assert report["summary"]["files"] == len(status)
    assert report["summary"]["failed"] == 1 and report["summary"]["copied"] == 1

    (broken,) = [f for f in report["files"] if f["path"] == "broken.py"]
    error = broken["diagnostics"][-1]
    assert error["severity"] == "error" and error["line"] == 7 and error["column"] > 1
    assert error["file"].endswith("broken.py") and "NoSuchLayer" in error["message"]
    assert report["top_failures"][0]["count"] == 1

    # the layout is mirrored; a file without a framework is copied, a torch file without
    # a model is not (it would not run in a Keras project); the failed one is absent
    assert (out / "models" / "generated" / "net3.py").read_text().startswith("# Generated by")
    assert (out / "config.py").read_text() == (tree / "config.py").read_text()
    assert not (out / "utils.py").exists() and not (out / "broken.py").exists()
    # each file is what a single conversion writes
    single = run("convert", tree / "models" / "alexnet.py", "--to", "keras")
    assert single.returncode == 0, single.stderr
    assert (out / "models" / "alexnet.py").read_text() == single.stdout

    assert "failed" in process.stdout and "top failure causes" in process.stdout
    assert "FAILED" in process.stderr and "broken.py:7:" in process.stderr  # plain lines


def test_several_files_and_the_exit_status(tree: Path, tmp_path: Path):
    out = tmp_path / "out"
    files = [tree / "models" / "alexnet.py", tree / "models" / "generated" / "net1.py"]
    process = run("convert", *files, "--to", "keras", "-o", out)
    assert process.returncode == 0, process.stdout + process.stderr
    # relative to the files' common folder
    assert (out / "alexnet.py").is_file() and (out / "generated" / "net1.py").is_file()
    assert run("convert", *files, "--to", "keras").returncode == 2  # a batch needs -o


def test_an_interrupted_run_leaves_no_partial_file(tmp_path: Path):
    """Ctrl-C mid-run: the files in progress finish, no new one starts, the summary says
    what finished, and every output file is whole."""
    src, out, report_path = tmp_path / "src", tmp_path / "out", tmp_path / "report.json"
    src.mkdir()
    big = torch_model("Deep", 150)
    for i in range(300):
        (src / f"deep{i:03}.py").write_text(big)
    process = subprocess.Popen(
        [*command(), "convert", str(src), "--to", "keras", "-o", str(out), "--jobs", "1",
         "--report", str(report_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    done = 0
    deadline = time.monotonic() + 60
    while done < 5 and time.monotonic() < deadline:
        line = process.stderr.readline()
        done += line.lstrip().startswith("[")
    process.send_signal(signal.SIGINT)
    stdout, _ = process.communicate(timeout=60)
    assert process.returncode == 130, stdout
    assert "interrupted" in stdout
    report = json.loads(report_path.read_text())
    assert report["interrupted"] is True
    finished = [f for f in report["files"] if f["status"] == "migrated"]
    assert 5 <= len(finished) < 300 and report["summary"]["not_done"] == 300 - len(finished)
    written = sorted(p.name for p in out.iterdir())
    assert written == sorted(Path(f["path"]).name for f in finished)  # no temporary file
    expected = run("convert", src / "deep000.py", "--to", "keras").stdout
    for name in written:
        assert (out / name).read_text() == expected.replace("deep000.py", name)


def test_the_command_hands_verify_and_weights_to_python():
    """The native command runs the engine itself and execs Python for verify/weights."""
    process = run("verify", "--help")
    assert process.returncode == 0 and "--manifest" in process.stdout, process.stderr
    process = run("--help")
    assert process.returncode == 0 and "nnport verify" in process.stdout


@pytest.mark.skipif(not (REPO_ROOT / "examples").is_dir(), reason="needs the examples")
def test_no_model_files_are_not_failures(tmp_path: Path, examples_dir: Path):
    out = tmp_path / "out"
    process = run("convert", examples_dir / "keras", "--to", "keras", "-o", out)  # already Keras
    assert process.returncode == 0, process.stdout + process.stderr
    assert "no model" in process.stdout
    copied = sorted(p.name for p in out.iterdir())
    assert copied == sorted(p.name for p in (examples_dir / "keras").glob("*.py"))
