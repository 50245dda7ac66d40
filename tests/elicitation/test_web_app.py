import json
import sqlite3

import pytest
from fastapi.testclient import TestClient

from levelsets.elicitation.app import create_app
from levelsets.elicitation.database import SCHEMA_VERSION
from levelsets.errors import LevelsetsError

TOKEN = "s3cret-token"
BASE = "http://127.0.0.1"  # the default Host allowlist holds the loopback names only


@pytest.fixture
def db(tmp_path):
    return tmp_path / "responses.sqlite"


@pytest.fixture
def client(stimuli_dir, db):
    with TestClient(create_app(stimuli_dir, db, admin_token=TOKEN), base_url=BASE) as c:
        yield c


def rows(db):
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT participant, stimulus, trial, kind, answer FROM responses ORDER BY id").fetchall()
    finally:
        con.close()


def session(client, pid):
    r = client.get("/api/session", params={"participant": pid})
    assert r.status_code == 200, r.text
    return r.json()


def first_soft_trial(ses):
    return next(t for t in ses["trials"] if t["kind"] == "soft_label")


def soft_body(pid, shown, **over):
    body = {"participant": pid, "stimulus": shown["stimulus"], "trial": shown["trial"], "rt_ms": 1234.5,
            "most_probable": "cat", "most_probable_prob": 60, "second": "dog", "second_prob": 30,
            "impossible": ["frog"]}
    body.update(over)
    return body


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
    assert len(rows(db)) == 1
    again = session(client, "alice")
    assert again["consented"] and again["answered"] == [0] and again["next_trial"] == 1


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
    assert len(rows(db)) == len(ses["trials"])
    stored = json.loads(rows(db)[0][4])
    assert set(stored) in ({"most_probable", "most_probable_prob", "second", "second_prob", "impossible"},
                           {"mix_percent", "confidence"})


INVALID = [
    ({"most_probable_prob": 101}, "most_probable_prob"),
    ({"most_probable_prob": -1}, "most_probable_prob"),
    ({"second_prob": 150}, "second_prob"),
    ({"second": "cat"}, "second"),
    ({"impossible": ["cat"]}, "impossible"),
    ({"impossible": ["dog"]}, "impossible"),
    ({"impossible": ["frog", "frog"]}, "impossible"),
    ({"most_probable": "horse"}, "most_probable"),
    ({"second": "horse"}, "second"),
    ({"impossible": ["horse"]}, "impossible"),
    ({"second": None}, "second_prob"),
    ({"second_prob": None}, "second_prob"),
    ({"second_prob": 70}, "second_prob"),
    ({"most_probable_prob": None}, "most_probable_prob"),
    ({"most_probable_prob": "lots"}, "most_probable_prob"),
    ({"stimulus": "no-such-stimulus"}, "stimulus"),
    ({"trial": 5}, "trial"),
    ({"trial": 9999}, "trial"),
    ({"participant": "mallory"}, "participant"),
    ({"participant": "bad\nid"}, "participant"),
    ({"mix_percent": 50}, "mix_percent"),
    ({"rt_ms": -3}, "rt_ms"),
    ({"extra_field": 1}, "extra_field"),
]


