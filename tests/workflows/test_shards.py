"""Sharded sampling (K Ray actors, pooled): exact against the answers the single-process sampler is tested on.

The exact answers are those of tests/inference/test_band.py (a band that is an interval in one
coordinate: its prior mass a difference of CDFs, the other coordinates the prior) and of
tests/inference/test_sampler_exact.py (a 1-D Dirichlet posterior by quadrature); tolerances come
from the Monte Carlo error of the run itself.
"""

from __future__ import annotations

import json
import math
import sys
import types
import warnings

import numpy as np
import pytest
import ray.cloudpickle
import torch
from scipy import special, stats
from typer.testing import CliRunner

from levelsets.cli import app
from levelsets.inference import band
from levelsets.inference.sampler import SamplerSettings, sample_level_set
from levelsets.workflows import shards as shards_mod

ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import this test module

runner = CliRunner()


def gaussian(d: int):
    return torch.distributions.Independent(torch.distributions.Normal(torch.zeros(d, dtype=torch.float64), 1.0), 1)


def identity(z):
    return z


def logistic(slope: float, shift: float = 0.0):
    """f_0 = sigmoid(slope · (z_1 − shift)), f_1 = 1 − f_0."""

    def classifier(z):
        f0 = torch.sigmoid(slope * (z[:, 0] - shift))
        return torch.stack([f0, 1 - f0], dim=1)

    return classifier


class one_thread:  # noqa: N801 - a context manager used like a function
    """Run the block with one torch thread, as every shard actor does by default."""

    def __enter__(self):
        self.old = torch.get_num_threads()
        torch.set_num_threads(1)

    def __exit__(self, *exc):
        torch.set_num_threads(self.old)


def _tensors(result) -> dict[str, torch.Tensor]:
    return {k: v for k, v in vars(result).items() if isinstance(v, torch.Tensor)}


def test_shard_sizes_seeds_and_settings():
    assert shards_mod.shard_sizes(10, 3) == [4, 3, 3] and shards_mod.shard_sizes(2, 2) == [1, 1]
    seeds = shards_mod.shard_seeds(7, 4)
    assert len(set(seeds)) == 4 and seeds == shards_mod.shard_seeds(7, 4) and seeds != shards_mod.shard_seeds(8, 4)
    assert all(0 <= s < 2**63 for s in seeds)
    parts = shards_mod.shard_settings(SamplerSettings(particles=101, samples=5, islands=20, seed=3), 2)
    assert [p.particles for p in parts] == [51, 50] and [p.samples for p in parts] == [3, 2]
    assert [p.islands for p in parts] == [10, 10] and not any(p.progress for p in parts)
    one = SamplerSettings(particles=10, samples=1)
    assert [p.samples for p in shards_mod.shard_settings(one, 2)] == [1, 1]  # pool_results keeps 1 of them
    from levelsets.errors import LevelsetsError

    for bad in (0, 11):
        with pytest.raises(LevelsetsError, match="--shards"):
            shards_mod.shard_settings(one, bad)


def test_pooled_band_mass_is_the_estimate_over_all_islands():
    rng = np.random.default_rng(0)
    log_mass = [torch.tensor(np.log(rng.uniform(1e-4, 3e-4, size=b))) for b in (7, 5, 1)]
    each = [band.mass_estimate(types.SimpleNamespace(log_mass=lm)) for lm in log_mass]
    whole = band.mass_estimate(types.SimpleNamespace(log_mass=torch.cat(log_mass)))
    pooled = shards_mod.pool_band_mass([e.mass for e in each], [e.se for e in each], [e.islands for e in each])
    assert math.isnan(each[2].se)  # one island: no spread of its own, still pooled by its mean
    assert pooled["islands"] == whole.islands == 13
    assert pooled["mass"] == pytest.approx(whole.mass, rel=1e-12)
    assert pooled["mass_se"] == pytest.approx(whole.se, rel=1e-12)
    assert pooled["log_mass_se"] == pytest.approx(whole.log_se, rel=1e-12)


