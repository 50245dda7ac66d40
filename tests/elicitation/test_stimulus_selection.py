"""`stimuli export --per-run N --select random|diverse` (levelsets.elicitation.stimulus_selection): which samples become stimuli."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from levelsets.elicitation.manifest import load_stimuli
from levelsets.elicitation.stimuli import StimuliSettings, export_stimuli
from levelsets.errors import LevelsetsError
from levelsets.evaluation.image_features import FEATURE_SPACE, covering_radius, features
from levelsets.runs import SUMMARY_FILE, SampleRun, load_run

from .elicitation_runs import make_run

SMALL = {"size": 16, "per_participant": 4, "repeats": 0, "catch": 0}


def clustered_run(directory, *, n=24, seed=0):
    """Images in 4 tight clusters, 18 of the 24 in the first: a random pick sees mostly one family."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(size=(4, 1, 8, 8))
    which = np.array([0] * (n - 6) + [1, 1, 2, 2, 3, 3])
    images = np.clip(centres[which] + 0.01 * rng.normal(size=(n, 1, 8, 8)), 0, 1)
    run = SampleRun(latents=rng.normal(size=(n, 3)), images=images, probs=rng.dirichlet(np.ones(3), size=n),
                    target=np.full(3, 1 / 3), class_names=("cat", "dog", "frog"), particle_index=np.arange(n))
    directory.mkdir(parents=True)
    run.save(directory)
    (directory / SUMMARY_FILE).write_text(json.dumps({"target": {"spec": "ambiguous"}, "world": "test"}))
    return directory, which


