"""levelsets.sampler_checks: the sampler's settings checks, shared by SamplerSettings and the jobs, torch-free."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from levelsets.errors import LevelsetsError
from levelsets.sampler_checks import MOVES, RELAXATIONS, RESAMPLING, check_sampler_settings


def test_the_choices_are_the_samplers():
    from levelsets.inference import model, resampling, settings

    assert set(RELAXATIONS) == set(model.RELAXATIONS)
    assert set(RESAMPLING) == set(resampling.RESAMPLING)
    assert settings.MOVES is MOVES


@pytest.mark.parametrize("values, options, message", [
    ({"particles": 0}, False, "particles must be an integer ≥ 1, got 0"),
    ({"particles": 0}, True, "--particles must be an integer ≥ 1, got 0"),
    ({"burn_in": 10, "steps": 10}, True, "need 0 ≤ --burn-in < --steps (the burn-in is part of the steps), got --burn-in 10, --steps 10"),
    ({"burn_in": 10, "steps": 10}, False, "need 0 ≤ burn_in < steps"),
    ({"samples": 65, "particles": 64}, True, "--samples (65) must not exceed --particles (64)"),
    ({"relaxation": "laplace"}, True, "unknown --relaxation 'laplace'; choose one of band, dirichlet, normal"),
    ({"alpha": float("nan")}, True, "--alpha must be a finite number > 0, got nan"),
    ({"tolerance": 1.0}, True, "--tolerance must lie in (0, 1), got 1.0"),
    ({"tempering_fraction": 1.5}, False, "tempering_fraction must lie in (0, 1], got 1.5"),
    ({"thin": 2.5}, True, "--thin must be an integer ≥ 1, got 2.5"),
    ({"steps": float("inf")}, True, "--steps must be an integer ≥ 1, got inf"),
    ({"particles": True}, False, "particles must be an integer ≥ 1, got True"),  # a flag is not a count
    ({"burn_in": 0}, True, "tempering needs a burn-in of at least 1 step (got --burn-in 0); raise --burn-in"),
])
def test_each_message_is_one_line_naming_the_setting(values, options, message):
    with pytest.raises(LevelsetsError) as info:
        check_sampler_settings(values, options=options)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_only_what_is_given_is_checked():
    check_sampler_settings({})
    check_sampler_settings({"world": "anything", "seed": -3, "device": "tpu"})  # no range: not the sampler's to check
    check_sampler_settings({"burn_in": 0, "tempering": False})  # plain MH needs no burn-in
    check_sampler_settings({"samples": 500, "steps": 10})  # no particles given: no relation to check
    check_sampler_settings({"particles": np.int64(8), "samples": np.int64(8), "alpha": np.float32(2.0)})


def test_rename_names_a_jobs_own_option():
    with pytest.raises(LevelsetsError, match=r"--samples-per-target \(50\) must not exceed --particles \(10\)"):
        check_sampler_settings({"particles": 10, "samples": 50}, options=True, rename={"samples": "--samples-per-target"})


def test_the_checks_load_no_torch():
    code = "import sys, levelsets.sampler_checks; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "False"