def test_one_shard_is_the_single_process_sampler_bit_for_bit():
    import ray

    settings = SamplerSettings(particles=64, steps=30, burn_in=20, samples=10, relaxation="band", seed=5,
                               progress=False, device="cpu")
    target = torch.tensor([0.5, 0.5], dtype=torch.float64)
    direct = sample_level_set(gaussian(2), identity, logistic(4.0), target, settings)
    one = shards_mod.sample_sharded(gaussian(2), identity, logistic(4.0), target, settings, shards=1)
    assert not ray.is_initialized()  # K = 1 starts no Ray
    for name, value in _tensors(direct).items():
        assert torch.equal(value, getattr(one, name)), name
    np.testing.assert_equal(one.band, direct.band)
    np.testing.assert_equal(one.history, direct.history)


@pytest.mark.parametrize("relaxation", ["band", "dirichlet"])
def test_shards_run_the_single_process_sampler_on_their_share_and_are_pooled(relaxation, ray_local):
    settings = SamplerSettings(particles=91, steps=40, burn_in=30, samples=11, relaxation=relaxation, alpha=20.0,
                               seed=4, thin=2, islands=6, progress=False, device="cpu")
    target = torch.tensor([0.5, 0.5], dtype=torch.float64)
    timings: dict = {}
    pooled = shards_mod.sample_sharded(gaussian(3), identity, logistic(4.0), target, settings, shards=2,
                                       timings=timings)
    assert ray_local.is_initialized()  # an initialized Ray is used as it is, and left running
    parts = shards_mod.shard_settings(settings, 2)
    with one_thread():
        direct = [sample_level_set(gaussian(3), identity, logistic(4.0), target, p) for p in parts]
    expect = shards_mod.pool_results(direct, settings, wall_seconds=pooled.wall_seconds)
    for name, value in _tensors(expect).items():
        assert torch.equal(value, getattr(pooled, name)), name
    assert pooled.latents.shape == (11, 3) and pooled.final_positions.shape == (91, 3)
    assert pooled.trace.shape[0] == 91 and pooled.trace.shape[2] == 3
    assert pooled.particle_index.max() < 91 and pooled.particle_index[-1] >= 46  # the last shard's rows
    assert pooled.forward_evaluations == sum(r.forward_evaluations for r in direct)
    assert pooled.settings == settings and len(timings["shard_seconds"]) == len(timings["shard_cpu_seconds"]) == 2
    assert timings["sampling_seconds"] == pooled.wall_seconds and min(timings["shard_cpu_seconds"]) > 0
    assert all(len(v) == 40 for v in pooled.history.values())
    if relaxation == "band":
        assert pooled.band["islands"] == 6 and len(pooled.band["shards"]) == 2
        assert pooled.band["mass"] == pytest.approx(np.mean([r.band["mass"] for r in direct]))


@pytest.mark.slow
def test_sharded_band_mass_and_law_match_the_exact_interval(ray_local):
    """As tests/inference/test_band.py::test_band_mass_and_law_of_a_one_dimensional_band (Gaussian), on 2 shards."""
    d, slope, p0, tol = 3, 4.0, 0.5, 0.05
    lo, hi = (special.logit(p0 - tol) / slope, special.logit(p0 + tol) / slope)
    exact = stats.norm.cdf(hi) - stats.norm.cdf(lo)
    settings = SamplerSettings(particles=2000, samples=100, tolerance=tol, seed=1, steps=300, burn_in=200,
                               relaxation="band", progress=False, device="cpu")
    result = shards_mod.sample_sharded(gaussian(d), identity, logistic(slope), torch.tensor([p0, 1 - p0], dtype=torch.float64),
                                       settings, shards=2)
    est = result.band
    assert est["reached_tolerance"] and est["islands"] == 20
    assert abs(est["mass"] - exact) <= 3 * est["mass_se"], (est["mass"], est["mass_se"], exact)
    assert est["mass_se"] < 0.2 * exact
    z = result.final_positions.numpy()
    assert z.shape == (2000, d) and ((z[:, 0] >= lo - 1e-9) & (z[:, 0] <= hi + 1e-9)).all()
    free = z[:, 1:].ravel()  # the free coordinates keep the prior: mean 0, sd 1 ± 4 standard errors
    assert abs(free.mean()) < 4 / math.sqrt(free.size)
    assert abs(free.std() - 1.0) < 4 / math.sqrt(2 * free.size)
    # the band law of z_1 is the truncated normal: KS against its exact CDF
    cdf = lambda x: (stats.norm.cdf(x) - stats.norm.cdf(lo)) / exact  # noqa: E731
    assert stats.kstest(np.unique(z[:, 0]), cdf).pvalue > 1e-3


