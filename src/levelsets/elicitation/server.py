"""Run the study app with uvicorn (``levelsets elicit serve``)."""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

from levelsets.errors import LevelsetsError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def serve(stimulus_dir: str | Path, db: str | Path, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
          admin_token: str | None = None, log_level: str = "warning") -> None:
    """Serve the study until interrupted.

    Binds to 127.0.0.1 by default (reachable from this machine only; put a reverse proxy in front
    to publish it). Prints where it listens, where the database is and the admin URL. When no
    ``admin_token`` is given a random one is generated and printed.

    Raises
    ------
    LevelsetsError
        On an unusable stimulus directory or database, a bad port, or a port already in use.
    """
    import socket

    import uvicorn

    from levelsets.elicitation.app import create_app

    if not 0 < port < 65536:
        raise LevelsetsError(f"--port {port} is out of range; use 1 to 65535")
    token = admin_token or secrets.token_urlsafe(16)
    app = create_app(stimulus_dir, db, admin_token=token)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise LevelsetsError(f"cannot listen on {host}:{port} ({exc.strerror}); choose another --port or --host") from None
    shown = f"[{host}]" if ":" in host else host
    base = f"http://{shown}:{port}/"
    print(f"levelsets elicitation server listening on {base}", flush=True)
    print(f"  responses database: {Path(db).expanduser().resolve()} (SQLite, WAL)", flush=True)
    print(f"  stimuli: {app.state.stimuli.root} ({len(app.state.stimuli.stimuli)} stimuli, "
          f"{len(app.state.stimuli.batches)} batches)", flush=True)
    print(f"  participant link: {base}?participant=<id>  (or ?PROLIFIC_PID=<id>)", flush=True)
    print(f"  admin progress: {base}admin?token={token}", flush=True)
    print(f"  API schema (OpenAPI): {base}openapi.json   (stop with Ctrl+C)", flush=True)
    sys.stdout.flush()
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False)
