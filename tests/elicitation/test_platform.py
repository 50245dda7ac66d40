"""Running the study on a crowdsourcing platform: platform ids, leases, completion, hardening."""

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from contextlib import contextmanager

import pytest
from elicitation_loadtest import LAUNCH, free_port
from fastapi.testclient import TestClient

from levelsets.elicitation.app import check_completion, create_app
from levelsets.elicitation.checks import COMPREHENSION
from levelsets.elicitation.export import export_responses
from levelsets.elicitation.security import allowed_hosts, is_loopback
from levelsets.errors import LevelsetsError

BASE = "http://127.0.0.1"
TOKEN = "tok"


class Clock:
    """A settable clock (Unix seconds) injected into the app, so leases expire without sleeping."""

    def __init__(self, now=1_000_000.0):
        self.now = now

    def __call__(self):
        return self.now

    def advance(self, minutes):
        self.now += 60.0 * minutes


def open_client(stimuli_dir, db, **kwargs):
    return TestClient(create_app(stimuli_dir, db, admin_token=TOKEN, **kwargs), base_url=BASE)


def session(client, pid, **params):
    r = client.get("/api/session", params={"participant": pid, **params})
    assert r.status_code == 200, r.text
    return r.json()


def answer(pid, shown, kinds, **over):
    body = {"participant": pid, "stimulus": shown["stimulus"], "trial": shown["trial"], "rt_ms": 800}
    if kinds[shown["stimulus"]] == "mixed":
        body |= {"mix_percent": 40, "confidence": 70}
    else:
        body |= {"most_probable": "cat", "most_probable_prob": 60, "second": "dog", "second_prob": 30,
                 "impossible": ["frog"]}
    return body | over


def kinds_of(client):
    return {sid: r["kind"] for sid, r in client.app.state.stimuli.stimuli.items()}


def answer_all(client, pid, *, skip_last=False):
    ses = session(client, pid)
    kinds = kinds_of(client)
    trials = ses["trials"][:-1] if skip_last else ses["trials"]
    replies = [client.post("/api/responses", json=answer(pid, t, kinds)) for t in trials]
    assert all(r.status_code == 201 for r in replies), [r.text for r in replies]
    return ses, replies


def rows(db, sql, args=()):
    con = sqlite3.connect(db)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


@contextmanager
def read_only(path):
    """Make ``path`` unwritable even for root (immutable flag) or, for other users, by permissions."""
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", str(path)], check=True)
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", str(path)], check=True)
    else:
        mode = path.stat().st_mode
        path.chmod(0o555 if path.is_dir() else 0o444)
        try:
            yield
        finally:
            path.chmod(mode)


# leases and balanced assignment ---------------------------------------------------------------
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


# allowlist ------------------------------------------------------------------------------------
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


def test_allowlist_file(tmp_path):
    from levelsets.elicitation.answers import read_allowlist

    good = tmp_path / "ids.txt"
    good.write_text("# platform ids\nabc\n\n  def  \nabc\n")
    assert read_allowlist(good) == frozenset({"abc", "def"})
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing\n\n")
    with pytest.raises(LevelsetsError, match="lists no participant id"):
        read_allowlist(empty)
    with pytest.raises(LevelsetsError, match="does not exist"):
        read_allowlist(tmp_path / "missing.txt")
    long = tmp_path / "long.txt"
    long.write_text("ok\n" + "x" * 200 + "\n")
    with pytest.raises(LevelsetsError, match="line 2"):
        read_allowlist(long)


# platform ids and export ----------------------------------------------------------------------
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


# comprehension and attention checks -----------------------------------------------------------
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


# completion code and redirect -----------------------------------------------------------------
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


# 409 and strict types -------------------------------------------------------------------------
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


STRICT_CASES = [
    ({"most_probable_prob": "60"}, "most_probable_prob"),
    ({"most_probable_prob": True}, "most_probable_prob"),
    ({"second_prob": "30"}, "second_prob"),
    ({"second_prob": False}, "second_prob"),
    ({"trial": "0"}, "trial"),
    ({"trial": True}, "trial"),
    ({"trial": 0.0}, "trial"),
    ({"rt_ms": "800"}, "rt_ms"),
    ({"rt_ms": True}, "rt_ms"),
    ({"participant": 7}, "participant"),
    ({"most_probable": 1}, "most_probable"),
    ({"impossible": "frog"}, "impossible"),
    ({"impossible": [1]}, "impossible.0"),
]


@pytest.mark.parametrize("change, field", STRICT_CASES, ids=[f"{f}-{i}" for i, (_, f) in enumerate(STRICT_CASES)])
def test_strict_types(stimuli_dir, tmp_path, change, field):
    db = tmp_path / "r.sqlite"
    with open_client(stimuli_dir, db) as client:
        ses = session(client, "s")
        trial = next(t for t in ses["trials"] if kinds_of(client)[t["stimulus"]] != "mixed")
        body = answer("s", trial, kinds_of(client), **change)
        r = client.post("/api/responses", json=body)
        assert r.status_code == 422, r.text
        assert r.json()["field"] == field
        assert rows(db, "SELECT * FROM responses") == []
        # the same body with proper JSON numbers (integers are numbers) is stored
        fixed = answer("s", trial, kinds_of(client), most_probable_prob=60, second_prob=30.0)
        assert client.post("/api/responses", json=fixed).status_code == 201


