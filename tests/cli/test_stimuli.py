"""`levelsets stimuli export` (levelsets.cli.stimuli): stimuli from sample runs, its options, its one-line errors."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
from typer.testing import CliRunner

from levelsets.cli.app import app
from levelsets.runs import SampleRun

from .command_options import helps, options

runner = CliRunner()


def write_run(directory, spec, n=6, seed=0):
    rng = np.random.default_rng(seed)
    target = np.array([0.98, 0.01, 0.01]) if spec.startswith("confident:") else np.full(3, 1 / 3)
    directory.mkdir(parents=True)
    SampleRun(latents=rng.normal(size=(n, 4)), images=rng.uniform(size=(n, 3, 8, 8)),
              probs=rng.dirichlet(np.ones(3), size=n), target=target, class_names=("a", "b", "c")).save(directory)
    (directory / "summary.json").write_text(json.dumps({"target": {"spec": spec, "probs": target.tolist()}}))
    return directory


def test_stimuli_export_cli(tmp_path):
    amb = write_run(tmp_path / "amb", "ambiguous", n=10, seed=1)
    conf = write_run(tmp_path / "conf", "confident:a", n=4, seed=2)
    out = tmp_path / "stim"
    r = runner.invoke(app, ["stimuli", "export", str(amb), str(conf), "--out", str(out), "--size", "24",
                            "--per-participant", "6", "--repeats", "1", "--catch", "1", "--mixed", "2",
                            "--seed", "5"])
    assert r.exit_code == 0, r.output
    assert "wrote 16 stimuli (4 catch, 2 mixed, 10 sample)" in r.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["size"] == 24 and manifest["seed"] == 5 and len(manifest["stimuli"]) == 16
    assert len(list((out / "images").glob("*.png"))) == 16
    assert json.loads((out / "provenance.json").read_text())["settings"]["mixed"] == 2


def test_stimuli_export_cli_errors(tmp_path):
    amb = write_run(tmp_path / "amb", "ambiguous")
    cases = [
        (["--catch", "2"], "confident:C"),
        (["--size", "3"], "--size 3 is out of range"),
        (["--per-participant", "2", "--repeats", "2"], "leave no regular trial"),
    ]
    for extra, message in cases:
        r = runner.invoke(app, ["stimuli", "export", str(amb), "--out", str(tmp_path / "o"), *extra])
        assert r.exit_code == 2 and "error: " in r.output and message in r.output, r.output
        assert "Traceback" not in r.output
    r = runner.invoke(app, ["stimuli", "export", str(tmp_path / "missing"), "--out", str(tmp_path / "o")])
    assert r.exit_code == 2 and "is not a directory" in r.output
    assert not (tmp_path / "o").exists()


def test_stimuli_export_cli_select(tmp_path):
    import torch

    from levelsets.generative.shapes import ShapesPrior, exact_posterior, render

    torch.manual_seed(0)
    z = ShapesPrior().sample((30,))
    images, probs = render(z).numpy(), exact_posterior(z.double()).float().numpy()
    run = tmp_path / "shapes"
    run.mkdir()
    SampleRun(latents=z[:5].numpy(), images=images[:5], probs=probs[:5], target=np.array([0.5, 0.5]),
              class_names=("rocket", "house"), particle_index=np.arange(5),
              population_latents=z.numpy(), population_probs=probs).save(run)
    (run / "summary.json").write_text(json.dumps({"target": {"spec": "ambiguous"}, "world": "shapes", "prior": "exact"}))
    common = ["stimuli", "export", str(run), "--size", "16", "--per-participant", "3", "--repeats", "0"]
    r = runner.invoke(app, [*common, "--out", str(tmp_path / "d"), "--per-run", "4", "--select", "diverse"])
    assert r.exit_code == 0, r.output
    assert "wrote 4 stimuli (4 sample)" in r.output
    manifest = json.loads((tmp_path / "d" / "manifest.json").read_text())
    assert manifest["selection"]["rule"] == "diverse" and manifest["runs"][0]["pool"] == "final population"
    r = runner.invoke(app, [*common, "--out", str(tmp_path / "r"), "--per-run", "4", "--select", "random"])
    assert r.exit_code == 0, r.output
    manifest = json.loads((tmp_path / "r" / "manifest.json").read_text())
    assert manifest["selection"]["rule"] == "random" and {s["source"]["index"] for s in manifest["stimuli"]} <= set(range(5))
    for extra, message in ((["--select", "spread"], "--select 'spread' is unknown"),
                           (["--per-run", "9", "--select", "random"], "holds only 5 stored samples")):
        r = runner.invoke(app, [*common, "--out", str(tmp_path / "o"), *extra])
        assert r.exit_code == 2 and "error: " in r.output and message in r.output, r.output
    assert not (tmp_path / "o").exists()


def test_every_stimuli_settings_field_is_an_option_of_stimuli_export():
    from levelsets.elicitation.stimuli import StimuliSettings

    docs = helps(StimuliSettings)
    export = options("stimuli", "export")
    assert set(export) == {f.name for f in dataclasses.fields(StimuliSettings)} | {"out", "overwrite"}
    for f in dataclasses.fields(StimuliSettings):
        assert export[f.name].help == docs[f.name] and export[f.name].default == f.default, f.name
