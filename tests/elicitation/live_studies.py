"""A live study for the tests: two tiny runs, rounds of their samples added as the loop would."""

from __future__ import annotations

from levelsets.elicitation.live_rounds import Choice, add_stimulus_round
from levelsets.elicitation.stimuli import StimuliSettings
from levelsets.runs import load_run

from .elicitation_runs import make_run

EXPORT = StimuliSettings(size=16, per_participant=4, repeats=1, catch=0, select="random")


def two_runs(root):
    return [load_run(make_run(root / "runs" / "a", n=6, seed=1)),
            load_run(make_run(root / "runs" / "b", n=6, spec="catvsdog", seed=2))]


def add(study, r, runs, picks):
    """Add round ``r`` to ``study``: ``picks`` maps run position to the sample indices to show."""
    choice = Choice(picks=picks, scores={k: [float("nan")] * len(v) for k, v in picks.items()}, rule="diverse", candidates=0)
    return add_stimulus_round(study, r, runs, [f"t{i}" for i in range(len(runs))], choice, EXPORT)


def answer(pid, trial):
    return {"participant": pid, "stimulus": trial["stimulus"], "trial": trial["trial"], "rt_ms": 500.0,
            "most_probable": "cat", "most_probable_prob": 70.0, "second": "dog", "second_prob": 20.0, "impossible": []}
