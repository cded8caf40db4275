#!/usr/bin/env bash
# Runs every test: the C++ unit tests (GoogleTest through CTest) and the Python tests
# (pytest; extra arguments are passed to it). Sets the machine up first if .venv is missing.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
step() { printf '\n==> %s\n' "$*"; }

if [[ ! -x .venv/bin/python ]]; then
  bash scripts/setup.sh --no-demo
fi

# One incremental CMake tree builds the unit tests, the command and the extension module;
# the module, the command and the package's Python files are then copied over the installed
# package, so the tests run the sources of this checkout without a full wheel rebuild.
step "building the C++ tree (build/cpp)"
py="$PWD/.venv/bin/python"
cmake -S . -B build/cpp -DCMAKE_BUILD_TYPE=Release -DNNPORT_BUILD_PYTHON=ON -DPython3_EXECUTABLE="$py" \
  -Dpybind11_DIR="$("$py" -c 'import pybind11; print(pybind11.get_cmake_dir())')"
cmake --build build/cpp -j"${NNPORT_JOBS:-2}"
pkg=$("$py" -c 'import nnport, os; print(os.path.dirname(nnport.__file__))')
for so in build/cpp/_core*.so; do cp "$so" "$pkg/.tmp.so" && mv -f "$pkg/.tmp.so" "$pkg/$(basename "$so")"; done  # a new inode: running processes keep the old one
cp python/nnport/*.py "$pkg/"
cp build/cpp/nnport .venv/bin/.nnport.tmp && mv -f .venv/bin/.nnport.tmp .venv/bin/nnport

status=0
step "C++ unit tests"
ctest --test-dir build/cpp --output-on-failure || status=1

step "Python tests"
.venv/bin/python -m pytest -q "$@" || status=1

if ((status)); then
  step "FAILED"
else
  step "all tests passed"
fi
exit "$status"
