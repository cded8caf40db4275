"""Bad input: `nnport convert` fails cleanly, says where and what to do, writes nothing.

Each file in tests/bad_input/ has one mistake; the diagnostic must name
`file:line:col` of it, show the offending source line with a caret under the
column, give a hint, exit non-zero and leave no output file behind (nor touch
an existing one). The command line's own mistakes (a bad `--input-shape`, a
missing file, an `--entry` naming nothing) must fail the same way.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

BAD_INPUT = Path(__file__).resolve().parent / "bad_input"

# file, (line, column) of the mistake (1-based), what the message must say
BAD_FILES = [
    pytest.param("syntax_error.py", (9, 18), "syntax error", id="syntax-error"),
    pytest.param("unknown_layer.py", (14, 25), "nn.Frobnicate", id="unknown-layer"),
    pytest.param("dynamic_value.py", (10, 15), "in_features", id="dynamic-value"),
]

GOOD_MODEL = """\
import torch.nn as nn


class Net(nn.Module):
    def __init__(self, n=4):
        super().__init__()
        self.fc = nn.Linear(n, 2)

    def forward(self, x):
        return self.fc(x)
"""


def nnport(*args, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "nnport", *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
    )


def caret_column(stderr: str, source_line: str) -> int:
    """The 1-based column the caret under the quoted source line points at."""
    lines = stderr.splitlines()
    for i, line in enumerate(lines[:-1]):
        if line.strip() == source_line.strip() and line.endswith(source_line.rstrip()):
            indent = len(line) - len(source_line.rstrip())
            caret = lines[i + 1]
            assert "^" in caret, f"no caret under the source line:\n{stderr}"
            return caret.index("^") - indent + 1
    pytest.fail(f"the offending line {source_line.strip()!r} is not shown:\n{stderr}")


@pytest.mark.parametrize("name, where, says", BAD_FILES)
def test_bad_file_is_located_and_explained(name, where, says, tmp_path):
    src = BAD_INPUT / name
    out = tmp_path / "out.py"
    process = nnport("convert", src, "--to", "keras", "-o", out)
    line, col = where
    assert process.returncode != 0, process.stderr
    assert not out.exists(), "a failed migration must not write its output"
    stderr = process.stderr
    location = re.compile(rf"(^|[\s/]){re.escape(name)}:{line}:{col}: error:", re.MULTILINE)
    assert location.search(stderr), stderr
    assert says in stderr, stderr
    source_line = src.read_text().splitlines()[line - 1]
    assert caret_column(stderr, source_line) == col, stderr
    assert re.search(r"^\s*hint: \S", stderr, re.MULTILINE), f"no hint:\n{stderr}"
    assert "Traceback" not in stderr, stderr


@pytest.mark.parametrize("name, where, says", BAD_FILES)
def test_bad_file_leaves_an_existing_output_alone(name, where, says, tmp_path):
    out = tmp_path / "out.py"
    out.write_text("# the user's previous migration\n")
    process = nnport("convert", BAD_INPUT / name, "--to", "keras", "-o", out)
    assert process.returncode != 0
    assert out.read_text() == "# the user's previous migration\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.py"], "a temporary file was left behind"


def test_bad_file_from_another_directory_names_the_path_given(tmp_path):
    """The location uses the path as typed, so editors can jump to it."""
    out = tmp_path / "out.py"
    process = nnport(
        "convert", "bad_input/unknown_layer.py", "--to", "keras", "-o", out, cwd=BAD_INPUT.parent
    )
    assert process.returncode != 0
    assert "bad_input/unknown_layer.py:14:25: error:" in process.stderr, process.stderr


@pytest.fixture
def good_model(tmp_path) -> Path:
    src = tmp_path / "model.py"
    src.write_text(GOOD_MODEL)
    return src


@pytest.mark.parametrize("shape", ["3,x,4", "", "-1,3", "0", "float99:3", "int64:", "(3,4)", "3 4"])
def test_bad_input_shape(shape, good_model, tmp_path):
    out = tmp_path / "out.py"
    process = nnport("convert", good_model, "--to", "keras", f"--input-shape={shape}", "-o", out)
    assert process.returncode != 0, process.stderr
    assert not out.exists()
    assert "--input-shape" in process.stderr, process.stderr
    assert "Traceback" not in process.stderr, process.stderr


@pytest.mark.parametrize("shape", ["4,,4", "4,", ",4"])
def test_input_shape_with_an_empty_dimension(shape, good_model, tmp_path):
    out = tmp_path / "out.py"
    process = nnport("convert", good_model, "--to", "keras", f"--input-shape={shape}", "-o", out)
    assert process.returncode != 0 and "--input-shape" in process.stderr, process.stderr
    assert not out.exists()


def test_missing_file(tmp_path):
    out = tmp_path / "out.py"
    process = nnport("convert", tmp_path / "no_such_model.py", "--to", "keras", "-o", out)
    assert process.returncode != 0
    assert not out.exists()
    assert "no_such_model.py" in process.stderr, process.stderr
    assert "Traceback" not in process.stderr, process.stderr


@pytest.mark.parametrize(
    "entry, says",
    [
        ("Nothing()", "Nothing"),
        ("nothing", "nothing"),
        ("Net(width=3)", "width"),
        ("Net(", "--entry"),
    ],
)
def test_entry_naming_nothing(entry, says, good_model, tmp_path):
    out = tmp_path / "out.py"
    process = nnport("convert", good_model, "--to", "keras", "--entry", entry, "-o", out)
    assert process.returncode != 0
    assert not out.exists()
    assert "--entry" in process.stderr and says in process.stderr, process.stderr
    assert "Traceback" not in process.stderr, process.stderr


def test_entry_diagnostic_shows_the_entry(good_model, tmp_path):
    process = nnport("convert", good_model, "--to", "keras", "--entry", "Nothing()")
    assert "--entry:1:1: error:" in process.stderr, process.stderr
    assert caret_column(process.stderr, "Nothing()") == 1, process.stderr