def test_strict_types_mixing_nan_and_consent(stimuli_dir, tmp_path):
    with open_client(stimuli_dir, tmp_path / "r.sqlite") as client:
        for i in range(8):
            ses = session(client, f"m{i}")
            mixed = [t for t in ses["trials"] if t["kind"] == "mixed"]
            if mixed:
                break
        base = {"participant": ses["participant"], "stimulus": mixed[0]["stimulus"], "trial": mixed[0]["trial"],
                "rt_ms": 5}
        for bad in ({"mix_percent": "50", "confidence": 50}, {"mix_percent": 50, "confidence": True}):
            r = client.post("/api/responses", json={**base, **bad})
            assert r.status_code == 422 and r.json()["field"] in bad
        nan = json.dumps({**base, "mix_percent": 50}).replace("}", ', "confidence": NaN}').encode()
        r = client.post("/api/responses", content=nan, headers={"content-type": "application/json"})
        assert r.status_code == 422 and r.json()["field"] == "confidence"
        assert client.post("/api/consent", json={"participant": 5}).status_code == 422
        assert client.post("/api/responses", json={**base, "mix_percent": 50, "confidence": 50}).status_code == 201


# Host allowlist and headers -------------------------------------------------------------------
@pytest.mark.parametrize("host, status", [
    ("127.0.0.1:8000", 200), ("localhost", 200), ("localhost:8000", 200), ("[::1]:8000", 200),
    ("evil.example", 400), ("evil.example:8000", 400), ("127.0.0.1.evil.example", 400), ("", 400),
    ("study.example.org", 200), ("study.example.org:443", 200), ("sub.study.example.org", 400),
])
def test_host_allowlist(stimuli_dir, tmp_path, host, status):
    with open_client(stimuli_dir, tmp_path / "r.sqlite", allowed_host=["Study.Example.org"]) as client:
        r = client.get("/api/session", params={"participant": "h"}, headers={"host": host})
        assert r.status_code == status, r.text
    count = rows(tmp_path / "r.sqlite", "SELECT COUNT(*) FROM participants")[0][0]
    assert count == (1 if status == 200 else 0)


def test_host_allowlist_defaults_and_checks(stimuli_dir, tmp_path):
    with open_client(stimuli_dir, tmp_path / "r.sqlite") as client:
        assert client.get("/healthz", headers={"host": "study.example.org"}).status_code == 400
        assert client.get("/healthz", headers={"host": "localhost:1234"}).status_code == 200
    assert allowed_hosts(["::1", "10.0.0.5", "a.example"]) == ["127.0.0.1", "localhost", "[::1]", "10.0.0.5", "a.example"]
    for bad in ("https://a.example", "a.example:443", "a b", "*"):
        with pytest.raises(LevelsetsError, match="--allowed-host"):
            allowed_hosts([bad])
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.2") and not is_loopback("::")


def test_security_headers(stimuli_dir, tmp_path):
    with open_client(stimuli_dir, tmp_path / "r.sqlite") as client:
        page = client.get("/")
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        assert page.headers["x-frame-options"] == "DENY"
        session(client, "hd")
        for path in ("/admin", "/admin/progress", "/admin/export"):
            r = client.get(path, params={"token": TOKEN})
            assert r.status_code == 200 and r.headers["cache-control"] == "no-store", path
            assert r.headers["x-frame-options"] == "DENY"
        assert client.get("/admin").headers["cache-control"] == "no-store"  # refusals too
        assert client.get("/api/session", params={"participant": "hd"}).headers["cache-control"] == "no-store"
        assert "no-store" not in client.get("/static/study.js").headers.get("cache-control", "")
        assert client.get("/healthz", headers={"host": "evil.example"}).headers["x-frame-options"] == "DENY"


def test_warning_when_binding_beyond_loopback(stimuli_dir, tmp_path, monkeypatch, capsys):
    import uvicorn

    from levelsets.elicitation import server

    calls = []
    monkeypatch.setattr(server, "check_port", lambda host, port: None)
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append(kw))
    server.serve(stimuli_dir, tmp_path / "a.sqlite", host="0.0.0.0", port=8123, admin_token="t",
                 allowed_host=["study.example.org"])
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("warning: --host 0.0.0.0 makes the study reachable")
    server.serve(stimuli_dir, tmp_path / "b.sqlite", host="127.0.0.1", port=8123, admin_token="t")
    out = capsys.readouterr()
    assert out.err == "" and "STUDY_ID={{%STUDY_ID%}}" in out.out and "study.example.org" not in out.out
    assert [kw["host"] for kw in calls] == ["0.0.0.0", "127.0.0.1"]


