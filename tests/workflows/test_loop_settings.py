"""levelsets.workflows.loop_settings: `levelsets loop`'s settings, resolved and validated on construction."""

from __future__ import annotations

import re

import pytest

from levelsets.errors import LevelsetsError
from levelsets.workflows.loop_settings import DEFAULT_TARGETS, LOOP_N_TRAIN, LoopSettings


def test_settings_defaults(tmp_path):
    s = LoopSettings(out=tmp_path / "x")
    assert s.targets == DEFAULT_TARGETS["shapes"]
    assert s.n_train == LOOP_N_TRAIN["shapes"] == 4000
    assert s.augment_repeat == 1 and s.rounds == 3 and s.labeler == "truth"
    assert LoopSettings(out=tmp_path / "y", n_train=123).n_train == 123


def test_defaults_follow_the_world_and_out_is_named_after_the_run():
    s = LoopSettings(world="mnist", labeler="target", seed=7)
    assert s.targets == DEFAULT_TARGETS["mnist"] and s.n_train is None  # all of the MNIST split
    assert re.fullmatch(r"runs/\d{8}-\d{6}-loop-mnist-target-seed7", s.out.as_posix()), s.out
    assert s.live is False


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"targets": ("graded:rocketvshouse",)}, "whole graded strip"),
        ({"targets": ("confident:house",), "alpha": 10.0}, None),
        ({"targets": ("1.0,0.0",), "relaxation": "dirichlet"}, "zero entry"),
        ({"targets": ("1.0,0.0",)}, None),  # the band (default) has no trouble with p_l = 0
        ({"relaxation": "dirichlet", "alpha": 80.0}, None),
        ({"alpha": 0.0}, "--alpha"),
        ({"epochs": 0}, "--epochs"),
        ({"n_train": 0}, "--n-train"),
        ({"eval_size": 0}, "--eval-size"),
    ],
)
def test_settings_validation(tmp_path, kwargs, fragment):
    if fragment is None:
        LoopSettings(out=tmp_path / "ok", **kwargs)  # valid: no error
        return
    with pytest.raises(LevelsetsError, match=fragment.replace("-", r"\-")):
        LoopSettings(out=tmp_path / "bad", **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"particles": 0}, "--particles must be an integer ≥ 1, got 0"),
        ({"samples_per_target": 50, "particles": 10}, "--samples-per-target (50) must not exceed --particles (10)"),
        ({"burn_in": 150, "steps": 150}, "need 0 ≤ --burn-in < --steps"),
        ({"burn_in": 0}, "tempering needs a burn-in of at least 1 step (got --burn-in 0); raise --burn-in"),
        ({"alpha": float("inf")}, "--alpha must be a finite number > 0, got inf"),
        ({"relaxation": "beta"}, "--relaxation"),
        ({"tolerance": 0.0}, "--tolerance"),
    ],
)
def test_sampling_settings_get_the_samplers_checks_under_the_loops_option_names(tmp_path, kwargs, message):
    """Each round's sampling job gets these values: they are refused up front, by the sampler's own checks."""
    with pytest.raises(LevelsetsError) as info:
        LoopSettings(out=tmp_path / "bad", **kwargs)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_a_live_study_must_outlive_the_loops_out(tmp_path):
    out = tmp_path / "loop"
    live = {"labeler": "elicited", "world": "shapes", "db": tmp_path / "responses.sqlite", "out": out}
    settings = LoopSettings(study=tmp_path / "study", **live)
    assert settings.live and settings.targets == DEFAULT_TARGETS["shapes"]
    with pytest.raises(LevelsetsError, match="--study must lie outside --out"):
        LoopSettings(study=out / "study", **live)
    with pytest.raises(LevelsetsError, match="--stimuli-per-round 2000 exceeds the 900 samples a round draws"):
        LoopSettings(study=tmp_path / "study", stimuli_per_round=2000, **live)
