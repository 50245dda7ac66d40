"""The study's admin pages: progress (HTML and JSON), the export, marking a participant returned.

``GET /admin``, ``GET /admin/progress``, ``GET /admin/export`` and ``POST /admin/return`` need the
admin token (``?token=``, ``X-Admin-Token`` or ``Authorization: Bearer``); without a token the
server was started with, they answer 403. Participant-provided text is escaped with
:func:`html.escape` before it goes into the page.
"""

from __future__ import annotations

import html
import secrets
from collections.abc import Callable
from importlib import resources
from string import Template

from fastapi import FastAPI, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse

from levelsets.elicitation.manifest import StimulusSet
from levelsets.elicitation.security import error_response as _error
from levelsets.elicitation.store import ResponseStore
from levelsets.elicitation.study import StudyWatcher


def page_template(name: str) -> Template:
    """The ``string.Template`` of ``templates/<name>`` shipped with the package."""
    return Template(resources.files("levelsets.elicitation").joinpath("templates", name).read_text(encoding="utf-8"))


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
        people = "\n".join(
            f"<tr><td>{html.escape(p['id'])}</td><td>{html.escape(p['platform_session_id'] or '')}</td>"
            f"<td>{p['batch']}</td><td>{p['responses']}</td><td>{p['status']}</td>"
            f"<td>{'yes' if p['consented'] else 'no'}</td>"
            f"<td>{'yes' if p['comprehension_passed'] else 'no'} ({p['comprehension_attempts']})</td>"
            f"<td>{'yes' if p['completed'] else 'no'}</td></tr>"
            for p in data["participants"]
        )
        per_stimulus = "\n".join(
            f"<tr><td>{html.escape(sid)}</td><td>{n}</td></tr>" for sid, n in data["per_stimulus"].items()
        )
        per_batch = "\n".join(
            f"<tr><td>{b['batch']}</td><td>{b['completed']}</td><td>{b['leased']}</td></tr>" for b in data["batches"]
        )
        page = page_template("admin.html").substitute(
            study_id=html.escape(stimuli.study_id), participants=people, stimuli=per_stimulus, batches=per_batch,
            n_participants=len(data["participants"]), n_responses=sum(data["per_stimulus"].values()),
            lease_minutes=f"{lease_minutes:g}",
        )
        return HTMLResponse(page)