@pytest.mark.slow
def test_sharded_dirichlet_posterior_matches_quadrature(ray_local):
    """As tests/inference/test_sampler_exact.py::test_dirichlet_1d_matches_quadrature, on 2 shards."""
    import arviz as az

    a, alpha, target = 3.0, 20.0, np.array([0.8, 0.2])
    grid = np.linspace(-8, 8, 40001)
    p1 = 1 / (1 + np.exp(-a * grid))
    lp = stats.norm.logpdf(grid) + stats.beta.logpdf(target[0], alpha * np.maximum(1 - p1, 1e-6), alpha * np.maximum(p1, 1e-6))
    w = np.exp(lp - lp.max())
    w /= w.sum()
    mean = (w * grid).sum()
    var = (w * (grid - mean) ** 2).sum()
    cdf = np.cumsum(w) - w / 2

    def classifier(x):
        q = torch.sigmoid(a * x[:, 0])
        return torch.stack([1 - q, q], dim=1)

    prior = torch.distributions.Independent(torch.distributions.Normal(torch.zeros(1, dtype=torch.float64), 1.0), 1)
    settings = SamplerSettings(particles=1000, steps=240, burn_in=120, samples=200, thin=4, alpha=alpha,
                               relaxation="dirichlet", device="cpu", progress=False, seed=11)
    result = shards_mod.sample_sharded(prior, identity, classifier, target, settings, shards=2)
    trace = result.trace
    assert trace.shape == (1000, settings.draws, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        se = float(az.mcse(az.convert_to_dataset({"z": trace.numpy()}), method="mean")["z"].values[0])
    assert abs(trace.mean().item() - mean) < 4 * se, (trace.mean().item(), mean, se)
    ks = stats.kstest(result.final_positions[:, 0].numpy(), lambda x: np.interp(x, grid, cdf))
    assert ks.pvalue > 1e-3, ks
    assert abs(result.final_positions.var().item() - var) < 4 * var * np.sqrt(2 / 1000)


SHAPES = ["--world", "shapes", "--target", "ambiguous", "--relaxation", "band", "--particles", "60", "--steps", "20", "--burn-in", "12", "--samples", "12", "--quiet"]


def test_cli_shards_write_what_a_single_process_run_writes(tmp_path, tiny_shapes_classifier, ray_local):
    with one_thread():
        single = runner.invoke(app, ["sample", *SHAPES, "--out", str(tmp_path / "single")])
        one = runner.invoke(app, ["sample", *SHAPES, "--shards", "1", "--out", str(tmp_path / "one")])
    two = runner.invoke(app, ["sample", *SHAPES, "--shards", "2", "--out", str(tmp_path / "two")])
    for res in (single, one, two):
        assert res.exit_code == 0, res.output
    files = sorted(p.name for p in (tmp_path / "single").iterdir())
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == files
    with np.load(tmp_path / "single" / "samples.npz") as a, np.load(tmp_path / "one" / "samples.npz") as b, \
            np.load(tmp_path / "two" / "samples.npz") as c:
        assert sorted(a.files) == sorted(c.files)
        for key in a.files:
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)  # --shards 1: bit for bit
            assert a[key].shape == c[key].shape, key
        assert not np.array_equal(a["latents"], c["latents"])
    summary = json.loads((tmp_path / "two" / "summary.json").read_text())
    assert summary["settings"]["shards"] == 2 and summary["particles"] == 60
    assert summary["band"]["islands"] == 20 and len(summary["band"]["shards"]) == 2


@pytest.mark.parametrize("value", ["0", "61", "x"])
def test_bad_shards_one_line_exit_2(tmp_path, value):
    result = runner.invoke(app, ["sample", *SHAPES, "--shards", value, "--out", str(tmp_path / "never")])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert value == "x" or (len(lines) == 1 and lines[0].startswith("error: ") and "--shards" in lines[0]), result.stderr
    assert not (tmp_path / "never").exists()


def test_more_shards_than_cluster_cpus_is_refused(ray_local):
    from levelsets.errors import LevelsetsError

    settings = SamplerSettings(particles=30, steps=4, burn_in=2, samples=3, progress=False, device="cpu")
    with pytest.raises(LevelsetsError, match="need 3 CPUs; the Ray cluster has 2"):
        shards_mod.sample_sharded(gaussian(2), identity, logistic(4.0), [0.5, 0.5], settings, shards=3)
