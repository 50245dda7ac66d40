"""Run the study app with uvicorn (``levelsets elicit serve``)."""

from __future__ import annotations

import secrets
import sys
from pathlib import Path
from typing import Any

from levelsets.elicitation.elicit_settings import ServeJob
from levelsets.errors import LevelsetsError

PLATFORM_QUERY = "PROLIFIC_PID={{%PROLIFIC_PID%}}&STUDY_ID={{%STUDY_ID%}}&SESSION_ID={{%SESSION_ID%}}"
"""The query string to give the platform (Prolific fills in the three ids)."""


def bind_warning(host: str) -> str | None:
    """The warning line printed when ``host`` is not a loopback address, else None."""
    from levelsets.elicitation.security import is_loopback

    if is_loopback(host):
        return None
    return (f"warning: --host {host} makes the study reachable from other machines over plain HTTP; "
            "bind 127.0.0.1 behind a TLS reverse proxy instead (see docs/elicitation.md, deployment)")


def check_port(host: str, port: int) -> None:
    """Raise :class:`LevelsetsError` when ``host:port`` cannot be listened on right now."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise LevelsetsError(f"cannot listen on {host}:{port} ({exc.strerror}); choose another --port or --host") from None


def serve(stimulus_dir: str | Path, db: str | Path, **settings: Any) -> None:
    """Serve the study until interrupted.

    ``settings`` are the other fields of :class:`~levelsets.elicitation.elicit_settings.ServeJob`
    (``host``, ``port``, ``admin_token``, ``allowed_host``, ``completion_code``, ``completion_url``,
    ``lease_minutes``, ``allowlist``, ``log_level``), checked there.

    Binds to 127.0.0.1 by default (reachable from this machine only; put a TLS reverse proxy in
    front to publish it and name its host with ``allowed_host``). Prints where it listens, where
    the database is and the admin URL; prints a warning line on stderr when binding beyond
    loopback. When no ``admin_token`` is given a random one is generated and printed.

    Raises
    ------
    LevelsetsError
        On an unusable stimulus directory, allowlist or database (missing directory, another
        study's, not writable), a bad option, or a port already in use.
    """
    import uvicorn

    from levelsets.elicitation.answers import read_allowlist
    from levelsets.elicitation.app import create_app

    job = ServeJob(stimulus_dir=Path(stimulus_dir), db=Path(db), **settings)
    host, port, admin_token, allowed_host = job.host, job.port, job.admin_token, job.allowed_host
    completion_code, completion_url, lease_minutes, allowlist = job.completion_code, job.completion_url, job.lease_minutes, job.allowlist
    allowed = None if allowlist is None else read_allowlist(allowlist)
    token = admin_token or secrets.token_urlsafe(16)
    app = create_app(stimulus_dir, db, admin_token=token, allowed_host=allowed_host, completion_code=completion_code,
                     completion_url=completion_url, lease_minutes=lease_minutes, allowlist=allowed)
    check_port(host, port)
    shown = f"[{host}]" if ":" in host else host
    base = f"http://{shown}:{port}/"
    warning = bind_warning(host)
    if warning:
        print(warning, file=sys.stderr, flush=True)
    print(f"levelsets elicitation server listening on {base}", flush=True)
    print(f"  responses database: {Path(db).expanduser().resolve()} (SQLite, WAL)", flush=True)
    print(f"  stimuli: {app.state.stimuli.root} ({len(app.state.stimuli.stimuli)} stimuli, "
          f"{len(app.state.stimuli.batches)} batches); leases: {lease_minutes:g} min", flush=True)
    print(f"  accepted Host names: {', '.join(app.state.allowed_hosts)}", flush=True)
    print(f"  participant link: {base}?participant=<id>  (platform link: {base}?{PLATFORM_QUERY})", flush=True)
    if allowed is not None:
        print(f"  allowlist: {len(allowed)} participant ids from {allowlist}", flush=True)
    if completion_code or completion_url:
        print(f"  on completion: code {completion_code or '-'}, redirect {completion_url or '-'}", flush=True)
    print(f"  admin progress: {base}admin?token={token}", flush=True)
    print(f"  API schema (OpenAPI): {base}openapi.json   (stop with Ctrl+C)", flush=True)
    sys.stdout.flush()
    uvicorn.run(app, host=host, port=port, log_level=job.log_level, access_log=False)
