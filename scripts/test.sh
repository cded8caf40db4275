#!/usr/bin/env bash
# Runs every test: the C++ unit tests (GoogleTest through CTest), then the Python tests in
# two tiers: the fast tier (no framework: engine, golden files, bad input, batch runs,
# round trips of the pivot), then the full tier (the tests that run models, sharing one
# worker process per framework; see tests/conftest.py). Extra arguments go to pytest.
# Sets the machine up first if .venv is missing.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
step() { printf '\n==> %s\n' "$*"; }

if [[ ! -x .venv/bin/python ]]; then
  bash scripts/setup.sh --deps-only  # nnport itself is installed from build/cpp below
fi

# One incremental CMake tree builds the unit tests, the command and the extension module;
# the module, the command and the package's Python files are then copied into the
# environment (over an installed nnport, if any), so the tests run the sources of this
# checkout without building a wheel.
step "building the C++ tree (build/cpp)"
py="$PWD/.venv/bin/python"
cmake -S . -B build/cpp -DCMAKE_BUILD_TYPE=Release -DNNPORT_BUILD_PYTHON=ON -DPython3_EXECUTABLE="$py" \
  -Dpybind11_DIR="$("$py" -c 'import pybind11; print(pybind11.get_cmake_dir())')"
cmake --build build/cpp -j"${NNPORT_JOBS:-2}"
pkg=$("$py" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')/nnport
mkdir -p "$pkg"
for so in build/cpp/_core*.so; do cp "$so" "$pkg/.tmp.so" && mv -f "$pkg/.tmp.so" "$pkg/$(basename "$so")"; done  # a new inode: running processes keep the old one
cp python/nnport/*.py "$pkg/"
cp build/cpp/nnport .venv/bin/.nnport.tmp && mv -f .venv/bin/.nnport.tmp .venv/bin/nnport

status=0
step "C++ unit tests"
ctest --test-dir build/cpp --output-on-failure || status=1

# pytest exits 5 when arguments select no test of a tier: not a failure
tier() { .venv/bin/python -m pytest -q "$@" || [[ $? -eq 5 ]]; }

step "Python tests, fast tier (no framework)"
start=$SECONDS
tier -m "not frameworks" "$@" || status=1
fast=$((SECONDS - start))

step "Python tests, full tier (PyTorch and TensorFlow, one worker process each)"
start=$SECONDS
tier -m frameworks --durations=10 "$@" || status=1
full=$((SECONDS - start))
printf '\nfast tier %d s, full tier %d s\n' "$fast" "$full"

if ((status)); then
  step "FAILED"
else
  step "all tests passed"
fi
exit "$status"
