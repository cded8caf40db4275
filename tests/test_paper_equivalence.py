"""The paper's random-input evaluation (bench/paper_equivalence.py), reduced for CI.

Every scenario of the paper's Table 1 (five networks, every source style x target
style, both directions, migrating back included; the Keras functional API as an extra
source style), with small inputs and 4 random inputs instead of 100: the migrated file
must pass ruff unchanged and meet the benchmark's goal, MAD <= 1e-6 x max(1, max |output|).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import paper_equivalence
import paper_scenarios

TRIALS = 4


@pytest.fixture(scope="module")
def migrations(tmp_path_factory):
    return paper_equivalence.Migrations(tmp_path_factory.mktemp("paper"), reduced=True)


@pytest.mark.parametrize("scenario", list(paper_scenarios.scenarios()), ids=lambda s: s.id)
def test_scenario_meets_the_goal(scenario, migrations, frameworks, lint):
    lint(migrations.migrated(scenario))
    result = paper_equivalence.run(scenario, migrations, TRIALS)
    assert len(result.mad_per_trial) == TRIALS
    assert result.meets_goal, (
        f"MAD {result.mad:.3e} above {result.bound:.3e} (max |output| {result.max_abs_output:.3e})"
    )


def test_every_network_has_every_scenario_its_architecture_allows():
    """Table 1: 8 scenarios for the networks with both styles, plus 2 per Keras functional
    source; 2 each way for the subclass-only networks, plus the functional one."""
    counts = {}
    for s in paper_scenarios.scenarios():
        counts[s.network] = counts.get(s.network, 0) + 1
    assert counts == {"AlexNet": 8, "VGG16": 8, "TF-Tutorial": 10, "LSTM": 3, "CNN-RNN": 3}
