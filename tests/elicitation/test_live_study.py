"""Live studies: rounds added while the server runs; the stimulus choice of the live loop."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pytest
from elicitation_runs import make_run
from fastapi.testclient import TestClient

from levelsets.elicitation.app import create_app
from levelsets.elicitation.export import build_export
from levelsets.elicitation.live_rounds import (
    Choice,
    add_stimulus_round,
    choose_stimuli,
    predict_elicited,
    total_variation,
    wait_for_responses,
)
from levelsets.elicitation.manifest import load_stimuli
from levelsets.elicitation.stimuli import StimuliSettings
from levelsets.elicitation.store import ResponseStore
from levelsets.elicitation.study import STUDY_FILE, read_study
from levelsets.errors import LevelsetsError
from levelsets.runs import load_run

EXPORT = StimuliSettings(size=16, per_participant=4, repeats=1, catch=0, select="random")


def add(study, r, runs, picks):
    choice = Choice(picks=picks, scores={k: [float("nan")] * len(v) for k, v in picks.items()}, rule="diverse", candidates=0)
    return add_stimulus_round(study, r, runs, [f"t{i}" for i in range(len(runs))], choice, EXPORT)


@pytest.fixture
def runs(tmp_path):
    return [load_run(make_run(tmp_path / "runs" / "a", n=6, seed=1)),
            load_run(make_run(tmp_path / "runs" / "b", n=6, spec="catvsdog", seed=2))]


def answer(pid, trial):
    return {"participant": pid, "stimulus": trial["stimulus"], "trial": trial["trial"], "rt_ms": 500.0,
            "most_probable": "cat", "most_probable_prob": 70.0, "second": "dog", "second_prob": 20.0, "impossible": []}


def test_server_takes_up_a_new_round_without_disturbing_a_batch_in_progress(tmp_path, runs):
    study, db = tmp_path / "study", tmp_path / "db.sqlite"
    add(study, 1, runs, {0: [0, 1, 2], 1: [0, 1, 2]})
    client = TestClient(create_app(study, db, admin_token="t", recheck_seconds=0.0), base_url="http://127.0.0.1")
    first = client.get("/api/session", params={"participant": "early"}).json()
    assert all(t["stimulus"].startswith("r1-") for t in first["trials"])
    assert client.post("/api/responses", json=answer("early", first["trials"][0])).status_code == 201

    add(study, 2, runs, {0: [3, 4], 1: [5]})
    # the participant mid-batch keeps the same batch and trials, and can go on answering
    again = client.get("/api/session", params={"participant": "early"}).json()
    assert again["batch"] == first["batch"] and again["trials"] == first["trials"] and again["answered"] == [0]
    for trial in first["trials"][1:]:
        assert client.post("/api/responses", json=answer("early", trial)).status_code == 201
    # a newcomer gets a batch of the new round, whose images are served
    late = client.get("/api/session", params={"participant": "late"}).json()
    assert late["batch"] >= 2 and all(t["stimulus"].startswith("r2-") for t in late["trials"])
    image = client.get(late["trials"][0]["image"])
    assert image.status_code == 200 and image.content[:4] == b"\x89PNG"
    assert client.post("/api/responses", json=answer("late", late["trials"][0])).status_code == 201
    progress = client.get("/admin/progress", params={"token": "t"}).json()
    assert progress["rounds"] == 2 and len(progress["batches"]) == len(load_stimuli(study).batches)

    # the database recorded round 2, so an export (no stimulus directory needed) knows its stimuli
    responses, details = build_export(ResponseStore(db))
    assert any(sid.startswith("r2-") for sid in responses) and details["counts"]["participants"] == 2
    assert json.loads((study / "provenance.json").read_text())["rounds"] == 2
    # a restart on the same database and study is fine
    TestClient(create_app(study, db, admin_token="t"), base_url="http://127.0.0.1").get("/healthz").raise_for_status()


def test_rounds_may_only_be_appended(tmp_path, runs):
    study, db = tmp_path / "study", tmp_path / "db.sqlite"
    add(study, 1, runs, {0: [0, 1]})
    add(study, 2, runs, {1: [0, 1]})
    create_app(study, db)
    doc = read_study(study)
    (study / STUDY_FILE).write_text(json.dumps(doc | {"rounds": doc["rounds"][:1]}))  # round 2 removed
    with pytest.raises(LevelsetsError, match="rounds may only be added"):
        create_app(study, db)
    with pytest.raises(LevelsetsError, match="holds 1 rounds; cannot add round 3"):
        add(study, 3, runs, {0: [2]})
    other = tmp_path / "other"
    other.mkdir()
    (other / "mine.txt").write_text("user file")
    with pytest.raises(LevelsetsError, match="not a levelsets study"):
        add(other, 1, runs, {0: [0]})
    assert [p.name for p in other.iterdir()] == ["mine.txt"]


def test_a_running_server_keeps_the_old_set_when_the_study_is_broken(tmp_path, runs):
    study, db = tmp_path / "study", tmp_path / "db.sqlite"
    add(study, 1, runs, {0: [0, 1]})
    app = create_app(study, db, admin_token="t", recheck_seconds=0.0)
    client = TestClient(app, base_url="http://127.0.0.1")
    (study / STUDY_FILE).write_text("{not json")
    assert client.get("/api/session", params={"participant": "p"}).status_code == 200
    assert "not valid JSON" in app.state.watcher.last_error
    assert "not valid JSON" in client.get("/admin/progress", params={"token": "t"}).json()["study_error"]


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


def test_a_study_without_rounds_cannot_be_served_yet(tmp_path):
    study = tmp_path / "study"
    study.mkdir()
    (study / STUDY_FILE).write_text(json.dumps({"format": "levelsets-study/1", "study_id": "x", "class_names": ["a", "b"],
                                                "rounds": []}))
    with pytest.raises(LevelsetsError, match="has no round yet"):
        create_app(study, tmp_path / "db.sqlite")
    assert not (tmp_path / "db.sqlite").exists()
