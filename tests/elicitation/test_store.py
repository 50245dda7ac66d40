"""Participants and responses in the database (levelsets.elicitation.store): balanced leased batches, idempotent answers."""

import json
from dataclasses import replace

import pytest

from levelsets.elicitation.export import export_responses
from levelsets.elicitation.manifest import load_stimuli
from levelsets.elicitation.store import AnswerConflict, ResponseStore, Stored, appended_only
from levelsets.errors import LevelsetsError

from .study_clients import (
    TOKEN,
    Clock,
    answer,
    answer_all,
    kinds_of,
    open_client,
    rows,
    session,
    soft_body,
    stored_rows,
)


def test_session_assigns_batches_balanced(client, stimuli_dir):
    """With every lease active, the least-held batch is the next one (lowest index on ties)."""
    n_batches = len(json.loads((stimuli_dir / "batches.json").read_text())["batches"])
    got = [session(client, f"p{i}")["batch"] for i in range(n_batches + 1)]
    assert got == list(range(n_batches)) + [0]
    again = session(client, "p1")
    assert again["batch"] == 1 and again["next_trial"] == 0 and not again["consented"]


def test_store_idempotent_and_resume(client, db):
    ses = session(client, "alice")
    assert client.post("/api/consent", json={"participant": "alice"}).status_code == 200
    trial = ses["trials"][0]
    body = (soft_body("alice", trial) if trial["kind"] == "soft_label" else
            {"participant": "alice", "stimulus": trial["stimulus"], "trial": 0, "rt_ms": 10,
             "mix_percent": 30, "confidence": 80})
    r1 = client.post("/api/responses", json=body)
    r2 = client.post("/api/responses", json=body)
    assert (r1.status_code, r1.json()["stored"]) == (201, True)
    assert (r2.status_code, r2.json()["stored"]) == (200, False)
    assert len(stored_rows(db)) == 1
    again = session(client, "alice")
    assert again["consented"] and again["answered"] == [0] and again["next_trial"] == 1


def test_leases_expire_and_returned_sessions_free_their_batch(stimuli_dir, tmp_path):
    clock = Clock()
    db = tmp_path / "r.sqlite"
    with open_client(stimuli_dir, db, lease_minutes=10, clock=clock) as client:
        n = len(client.app.state.stimuli.batches)
        assert n >= 4
        assert [session(client, f"p{i}")["batch"] for i in range(n)] == list(range(n))
        answer_all(client, "p0")                      # batch 0: completed
        clock.advance(5)
        session(client, "p1")                         # batch 1: lease renewed at +5 min
        assert session(client, "extra")["batch"] == 0  # everything held once: lowest index
        clock.advance(5)                              # +10 min: p2.. expire exactly now ("extra" came at +5)
        progress = client.get("/admin/progress", params={"token": TOKEN}).json()
        status = {p["id"]: p["status"] for p in progress["participants"]}
        assert status == {"p0": "completed", "p1": "active", "extra": "active",
                          **{f"p{i}": "expired" for i in range(2, n)}}
        clock.advance(0.01)
        assert session(client, "new-a")["batch"] == 2  # batches 2.. are free again; 0 and 1 are held
        assert client.post("/api/return", json={"participant": "p1"}).json() == {"returned": True}
        assert session(client, "new-b")["batch"] == 1  # a returned session frees its batch at once
        assert session(client, "new-c")["batch"] == 3
        load = {b["batch"]: (b["completed"], b["leased"]) for b in
                client.get("/admin/progress", params={"token": TOKEN}).json()["batches"]}
        assert load[0] == (1, 1) and load[1] == (0, 1) and load[2] == (0, 1) and load[3] == (0, 1)
        # a participant coming back after expiry keeps their batch and holds it again
        assert session(client, "p2")["batch"] == 2
        assert client.get("/admin/progress", params={"token": TOKEN}).json()["batches"][2]["leased"] == 2
        # the researcher can mark a participant returned; completed batches are kept
        assert client.post("/admin/return", params={"participant": "new-c", "token": TOKEN}).status_code == 200
        assert client.post("/admin/return", params={"participant": "p0", "token": TOKEN}).status_code == 409
        assert client.post("/admin/return", params={"participant": "nobody", "token": TOKEN}).status_code == 404
        assert client.post("/admin/return", params={"participant": "new-c"}).status_code == 401
        assert session(client, "new-d")["batch"] == 3


