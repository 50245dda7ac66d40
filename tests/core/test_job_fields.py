"""levelsets.job_fields: the settings many jobs share, declared once (default, flags, help)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from levelsets.cli.options import field_options
from levelsets.job_fields import (
    device_field,
    out_field,
    overwrite_field,
    progress_field,
    seed_field,
)


@dataclass
class _Job:
    size: int = 1
    """How many."""
    seed: int = seed_field()
    device: str = device_field()
    out: Path | None = out_field("runs/<time>-toy", what="Toy directory")
    overwrite: bool = overwrite_field()
    progress: bool = progress_field()


def test_each_shared_field_has_its_default():
    job = _Job()
    assert (job.seed, job.device, job.out, job.overwrite, job.progress) == (0, "auto", None, False, True)


def test_each_shared_field_becomes_the_same_option_in_every_job():
    params = {p.name: p.default for p in field_options(_Job)}
    assert list(params) == ["size", "seed", "device", "out", "overwrite"]  # progress: no option (the CLI's --quiet)
    assert params["seed"].param_decls == ("--seed",)
    assert params["seed"].help == "Random seed; the same seed and settings give the same output."
    assert params["device"].help == "auto (CUDA when present, else CPU), cpu, cuda or cuda:N."
    assert params["out"].param_decls == ("--out", "-o") and params["out"].help == "Toy directory (default: `runs/<time>-toy`)."
    assert params["overwrite"].help == "Replace a non-empty --out."
    progress = {f.name: f for f in dataclasses.fields(_Job)}["progress"]
    assert progress.metadata["cli"] is False and "--quiet" in progress.metadata["help"]


def test_the_jobs_share_one_declaration():
    """SampleJob and LoopSettings take --seed, --device, --overwrite from here; their --out differs only in its default."""
    from levelsets.workflows.loop_settings import LoopSettings
    from levelsets.workflows.sample import SampleJob

    sample = {f.name: f for f in dataclasses.fields(SampleJob)}
    loop = {f.name: f for f in dataclasses.fields(LoopSettings)}
    for name in ("seed", "device", "overwrite", "progress"):
        assert sample[name].metadata == loop[name].metadata and sample[name].default == loop[name].default, name
    assert sample["out"].metadata["flags"] == loop["out"].metadata["flags"] == ("-o",)
    assert sample["out"].metadata["help"].startswith("Output directory (default: `runs/<time>-")


def test_sample_and_loop_declare_relaxation_and_tolerance_once():
    from levelsets.workflows.loop_settings import LoopSettings
    from levelsets.workflows.sample import SampleJob

    helps = [{p.name: p.default.help for p in field_options(cls)} for cls in (SampleJob, LoopSettings)]
    for name in ("relaxation", "tolerance"):
        assert helps[0][name] == helps[1][name] and helps[0][name]
    defaults = [{f.name: f.default for f in dataclasses.fields(cls)} for cls in (SampleJob, LoopSettings)]
    assert [(d["relaxation"], d["tolerance"]) for d in defaults] == [("band", 0.05)] * 2