def shapes_run(directory, *, particles=40, n=8, seed=0, corrupt=False):
    """A shapes-world run that stores its final population: latents from the prior, images rendered."""
    from levelsets.generative.shapes import ShapesPrior, exact_posterior, render

    torch.manual_seed(seed)
    z = ShapesPrior().sample((particles,))
    images = render(z).numpy()
    probs = exact_posterior(z.double()).float().numpy()
    picked = np.arange(0, particles, particles // n)[:n]
    stored = images[picked] + (0.1 if corrupt else 0.0)
    run = SampleRun(latents=z[picked].numpy(), images=stored, probs=probs[picked], target=np.array([0.5, 0.5]),
                    class_names=("rocket", "house"), particle_index=picked,
                    population_latents=z.numpy(), population_probs=probs)
    directory.mkdir(parents=True)
    run.save(directory)
    summary = {"target": {"spec": "ambiguous"}, "world": "shapes", "prior": "exact", "settings": {"exclude_class": None}}
    (directory / SUMMARY_FILE).write_text(json.dumps(summary))
    return directory, images, picked


def test_random_keeps_every_sample_in_order(tmp_path):
    run = make_run(tmp_path / "amb", n=7, seed=1)
    out = export_stimuli([run], tmp_path / "s", StimuliSettings(**SMALL, seed=3, select="random"), progress=False)
    manifest = json.loads((out / "manifest.json").read_text())
    assert [r["id"] for r in manifest["stimuli"]] == [f"amb-{i:04d}" for i in range(7)]
    assert manifest["selection"]["rule"] == "random" and manifest["selection"]["per_run"] is None
    assert manifest["runs"][0]["pool"] == "stored samples" and manifest["runs"][0]["selected"] == 7
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["selection"] == manifest["selection"] and prov["settings"]["select"] == "random"


def test_default_is_diverse_and_keeps_every_sample(tmp_path):
    run = make_run(tmp_path / "amb", n=7, seed=1)
    out = export_stimuli([run], tmp_path / "s", StimuliSettings(**SMALL, seed=3), progress=False)
    manifest = json.loads((out / "manifest.json").read_text())
    assert sorted(r["id"] for r in manifest["stimuli"]) == [f"amb-{i:04d}" for i in range(7)]
    assert manifest["selection"]["rule"] == "diverse" and manifest["selection"]["per_run"] is None
    assert manifest["runs"][0]["pool"] == "stored samples" and manifest["runs"][0]["selected"] == 7


def test_random_per_run_is_a_seeded_subset_of_the_stored_samples(tmp_path):
    runs = [make_run(tmp_path / "a", n=10, seed=1), make_run(tmp_path / "b", n=6, seed=2)]
    picked = []
    for seed in (0, 0, 1):
        out = export_stimuli(runs, tmp_path / f"s{len(picked)}",
                             StimuliSettings(**SMALL, seed=seed, per_run=3), progress=False)
        s = load_stimuli(out)
        assert len(s.stimuli) == 6
        loaded = {"a": load_run(runs[0]), "b": load_run(runs[1])}
        for record in s.stimuli.values():
            run = loaded[record["source"]["run"]]
            np.testing.assert_allclose(record["latent"], run.latents[record["source"]["index"]], rtol=1e-6)
        picked.append(sorted(s.stimuli))
    assert picked[0] == picked[1] and picked[0] != picked[2]


def test_diverse_from_stored_samples_reaches_every_family(tmp_path):
    run_dir, which = clustered_run(tmp_path / "c")
    out = export_stimuli([run_dir], tmp_path / "s", StimuliSettings(**SMALL, per_run=4, select="diverse"),
                         progress=False)
    manifest = json.loads((out / "manifest.json").read_text())
    chosen = [r["source"]["index"] for r in manifest["stimuli"]]
    assert sorted(which[chosen].tolist()) == [0, 1, 2, 3]  # one stimulus per cluster
    assert manifest["selection"]["rule"] == "diverse" and manifest["selection"]["feature_space"] == FEATURE_SPACE
    assert manifest["runs"][0]["pool"] == "stored samples" and manifest["runs"][0]["pool_size"] == 24
    families_random = [len(set(which[np.random.default_rng(s).choice(24, 4, replace=False)].tolist())) for s in range(10)]
    assert np.mean(families_random) < 3.5  # random choices mostly miss a cluster


def test_diverse_from_the_decoded_final_population(tmp_path):
    run_dir, population_images, stored_particles = shapes_run(tmp_path / "shapes")
    out = export_stimuli([run_dir], tmp_path / "s", StimuliSettings(**SMALL, per_run=6, select="diverse", seed=2),
                         progress=False)
    s = load_stimuli(out)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["runs"][0]["pool"] == "final population" and manifest["runs"][0]["pool_size"] == 40
    particles = [r["source"]["particle"] for r in manifest["stimuli"]]
    assert len(set(particles)) == 6
    for record in manifest["stimuli"]:
        j = record["source"]["particle"]
        assert record["source"]["pool"] == "final population"
        index = record["source"]["index"]
        assert index == (int(np.flatnonzero(stored_particles == j)[0]) if j in stored_particles else None)
        assert record["id"] == (f"shapes-{index:04d}" if index is not None else f"shapes-p{j:05d}")
        want = np.clip(np.rint(population_images[j, 0].astype(np.float64) * 255), 0, 255).astype(np.uint8)
        want = Image.fromarray(want, mode="L").resize((16, 16), Image.Resampling.LANCZOS)
        with Image.open(s.image_path(record["id"])) as got:
            assert np.array_equal(np.asarray(got), np.asarray(want))
    feats = features(population_images)
    diverse_radius = covering_radius(feats, np.array(particles))
    random_radii = [covering_radius(feats, np.random.default_rng(k).choice(40, 6, replace=False)) for k in range(20)]
    assert diverse_radius < np.median(random_radii)


def test_diverse_refuses_a_population_it_cannot_decode_faithfully(tmp_path):
    run_dir, _, _ = shapes_run(tmp_path / "shapes", corrupt=True)
    with pytest.raises(LevelsetsError, match="retrained since the run"):
        export_stimuli([run_dir], tmp_path / "s", StimuliSettings(**SMALL, per_run=3, select="diverse"), progress=False)
    assert not (tmp_path / "s").exists()
    other, _, _ = shapes_run(tmp_path / "other")
    summary = json.loads((other / SUMMARY_FILE).read_text())
    (other / SUMMARY_FILE).write_text(json.dumps(summary | {"world": "mine.py:build"}))
    with pytest.raises(LevelsetsError, match="use --select random"):
        export_stimuli([other], tmp_path / "s", StimuliSettings(**SMALL, per_run=3, select="diverse"), progress=False)
    # random never decodes: it picks among the stored samples
    out = export_stimuli([other], tmp_path / "s", StimuliSettings(**SMALL, per_run=3, select="random"), progress=False)
    assert {r["source"]["index"] is not None for r in load_stimuli(out).stimuli.values()} == {True}


def test_selection_errors(tmp_path):
    run = make_run(tmp_path / "amb", n=5, seed=1)
    with pytest.raises(LevelsetsError, match="holds only 5 stored samples"):
        export_stimuli([run], tmp_path / "s", StimuliSettings(**SMALL, per_run=6), progress=False)
    with pytest.raises(LevelsetsError, match="--select 'spread' is unknown"):
        StimuliSettings(select="spread")
    with pytest.raises(LevelsetsError, match="--per-run 0"):
        StimuliSettings(per_run=0)


def test_population_round_trips_and_is_checked(tmp_path):
    run_dir, _, _ = shapes_run(tmp_path / "shapes", particles=20, n=4)
    run = load_run(run_dir)
    assert run.population_latents.shape == (20, 3) and run.population_probs.shape == (20, 2)
    with pytest.raises(LevelsetsError, match="come together"):
        SampleRun(latents=run.latents, images=run.images, probs=run.probs, target=run.target,
                  class_names=run.class_names, population_latents=run.population_latents)
    with pytest.raises(LevelsetsError, match="final population"):
        SampleRun(latents=run.latents, images=run.images, probs=run.probs, target=run.target,
                  class_names=run.class_names, population_latents=run.population_latents[:, :2],
                  population_probs=run.population_probs)
