"""HTTP hardening (levelsets.elicitation.security): body limit, headers, Host allowlist, confined files."""

import json
import shutil

import pytest

from levelsets.elicitation.security import allowed_hosts, is_loopback
from levelsets.errors import LevelsetsError

from .study_clients import (
    TOKEN,
    first_soft_trial,
    open_client,
    rows,
    session,
    soft_body,
    stored_rows,
)


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
    assert stored_rows(db) == []


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


def test_normalize_host():
    from levelsets.elicitation.security import normalize_host

    assert normalize_host(" Study.Example.ORG ") == "study.example.org"
    assert normalize_host("::1") == "[::1]" and normalize_host("[0:0::1]") == "[::1]"
    assert normalize_host("10.0.0.5") == "10.0.0.5" and normalize_host("*.example.org") == "*.example.org"
    for bad in ("https://a.example", "a.example:8000", "under_score.example", "-lead.example", "a..b"):
        with pytest.raises(LevelsetsError, match="is not a host name; give the name participants use"):
            normalize_host(bad)


def test_read_confined_serves_regular_files_inside_the_root_only(tmp_path):
    from levelsets.elicitation.security import read_confined

    root = tmp_path / "root"
    (root / "images").mkdir(parents=True)
    (root / "images" / "a.png").write_bytes(b"inside")
    (tmp_path / "secret.png").write_bytes(b"outside")
    (root / "images" / "link-in.png").symlink_to(root / "images" / "a.png")
    (root / "images" / "link-out.png").symlink_to(tmp_path / "secret.png")
    root = root.resolve()
    assert read_confined(root, "images/a.png") == b"inside"
    assert read_confined(root, "images/link-in.png") == b"inside"  # a symlink that stays inside is followed
    for refused in ("images/link-out.png", "../secret.png", "images", "images/missing.png", "/etc/passwd"):
        assert read_confined(root, refused) is None, refused


def test_read_confined_refuses_files_over_the_limit(tmp_path, monkeypatch):
    from levelsets.elicitation import security

    (tmp_path / "big.png").write_bytes(b"x" * 11)
    (tmp_path / "ok.png").write_bytes(b"x" * 10)
    monkeypatch.setattr(security, "MAX_STIMULUS_BYTES", 10)
    assert security.read_confined(tmp_path.resolve(), "big.png") is None
    assert security.read_confined(tmp_path.resolve(), "ok.png") == b"x" * 10


def test_error_response_names_the_field():
    from levelsets.elicitation.security import error_response

    r = error_response(422, "trial", "unknown trial")
    assert r.status_code == 422 and json.loads(r.body) == {"detail": "trial: unknown trial", "field": "trial"}
    assert json.loads(error_response(413, None, "too big").body) == {"detail": "too big", "field": None}
