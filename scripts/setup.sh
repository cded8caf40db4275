#!/usr/bin/env bash
# Sets nnport up on a Debian 12 machine: system packages (apt), a virtual environment .venv
# with the frameworks and tools, the nnport package itself; then migrates and verifies a
# shipped example. With --deps-only, only the system and Python packages nnport needs
# (scripts/test.sh builds and installs nnport from its own CMake tree). Safe to run again.
set -euo pipefail

usage() { echo "usage: bash scripts/setup.sh [--deps-only]"; }

deps_only=0
for arg in "$@"; do
  case "$arg" in
    --deps-only) deps_only=1 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done

cd "$(dirname "${BASH_SOURCE[0]}")/.."
step() { printf '\n==> %s\n' "$*"; }

# --- system packages ------------------------------------------------------------------------
apt_packages=(cmake make g++ libcli11-dev libfmt-dev nlohmann-json3-dev libgtest-dev
              python3 python3-venv python3-dev)
missing=()
for package in "${apt_packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
if ((${#missing[@]})); then
  step "installing system packages: ${missing[*]}"
  sudo=()
  if [[ $(id -u) -ne 0 ]]; then sudo=(sudo); fi
  "${sudo[@]}" apt-get update
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${missing[@]}"
fi

# --- virtual environment --------------------------------------------------------------------
if [[ ! -x .venv/bin/python ]]; then
  step "creating .venv"
  python3 -m venv .venv
fi
pip=(.venv/bin/python -m pip)

# torch is pinned: an unpinned torch pulls the multi-GB CUDA build. setuptools and wheel let
# the C++ build read the pinned tree-sitter sdists (cmake/TreeSitter.cmake).
requirements=(torch==2.13.0 tensorflow-cpu==2.21.0 keras==3.15.1 h5py
              pytest ruff matplotlib scikit-learn setuptools wheel pybind11==3.1.0)
stamp=.venv/.nnport-requirements
if [[ ! -f $stamp || "$(cat "$stamp")" != "${requirements[*]}" ]]; then
  step "installing Python packages into .venv"
  "${pip[@]}" install "${requirements[@]}"
  echo "${requirements[*]}" >"$stamp"
fi

if ((deps_only)); then
  step "done: the packages nnport needs are installed"
  exit 0
fi

step "building and installing nnport into .venv"
"${pip[@]}" install .

# --- demo -----------------------------------------------------------------------------------
step "demo: migrating examples/torch/alexnet.py to Keras"
mkdir -p build/demo
(
  set -x
  .venv/bin/nnport convert examples/torch/alexnet.py --to keras \
    --entry "AlexNet(num_classes=10)" --input-shape 3,64,64 -o build/demo/alexnet_keras.py
)
step "demo: checking that both models compute the same function"
(
  set -x
  .venv/bin/nnport verify examples/torch/alexnet.py build/demo/alexnet_keras.py --trials 10
)
step "done: the migrated model is build/demo/alexnet_keras.py"