def test_a_flood_of_made_up_ids_holds_batches_only_for_the_lease(stimuli_dir, tmp_path):
    clock = Clock()
    with open_client(stimuli_dir, tmp_path / "r.sqlite", lease_minutes=30, clock=clock) as client:
        n = len(client.app.state.stimuli.batches)
        answer_all(client, "honest-0")                # batch 0 completed
        for i in range(5 * n):
            session(client, f"bot-{i}")
        assert session(client, "early")["batch"] == 1  # the bots spread evenly; not batch 0 again
        clock.advance(31)
        got = [session(client, f"late-{i}")["batch"] for i in range(n - 1)]
        assert got == list(range(1, n))               # bots expired: the open batches come first


def test_platform_ids_recorded_and_exported(stimuli_dir, tmp_path):
    db = tmp_path / "r.sqlite"
    with open_client(stimuli_dir, db) as client:
        ses = session(client, "PID1", study_id="STUDY9", session_id="SESS-a")
        assert (ses["platform_study_id"], ses["platform_session_id"]) == ("STUDY9", "SESS-a")
        session(client, "PID1", study_id="STUDY9", session_id="SESS-a")
        again = session(client, "PID1", study_id="STUDY9", session_id="SESS-b")  # came back in a new session
        assert again["platform_session_id"] == "SESS-b" and again["batch"] == ses["batch"]
        session(client, "PID1")                       # a visit without ids keeps them
        r = client.get("/api/session", params={"participant": "PID2", "session_id": "bad\nid"})
        assert r.status_code == 422 and r.json()["field"] == "session_id"
        answer_all(client, "PID1")
    _, side, _ = export_responses(db, tmp_path / "responses.json")
    person = json.loads(side.read_text())["participants"][0]
    assert (person["id"], person["platform_study_id"], person["platform_session_id"]) == ("PID1", "STUDY9", "SESS-b")
    assert [(s["study_id"], s["session_id"]) for s in person["platform_sessions"]] == [("STUDY9", "SESS-a"),
                                                                                       ("STUDY9", "SESS-b")]
    assert person["status"] == "completed"


def test_changed_answer_is_409_identical_resend_is_200(stimuli_dir, tmp_path):
    db = tmp_path / "r.sqlite"
    with open_client(stimuli_dir, db) as client:
        ses = session(client, "x")
        trial = next(t for t in ses["trials"] if kinds_of(client)[t["stimulus"]] != "mixed")
        body = answer("x", trial, kinds_of(client))
        assert client.post("/api/responses", json=body).status_code == 201
        resent = client.post("/api/responses", json={**body, "rt_ms": 950})  # a retry, timed again
        assert resent.status_code == 200 and resent.json()["stored"] is False
        changed = client.post("/api/responses", json={**body, "most_probable_prob": 75})
        assert changed.status_code == 409 and changed.json()["field"] == "trial"
        assert "different stored answer" in changed.json()["detail"]
        other = client.post("/api/responses", json={**body, "second": None, "second_prob": None})
        assert other.status_code == 409
    stored = rows(db, "SELECT answer, rt_ms FROM responses")
    assert len(stored) == 1 and json.loads(stored[0][0])["most_probable_prob"] == 60.0 and stored[0][1] == 800


# the store on its own, without the app -----------------------------------------------------------


