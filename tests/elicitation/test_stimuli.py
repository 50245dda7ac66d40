"""Exporting sample runs as stimuli (levelsets.elicitation.stimuli, `levelsets stimuli export`)."""

import json

import numpy as np
import pytest
from PIL import Image

from levelsets.elicitation.manifest import load_stimuli
from levelsets.elicitation.stimuli import StimuliSettings, export_stimuli
from levelsets.elicitation.trials import MIX_LAMBDAS
from levelsets.errors import LevelsetsError
from levelsets.runs import load_run

from .elicitation_runs import make_run


def test_manifest_and_images(stimuli_dir, runs):
    s = load_stimuli(stimuli_dir)
    kinds = [r["kind"] for r in s.stimuli.values()]
    assert kinds.count("sample") == 18 and kinds.count("catch") == 5 and kinds.count("mixed") == 2
    assert s.class_names == ("cat", "dog", "frog")
    run = load_run(runs[0])
    rec = s.stimuli["ambiguous-0003"]
    assert rec["source"]["run"] == "ambiguous" and rec["source"]["index"] == 3
    np.testing.assert_allclose(rec["latent"], run.latents[3], rtol=1e-6)
    np.testing.assert_allclose(rec["probs"], run.probs[3], rtol=1e-6)
    np.testing.assert_allclose(rec["target"], run.target)
    assert rec["target_spec"] == "ambiguous" and rec["expected"] is None
    for sid, r in s.stimuli.items():
        with Image.open(s.image_path(sid)) as im:
            assert im.size == (32, 32) and im.mode == "L"
        if r["kind"] == "catch":
            assert r["expected"] == "cat"
        if r["kind"] == "mixed":
            assert r["mixing"]["lambda"] in MIX_LAMBDAS
            a, b = r["mixing"]["endpoints"]
            assert a["class"] != b["class"]
    with Image.open(stimuli_dir / "contact_sheet.png") as sheet:
        assert sheet.size == (10 * (64 + 4), 3 * (64 + 14))  # 25 stimuli, 10 per row
    prov = json.loads((stimuli_dir / "provenance.json").read_text())
    assert prov["seed"] == 7 and prov["study_id"] == s.study_id


def test_png_is_lanczos_upscale(stimuli_dir, runs):
    s = load_stimuli(stimuli_dir)
    run = load_run(runs[1])
    pixels = np.clip(np.rint(run.images[2, 0].astype(np.float64) * 255), 0, 255).astype(np.uint8)
    want = Image.fromarray(pixels, mode="L").resize((32, 32), Image.Resampling.LANCZOS)
    with Image.open(s.image_path("catdog-0002")) as got:
        assert np.array_equal(np.asarray(got), np.asarray(want))


def test_deterministic_by_seed(runs, tmp_path):
    settings = StimuliSettings(size=16, per_participant=6, repeats=1, catch=1, mixed=2, seed=3)
    a = export_stimuli(runs, tmp_path / "a", settings, progress=False)
    b = export_stimuli(runs, tmp_path / "b", settings, progress=False)
    c = export_stimuli(runs, tmp_path / "c", StimuliSettings(size=16, per_participant=6, repeats=1, catch=1,
                                                             mixed=2, seed=4), progress=False)
    for name in ("manifest.json", "batches.json", "contact_sheet.png"):
        assert (a / name).read_bytes() == (b / name).read_bytes()
    assert sorted(p.name for p in (a / "images").iterdir()) == sorted(p.name for p in (b / "images").iterdir())
    for png in (a / "images").iterdir():
        assert png.read_bytes() == (b / "images" / png.name).read_bytes()
    assert (a / "batches.json").read_bytes() != (c / "batches.json").read_bytes()


def test_catch_defaults(runs, tmp_path):
    with_catch = load_stimuli(export_stimuli(runs, tmp_path / "a", StimuliSettings(size=8), progress=False))
    assert all(sum(t["catch"] for t in b["trials"]) == 3 for b in with_catch.batches)
    without = load_stimuli(export_stimuli(runs[:2], tmp_path / "b", StimuliSettings(size=8), progress=False))
    assert all(not t["catch"] for b in without.batches for t in b["trials"])
    # fewer regular stimuli than a batch holds: one batch with all of them
    assert len(without.batches) == 1 and len(without.batches[0]["trials"]) == 18 + 2


@pytest.mark.parametrize("kwargs, match", [
    ({"size": 4}, "--size"),
    ({"per_participant": 0}, "--per-participant"),
    ({"repeats": -1}, "non-negative"),
    ({"per_participant": 3, "repeats": 2, "catch": 1}, "leave no regular trial"),
])
def test_settings_validation(kwargs, match):
    with pytest.raises(LevelsetsError, match=match):
        StimuliSettings(**kwargs)


def test_export_errors(runs, tmp_path):
    with pytest.raises(LevelsetsError, match="confident:C"):
        export_stimuli(runs[:2], tmp_path / "x", StimuliSettings(catch=2), progress=False)
    with pytest.raises(LevelsetsError, match="hold only 5 samples"):
        export_stimuli(runs, tmp_path / "x", StimuliSettings(catch=6, per_participant=27), progress=False)
    with pytest.raises(LevelsetsError, match="no regular stimuli"):
        export_stimuli(runs[2:], tmp_path / "x", StimuliSettings(), progress=False)
    other = make_run(tmp_path / "other", classes=("a", "b", "c"))
    with pytest.raises(LevelsetsError, match="has classes"):
        export_stimuli([runs[0], other], tmp_path / "x", StimuliSettings(), progress=False)
    with pytest.raises(LevelsetsError, match="at least one RUN_DIR"):
        export_stimuli([], tmp_path / "x", StimuliSettings(), progress=False)
    with pytest.raises(LevelsetsError, match="no samples.npz"):
        export_stimuli([tmp_path], tmp_path / "x", StimuliSettings(), progress=False)
    same = make_run(tmp_path / "same", spec="confident:dog")
    with pytest.raises(LevelsetsError, match="two different classes"):
        export_stimuli([same], tmp_path / "x", StimuliSettings(mixed=1, catch=0), progress=False)
    assert not (tmp_path / "x").exists()


def test_export_is_atomic(tmp_path):
    bad = make_run(tmp_path / "bad", channels=2)  # 2-channel images cannot become PNGs
    with pytest.raises(LevelsetsError, match="2 channels"):
        export_stimuli([bad], tmp_path / "out", StimuliSettings(size=8), progress=False)
    assert not (tmp_path / "out").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]


def test_existing_output_refused(runs, stimuli_dir):
    with pytest.raises(LevelsetsError, match="already exists"):
        export_stimuli(runs, stimuli_dir, StimuliSettings(), progress=False)


def test_same_run_names_are_distinguished(tmp_path):
    a = make_run(tmp_path / "one" / "run", seed=1)
    b = make_run(tmp_path / "two" / "run", seed=2)
    s = load_stimuli(export_stimuli([a, b], tmp_path / "s", StimuliSettings(size=8, catch=0), progress=False))
    assert "run-0000" in s.stimuli and "run-2-0000" in s.stimuli
