"""A load and fault check of the study server: simulated participants, a SIGKILL, a restart.

:func:`run_load_check` starts ``levelsets elicit serve`` in a subprocess on a loopback port, runs
``participants`` simulated participants concurrently (each opens its session, consents and posts a
valid random answer to every trial of its batch, retrying on connection errors as the study page
does), kills the server with SIGKILL once ``kill_after`` of all answers have been acknowledged,
restarts it on the same database, lets the clients finish, and then counts the rows in SQLite.
Participants arrive as from a platform link (``STUDY_ID`` and ``SESSION_ID``), pass the
comprehension check, and the server runs with leases (``--lease-minutes``) and a completion code.

*Lost* = acknowledged answers (201 or 200) missing from the database; *duplicated* = rows beyond
one per (participant, stimulus, trial). Both must be 0. ``completion_codes`` counts participants
whose last answer came back with the completion code; ``early_codes`` counts answers that carried
it before the batch was complete (must be 0). Latencies are those of successful
``POST /api/responses`` calls, in milliseconds.

A measurement harness, not part of the installed package (it was ``levelsets.elicitation.loadtest``):
``benchmarks/elicitation_load.py`` runs it, and the tests import it (and its :func:`start_server`) with
``benchmarks/`` on the path (``pythonpath`` in ``pyproject.toml``'s pytest settings).
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from levelsets.elicitation.manifest import load_stimuli

LAUNCH = "import sys; from levelsets.cli import main; sys.argv = ['levelsets'] + sys.argv[1:]; main()"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(stimulus_dir: str | Path, db: str | Path, port: int, *, admin_token: str = "load-check",
                 log: str | Path | None = None, timeout: float = 60.0, extra: Sequence[str] = ()) -> subprocess.Popen:
    """Start ``levelsets elicit serve`` in a subprocess and wait until ``/healthz`` answers.

    ``extra`` are further command-line options of ``levelsets elicit serve``.
    """
    import httpx

    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - handed to the child
    proc = subprocess.Popen(
        [sys.executable, "-c", LAUNCH, "elicit", "serve", str(stimulus_dir), "--db", str(db),
         "--port", str(port), "--admin-token", admin_token, *extra],
        stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with status {proc.returncode} before it was ready (log: {log})")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1.0).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"server did not answer /healthz within {timeout} s (log: {log})")


def random_answer(trial: dict, classes: list[str], rng: np.random.Generator) -> dict:
    """A valid random answer to one trial of a session (soft label or mixing)."""
    if trial["kind"] == "mixed":
        return {"mix_percent": float(rng.integers(0, 101)), "confidence": float(rng.integers(0, 101))}
    order = [classes[i] for i in rng.permutation(len(classes))]
    first_prob = float(rng.integers(30, 101))
    answer = {"most_probable": order[0], "most_probable_prob": first_prob, "second": None,
              "second_prob": None, "impossible": []}
    rest = order[1:]
    if rest and rng.random() < 0.6:
        answer["second"] = rest.pop(0)
        answer["second_prob"] = float(rng.integers(0, int(min(first_prob, 100 - first_prob)) + 1))
    answer["impossible"] = [c for c in rest if rng.random() < 0.4]
    return answer


@dataclass
class _Shared:
    acked: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    latencies: list[float] = field(default_factory=list)
    acked_keys: list[tuple[str, str, int]] = field(default_factory=list)
    retries: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    completion_codes: int = 0
    early_codes: int = 0


def _call(client, method: str, url: str, shared: _Shared, deadline: float, **kwargs):
    """One request, retried on connection errors and 5xx until ``deadline``."""
    import httpx

    while True:
        try:
            start = time.perf_counter()
            response = client.request(method, url, **kwargs)
            elapsed = 1000.0 * (time.perf_counter() - start)
            if response.status_code < 500:
                return response, elapsed
        except httpx.TransportError:
            pass
        with shared.lock:
            shared.retries += 1
        if time.monotonic() > deadline:
            raise RuntimeError(f"{method} {url} kept failing until the deadline")
        time.sleep(0.1)


def _participant(base: str, pid: str, seed: int, shared: _Shared, deadline: float, code: str | None) -> None:
    import httpx

    from levelsets.elicitation.checks import COMPREHENSION

    rng = np.random.default_rng(seed)
    with httpx.Client(base_url=base, timeout=10.0) as client:
        session, _ = _call(client, "GET", "/api/session", shared, deadline,
                           params={"participant": pid, "study_id": "load-study", "session_id": f"session-{pid}"})
        data = session.json()
        _call(client, "POST", "/api/consent", shared, deadline, json={"participant": pid})
        _call(client, "POST", "/api/comprehension", shared, deadline,
              json={"participant": pid, "question": COMPREHENSION.id, "answer": COMPREHENSION.correct})
        last = len(data["trials"]) - 1
        for trial in data["trials"]:
            body = {"participant": pid, "stimulus": trial["stimulus"], "trial": trial["trial"],
                    "rt_ms": float(rng.integers(500, 8000)), **random_answer(trial, data["label_order"], rng)}
            response, elapsed = _call(client, "POST", "/api/responses", shared, deadline, json=body)
            if response.status_code not in (200, 201):
                raise RuntimeError(f"{pid} trial {trial['trial']}: {response.status_code} {response.text}")
            got = (response.json().get("completion") or {}).get("code")
            with shared.lock:
                if got is not None and got == code and trial["trial"] == last:
                    shared.completion_codes += 1
                elif got is not None:
                    shared.early_codes += 1
                shared.acked += 1
                shared.latencies.append(elapsed)
                shared.acked_keys.append((pid, trial["stimulus"], trial["trial"]))
                shared.statuses[response.status_code] = shared.statuses.get(response.status_code, 0) + 1


def run_load_check(stimulus_dir: str | Path, db: str | Path, *, participants: int = 50, kill_after: float = 0.4,
                   seed: int = 0, port: int | None = None, log: str | Path | None = None,
                   timeout: float = 600.0, lease_minutes: float = 30.0, completion_code: str = "LOADCHECK1") -> dict:
    """Run the load and fault check; return counts and latencies (see the module docstring).

    Parameters
    ----------
    stimulus_dir, db:
        As for ``levelsets elicit serve``; ``db`` should be a new file.
    participants:
        Simulated participants, all concurrent (one thread each).
    kill_after:
        Fraction of all answers acknowledged before the SIGKILL (``None`` or 0: never kill).
    seed:
        Seed of the simulated answers.
    port:
        Loopback port (a free one when ``None``).
    log:
        File for the server's output.
    timeout:
        Give up after this many seconds.
    lease_minutes, completion_code:
        Passed to the server (``--lease-minutes``, ``--completion-code``).
    """
    stimuli = load_stimuli(stimulus_dir)
    n_batches = len(stimuli.batches)
    expected = sum(len(stimuli.batches[i % n_batches]["trials"]) for i in range(participants))
    port = port or free_port()
    base = f"http://127.0.0.1:{port}"
    shared = _Shared()
    deadline = time.monotonic() + timeout
    extra = ("--lease-minutes", f"{lease_minutes:g}", "--completion-code", completion_code)
    server = start_server(stimulus_dir, db, port, log=log, extra=extra)
    kills = 0
    started = time.perf_counter()
    try:
        with ThreadPoolExecutor(max_workers=participants) as pool:
            futures = [pool.submit(_participant, base, f"sim-{i:04d}", seed * 100_003 + i, shared, deadline,
                                   completion_code)
                       for i in range(participants)]
            if kill_after:
                while shared.acked < kill_after * expected and not all(f.done() for f in futures):
                    time.sleep(0.01)
                acked_at_kill = shared.acked
                server.send_signal(signal.SIGKILL)
                server.wait()
                kills += 1
                time.sleep(0.3)
                server = start_server(stimulus_dir, db, port, log=log, extra=extra)
            else:
                acked_at_kill = None
            for future in futures:
                future.result()
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait()
    wall = time.perf_counter() - started

    con = sqlite3.connect(db)
    try:
        rows = con.execute("SELECT participant, stimulus, trial FROM responses").fetchall()
        sessions = dict(con.execute("SELECT id, platform_session_id FROM participants").fetchall())
        batches = [b for (b,) in con.execute("SELECT batch FROM participants")]
    finally:
        con.close()
    stored = {tuple(r) for r in rows}
    lost = sum(1 for key in set(shared.acked_keys) if key not in stored)
    latencies = np.asarray(shared.latencies)
    return {
        "participants": participants,
        "expected_responses": expected,
        "acknowledged": shared.acked,
        "stored_rows": len(rows),
        "distinct_stored": len(stored),
        "lost": lost,
        "duplicated": len(rows) - len(stored),
        "missing_vs_expected": expected - len(stored),
        "lease_minutes": lease_minutes,
        "completion_codes": shared.completion_codes,
        "early_codes": shared.early_codes,
        "platform_session_ids_recorded": sum(1 for pid, sid in sessions.items() if sid == f"session-{pid}"),
        "participants_per_batch": {str(b): batches.count(b) for b in range(n_batches)},
        "server_kills": kills,
        "acknowledged_before_kill": acked_at_kill,
        "client_retries": shared.retries,
        "statuses": {str(k): v for k, v in sorted(shared.statuses.items())},
        "post_latency_ms": {
            "p50": float(np.percentile(latencies, 50)) if latencies.size else None,
            "p95": float(np.percentile(latencies, 95)) if latencies.size else None,
            "max": float(latencies.max()) if latencies.size else None,
            "note": "successful POST /api/responses only; a request cut by the kill is retried and timed again",
        },
        "wall_seconds": wall,
    }
