"""World plugins end to end: a user's own file through `sample`, `stimuli export` and `loop`, and bad plugins.

Issue 12, item 1: `levelsets sample --world my_world.py:make_world --target 0.3,0.7` on a fresh temp
file; each broken plugin gives one `error:` line naming the plugin and the problem, exit 2, no output.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import textwrap

import numpy as np
import pytest
from typer.testing import CliRunner

from levelsets.cli import app
from levelsets.runs import load_run
from levelsets.workflows.sample import SampleJob
from plugin_world import MY_WORLD

runner = CliRunner()
TINY = ["--particles", "64", "--steps", "30", "--burn-in", "20", "--samples", "16", "--quiet", "--seed", "1"]



def write(path, text):
    path.write_text(textwrap.dedent(text))
    return path


def one_error_line(result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def test_users_own_world_file_end_to_end(tmp_path, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    plugin = write(work / "my_world.py", MY_WORLD)
    monkeypatch.chdir(work)
    result = runner.invoke(app, ["sample", "--world", "my_world.py:make_world", "--target", "0.3,0.7", *TINY,
                                 "--out", "run"])
    assert result.exit_code == 0, result.output
    run_dir = work / "run"
    for name in ("samples.npz", "grid.png", "latents.png", "trace.nc", "summary.json"):
        assert (run_dir / name).is_file(), name
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["world"] == "my_world" and summary["class_names"] == ["left", "right"]
    assert summary["latent_names"] == ["z1", "z2", "z3"]
    source = summary["world_plugin"]
    assert source["spec"] == "my_world.py:make_world" and source["kind"] == "file" and source["function"] == "make_world"
    assert source["path"] == str(plugin.resolve())
    assert source["sha256"] == hashlib.sha256(plugin.read_bytes()).hexdigest()
    run = load_run(run_dir)
    assert run.latents.shape == (16, 3) and run.images.shape == (16, 1, 8, 8) and run.probs.shape == (16, 2)
    np.testing.assert_allclose(run.target, [0.3, 0.7])
    assert summary["relaxation"] == SampleJob.relaxation  # `levelsets sample`'s default
    if summary["relaxation"] == "band":  # the default since issue 12: every returned sample lies in the ±0.05 band
        assert summary["band"]["reached_tolerance"], summary["band"]
        assert np.abs(run.probs - run.target).max() <= 0.05 + 1e-6

    # stimulus export from another directory: the diverse rule decodes the final population by reloading the plugin
    if run.population_latents is None:  # runs that do not store their population yet: use the stored samples as one
        dataclasses.replace(run, population_latents=run.latents, population_probs=run.probs).save(run_dir)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    result = runner.invoke(app, ["stimuli", "export", str(run_dir), "--out", "stim", "--per-run", "4", "--seed", "0",
                                 "--size", "24"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((elsewhere / "stim" / "manifest.json").read_text())
    assert len(manifest["stimuli"]) == 4
    assert all(s["source"]["pool"] == "final population" for s in manifest["stimuli"]), manifest["stimuli"][0]
    assert all((elsewhere / "stim" / s["file"]).is_file() for s in manifest["stimuli"])
    # an edited plugin no longer reproduces the run's images: one line, nothing written
    plugin.write_text(plugin.read_text().replace("manual_seed(1234)", "manual_seed(4321)"))
    result = runner.invoke(app, ["stimuli", "export", str(run_dir), "--out", "stim2", "--per-run", "4", "--seed", "0"])
    assert "decodes the run's samples differently" in one_error_line(result)
    assert not (elsewhere / "stim2").exists()

    # the loop retrains a built-in classifier recipe: a plugin world is refused in one line, nothing written
    monkeypatch.chdir(work)
    result = runner.invoke(app, ["loop", "--world", "my_world.py:make_world", "--rounds", "1", "--out", "loop"])
    line = one_error_line(result)
    assert "my_world.py:make_world" in line and "retrains" in line
    assert not (work / "loop").exists()


def test_package_module_spec_and_python_api(tmp_path, monkeypatch):
    pkg = tmp_path / "mypkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    write(pkg / "worlds.py", MY_WORLD.replace("def make_world(seed", "def make_world(prior='narrow', seed") + "\nmake_world.priors = ('narrow', 'wide')\nmake_world.default_alpha = 40.0\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    from levelsets import World
    from levelsets.workflows.sample import SampleJob
    from levelsets.worlds import load_world

    world = load_world("mypkg.worlds:make_world")
    assert isinstance(world, World) and world.name == "worlds" and world.prior_name == "narrow"
    assert world.latent_dim == 3 and world.source["module"] == "mypkg.worlds"
    job = SampleJob(world="mypkg.worlds:make_world", target="0.3,0.7", out=tmp_path / "o")
    assert job.alpha == 40.0
    with pytest.raises(Exception, match="has no prior 'flat'; choose one of narrow, wide"):
        SampleJob(world="mypkg.worlds:make_world", prior="flat", target="0.3,0.7", out=tmp_path / "o")


BAD = {
    "missing_function": (MY_WORLD.replace("def make_world", "def build_world"), "no function 'make_world'"),
    "syntax_error": ("def make_world(:\n    pass\n", "syntax error at line 1"),
    "import_error": ("import not_a_module_xyz\n" + MY_WORLD, "importing it raised ModuleNotFoundError"),
    "raises": (MY_WORLD.replace('    """A 3-d', '    raise RuntimeError("weights not found")\n    """A 3-d'),
               "make_world() raised RuntimeError: weights not found"),
    "not_a_world": ("def make_world():\n    return {'prior': None}\n", "returned a dict, not a levelsets.World"),
    "decoder_not_nchw": (MY_WORLD.replace(".reshape(-1, 1, SIDE, SIDE)", ""), "decoder output has shape (4, 64)"),
    "decoder_nan": (MY_WORLD.replace("return (0.5 + 0.5", "return float('nan') * (0.5 + 0.5"), "decoder output contains NaN"),
    "decoder_range": (MY_WORLD.replace("return (0.5 + 0.5", "return 255 * (0.5 + 0.5"), "images must be in [0, 1]"),
    "rows_not_summing_to_one": (MY_WORLD.replace("return torch.softmax(torch.stack([s, -s], dim=1), dim=1)",
                                                 "return torch.stack([s, -s], dim=1)"), "not probabilities"),
    "classifier_nan": (MY_WORLD.replace("return torch.softmax(", "return float('nan') * torch.softmax("), "NaN or inf"),
    "class_count": (MY_WORLD.replace('["left", "right"]', '["left", "right", "up"]'),
                    "classifier returns 2 probabilities per image but class_names lists 3 names"),
    "prior_not_vectors": (MY_WORLD.replace(
        "prior = torch.distributions.Independent(torch.distributions.Normal(torch.zeros(D), torch.ones(D)), 1)",
        "prior = torch.distributions.Normal(torch.zeros(D), torch.ones(D))"), "event shape (d,)"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_plugin_is_one_line_naming_the_file(tmp_path, case):
    source, fragment = BAD[case]
    write(tmp_path / "bad_world.py", source)
    spec = f"{tmp_path / 'bad_world.py'}:make_world"
    out = tmp_path / "never"
    result = runner.invoke(app, ["sample", "--world", spec, "--target", "0.3,0.7", *TINY, "--out", str(out)])
    line = one_error_line(result)
    assert f"world plugin {spec}" in line and fragment in line, line
    assert not out.exists()


@pytest.mark.parametrize(
    "spec, fragment",
    [
        ("nowhere/my_world.py:make_world", "no such file nowhere/my_world.py"),
        ("not_a_package_xyz.worlds:make_world", "no module named 'not_a_package_xyz'"),
        ("shapez", "unknown world 'shapez'; choose one of shapes, mnist"),
        ("my_world.py:make-world", "'make-world' is not a function name"),
    ],
)
def test_bad_world_spec_is_one_line(tmp_path, monkeypatch, spec, fragment):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["sample", "--world", spec, "--target", "0.3,0.7", *TINY, "--out", "never"])
    assert fragment in one_error_line(result)
    assert not (tmp_path / "never").exists()


def test_prior_for_a_plugin_without_priors_is_refused(tmp_path):
    write(tmp_path / "my_world.py", MY_WORLD)
    spec = f"{tmp_path / 'my_world.py'}:make_world"
    result = runner.invoke(app, ["sample", "--world", spec, "--prior", "vae", "--target", "0.3,0.7", *TINY,
                                 "--out", str(tmp_path / "never")])
    assert "takes no --prior" in one_error_line(result)
