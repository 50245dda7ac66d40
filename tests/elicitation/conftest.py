"""Fixtures: tiny sample runs and a stimulus directory made from them."""

from __future__ import annotations

import pytest
from elicitation_runs import make_run


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    return [make_run(root / "ambiguous", n=12, spec="ambiguous", seed=1),
            make_run(root / "catdog", n=6, spec="catvsdog", seed=2),
            make_run(root / "confident-cat", n=5, spec="confident:cat", seed=3)]


@pytest.fixture(scope="module")
def stimuli_dir(runs, tmp_path_factory):
    from levelsets.elicitation.stimuli import StimuliSettings, export_stimuli

    out = tmp_path_factory.mktemp("stim") / "stimuli"
    settings = StimuliSettings(size=32, per_participant=8, repeats=1, catch=1, mixed=2, seed=7)
    return export_stimuli(runs, out, settings, progress=False)
