"""Running the study (levelsets.elicitation.server, `levelsets elicit serve`): what it prints, what it refuses."""

import subprocess
import sys

import pytest
from elicitation_loadtest import LAUNCH, free_port

from .study_clients import open_client, read_only, session


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


def test_bind_warning_only_beyond_loopback():
    from levelsets.elicitation.server import bind_warning

    assert bind_warning("127.0.0.1") is None and bind_warning("::1") is None and bind_warning("localhost") is None
    warning = bind_warning("192.168.1.20")
    assert warning.startswith("warning: --host 192.168.1.20 makes the study reachable from other machines")
    assert "TLS reverse proxy" in warning and "\n" not in warning


def test_check_port_refuses_a_port_in_use():
    import socket

    from levelsets.elicitation.server import check_port
    from levelsets.errors import LevelsetsError

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(LevelsetsError) as exc:
            check_port("127.0.0.1", port)
        assert str(exc.value).startswith(f"cannot listen on 127.0.0.1:{port} (")
        assert str(exc.value).endswith("choose another --port or --host")
    check_port("127.0.0.1", free_port())  # a free one passes


def test_serve_prints_the_links_and_a_generated_admin_token(stimuli_dir, tmp_path, monkeypatch, capsys):
    import uvicorn

    from levelsets.elicitation import server
    from levelsets.errors import LevelsetsError

    monkeypatch.setattr(server, "check_port", lambda host, port: None)
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: None)
    ids = tmp_path / "ids.txt"
    ids.write_text("a\nb\n")
    server.serve(stimuli_dir, tmp_path / "r.sqlite", port=8124, allowlist=ids, completion_code="DONE", lease_minutes=5)
    out = capsys.readouterr().out
    token = out.split("admin?token=")[1].split()[0]
    assert len(token) >= 16  # random, since none was given
    assert "listening on http://127.0.0.1:8124/" in out and "leases: 5 min" in out
    assert f"allowlist: 2 participant ids from {ids}" in out and "on completion: code DONE, redirect -" in out
    server.serve(stimuli_dir, tmp_path / "r.sqlite", port=8124)
    assert capsys.readouterr().out.split("admin?token=")[1].split()[0] != token
    for kwargs, needle in (({"port": 0}, "--port 0"), ({"port": 70000}, "--port 70000"),
                           ({"lease_minutes": 0}, "--lease-minutes 0")):
        with pytest.raises(LevelsetsError, match=needle):
            server.serve(stimuli_dir, tmp_path / "other.sqlite", **kwargs)
    assert not (tmp_path / "other.sqlite").exists()
