"""The training-equivalence benchmark (bench/paper_training.py), reduced for CI.

One pair per direction, both models starting from the same weights (copied with nnport's
weight plan) and fed the same batches (`paper_training.QUICK`):

- Keras -> PyTorch, the TF tutorial CNN (Sequential -> nn.Sequential), 100 steps in
  float64: the loss curves must agree within 1e-3 over the 100 steps and the test
  accuracies within 0.005 (the issue's goals). In float64 they agree to ~1e-15. In float32
  they part after ~30 steps through rounding (docs/evaluation/training.md), which would
  make this test depend on the CPU's kernels.
- PyTorch -> Keras, AlexNet (nn.Sequential -> keras.Sequential), 5 steps in float32 (the
  model takes ~30 s to start and a second per step): the loss curves must agree within 1e-5
  (they agree to ~1e-7; with Keras's own initialisation instead of the copied weights they
  differ by ~5e-3) and the test accuracies within 0.005.

A negative control trains the migrated TF-Tutorial model from its own initialisation
instead of the copied weights (10 steps): its loss curve must miss the goal, so the checks
above can fail. The LSTM, whose migrated model trains differently (training.md), is left to
the full benchmark.
"""

from __future__ import annotations

import importlib.util
import sys

import pytest
from conftest import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "bench"))

ALEXNET_TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def rows(tmp_path_factory, frameworks):
    if importlib.util.find_spec("sklearn") is None:
        pytest.skip("scikit-learn is not installed")
    import paper_training

    workdir = tmp_path_factory.mktemp("paper-training")
    scenarios = paper_training.selected_scenarios(paper_training.QUICK, paper_training.QUICK_PAIRS)
    groups = paper_training.run_all(scenarios, workdir, paper_training.QUICK, log=lambda _: None)
    return {row["network"]: row for row in paper_training.rows_of(groups)}


def test_keras_to_torch_trains_the_same_in_float64(rows):
    row = rows["TF-Tutorial"]
    assert row["direction"] == "keras->torch"
    assert row["float64_steps"] == 100
    assert row["float64_max_abs_delta_loss_100"] <= 1e-3, row
    assert row["float64_abs_delta_accuracy"] <= 0.005, row
    assert row["float64_meets_goal"], row


def test_torch_to_keras_trains_the_same_in_float32(rows):
    row = rows["AlexNet"]
    assert row["direction"] == "torch->keras"
    assert row["steps"] == 5
    assert row["max_abs_delta_loss_all"] <= ALEXNET_TOLERANCE, row
    assert row["abs_delta_accuracy"] <= 0.005, row
    assert row["dropout_layers"] == "2/2"  # both Dropout layers found, and switched off


def test_without_copied_weights_the_curves_differ(rows):
    row = rows["TF-Tutorial"]
    assert row["uncopied_max_abs_delta_loss_100"] > 1e-3, row
    assert not row["uncopied_meets_goal"]
