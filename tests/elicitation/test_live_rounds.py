"""The loop's live rounds (levelsets.elicitation.live_rounds): choosing stimuli by disagreement, writing a round,
waiting for answers."""

import json
import sqlite3

import numpy as np
import pytest
from fastapi.testclient import TestClient

from levelsets.elicitation.app import create_app
from levelsets.elicitation.live_rounds import (
    Choice,
    add_stimulus_round,
    choose_stimuli,
    predict_elicited,
    total_variation,
    wait_for_responses,
)
from levelsets.elicitation.manifest import load_stimuli
from levelsets.errors import LevelsetsError
from levelsets.runs import load_run

from .elicitation_runs import make_run
from .live_studies import EXPORT, add, answer, two_runs


@pytest.fixture
def runs(tmp_path):
    return two_runs(tmp_path)


def test_total_variation_and_nearest_neighbour_prediction():
    p = np.array([[0.5, 0.5, 0.0], [1.0, 0.0, 0.0]])
    q = np.array([[0.2, 0.3, 0.5], [0.0, 1.0, 0.0]])
    np.testing.assert_allclose(total_variation(p, q), [0.5, 1.0])
    labelled = np.array([[0.0], [1.0], [10.0]])
    labels = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])
    np.testing.assert_allclose(predict_elicited(np.array([[0.1], [9.0]]), labelled, labels, k=2),
                               [[0.5, 0.5], [0.25, 0.75]])
    np.testing.assert_allclose(predict_elicited(np.array([[0.1]]), labelled, labels, k=1), [[1.0, 0.0]])


def test_choose_by_disagreement_and_dedupe(tmp_path):
    # run 0: four distinct samples (sample 3 is a duplicate of sample 0); the labelled images sit on two of them
    run = load_run(make_run(tmp_path / "r", n=5, seed=4))
    run.latents[3] = run.latents[0]
    run.images[3] = run.images[0]
    run.probs[:] = np.array([[0.9, 0.05, 0.05], [0.34, 0.33, 0.33], [0.1, 0.8, 0.1], [0.9, 0.05, 0.05], [0.3, 0.3, 0.4]])
    labelled = (run.images[[0, 1, 2, 4]], np.array([[0.1, 0.8, 0.1], [0.34, 0.33, 0.33], [0.1, 0.8, 0.1], [0.3, 0.3, 0.4]]))
    choice = choose_stimuli([run], 2, labelled=labelled)
    # with k = NEIGHBOURS > 4 every candidate's prediction is the mean label; rank by TV to it instead:
    mean = labelled[1].mean(0)
    tv = total_variation(run.probs[[0, 1, 2, 4]], np.tile(mean, (4, 1)))
    expected = sorted(np.array([0, 1, 2, 4])[np.argsort(-tv)[:2]].tolist())
    assert choice.picks == {0: expected} and choice.candidates == 4 and choice.rule == "disagreement"
    assert choice.mean_disagreement["chosen"] >= choice.mean_disagreement["candidates"]
    first = choose_stimuli([run], 4, labelled=None, seed=1)
    assert first.rule == "diverse" and first.picks == {0: [0, 1, 2, 4]}  # the duplicate counts once
    with pytest.raises(LevelsetsError, match="only 4 distinct samples"):
        choose_stimuli([run], 5, labelled=None)


def test_wait_times_out_with_a_message_and_counts_distinct_participants(tmp_path, runs, log_notes):
    study, db = tmp_path / "study", tmp_path / "db.sqlite"
    add(study, 1, runs, {0: [0, 1]})
    messages = log_notes
    messages.clear()
    ids = list(load_stimuli(study).stimuli)
    counts = wait_for_responses(db, study, ids, per_stimulus=1, poll_seconds=0.01, timeout=0.05,
                                progress=False)
    assert counts == dict.fromkeys(ids, 0)
    assert "levelsets elicit serve" in messages[0] and "timeout after 0.05 s: 0 of 2 responses" in messages[-1]
    client = TestClient(create_app(study, db), base_url="http://127.0.0.1")
    s = client.get("/api/session", params={"participant": "p"}).json()
    for trial in s["trials"]:  # 3 trials: two stimuli, one repeated
        client.post("/api/responses", json=answer("p", trial)).raise_for_status()
    got = wait_for_responses(db, study, ids, per_stimulus=1, poll_seconds=0.01, timeout=5,
                             progress=False)
    assert got == dict.fromkeys(ids, 1)  # the repeat is the same participant: counted once
    con = sqlite3.connect(db)
    assert con.execute("SELECT COUNT(*) FROM responses").fetchone()[0] == 3
    con.close()
    with pytest.raises(LevelsetsError, match="belongs to study"):
        other = tmp_path / "other"
        add(other, 1, runs, {1: [0]})
        wait_for_responses(db, other, ids, per_stimulus=1, poll_seconds=0.01, timeout=1, progress=False)


def test_add_stimulus_round_writes_the_chosen_samples_as_runs_and_stimuli(tmp_path, runs):
    picks = {0: [1, 4], 1: [0]}
    choice = Choice(picks=picks, scores={0: [0.5, 0.25], 1: [0.75]}, rule="disagreement", candidates=12)
    assert choice.chosen == 3
    stimuli_dir = add_stimulus_round(tmp_path / "study", 1, runs, ["amb", "pair"], choice, EXPORT)
    assert stimuli_dir == tmp_path / "study" / "round_001" / "stimuli"
    sources = tmp_path / "study" / "round_001" / "sources"
    assert sorted(p.name for p in sources.iterdir()) == ["r1-amb", "r1-pair"]
    amb = load_run(sources / "r1-amb")
    np.testing.assert_array_equal(amb.latents, runs[0].latents[[1, 4]])
    np.testing.assert_array_equal(amb.images, runs[0].images[[1, 4]])
    summary = json.loads((sources / "r1-amb" / "summary.json").read_text())
    assert summary["target"]["spec"] == "ambiguous"
    assert summary["live_round"] == {"round": 1, "source": str(runs[0].path), "indices": [1, 4],
                                     "rule": "disagreement", "disagreement": [0.5, 0.25]}
    stimuli = load_stimuli(stimuli_dir)
    assert sorted(sid for sid, r in stimuli.stimuli.items() if r["kind"] == "sample") == [
        "r1-amb-0000", "r1-amb-0001", "r1-pair-0000"]
