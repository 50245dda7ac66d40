"""What a sampler run returns (levelsets.inference.result.LevelSetResult): its derived figures and its settings."""

from __future__ import annotations

import json
import math

import torch

from levelsets.inference.result import LevelSetResult
from levelsets.inference.settings import SamplerSettings


def record(wall_seconds: float = 2.0, **kw) -> LevelSetResult:
    s = SamplerSettings(particles=10, steps=20, burn_in=10, samples=4, thin=5, seed=3, device="cpu", progress=False)
    n, d, k, draws = s.particles, 3, 2, s.draws
    z = torch.zeros
    return LevelSetResult(
        latents=z(s.samples, d), probs=z(s.samples, k), particle_index=torch.arange(s.samples),
        final_positions=z(n, d), final_probs=z(n, k), trace=z(n, draws, d), trace_probs=z(n, draws, k),
        trace_log_lik=z(n, draws), trace_log_prior=z(n, draws), trace_accept=z(n, draws), acceptance=z(n),
        scale=torch.ones(n, d), forward_evaluations=n * (s.steps + 1), wall_seconds=wall_seconds, settings=s, **kw,
    )


def test_particle_steps_per_second_is_n_times_t_over_the_wall_time():
    assert record(2.0).particle_steps_per_second == 10 * 20 / 2.0
    assert record(0.5).particle_steps_per_second == 400.0
    fast = record(0.0).particle_steps_per_second  # a run faster than the clock's resolution: large, not a crash
    assert math.isfinite(fast) and fast == 10 * 20 / 1e-12


def test_settings_dict_is_json_ready_and_rebuilds_the_settings():
    result = record()
    as_dict = result.settings_dict()
    assert as_dict["particles"] == 10 and as_dict["seed"] == 3 and as_dict["relaxation"] == "dirichlet"
    assert json.loads(json.dumps(as_dict)) == as_dict
    assert SamplerSettings(**as_dict) == result.settings


def test_records_made_elsewhere_default_the_optional_fields():
    a, b = record(), record()
    assert a.history == {} and a.burn_in_ancestors is None and a.band is None and a.moves is None
    a.history["acceptance"] = [0.3]
    assert b.history == {}  # each record has its own history
    c = record(history={"acceptance": [0.25]}, burn_in_ancestors=7, moves={"gradients": False})
    assert c.history["acceptance"] == [0.25] and c.burn_in_ancestors == 7 and c.moves == {"gradients": False}
