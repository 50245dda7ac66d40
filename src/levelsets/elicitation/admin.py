"""The study's admin pages: progress (HTML and JSON), the export, marking a participant returned.

``GET /admin``, ``GET /admin/progress``, ``GET /admin/export`` and ``POST /admin/return`` need the
admin token (``?token=``, ``X-Admin-Token`` or ``Authorization: Bearer``); without a token the
server was started with, they answer 403. The pages are Jinja2 templates (``templates/``) rendered
with autoescape on, so participant-provided text reaches the page escaped.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from functools import cache
from typing import Any

import jinja2
from fastapi import FastAPI, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse

from levelsets.elicitation.manifest import StimulusSet
from levelsets.elicitation.security import error_response as _error
from levelsets.elicitation.store import ResponseStore
from levelsets.elicitation.study import StudyWatcher


@cache
def _templates() -> jinja2.Environment:
    """The package's page templates, HTML-escaping every ``{{ value }}`` (``autoescape``)."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("levelsets.elicitation", "templates"),
        autoescape=jinja2.select_autoescape(["html"]), undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True,
    )


def render_page(name: str, **context: Any) -> str:
    """Render ``templates/<name>`` with ``context``; every value is HTML-escaped unless marked safe.

    A name the template uses but ``context`` lacks is an error (``StrictUndefined``), not an empty
    string.
    """
    return _templates().get_template(name).render(**context)


def add_admin_routes(app: FastAPI, *, store: ResponseStore, stimuli: StimulusSet, current: Callable[[], StimulusSet],
                     watcher: StudyWatcher | None, admin_token: str | None, lease_minutes: float) -> None:
    """Add the admin routes of the module docstring to ``app``.

    Parameters
    ----------
    store, stimuli:
        The study's response store and the stimulus set it was opened with.
    current:
        Returns the served stimulus set (taking up a live study's new rounds first).
    watcher:
        The live study's watcher (its last error is shown), or ``None``.
    admin_token:
        The token the pages need; ``None`` disables them.
    lease_minutes:
        The lease, shown on the progress page.
    """

    def _authorized(request: Request) -> JSONResponse | None:
        if admin_token is None:
            return _error(403, None, "admin pages are disabled; restart the server with --admin-token")
        given = (request.query_params.get("token") or request.headers.get("x-admin-token")
                 or request.headers.get("authorization", "").removeprefix("Bearer ").strip())
        if not given or not secrets.compare_digest(given.encode(), admin_token.encode()):
            return _error(401, "token", "admin token missing or wrong; pass ?token=... or the X-Admin-Token header")
        return None

    def _progress_data() -> dict:
        served = current()
        return {"study_id": stimuli.study_id, "rounds": max((b.get("round", 1) for b in served.batches), default=1),
                "participants": store.participants(),
                "per_stimulus": store.counts_per_stimulus(), "batches": store.batch_load(),
                "lease_minutes": lease_minutes, "study_error": None if watcher is None else watcher.last_error}

    @app.get("/admin/progress", summary="Responses per stimulus, per participant and per batch (admin token)")
    def admin_progress(request: Request):
        denied = _authorized(request)
        return denied or _progress_data()

    @app.post("/admin/return", summary="Mark a participant returned, freeing their batch (admin token)")
    def admin_return(request: Request, participant: str = Query(..., max_length=128)):
        denied = _authorized(request)
        if denied:
            return denied
        if store.participant(participant) is None:
            return _error(404, "participant", "no such participant")
        if not store.release(participant):
            return _error(409, "participant", "this participant completed the study; a completed batch is kept")
        return {"returned": True}

    @app.get("/admin/export", summary="CIFAR-10S responses and details, as `levelsets elicit export` (admin token)")
    def admin_export(request: Request):
        denied = _authorized(request)
        if denied:
            return denied
        from levelsets.elicitation.export import build_export

        responses, details = build_export(store)
        return {"responses": responses, "details": details}

    @app.get("/admin", response_class=HTMLResponse, include_in_schema=False)
    def admin_page(request: Request):
        denied = _authorized(request)
        if denied:
            return denied
        data = _progress_data()
        page = render_page(
            "admin.html", study_id=stimuli.study_id, participants=data["participants"],
            per_stimulus=data["per_stimulus"], batches=data["batches"],
            n_responses=sum(data["per_stimulus"].values()), lease_minutes=lease_minutes,
        )
        return HTMLResponse(page)
