#!/usr/bin/env bash
# Runs every test: the C++ unit tests (GoogleTest through CTest) and the Python tests
# (pytest; extra arguments are passed to it). Sets the machine up first if .venv is missing.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
step() { printf '\n==> %s\n' "$*"; }

if [[ ! -x .venv/bin/python ]]; then
  bash scripts/setup.sh --no-demo
else
  step "re-installing nnport into .venv"
  .venv/bin/python -m pip install . --no-deps -q
fi

step "building the C++ tree (build/cpp)"
cmake -S . -B build/cpp -DCMAKE_BUILD_TYPE=Release -DPython3_EXECUTABLE="$PWD/.venv/bin/python"
cmake --build build/cpp -j"${NNPORT_JOBS:-2}"

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