# read-only database ---------------------------------------------------------------------------
def _serve(stimuli_dir, db, *extra):
    return subprocess.run([sys.executable, "-c", LAUNCH, "elicit", "serve", str(stimuli_dir), "--db", str(db),
                           "--port", str(free_port()), *extra], capture_output=True, text=True, timeout=60)


def test_refuses_to_start_on_a_read_only_database(stimuli_dir, tmp_path):
    db = tmp_path / "r.sqlite"
    with open_client(stimuli_dir, db) as client:
        session(client, "before")
    before = db.read_bytes()
    with read_only(db):
        done = _serve(stimuli_dir, db)
    assert done.returncode == 2, done
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: --db {db} cannot be written"), done.stderr
    assert "readonly" in lines[0] and "Traceback" not in done.stderr
    assert "listening" not in done.stdout
    assert db.read_bytes() == before


def test_refuses_to_start_in_a_read_only_directory(stimuli_dir, tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    with read_only(folder):
        done = _serve(stimuli_dir, folder / "new.sqlite")
    assert done.returncode == 2, done
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot be written" in lines[0] and "listening" not in done.stdout
    assert list(folder.iterdir()) == []


def test_bad_options_are_one_line_errors(stimuli_dir, tmp_path):
    for extra, message in ((["--allowlist", str(tmp_path / "none.txt")], "--allowlist"),
                           (["--allowed-host", "https://x.example"], "--allowed-host"),
                           (["--lease-minutes", "0"], "--lease-minutes"),
                           (["--completion-url", "nope"], "--completion-url")):
        done = _serve(stimuli_dir, tmp_path / "r.sqlite", *extra)
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 2 and len(lines) == 1 and message in lines[0], (extra, done.stderr)


# stimulus files -------------------------------------------------------------------------------
def test_stimulus_swapped_for_a_symlink_after_start_is_not_served(stimuli_dir, tmp_path):
    stim = tmp_path / "stim"
    shutil.copytree(stimuli_dir, stim)
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"\x89PNG SECRET outside the stimulus folder")
    with open_client(stim, tmp_path / "r.sqlite") as client:
        trials = session(client, "sym")["trials"]
        first, second = trials[0]["image"], next(t["image"] for t in trials if t["image"] != trials[0]["image"])
        path = stim / "images" / first.split("/")[-1]
        assert client.get("/" + first).status_code == 200
        path.unlink()
        path.symlink_to(secret)                       # escapes the folder: refused
        r = client.get("/" + first)
        assert r.status_code == 404 and b"SECRET" not in r.content
        path.unlink()
        path.symlink_to(stim / "images" / second.split("/")[-1])  # stays inside: served
        ok = client.get("/" + first)
        assert ok.status_code == 200 and ok.content == (stim / "images" / second.split("/")[-1]).read_bytes()
        path.unlink()
        path.mkdir()                                  # not a regular file
        assert client.get("/" + first).status_code == 404
        path.rmdir()
        outside = tmp_path / "elsewhere"
        shutil.copytree(stim / "images", outside)
        shutil.rmtree(stim / "images")
        (stim / "images").symlink_to(outside)         # the folder itself swapped for a symlink
        assert client.get("/" + second).status_code == 404


# schema upgrade -------------------------------------------------------------------------------
V1_SCHEMA = """
CREATE TABLE schema_version (version INTEGER NOT NULL);
CREATE TABLE study (study_id TEXT PRIMARY KEY, stimulus_set TEXT NOT NULL, created REAL NOT NULL);
CREATE TABLE participants (id TEXT PRIMARY KEY, batch INTEGER NOT NULL, ordinal INTEGER NOT NULL UNIQUE,
    created REAL NOT NULL, consented REAL, completed REAL);
CREATE TABLE responses (id INTEGER PRIMARY KEY AUTOINCREMENT, participant TEXT NOT NULL REFERENCES participants(id),
    stimulus TEXT NOT NULL, trial INTEGER NOT NULL, kind TEXT NOT NULL, answer TEXT NOT NULL, rt_ms REAL NOT NULL,
    received REAL NOT NULL, UNIQUE (participant, stimulus, trial));
"""


def test_version_1_database_is_upgraded(stimuli_dir, tmp_path):
    from levelsets.elicitation.manifest import load_stimuli

    stimuli = load_stimuli(stimuli_dir)
    db = tmp_path / "v1.sqlite"
    con = sqlite3.connect(db)
    con.executescript(V1_SCHEMA)
    con.execute("INSERT INTO schema_version VALUES (1)")
    con.execute("INSERT INTO study VALUES (?, ?, 0)", (stimuli.study_id, json.dumps(stimuli.to_dict())))
    con.execute("INSERT INTO participants VALUES ('old', 0, 0, 0, 1, NULL)")
    con.commit()
    con.close()
    with open_client(stimuli_dir, db) as client:
        assert session(client, "old")["batch"] == 0 and session(client, "new")["batch"] == 1
    assert rows(db, "SELECT version FROM schema_version") == [(2,)]
    assert rows(db, "SELECT id, consented, platform_session_id FROM participants ORDER BY ordinal") == [
        ("old", 1.0, None), ("new", None, None)]
