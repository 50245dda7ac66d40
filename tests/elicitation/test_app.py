"""The participant web app (levelsets.elicitation.app): pages, sessions, the answer flow, completion, allowlist."""

import json

import pytest

from levelsets.elicitation.app import check_completion
from levelsets.elicitation.checks import COMPREHENSION
from levelsets.elicitation.export import export_responses
from levelsets.errors import LevelsetsError

from .study_clients import (
    answer,
    answer_all,
    kinds_of,
    open_client,
    read_only,
    rows,
    session,
    soft_body,
    stored_rows,
)


def test_health_openapi_and_page(client):
    assert client.get("/healthz").json()["status"] == "ok"
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/session", "/api/responses", "/healthz"} <= set(paths)
    assert {"201", "200", "422"} <= set(paths["/api/responses"]["post"]["responses"])
    page = client.get("/")
    assert page.status_code == 200 and "Imagine 100 people" in page.text
    assert "http" not in page.text.split("<main>")[0].replace('http-equiv', '')  # no CDN links in <head>
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "unsafe-inline" not in csp
    assert client.get("/docs").status_code == 404  # the docs UI would load a CDN; the schema is local
    js = client.get("/static/study.js")
    assert js.status_code == 200 and "innerHTML" not in js.text


def test_full_batch_completes(client, db):
    ses = session(client, "bob")
    for t in ses["trials"]:
        if t["kind"] == "mixed":
            body = {"participant": "bob", "stimulus": t["stimulus"], "trial": t["trial"], "rt_ms": 5,
                    "mix_percent": 25, "confidence": 70}
        else:
            body = soft_body("bob", t)
        r = client.post("/api/responses", json=body)
        assert r.status_code == 201, r.text
    assert r.json() == {"stored": True, "next_trial": None, "completed": True, "completion": None}
    assert session(client, "bob")["completed"]
    assert len(stored_rows(db)) == len(ses["trials"])
    stored = json.loads(stored_rows(db)[0][4])
    assert set(stored) in ({"most_probable", "most_probable_prob", "second", "second_prob", "impossible"},
                           {"mix_percent", "confidence"})


def test_stimulus_images_served(client):
    trial = session(client, "frank")["trials"][0]
    r = client.get("/" + trial["image"])
    assert r.status_code == 200 and r.headers["content-type"] == "image/png" and r.content[:4] == b"\x89PNG"


def test_allowlist(stimuli_dir, tmp_path):
    db = tmp_path / "r.sqlite"
    with open_client(stimuli_dir, db, allowlist={"ok-1", "ok-2"}) as client:
        assert session(client, "ok-1")["batch"] == 0
        r = client.get("/api/session", params={"participant": "intruder"})
        assert r.status_code == 403 and r.json()["field"] == "participant"
        assert client.post("/api/consent", json={"participant": "intruder"}).status_code == 403
        assert client.post("/api/return", json={"participant": "intruder"}).status_code == 403
        body = answer("intruder", session(client, "ok-1")["trials"][0], kinds_of(client))
        assert client.post("/api/responses", json=body).status_code == 403
    assert rows(db, "SELECT id FROM participants") == [("ok-1",)]


def test_comprehension_check_recorded_and_exported(stimuli_dir, tmp_path):
    db = tmp_path / "r.sqlite"
    with open_client(stimuli_dir, db) as client:
        ses = session(client, "c1")
        assert ses["comprehension"]["id"] == COMPREHENSION.id and not ses["comprehension"]["passed"]
        assert "correct" not in json.dumps(ses["comprehension"])  # the answer is not sent to the page
        post = lambda answer_id, **kw: client.post("/api/comprehension", json={  # noqa: E731
            "participant": "c1", "question": COMPREHENSION.id, "answer": answer_id, **kw})
        assert post("self").json() == {"correct": False, "attempts": 1}
        assert post("others").json() == {"correct": True, "attempts": 2}
        assert post("nonsense").json()["field"] == "answer"
        assert post("self", question="other-q").json()["field"] == "question"
        assert client.post("/api/comprehension", json={"participant": "ghost", "question": COMPREHENSION.id,
                                                        "answer": "others"}).status_code == 422
        assert session(client, "c1")["comprehension"] == {**ses["comprehension"], "passed": True, "attempts": 2}
        session(client, "c2")
        answer_all(client, "c1")
    _, side, _ = export_responses(db, tmp_path / "responses.json")
    details = json.loads(side.read_text())
    people = {p["id"]: p for p in details["participants"]}
    assert people["c1"]["comprehension_answers"] == ["self", "others"] and people["c1"]["comprehension_passed"]
    assert people["c2"]["comprehension_attempts"] == 0 and people["c2"]["comprehension_passed"] is None
    # attention checks: the catch trials of the batch, with their result
    assert details["catch"] and all(c["participant"] == "c1" and c["passed"] for c in details["catch"])


def test_completion_only_after_the_last_answer_is_committed(stimuli_dir, tmp_path):
    db = tmp_path / "r.sqlite"
    code, url = "CODE42", "https://platform.invalid/submissions/complete?cc={code}"
    with open_client(stimuli_dir, db, completion_code=code, completion_url=url) as client:
        ses, replies = answer_all(client, "done-1", skip_last=True)
        assert ses["completion"] is None and all(code not in r.text for r in replies)
        assert session(client, "done-1")["completion"] is None
        last = answer("done-1", ses["trials"][-1], kinds_of(client))
        with read_only(db):                           # the last commit fails: no code
            failed = client.post("/api/responses", json=last)
        assert failed.status_code == 503 and code not in failed.text
        assert len(rows(db, "SELECT * FROM responses")) == len(ses["trials"]) - 1
        ok = client.post("/api/responses", json=last)
        assert ok.status_code == 201
        assert ok.json()["completion"] == {"code": code, "url": "https://platform.invalid/submissions/complete?cc=CODE42"}
        assert len(rows(db, "SELECT * FROM responses")) == len(ses["trials"])
        assert rows(db, "SELECT completed IS NOT NULL FROM participants WHERE id = 'done-1'") == [(1,)]
        assert session(client, "done-1")["completion"]["code"] == code  # a reload shows it again
        assert client.post("/api/responses", json=last).json()["completion"]["code"] == code  # idempotent retry


@pytest.mark.parametrize("code, url, message", [
    ("", None, "--completion-code"),
    ("has space", None, "--completion-code"),
    (None, "ftp://x/y", "not an absolute http"),
    (None, "/relative/path", "not an absolute http"),
    (None, "https://x/done?cc={code}", "no --completion-code"),
])
def test_completion_options_checked(code, url, message):
    with pytest.raises(LevelsetsError, match=message):
        check_completion(code, url)
