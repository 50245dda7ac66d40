"""Fixtures: tiny sample runs, a stimulus directory made from them, and the study app over it."""

from __future__ import annotations

import pytest

from .elicitation_runs import make_run


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


@pytest.fixture
def db(tmp_path):
    """Where the test's response database goes."""
    return tmp_path / "responses.sqlite"


@pytest.fixture
def client(stimuli_dir, db):
    """The study app over ``stimuli_dir`` and ``db``, with the admin token of :mod:`.study_clients`."""
    from .study_clients import open_client

    with open_client(stimuli_dir, db) as c:
        yield c
