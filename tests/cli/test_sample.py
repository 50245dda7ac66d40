"""End-to-end tests of `levelsets sample` on tiny settings (shapes world)."""

from __future__ import annotations

import dataclasses
import inspect
import json

import numpy as np
import pytest
from typer.testing import CliRunner

from levelsets.cli import app
from levelsets.cli.options import option_name
from levelsets.runs import load_run
from levelsets.workflows.sample import SampleJob

from .command_options import helps, options

runner = CliRunner()
TINY = ["--world", "shapes", "--particles", "64", "--steps", "30", "--burn-in", "20", "--samples", "16", "--quiet"]


def test_sample_writes_every_artifact(tmp_path, tiny_shapes_classifier):
    out = tmp_path / "run"
    result = runner.invoke(app, ["sample", *TINY, "--target", "ambiguous", "--seed", "3", "--out", str(out), "--compare-prior"])
    assert result.exit_code == 0, result.output
    for name in ("samples.npz", "grid.png", "latents.png", "trace.nc", "summary.json"):
        assert (out / name).is_file(), name
    summary = json.loads((out / "summary.json").read_text())
    for key in ("target", "alpha", "relaxation", "particles", "steps", "burn_in", "acceptance_rate", "delta",
                "within_tolerance", "distinct", "rhat_max", "ess_bulk_min", "wall_seconds",
                "particle_steps_per_second", "classifier", "generator", "seed", "versions", "exact_posterior_mean",
                "compare_prior", "moves"):
        assert key in summary, key
    assert summary["settings"]["particles"] == 64 and summary["settings"]["alpha"] == summary["alpha"]  # resolved
    assert summary["seed"] == 3 and summary["particles"] == 64
    assert 0.0 <= summary["within_tolerance"] <= 1.0
    assert sum(summary["exact_posterior_mean"].values()) == pytest.approx(1.0)
    run = load_run(out)
    assert summary["mean_probs"]["house"] == pytest.approx(float(run.probs[:, 1].mean()), abs=1e-6)
    assert summary["mean_confidence"] == pytest.approx(float(run.probs.max(1).mean()), abs=1e-6)
    assert run.latents.shape == (16, 3)
    assert run.images.shape == (16, 1, 64, 64)
    assert run.probs.shape == (16, 2)
    np.testing.assert_allclose(run.probs.sum(1), 1.0, atol=1e-5)
    assert run.exact_posterior.shape == (16, 2)
    import arviz as az

    idata = az.from_netcdf(out / "trace.nc")
    assert idata.posterior["z"].shape[:2] == (64, idata.posterior.sizes["draw"])


def test_same_seed_same_samples(tmp_path, tiny_shapes_classifier):
    outs = []
    for i in range(2):
        out = tmp_path / f"r{i}"
        result = runner.invoke(app, ["sample", *TINY, "--target", "confident:house", "--seed", "5", "--out", str(out)])
        assert result.exit_code == 0, result.output
        outs.append(load_run(out))
    np.testing.assert_array_equal(outs[0].latents, outs[1].latents)


def test_json_flag_prints_summary(tmp_path, tiny_shapes_classifier):
    result = runner.invoke(app, ["sample", *TINY, "--target", "0.3,0.7", "--json", "--out", str(tmp_path / "j")])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)  # stdout is the JSON alone
    notes = [line for line in result.stderr.splitlines() if line.startswith(("Data:", "Sampling "))]
    assert notes == []  # --quiet: no INFO notes
    assert f"Wrote {tmp_path / 'j'}" in result.stderr
    assert summary["target"]["probs"] == pytest.approx([0.3, 0.7])
    assert summary["alpha"] == 300.0  # the shapes world's default α


def test_no_sample_within_tolerance_gets_a_note(tmp_path, tiny_shapes_classifier):
    out = tmp_path / "tight"
    result = runner.invoke(app, ["sample", *TINY, "--target", "ambiguous", "--tolerance", "1e-9", "--out", str(out)])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["within_tolerance"] == 0.0
    assert len(summary["notes"]) == 1 and "no sample of ambiguous is within ±1e-09" in summary["notes"][0]
    assert summary["notes"][0] in result.output


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--target", "banana"], "unknown target"),
        (["--target", "0.2,0.3,0.5"], "3 entries but the classifier has 2"),
        (["--target", "-0.5,1.5"], "negative"),
        (["--target", "0.2,0.2"], "sums to 0.4"),
        (["--alpha", "0"], "--alpha must be a finite number > 0, got 0.0"),
        (["--alpha", "-3"], "--alpha must be a finite number > 0, got -3.0"),
        (["--particles", "0"], "--particles must be an integer ≥ 1, got 0"),
        (["--samples", "65"], "--samples (65) must not exceed --particles (64)"),
        (["--world", "cifar"], "unknown world"),
        (["--prior", "gan"], "has no prior 'gan'"),
        (["--relaxation", "laplace"], "unknown --relaxation 'laplace'; choose one of band, dirichlet, normal"),
    ],
)
def test_bad_input_one_line_exit_2_no_output(tmp_path, args, fragment):
    out = tmp_path / "never"
    base = [a for a in TINY]
    result = runner.invoke(app, ["sample", *base, "--target", "ambiguous", *args, "--out", str(out)])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], result.stderr
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_unwritable_out_is_a_user_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = runner.invoke(app, ["sample", *TINY, "--target", "ambiguous", "--out", str(blocker)])
    assert result.exit_code == 2 and "is a file" in result.stderr
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        import os

        if os.access(locked, os.W_OK):  # root ignores permission bits; use a path under a file instead
            target = blocker / "sub"
        else:
            target = locked / "run"
        result = runner.invoke(app, ["sample", *TINY, "--target", "ambiguous", "--out", str(target)])
        assert result.exit_code == 2, result.output
        assert result.stderr.startswith("error: ")
        assert not target.exists()
    finally:
        locked.chmod(0o700)


