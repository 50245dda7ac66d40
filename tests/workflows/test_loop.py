"""levelsets.workflows.loop: the soft-label loop end to end on tiny settings.

Its settings are tested in test_loop_settings.py, its per-round evaluation in test_loop_evaluation.py, the
``levelsets.loop`` re-export in tests/core/test_loop.py.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from levelsets.workflows.loop import run_loop
from levelsets.workflows.loop_settings import LoopSettings


@pytest.mark.slow
def test_target_labeler_with_repeat(tmp_path):
    """The ``target`` labeler labels every sample by its run's target; repeat=2 adds each run twice."""
    out = tmp_path / "loop"
    settings = LoopSettings(
        world="shapes", rounds=1, labeler="target", targets=("ambiguous", "0.3,0.7"), samples_per_target=6,
        particles=12, steps=8, burn_in=4, n_train=200, epochs=1, eval_size=60, heldout_size=60, augment_repeat=2,
        tolerance=0.2, seed=4, device="cpu", out=out, progress=False,
    )
    result = run_loop(settings)
    assert [row["round"] for row in result.table] == [0, 1]
    assert result.table[1]["augmenting_runs"] == 2 and result.table[1]["added_this_round"] == 12
    card = json.loads((out / "round_1" / "classifier.card.json").read_text())
    augment = card["training_data"]["augment"]
    assert len(augment) == 4  # two runs, each added twice
    assert all(a["labels"] == "target" for a in augment)
    assert card["training_data"]["total_examples"] == 200 + 2 * 2 * 6
    summary = json.loads((out / "summary.json").read_text())
    assert [d["target"] for d in summary["runs"]] == ["ambiguous", "0.3,0.7"]
    # the runs keep the target vector the samples were drawn for (what the labeler used)
    from levelsets.runs import load_run

    run = load_run(out / "round_1" / "runs" / "0.3_0.7")
    np.testing.assert_allclose(run.target, [0.3, 0.7])
    run_summary = json.loads((out / "round_1" / "runs" / "0.3_0.7" / "summary.json").read_text())
    assert (run_summary["relaxation"], run_summary["tolerance"]) == ("band", 0.2)  # the loop's --tolerance reached it
    assert table_rows_equal(result.table, json.loads((out / "table.json").read_text()))
    # recorded paths point into the final directory, not the temporary one the loop built in
    for file in out.rglob("*.json"):
        assert ".partial-" not in file.read_text(), file
    assert str(out / "round_1" / "runs") in (out / "round_1" / "classifier.card.json").read_text()


def table_rows_equal(a, b) -> bool:
    """Rows equal up to JSON float round-trip."""
    return len(a) == len(b) and all(x.keys() == y.keys() and all(x[k] == pytest.approx(y[k]) for k in x) for x, y in zip(a, b))


def _shapes_run(directory, n, seed):
    """A tiny shapes-shaped sample run (random 64×64 images) as `levelsets sample` would write it."""
    from levelsets.runs import SUMMARY_FILE, SampleRun

    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True)
    SampleRun(latents=rng.uniform(5, 30, size=(n, 3)), images=rng.uniform(size=(n, 1, 64, 64)).astype(np.float32),
              probs=rng.dirichlet([5, 5], size=n), target=np.array([0.5, 0.5]), class_names=("rocket", "house"),
              particle_index=np.arange(n)).save(directory)
    (directory / SUMMARY_FILE).write_text(json.dumps({"target": {"spec": "ambiguous", "probs": [0.5, 0.5]}, "seed": seed}))
    return directory


@pytest.mark.slow
def test_elicited_labeler_adds_the_labelled_stimuli_once(tmp_path):
    """Elicited labels of exported stimuli come back as labelled runs in round 1 only; files stay inside out."""
    from levelsets.elicitation.manifest import load_stimuli
    from levelsets.elicitation.stimuli import StimuliSettings, export_stimuli
    from levelsets.softlabels.label_files import build_label_file

    runs = [_shapes_run(tmp_path / "runs" / "a", 5, 1), _shapes_run(tmp_path / "runs" / "b", 4, 2)]
    stim = export_stimuli(runs, tmp_path / "stimuli", StimuliSettings(size=16, per_participant=4, repeats=1, catch=0, seed=3),
                          progress=False)
    ids = sorted(sid for sid, rec in load_stimuli(stim).stimuli.items() if rec["kind"] == "sample")
    labelled = [sid for sid in ids if sid.startswith("a-")] + [sid for sid in ids if sid.startswith("b-")][:2]
    answer = {"Most Probable Class": "house", "Most Probable Class Prob": 70, "Second Most Probable Class": "rocket",
              "Second Most Probable Class Prob": 30, "Impossible Class(es)": []}
    (tmp_path / "responses.json").write_text(json.dumps({sid: [answer] for sid in labelled}))
    labels = build_label_file(tmp_path / "responses.json", classes="rocket,house", out=tmp_path / "labels.json").path
    out = tmp_path / "loop"
    result = run_loop(LoopSettings(world="shapes", rounds=2, labeler="elicited", elicited_labels=labels, stimuli=stim,
                                   n_train=100, epochs=1, eval_size=40, heldout_size=40, device="cpu", out=out,
                                   progress=False))
    assert [row["added_this_round"] for row in result.table] == [0, 7, 0]
    assert [row["augmenting_runs"] for row in result.table] == [0, 2, 2]
    for r in (1, 2):
        card = json.loads((out / f"round_{r}" / "classifier.card.json").read_text())
        assert card["training_data"]["total_examples"] == 100 + 7
        assert [a["samples"] for a in card["training_data"]["augment"]] == [5, 2]
    assert (out / "round_1" / "elicited" / "elicited.json").is_file()
    assert not (out / "round_1" / "runs").exists() and not (out / "round_2" / "runs").exists()
