"""levelsets.workflows.sample: the `levelsets sample` job's settings (SampleJob) and its notes.

The job end to end (artifacts, seeds, --json, the band) is tested through the CLI in tests/cli/test_sample.py.
"""

from __future__ import annotations

import re

import pytest

from levelsets.errors import LevelsetsError
from levelsets.workflows.sample import SampleJob, tolerance_note


def test_tolerance_note_only_when_nothing_is_within_tolerance():
    assert tolerance_note("1vs7", {"within_tolerance": 0.01, "delta": 0.02}, 0.05) is None
    note = tolerance_note("1vs7", {"within_tolerance": 0.0, "delta": 0.0347}, 0.05)
    assert note.startswith("Note: no sample of 1vs7 is within ±0.05") and "3.47%" in note and "\n" not in note


def test_default_alpha_is_per_world_and_explicit_alpha_wins():
    assert SampleJob(world="shapes", target="ambiguous", out="x").alpha == 300.0
    assert SampleJob(world="mnist", target="1vs7", out="x").alpha == 100.0
    assert SampleJob(world="shapes", target="ambiguous", alpha=50.0, out="x").alpha == 50.0


def test_default_out_is_named_after_the_job():
    job = SampleJob(world="shapes", target="graded:rocketvshouse:0.25", seed=3)
    assert re.fullmatch(r"runs/\d{8}-\d{6}-shapes-default-graded_rocketvshouse_0.25-seed3", job.out.as_posix()), job.out


def test_sample_job_gives_the_sampler_its_shared_settings(tmp_path):
    job = SampleJob(world="shapes", target="0.3,0.7", particles=50, steps=40, burn_in=10, samples=20, thin=2,
                    tolerance=0.1, relaxation="dirichlet", seed=9, progress=False, out=tmp_path / "o")
    settings = job.sampler_settings(seed=11, device="cpu")
    assert (settings.particles, settings.steps, settings.burn_in, settings.samples, settings.thin) == (50, 40, 10, 20, 2)
    assert (settings.tolerance, settings.relaxation, settings.alpha) == (0.1, "dirichlet", job.alpha)
    assert (settings.seed, settings.device, settings.progress) == (11, "cpu", False)
    assert job.sampler_settings().seed == 9 and job.sampler_settings().device == "auto"
    assert job.alpha == 300.0  # resolved in __post_init__: the shapes world's default


@pytest.mark.parametrize("bad", [
    {"particles": 0}, {"samples": 0}, {"samples": 200, "particles": 100}, {"steps": 10, "burn_in": 10},
    {"burn_in": 0}, {"thin": 0}, {"tolerance": 1.0}, {"alpha": -1.0}, {"relaxation": "laplace"}, {"moves": "hmc"},
])
def test_the_job_refuses_what_the_sampler_would_in_the_same_words_naming_the_option(tmp_path, bad):
    """One set of checks: the job's message is the sampler's, with --options for field names."""
    from levelsets.inference.settings import SamplerSettings

    with pytest.raises(LevelsetsError) as job_error:
        SampleJob(world="shapes", target="ambiguous", out=tmp_path / "o", **bad)
    with pytest.raises(LevelsetsError) as sampler_error:
        SamplerSettings(**bad)
    as_fields = re.sub(r"--([a-z-]+)", lambda m: m.group(1).replace("-", "_"), str(job_error.value))
    assert as_fields == str(sampler_error.value).replace(" or set tempering=False", "")  # (no --tempering option)


def test_shards_are_the_jobs_own_check(tmp_path):
    with pytest.raises(LevelsetsError, match=r"--shards must be an integer from 1 to --particles \(8\); got 9"):
        SampleJob(world="shapes", particles=8, samples=8, shards=9, out=tmp_path / "o")
