"""Shared fixtures: where the repository is, how to run the nnport command line, and the
suite's framework workers.

Two tiers. A test that needs PyTorch or TensorFlow asks for the `workers` fixture (or
`frameworks`, the same): it is marked `frameworks` and belongs to the full tier, and all
such tests share one worker process per framework for the whole run. Every other test
is in the fast tier (`pytest -m "not frameworks"`), which never starts a framework: a
test there that tries to fails with a message saying so.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
PYTHON_DIR = REPO_ROOT / "python"

try:
    import nnport
except ImportError:
    # Run from a source tree: use its package, here and in every child process.
    sys.path.insert(0, str(PYTHON_DIR))
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(PYTHON_DIR), os.environ.get("PYTHONPATH")) if p
    )


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def examples_dir(repo_root: Path) -> Path:
    return repo_root / "examples"


def nnport(*args: str | os.PathLike, check: bool = False) -> subprocess.CompletedProcess:
    """Run `python -m nnport ARGS...` and return the completed process (text output);
    with `check`, fail the test unless it exits 0. Test modules import it for helpers
    outside a test function (`from conftest import nnport`)."""
    process = subprocess.run(
        [sys.executable, "-m", "nnport", *map(str, args)],
        capture_output=True,
        check=False,
        text=True,
    )
    if check and process.returncode != 0:
        pytest.fail(
            f"nnport {' '.join(map(str, args))} exited {process.returncode}:\n{process.stderr}"
        )
    return process


@pytest.fixture(scope="session")
def run_nnport():
    """`nnport` as a fixture."""
    return nnport


FRAMEWORK_FIXTURES = {"workers", "frameworks"}


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "frameworks: needs PyTorch and TensorFlow (the full tier; see conftest.py)"
    )


def pytest_collection_modifyitems(config, items):
    for item in items:
        if FRAMEWORK_FIXTURES & set(item.fixturenames):
            item.add_marker(pytest.mark.frameworks)


@pytest.fixture(scope="session")
def workers():
    """One worker process per framework for the whole run (`nnport.workers`): every
    verify/weights step of every test goes to them. They also serve the tests' own
    commands (tests/worker_commands.py)."""
    for name in ("torch", "keras", "tensorflow", "h5py"):
        if importlib.util.find_spec(name) is None:
            pytest.skip(f"{name} is not installed")
    from nnport.workers import WorkerPool

    with WorkerPool(extensions=[Path(__file__).with_name("worker_commands.py")]) as pool:
        pool.start()  # both import their framework at once
        yield pool


@pytest.fixture(scope="session")
def frameworks(workers):
    """The tests that run models: the same as `workers`."""
    return workers


@pytest.fixture(autouse=True)
def _frameworks_only_in_the_full_tier(request, monkeypatch):
    """A test without the `workers` fixture must not start a framework worker."""
    if FRAMEWORK_FIXTURES & set(request.fixturenames):
        return
    from nnport import workers

    def refuse(framework, *args):
        pytest.fail(
            f"{request.node.nodeid} starts a {framework} worker: ask for the `workers` "
            "fixture (the full tier)"
        )

    monkeypatch.setattr(workers, "_spawn", refuse)


@pytest.fixture(scope="session")
def lint():
    """Check that a migrated file passes ruff's defaults unchanged, as in a fresh project
    (`--isolated`: no configuration of this repository or the user applies)."""
    if shutil.which("ruff"):
        ruff = ["ruff"]
    elif importlib.util.find_spec("ruff"):
        ruff = [sys.executable, "-m", "ruff"]
    else:
        pytest.skip("ruff is not installed")

    def check(path) -> None:
        for command in (["check"], ["format", "--check", "--diff"]):
            process = subprocess.run(
                [*ruff, *command, "--isolated", str(path)],
                capture_output=True,
                text=True,
                check=False,
            )
            assert process.returncode == 0, (
                f"ruff {' '.join(command)} {Path(path).name}:\n{process.stdout}{process.stderr}\n"
                + Path(path).read_text()
            )

    return check
