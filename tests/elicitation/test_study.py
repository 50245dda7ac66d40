"""Live studies (levelsets.elicitation.study): rounds added while the server runs, only ever appended."""

import json
import re

import pytest
from fastapi.testclient import TestClient

from levelsets.elicitation.app import create_app
from levelsets.elicitation.export import build_export
from levelsets.elicitation.manifest import load_stimuli
from levelsets.elicitation.store import ResponseStore
from levelsets.elicitation.study import STUDY_FILE, StudyWatcher, is_study, load_study, read_study
from levelsets.errors import LevelsetsError

from .live_studies import add, answer, two_runs


@pytest.fixture
def runs(tmp_path):
    return two_runs(tmp_path)


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


def test_a_study_without_rounds_cannot_be_served_yet(tmp_path):
    study = tmp_path / "study"
    study.mkdir()
    (study / STUDY_FILE).write_text(json.dumps({"format": "levelsets-study/1", "study_id": "x", "class_names": ["a", "b"],
                                                "rounds": []}))
    with pytest.raises(LevelsetsError, match="has no round yet"):
        create_app(study, tmp_path / "db.sqlite")
    assert not (tmp_path / "db.sqlite").exists()


def test_load_study_merges_the_rounds_into_one_stimulus_set(tmp_path, runs):
    study = tmp_path / "study"
    add(study, 1, runs, {0: [0, 1], 1: [0]})
    add(study, 2, runs, {1: [2, 3]})
    assert is_study(study) and not is_study(tmp_path)
    merged = load_study(study)
    doc = read_study(study)
    assert merged.root == study.resolve() and merged.study_id == doc["study_id"]
    assert [r["round"] for r in doc["rounds"]] == [1, 2] and doc["rounds"][1]["stimuli"] == "round_002/stimuli"
    one, two = (load_stimuli(study / f"round_00{r}" / "stimuli") for r in (1, 2))
    assert list(merged.stimuli) == [*one.stimuli, *two.stimuli]
    for sid, rec in two.stimuli.items():
        assert merged.stimuli[sid]["file"] == f"round_002/stimuli/{rec['file']}" and merged.stimuli[sid]["round"] == 2
        assert merged.image_path(sid).read_bytes() == two.image_path(sid).read_bytes()
    assert [b["batch"] for b in merged.batches] == list(range(len(one.batches) + len(two.batches)))
    assert [b["round"] for b in merged.batches] == [1] * len(one.batches) + [2] * len(two.batches)
    assert merged.assignable == list(range(len(one.batches), len(merged.batches)))  # newcomers: the newest round
    assert {r["round"] for r in merged.runs} == {1, 2}


@pytest.mark.parametrize(("doc", "needle"), [
    ("{not json", "is not valid JSON"),
    (json.dumps({"format": "other"}), "is not a levelsets-study/1 file"),
    (json.dumps({"format": "levelsets-study/1", "rounds": [{"round": 2}]}), "rounds must be a list numbered 1, 2, ..."),
    (json.dumps({"format": "levelsets-study/1", "rounds": "1"}), "rounds must be a list"),
    (json.dumps({"format": "levelsets-study/1", "rounds": [], "class_names": ["a"]}), "study_id or class_names missing"),
])
def test_read_study_refuses_a_malformed_study_file(tmp_path, doc, needle):
    (tmp_path / STUDY_FILE).write_text(doc)
    with pytest.raises(LevelsetsError, match=re.escape(needle)):
        read_study(tmp_path)
    with pytest.raises(LevelsetsError, match="has no study.json; give a study directory written by"):
        read_study(tmp_path / "elsewhere")


def test_a_round_outside_the_study_or_with_other_classes_is_refused(tmp_path, runs):
    study = tmp_path / "study"
    add(study, 1, runs, {0: [0, 1]})
    doc = read_study(study)
    (study / STUDY_FILE).write_text(json.dumps(doc | {"rounds": [doc["rounds"][0] | {"stimuli": "../elsewhere"}]}))
    with pytest.raises(LevelsetsError, match="round 1 lies outside the study directory"):
        load_study(study)
    (study / STUDY_FILE).write_text(json.dumps(doc | {"class_names": ["x", "y", "z"]}))
    with pytest.raises(LevelsetsError, match="round 1 of .* has classes cat, dog, frog, the study x, y, z"):
        load_study(study)
    with pytest.raises(LevelsetsError, match="is a study of x, y, z, not cat, dog, frog"):
        add(study, 2, runs, {0: [2]})


def test_the_watcher_takes_up_a_new_round_at_most_once_per_interval(tmp_path, runs):
    study = tmp_path / "study"
    add(study, 1, runs, {0: [0, 1]})
    now = [0.0]
    seen = []
    watcher = StudyWatcher(study, seen.append, interval=10.0, clock=lambda: now[0])
    assert not watcher.refresh(force=True) and seen == []  # nothing changed since it started
    add(study, 2, runs, {1: [0, 1]})
    now[0] = 5.0
    assert not watcher.refresh() and seen == []  # too soon: not even looked at
    now[0] = 10.0
    assert watcher.refresh() and len(seen) == 1 and {b["round"] for b in seen[0].batches} == {1, 2}
    now[0] = 30.0
    assert not watcher.refresh() and len(seen) == 1  # unchanged since
    (study / STUDY_FILE).write_text("{broken")
    assert not watcher.refresh(force=True) and "not valid JSON" in watcher.last_error and len(seen) == 1
