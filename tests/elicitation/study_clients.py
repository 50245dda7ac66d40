"""Driving the study app in-process (FastAPI's TestClient): sessions, answer bodies, the database's rows."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from contextlib import contextmanager

from fastapi.testclient import TestClient

from levelsets.elicitation.app import create_app

BASE = "http://127.0.0.1"  # the default Host allowlist holds the loopback names only
TOKEN = "s3cret-token"


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


def kinds_of(client):
    return {sid: r["kind"] for sid, r in client.app.state.stimuli.stimuli.items()}


def answer(pid, shown, kinds, **over):
    """A valid body for trial ``shown`` (a mixing judgment or a soft label), with ``over`` changed."""
    body = {"participant": pid, "stimulus": shown["stimulus"], "trial": shown["trial"], "rt_ms": 800}
    if kinds[shown["stimulus"]] == "mixed":
        body |= {"mix_percent": 40, "confidence": 70}
    else:
        body |= {"most_probable": "cat", "most_probable_prob": 60, "second": "dog", "second_prob": 30,
                 "impossible": ["frog"]}
    return body | over


def answer_all(client, pid, *, skip_last=False):
    ses = session(client, pid)
    kinds = kinds_of(client)
    trials = ses["trials"][:-1] if skip_last else ses["trials"]
    replies = [client.post("/api/responses", json=answer(pid, t, kinds)) for t in trials]
    assert all(r.status_code == 201 for r in replies), [r.text for r in replies]
    return ses, replies


def first_soft_trial(ses):
    return next(t for t in ses["trials"] if t["kind"] == "soft_label")


def soft_body(pid, shown, **over):
    body = {"participant": pid, "stimulus": shown["stimulus"], "trial": shown["trial"], "rt_ms": 1234.5,
            "most_probable": "cat", "most_probable_prob": 60, "second": "dog", "second_prob": 30,
            "impossible": ["frog"]}
    body.update(over)
    return body


def rows(db, sql, args=()):
    con = sqlite3.connect(db)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def stored_rows(db):
    """Every stored response: (participant, stimulus, trial, kind, answer JSON), in the order received."""
    return rows(db, "SELECT participant, stimulus, trial, kind, answer FROM responses ORDER BY id")


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
