"""Elicited labels of stimuli → labelled sample runs for the loop (``elicited_label_files``)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from elicitation_runs import CLASSES, make_run

from levelsets.elicitation.manifest import ELICITED_INDEX_FILE, elicited_label_files, load_stimuli
from levelsets.elicitation.stimuli import StimuliSettings, export_stimuli
from levelsets.errors import LevelsetsError
from levelsets.runs import load_run
from levelsets.softlabels.label_files import build_label_file, load_soft_labels
from levelsets.softlabels.training_data import build_training_set


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
