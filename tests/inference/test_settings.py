"""The sampler's settings (levelsets.inference.settings): validated once, on construction, in one line each."""

from __future__ import annotations

import dataclasses
import math

import pytest

from levelsets.errors import LevelsetsError
from levelsets.inference.settings import MOVES, SamplerSettings


def tiny(**kw):
    base = dict(particles=200, steps=60, burn_in=30, samples=50, thin=3, device="cpu", progress=False, alpha=10.0)
    base.update(kw)
    return SamplerSettings(**base)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(particles=0), "particles must be"),
        (dict(samples=300), "must not exceed particles"),
        (dict(alpha=0.0), "alpha must be"),
        (dict(alpha=-1.0), "alpha must be"),
        (dict(alpha=math.inf), "alpha must be"),
        (dict(burn_in=60), "burn-in"),
        (dict(steps=0), "steps must be"),
        (dict(thin=0), "thin must be"),
        (dict(relaxation="laplace"), "unknown relaxation"),
        (dict(resampling="stratified"), "unknown resampling"),
        (dict(target_accept=1.5), "target_accept"),
        (dict(init_scale=0.0), "init_scale"),
        (dict(burn_in=0), "tempering needs a burn-in"),
        (dict(de_every=-1), "de_every must be"),
        (dict(de_jump_every=1.5), "de_jump_every must be"),
    ],
)
def test_settings_validation(kwargs, message):
    with pytest.raises(LevelsetsError, match=message):
        tiny(**kwargs)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(particles=2.5), "particles must be an integer ≥ 1, got 2.5"),
        (dict(samples=0), "samples must be an integer ≥ 1, got 0"),
        (dict(alpha="100"), "alpha must be a finite number > 0"),
        (dict(tolerance=0.0), r"tolerance must lie in \(0, 1\)"),
        (dict(tolerance=1.0), r"tolerance must lie in \(0, 1\)"),
        (dict(level_fraction=1.0), "level_fraction must lie in"),
        (dict(level_moves=0), "level_moves must be an integer ≥ 1, got 0"),
        (dict(islands=1.5), "islands must be an integer ≥ 1, got 1.5"),
        (dict(cess_target=1.0), "cess_target must lie in"),
        (dict(tempering_fraction=0.0), "tempering_fraction must lie in"),
        (dict(clamp=0.0), "clamp must be > 0"),
        (dict(sigma=-0.1), "sigma must be > 0"),
        (dict(independence_every=-2), "independence_every must be an integer ≥ 0, got -2"),
        (dict(moves="hmc"), "unknown moves 'hmc'; choose one of auto, gradient, black-box"),
    ],
)
def test_every_setting_is_checked_with_a_one_line_message(kwargs, message):
    with pytest.raises(LevelsetsError, match=message) as info:
        tiny(**kwargs)
    assert "\n" not in str(info.value)


def test_defaults_are_valid_and_the_edges_of_each_range_are_accepted():
    SamplerSettings()  # the defaults validate
    edges = tiny(particles=1, samples=1, tempering=False, burn_in=0, tempering_fraction=1.0, de_every=0,
                 de_jump_every=0, independence_every=0, relaxation="band", tolerance=0.999)
    assert edges.burn_in == 0 and edges.tempering_fraction == 1.0
    assert MOVES == ("auto", "gradient", "black-box")
    for moves in MOVES:
        assert tiny(moves=moves).moves == moves


@pytest.mark.parametrize("steps, burn_in, thin, draws", [(60, 30, 3, 10), (61, 30, 3, 10), (10, 0, 1, 10), (10, 9, 5, 0)])
def test_draws_counts_the_recorded_post_burn_in_states(steps, burn_in, thin, draws):
    assert tiny(steps=steps, burn_in=burn_in, thin=thin, tempering=burn_in > 0).draws == draws


def test_settings_round_trip_through_a_dict():
    """Settings are written beside every artifact as a dict and read back (e.g. by shards): the same settings."""
    s = tiny(relaxation="band", tolerance=0.02, islands=4, moves="black-box")
    assert SamplerSettings(**dataclasses.asdict(s)) == s
