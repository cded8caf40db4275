"""Shared fixtures: where the repository is, and how to run the nnport command line."""

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


@pytest.fixture(scope="session")
def frameworks():
    """verify runs each framework in its own process; they only need to be installed."""
    for name in ("torch", "keras", "tensorflow", "h5py"):
        if importlib.util.find_spec(name) is None:
            pytest.skip(f"{name} is not installed")


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