def test_band_relaxation_reports_the_band_mass_quality_and_resolved_settings(tmp_path, tiny_shapes_classifier):
    out = tmp_path / "band"
    args = ["sample", "--world", "shapes", "--particles", "80", "--steps", "40", "--burn-in", "25", "--samples", "20",
            "--quiet", "--target", "ambiguous", "--relaxation", "band", "--tolerance", "0.2", "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    band = summary["band"]
    assert band["reached_tolerance"] and band["tolerance"] == 0.2
    assert 0 < band["mass"] <= 1 and band["mass_se"] >= 0
    assert summary["within_tolerance"] == 1.0  # every returned sample lies in the band
    assert summary["sampler"]["relaxation"] == "band" and summary["sampler"]["tolerance"] == 0.2
    quality = summary["quality"]
    assert 1 <= quality["families"] <= 20 and quality["n"] == 20
    assert 0 <= quality["near_copy_share"] <= 1 and quality["near_copy_threshold"] < quality["families_threshold"]
    assert "generator decodes" in quality["reference"]
    assert "visual families" in result.output and "near copies" in result.output and "prior mass" in result.output


def test_notes_go_to_stderr_and_quiet_silences_them(tmp_path, tiny_shapes_classifier):
    loud = [a for a in TINY if a != "--quiet"]
    result = runner.invoke(app, ["sample", *loud, "--target", "ambiguous", "--out", str(tmp_path / "loud")])
    assert result.exit_code == 0, result.output
    assert "Sampling " in result.stderr and "Data: " in result.stderr  # the notes, on stderr
    assert "Sampling " not in result.stdout and f"Wrote {tmp_path / 'loud'}" in result.stdout  # the result, on stdout
    quiet = runner.invoke(app, ["sample", *TINY, "--target", "ambiguous", "--out", str(tmp_path / "quiet")])
    assert quiet.exit_code == 0, quiet.output
    assert "Sampling " not in quiet.output and "Data: " not in quiet.output


def test_every_sample_job_field_is_an_option_of_sample_and_sweep():
    """One source: `levelsets sample`'s job options are exactly SampleJob's fields, with their docs."""
    docs = helps(SampleJob)
    job_fields = [f for f in dataclasses.fields(SampleJob) if f.metadata.get("cli", True)]
    sample = options("sample")
    assert set(sample) == {f.name for f in job_fields} | {"json_output", "quiet"}
    for f in job_fields:
        option = sample[f.name]
        assert option.help == docs[f.name], f.name
        assert option.default == f.default, f.name
        assert option_name(f.name) in option.opts
    assert "-N" in sample["particles"].opts and "-t" in sample["target"].opts

    sweep = options("sweep")
    for f in job_fields:
        if f.name in ("target", "prior", "seed", "out"):  # replaced by the sweep's lists and directory
            continue
        assert sweep[f.name].opts == sample[f.name].opts, f.name
        if f.name != "overwrite":  # the sweep gives --overwrite its own meaning
            assert sweep[f.name].help == docs[f.name], f.name
    assert "--targets" in sweep["targets"].opts and sweep["overwrite"].help != docs["overwrite"]


def test_sample_help_lists_the_field_docs():
    result = runner.invoke(app, ["sample", "--help"], terminal_width=200)
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "-N, --particles" in text and "Particles N advanced in parallel. [default: 1000]" in text
    assert "--progress" not in text and "-q, --quiet" in text


@pytest.mark.parametrize("args, message", [
    (["--steps", "10", "--burn-in", "10"], "need 0 ≤ --burn-in < --steps"),
    (["--thin", "0"], "--thin must be an integer ≥ 1, got 0"),
    (["--burn-in", "0"], "tempering needs a burn-in of at least 1 step (got --burn-in 0); raise --burn-in"),
    (["--shards", "0"], "--shards must be an integer"),
])
def test_sample_job_validation_is_one_line(tmp_path, args, message):
    out = tmp_path / "never"
    result = runner.invoke(app, ["sample", "--world", "shapes", *args, "--out", str(out)])
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output
    assert not out.exists()


def test_sample_signature_is_built_once():
    from levelsets.cli.sample import sample

    params = inspect.signature(sample).parameters
    assert list(params)[-2:] == ["json_output", "quiet"]
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params.values())
