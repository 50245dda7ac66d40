"""Stimulus directories (levelsets.elicitation.manifest): loading and checking them, and elicited labels of
stimuli → labelled sample runs for the loop (``elicited_label_files``)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from levelsets.elicitation.manifest import (
    ELICITED_INDEX_FILE,
    StimulusSet,
    elicited_label_files,
    load_stimuli,
    subset_run,
)
from levelsets.elicitation.stimuli import StimuliSettings, export_stimuli
from levelsets.errors import LevelsetsError
from levelsets.runs import load_run
from levelsets.softlabels.label_files import build_label_file, load_soft_labels
from levelsets.softlabels.training_data import build_training_set

from .elicitation_runs import CLASSES, make_run


def response(top, prob, second=None, second_prob=None, impossible=()):
    return {"Most Probable Class": top, "Most Probable Class Prob": prob,
            "Second Most Probable Class": second or "No", "Second Most Probable Class Prob": second_prob,
            "Impossible Class(es)": list(impossible)}


RESPONSES = [
    response("cat", 60, "dog", 30, ["frog"]),
    response("dog", 55),
    response("frog", 80, "cat", 10),
]


@pytest.fixture
def study(tmp_path):
    runs = tmp_path / "runs"
    dirs = [make_run(runs / "amb", n=4, spec="ambiguous", seed=11),
            make_run(runs / "pair", n=5, spec="catvsdog", seed=12),
            make_run(runs / "sure-cat", n=3, spec="confident:cat", seed=13)]
    settings = StimuliSettings(size=16, per_participant=6, repeats=1, catch=1, mixed=2, seed=3)
    stim = export_stimuli(dirs, tmp_path / "stimuli", settings, progress=False)
    return stim, dirs


def write_labels(tmp_path, ids, classes=CLASSES, name="labels.json"):
    """Responses for ``ids`` (annotator count and answers vary with the id) → a built label file."""
    responses = {sid: [RESPONSES[(j + m) % 3] for m in range(1 + j % 3)] for j, sid in enumerate(ids)}
    path = tmp_path / "responses.json"
    path.write_text(json.dumps(responses))
    return build_label_file(path, classes=",".join(classes), out=tmp_path / name).path


def test_full_and_partial_runs(study, tmp_path):
    stim, (amb, pair, sure) = study
    stimuli = load_stimuli(stim)
    kinds = {sid: r["kind"] for sid, r in stimuli.stimuli.items()}
    amb_ids = [f"amb-{i:04d}" for i in range(4)]
    pair_ids = ["pair-0003", "pair-0001"]  # only part of run "pair", out of order
    extra = [sid for sid, k in kinds.items() if k in ("catch", "mixed")]
    assert len(extra) == 5  # 3 catch + 2 mixed stimuli: all must be skipped
    labels_path = write_labels(tmp_path, amb_ids + pair_ids + extra)
    labels = load_soft_labels(labels_path, class_names=CLASSES)

    out = tmp_path / "elicited"
    run_dirs, files = elicited_label_files(stim, labels_path, out_dir=out)
    assert len(run_dirs) == len(files) == 2

    # the fully labelled run is used in place, keyed by its own sample indices
    assert run_dirs[0].resolve() == amb.resolve()
    got = load_soft_labels(files[0], class_names=CLASSES)
    assert sorted(got.ids, key=int) == ["0", "1", "2", "3"]
    for i, sid in enumerate(amb_ids):
        np.testing.assert_allclose(got.per_annotator[str(i)][0], labels.per_annotator[sid].mean(axis=0), atol=1e-12)
        assert got.per_annotator[str(i)].shape == (1, 3)

    # the partly labelled run is copied, restricted to samples 1 and 3 (in that order)
    assert run_dirs[1].parent.parent == out and run_dirs[1].name == "pair"
    sub, src = load_run(run_dirs[1]), load_run(pair)
    assert len(sub) == 2
    np.testing.assert_array_equal(sub.images, src.images[[1, 3]])
    np.testing.assert_array_equal(sub.latents, src.latents[[1, 3]])
    np.testing.assert_array_equal(sub.target, src.target)
    assert sub.summary["elicited_subset"]["indices"] == [1, 3]
    got = load_soft_labels(files[1], class_names=CLASSES)
    np.testing.assert_allclose(got.per_annotator["0"][0], labels.per_annotator["pair-0001"].mean(axis=0), atol=1e-12)
    np.testing.assert_allclose(got.per_annotator["1"][0], labels.per_annotator["pair-0003"].mean(axis=0), atol=1e-12)

    index = json.loads((out / ELICITED_INDEX_FILE).read_text())
    assert [r["copied"] for r in index["runs"]] == [False, True]
    assert (out / "provenance.json").is_file()

    # what the loop does with them: the trainer accepts the runs and uses exactly these labels
    data = build_training_set(None, class_names=CLASSES, augment=run_dirs, augment_labels=files)
    assert len(data.dataset) == 6
    expected = np.stack([labels.per_annotator[s].mean(axis=0) for s in [*amb_ids, "pair-0001", "pair-0003"]])
    got_labels = np.stack([data.dataset[i][1].numpy() for i in range(6)])
    np.testing.assert_allclose(got_labels, expected, atol=1e-6)
    np.testing.assert_allclose(data.dataset[5][0].numpy(), src.images[3], atol=1e-7)


def test_default_out_dir_is_a_new_temp_dir(study, tmp_path):
    stim, (amb, _, _) = study
    labels_path = write_labels(tmp_path, [f"amb-{i:04d}" for i in range(4)])
    run_dirs, files = elicited_label_files(stim, labels_path)
    assert [p.resolve() for p in run_dirs] == [amb.resolve()]
    assert files[0].is_file() and files[0].parent != tmp_path
    shutil.rmtree(files[0].parent)


def test_errors(study, tmp_path):
    stim, (amb, pair, sure) = study
    stimuli = load_stimuli(stim)
    catch_ids = [sid for sid, r in stimuli.stimuli.items() if r["kind"] != "sample"]

    only_catch = write_labels(tmp_path, catch_ids, name="catch.json")
    with pytest.raises(LevelsetsError, match="labels none of the sample stimuli"):
        elicited_label_files(stim, only_catch, out_dir=tmp_path / "o1")

    other_classes = write_labels(tmp_path, ["amb-0001"], classes=("cat", "dog", "frog", "bird"), name="other.json")
    with pytest.raises(LevelsetsError, match="has classes cat, dog, frog, bird"):
        elicited_label_files(stim, other_classes, out_dir=tmp_path / "o2")

    stranger = tmp_path / "stranger.json"
    stranger.write_text(json.dumps({"amb-0000": [0.5, 0.5, 0.0], "nope-0001": [1.0, 0.0, 0.0]}))
    with pytest.raises(LevelsetsError, match="'nope-0001'.*does not hold"):
        elicited_label_files(stim, stranger, out_dir=tmp_path / "o3")

    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "x").write_text("x")
    good = write_labels(tmp_path, ["pair-0000"], name="good.json")
    with pytest.raises(LevelsetsError, match="not empty"):
        elicited_label_files(stim, good, out_dir=busy)

    # a run replaced after export (different latents), then a run that is gone
    make_run(pair, n=5, spec="catvsdog", seed=99)
    with pytest.raises(LevelsetsError, match="no longer holds sample 0"):
        elicited_label_files(stim, good, out_dir=tmp_path / "o4")
    shutil.rmtree(pair)
    with pytest.raises(LevelsetsError, match="no longer exists"):
        elicited_label_files(stim, good, out_dir=tmp_path / "o5")
    for name in ("o1", "o2", "o3", "o4", "o5"):
        assert not (tmp_path / name).exists()  # nothing half-written


# --- the stimulus directory: load_stimuli and StimulusSet -------------------------------------


def test_load_stimuli_reads_an_export(stimuli_dir):
    s = load_stimuli(stimuli_dir)
    manifest = json.loads((stimuli_dir / "manifest.json").read_text())
    assert s.root == stimuli_dir.resolve() and s.study_id == manifest["study_id"]
    assert list(s.stimuli) == [r["id"] for r in manifest["stimuli"]]
    assert s.assignable == list(range(len(s.batches)))  # no rounds: every batch
    assert [r["name"] for r in s.runs] == ["ambiguous", "catdog", "confident-cat"]
    sid = next(iter(s.stimuli))
    assert s.image_path(sid) == s.root / s.stimuli[sid]["file"] and s.image_path(sid).is_file()
    assert s.image_files[s.image_path(sid).name] == s.stimuli[sid]["file"]
    with pytest.raises(KeyError):
        s.image_path("no-such-stimulus")
    again = type(s).from_dict(json.loads(json.dumps(s.to_dict())), root=s.root)
    assert (again.study_id, again.class_names, again.stimuli, again.batches) == (s.study_id, s.class_names, s.stimuli,
                                                                                 s.batches)


def test_newcomers_get_batches_of_the_newest_round_only():
    s = StimulusSet(root=None, study_id="x", class_names=("a", "b"), stimuli={},
                    batches=[{"round": 1}, {"round": 1}, {"round": 2}, {"round": 2}])
    assert s.assignable == [2, 3]


def _broken(stimuli_dir, tmp_path, damage):
    copy = tmp_path / "stim"
    shutil.copytree(stimuli_dir, copy)
    manifest, batches = (json.loads((copy / n).read_text()) for n in ("manifest.json", "batches.json"))
    if damage == "no-manifest":
        (copy / "manifest.json").unlink()
    elif damage == "not-json":
        (copy / "batches.json").write_text("{oops")
    elif damage == "format":
        (copy / "manifest.json").write_text(json.dumps(manifest | {"format": "other/9"}))
    elif damage == "unknown-stimulus":
        batches["batches"][0]["trials"][0]["stimulus"] = "ghost-0001"
        (copy / "batches.json").write_text(json.dumps(batches))
    elif damage == "no-trials":
        del batches["batches"][0]["trials"]
        (copy / "batches.json").write_text(json.dumps(batches))
    elif damage == "missing-png":
        (copy / manifest["stimuli"][0]["file"]).unlink()
    elif damage == "escaping-png":
        (tmp_path / "outside.png").write_bytes(b"\x89PNG")
        manifest["stimuli"][0]["file"] = "../outside.png"
        (copy / "manifest.json").write_text(json.dumps(manifest))
    elif damage == "other-export":
        (copy / "batches.json").write_text(json.dumps(batches | {"study_id": "0" * 16}))
    return copy


@pytest.mark.parametrize(("damage", "needle"), [
    ("no-manifest", "has no manifest.json; give a directory written by `levelsets stimuli export`"),
    ("not-json", "batches.json is not valid JSON"),
    ("format", "is not a levelsets-stimuli/1 manifest"),
    ("unknown-stimulus", "names stimulus 'ghost-0001' that the manifest lacks"),
    ("no-trials", "has a malformed manifest or batches (missing 'trials')"),
    ("missing-png", "is missing from"),
    ("escaping-png", "image ../outside.png is missing from"),
    ("other-export", "manifest.json and batches.json come from different exports"),
])
def test_a_broken_stimulus_directory_is_one_line_error(stimuli_dir, tmp_path, damage, needle):
    copy = _broken(stimuli_dir, tmp_path, damage)
    with pytest.raises(LevelsetsError) as exc:
        load_stimuli(copy)
    assert needle in str(exc.value) and "\n" not in str(exc.value)
    with pytest.raises(LevelsetsError, match="is not a directory"):
        load_stimuli(copy / "manifest.json")


def test_subset_run_keeps_the_chosen_samples_in_order(tmp_path):
    run = load_run(make_run(tmp_path / "r", n=6, seed=2))
    part = subset_run(run, [4, 1])
    np.testing.assert_array_equal(part.latents, run.latents[[4, 1]])
    np.testing.assert_array_equal(part.images, run.images[[4, 1]])
    np.testing.assert_array_equal(part.probs, run.probs[[4, 1]])
    np.testing.assert_array_equal(part.particle_index, run.particle_index[[4, 1]])
    assert part.class_names == run.class_names and len(part) == 2