def test_record_answer_stores_once_refuses_a_change_and_marks_completion(stimuli_dir, tmp_path):
    stimuli = load_stimuli(stimuli_dir)
    clock = Clock()
    store = ResponseStore(tmp_path / "r.sqlite", stimuli, lease_seconds=60, clock=clock)
    who = store.open_session("solo")
    assert (who.batch, who.consented, who.completed, who.lease_expires) == (0, None, None, clock.now + 60)
    trials = stimuli.batches[0]["trials"]
    first = trials[0]
    got = store.record_answer("solo", first["stimulus"], 0, "soft_label", {"a": 1}, 5.0, trials_in_batch=len(trials))
    assert got == Stored(stored=True, answered=[0], completed=False)
    again = store.record_answer("solo", first["stimulus"], 0, "soft_label", {"a": 1}, 9.0, trials_in_batch=len(trials))
    assert again == Stored(stored=False, answered=[0], completed=False)  # a retry: nothing new
    with pytest.raises(AnswerConflict) as exc:
        store.record_answer("solo", first["stimulus"], 0, "soft_label", {"a": 2}, 5.0, trials_in_batch=len(trials))
    assert exc.value.trial == 0 and str(exc.value) == "trial 0 already has a different stored answer"
    for t in trials[1:]:
        last = store.record_answer("solo", t["stimulus"], t["trial"], "soft_label", {"a": 1}, 5.0,
                                   trials_in_batch=len(trials))
    assert last.completed and store.participant("solo").completed == clock.now
    assert store.answered_trials("solo") == list(range(len(trials)))
    repeated = {t["stimulus"] for t in trials if t["repeat"]}
    per = store.responders_per_stimulus()
    assert all(per[sid] == 1 for sid in repeated)  # the repeat is the same participant: counted once
    counts = store.counts_per_stimulus()
    assert set(counts) == set(stimuli.stimuli) and all(counts[sid] == 2 for sid in repeated)
    assert sum(counts.values()) == len(trials) and store.participant("nobody") is None


def test_events_comprehension_and_release(stimuli_dir, tmp_path):
    clock = Clock()
    store = ResponseStore(tmp_path / "r.sqlite", load_stimuli(stimuli_dir), lease_seconds=600, clock=clock)
    store.open_session("p")
    clock.advance(1)
    store.mark("p", "consented")
    first = clock.now
    clock.advance(1)
    store.mark("p", "consented")  # recorded once: the first time stays
    assert store.participant("p").consented == first
    with pytest.raises(ValueError):
        store.mark("p", "paid")
    assert store.record_comprehension("p", "self", False) == 1
    assert store.participant("p").comprehension_passed is None
    assert store.record_comprehension("p", "others", True) == 2
    passed = store.participant("p").comprehension_passed
    clock.advance(1)
    store.record_comprehension("p", "others", True)
    assert store.participant("p").comprehension_passed == passed and store.participant("p").comprehension_attempts == 3
    assert store.release("p") and store.participant("p").returned == clock.now
    assert not store.release("ghost")
    assert [p["status"] for p in store.participants()] == ["returned"]
    store.open_session("p")  # coming back holds the batch again
    assert store.participant("p").returned is None


def test_appended_only_and_extend(stimuli_dir, tmp_path):
    stimuli = load_stimuli(stimuli_dir)
    more = replace(stimuli, batches=[*stimuli.batches, {"batch": 99, "trials": [], "label_order": []}])
    assert appended_only(stimuli, more) is None and appended_only(stimuli, stimuli) is None
    assert appended_only(more, stimuli) == "an existing batch is gone or different"
    sid = next(iter(stimuli.stimuli))
    changed = replace(stimuli, stimuli={**stimuli.stimuli, sid: {**stimuli.stimuli[sid], "kind": "other"}})
    assert appended_only(stimuli, changed) == f"stimulus {sid} is gone or different"
    assert appended_only(stimuli, replace(stimuli, class_names=("a", "b", "c"))) == "other class names"
    store = ResponseStore(tmp_path / "r.sqlite", stimuli)
    with pytest.raises(LevelsetsError, match="is not the served study"):
        store.extend(replace(more, study_id="another"))
    with pytest.raises(LevelsetsError, match="the lease must be positive"):
        ResponseStore(tmp_path / "r.sqlite", stimuli, lease_seconds=0)
    with pytest.raises(LevelsetsError, match="does not exist; give the database `levelsets elicit serve` wrote"):
        ResponseStore(tmp_path / "missing.sqlite")
    reopened = ResponseStore(tmp_path / "r.sqlite")  # for exports: the study comes from the database
    assert reopened.stimuli.study_id == stimuli.study_id and reopened.stimuli.stimuli == stimuli.stimuli