@pytest.mark.parametrize("change, field", INVALID, ids=[f"{f}-{i}" for i, (_, f) in enumerate(INVALID)])
def test_invalid_submissions_rejected(client, db, change, field):
    ses = session(client, "carol")
    trial = first_soft_trial(ses)
    body = soft_body("carol", trial, **change)
    if change.get("trial") == 5:
        # an existing trial position that shows another stimulus
        other = next(t for t in ses["trials"] if t["stimulus"] != trial["stimulus"])
        body["trial"] = other["trial"]
    r = client.post("/api/responses", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["field"] == field
    assert r.json()["detail"].startswith(f"{field}:")
    assert rows(db) == []


@pytest.mark.parametrize("missing", ["participant", "stimulus", "trial", "rt_ms", "most_probable"])
def test_missing_field_named(client, db, missing):
    trial = first_soft_trial(session(client, "dan"))
    body = soft_body("dan", trial)
    del body[missing]
    r = client.post("/api/responses", json=body)
    assert r.status_code == 422 and r.json()["field"] == missing
    assert "required" in r.json()["detail"]
    assert rows(db) == []


def test_mixed_trial_checks(client, db):
    for i in range(8):
        ses = session(client, f"m{i}")
        mixed = [t for t in ses["trials"] if t["kind"] == "mixed"]
        if mixed:
            break
    t = mixed[0]
    assert len(t["classes"]) == 2 and t["classes"][0] != t["classes"][1]
    base = {"participant": ses["participant"], "stimulus": t["stimulus"], "trial": t["trial"], "rt_ms": 9}
    bad = client.post("/api/responses", json={**base, "most_probable": "cat", "most_probable_prob": 50})
    assert bad.status_code == 422 and bad.json()["field"] == "most_probable"
    bad = client.post("/api/responses", json={**base, "mix_percent": 40})
    assert bad.status_code == 422 and bad.json()["field"] == "confidence"
    bad = client.post("/api/responses", json={**base, "mix_percent": 140, "confidence": 3})
    assert bad.status_code == 422 and bad.json()["field"] == "mix_percent"
    assert rows(db) == []
    ok = client.post("/api/responses", json={**base, "mix_percent": 40, "confidence": 60})
    assert ok.status_code == 201 and len(rows(db)) == 1


def test_oversized_and_malformed_bodies(client, db):
    trial = first_soft_trial(session(client, "erin"))
    big = soft_body("erin", trial, impossible=["frog"] * 5000)
    r = client.post("/api/responses", json=big)
    assert r.status_code in (413, 422) and r.json()["field"] == "body"
    chunked = client.post("/api/responses", content=iter([b"{" + b" " * 10_000, b" " * 10_000 + b"}"]),
                          headers={"content-type": "application/json"})  # no Content-Length
    assert chunked.status_code == 413 and chunked.json()["field"] == "body"
    r = client.post("/api/responses", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["field"] == "body"
    r = client.post("/api/responses", content=b"[1, 2]", headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert rows(db) == []


def table_cells(page: str) -> list[str]:
    """The text of every ``<td>`` of ``page`` as a browser shows it (entities decoded, no markup)."""
    from html.parser import HTMLParser

    class Cells(HTMLParser):
        def __init__(self):
            super().__init__()
            self.cells, self.open = [], False

        def handle_starttag(self, tag, attrs):
            assert tag != "script", "a <script> element reached the page"
            if tag == "td":
                self.cells.append("")
                self.open = True

        def handle_endtag(self, tag):
            self.open = self.open and tag != "td"

        def handle_data(self, data):
            if self.open:
                self.cells[-1] += data

    parser = Cells()
    parser.feed(page)
    return parser.cells


def test_participant_text_never_rendered_as_html(client, db):
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    ses = session(client, evil)
    assert ses["participant"] == evil
    assert client.post("/api/responses", json=soft_body(evil, first_soft_trial(ses))).status_code == 201
    page = client.get("/admin", params={"token": TOKEN})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<script>alert" not in page.text and "<img src=x" not in page.text
    assert "&lt;script&gt;alert(" in page.text
    assert evil in table_cells(page.text)  # shown as text, exactly as typed
    study = client.get("/", params={"participant": evil})
    assert "<script>alert" not in study.text


def test_platform_session_id_is_escaped_on_the_admin_page(client):
    """The platform's ``SESSION_ID`` comes from the participant's link, so it is participant-supplied text."""
    evil = "</td><script>alert('s')</script>&amp;"
    r = client.get("/api/session", params={"participant": "pat", "study_id": "st", "session_id": evil})
    assert r.status_code == 200, r.text
    page = client.get("/admin", params={"token": TOKEN}).text
    assert "<script>alert" not in page and "</td><script>" not in page
    cells = table_cells(page)
    row = cells.index("pat")
    assert cells[row + 1] == evil  # the literal "&amp;" too: escaped once, not passed through as an entity


@pytest.mark.parametrize("path", [
    "/stimuli/../manifest.json", "/stimuli/%2e%2e/manifest.json", "/stimuli/..%2fmanifest.json",
    "/stimuli/%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd", "/stimuli/manifest.json", "/stimuli/images",
    "/static/../app.py", "/static/%2e%2e/app.py", "/static/..%2fapp.py", "/static/%2e%2e%2f%2e%2e%2ferrors.py",
    "/stimuli//etc/passwd",
])
def test_static_files_confined(client, path):
    r = client.get(path)
    assert r.status_code == 404, (path, r.status_code)
    assert "study_id" not in r.text and "import" not in r.text and "root:" not in r.text


def test_stimulus_images_served(client):
    trial = session(client, "frank")["trials"][0]
    r = client.get("/" + trial["image"])
    assert r.status_code == 200 and r.headers["content-type"] == "image/png" and r.content[:4] == b"\x89PNG"


@pytest.mark.parametrize("path", ["/admin", "/admin/progress", "/admin/export"])
def test_admin_requires_token(client, stimuli_dir, tmp_path, path):
    assert client.get(path).status_code == 401
    assert client.get(path, params={"token": "wrong"}).status_code == 401
    assert client.get(path, headers={"X-Admin-Token": "wrong"}).status_code == 401
    assert client.get(path, params={"token": TOKEN}).status_code == 200
    assert client.get(path, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    with TestClient(create_app(stimuli_dir, tmp_path / "other.sqlite"), base_url=BASE) as no_admin:
        assert no_admin.get(path, params={"token": TOKEN}).status_code == 403


def test_admin_progress_counts(client):
    ses = session(client, "gina")
    client.post("/api/responses", json=soft_body("gina", first_soft_trial(ses)))
    data = client.get("/admin/progress", params={"token": TOKEN}).json()
    assert [p["id"] for p in data["participants"]] == ["gina"] and data["participants"][0]["responses"] == 1
    assert sum(data["per_stimulus"].values()) == 1 and data["per_stimulus"][first_soft_trial(ses)["stimulus"]] == 1
    export = client.get("/admin/export", params={"token": TOKEN}).json()
    assert sum(len(v) for v in export["responses"].values()) + len(export["details"]["catch"]) >= 1


def test_database_schema_wal_and_study_binding(client, db, runs, tmp_path):
    session(client, "hank")
    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert con.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
    finally:
        con.close()
    from levelsets.elicitation.stimuli import StimuliSettings, export_stimuli

    other = export_stimuli(runs, tmp_path / "other", StimuliSettings(size=8, seed=99), progress=False)
    with pytest.raises(LevelsetsError, match="belongs to study"):
        create_app(other, db)
    not_db = tmp_path / "junk.sqlite"
    not_db.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(LevelsetsError, match="not a levelsets response database"):
        create_app(other, not_db)
    with pytest.raises(LevelsetsError, match="does not exist"):
        create_app(other, tmp_path / "missing-dir" / "r.sqlite")
