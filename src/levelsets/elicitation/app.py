"""The participant web app (FastAPI): consent → instructions → comprehension check → trials → debrief.

Routes (the JSON API is documented in the OpenAPI schema at ``/openapi.json``; its bodies are the
models of :mod:`levelsets.elicitation.api_models`):

``GET /``
    the study page (plain HTML + JS served from this package; nothing from a CDN). The participant
    id comes from ``?PROLIFIC_PID=``, ``?participant=``, ``?workerId=`` or ``?PARTICIPANT_ID=``, or
    is generated in the browser and kept in the URL and local storage, so a reload resumes. The
    platform's ``?STUDY_ID=`` and ``?SESSION_ID=`` are passed on and recorded.
``GET /api/session?participant=ID[&study_id=STUDY_ID&session_id=SESSION_ID]``
    the participant's trials (in batch order), class-button order, progress and comprehension
    question; assigns a batch on the first visit (balanced, leased: see
    :mod:`levelsets.elicitation.store`) and renews the lease. ``completion`` (code and redirect
    URL) is present only once every trial is stored.
``POST /api/consent``, ``POST /api/comprehension``, ``POST /api/return``
    record consent; one attempt at the comprehension question; the participant stopping (frees
    the batch).
``POST /api/responses``
    201 when stored, 200 when the same answer to this (participant, stimulus, trial) was already
    stored (a retry), 409 when that trial already holds a *different* answer (nothing changed),
    422 with ``{"detail": "<field>: <what is wrong>", "field": "<field>"}`` when invalid (nothing
    stored; types are strict), 413 when the body exceeds :data:`MAX_BODY_BYTES`. The answer that
    completes the batch carries ``completion``, sent only after its transaction is committed.
``GET /stimuli/<file>``
    a stimulus PNG: only files listed in the manifest, and only when the file still resolves to a
    regular file inside the stimulus directory (checked on every request).
``GET /healthz``
    liveness.
``GET /admin``, ``GET /admin/progress``, ``GET /admin/export``, ``POST /admin/return``
    progress page (responses per stimulus, per participant, batch load), the same as JSON, the
    export, and marking a participant returned; they need the admin token (``?token=``,
    ``X-Admin-Token`` or ``Authorization: Bearer``) (:mod:`levelsets.elicitation.admin`).

Every response carries the headers of :mod:`levelsets.elicitation.security` (CSP with
``frame-ancestors 'none'``, ``X-Frame-Options: DENY``, ``no-store`` on admin and API), and a
request whose ``Host`` is not allowed gets 400. With an allowlist, other participant ids get 403.
Participant-provided text is never put into HTML unescaped: the study page sets it with
``textContent``, and the pages are Jinja2 templates rendered with autoescape on.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable
from importlib import resources
from pathlib import Path
from urllib.parse import quote, urlsplit

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.trustedhost import TrustedHostMiddleware

from levelsets.elicitation.admin import add_admin_routes, render_page
from levelsets.elicitation.answers import (
    AnswerError,
    ResponseIn,
    check_answer,
    check_participant_id,
    check_platform_id,
)
from levelsets.elicitation.api_models import (
    Completion,
    Comprehension,
    ComprehensionIn,
    ErrorOut,
    ParticipantIn,
    SessionOut,
    SessionTrial,
    StoredOut,
)
from levelsets.elicitation.checks import COMPREHENSION
from levelsets.elicitation.manifest import StimulusSet, load_stimuli
from levelsets.elicitation.security import (
    CONTENT_SECURITY_POLICY,  # noqa: F401 - re-exported
    BodyLimit,
    SecurityHeaders,
    allowed_hosts,
    read_confined,
)
from levelsets.elicitation.security import error_response as _error
from levelsets.elicitation.store import DEFAULT_LEASE_SECONDS, AnswerConflict, ResponseStore
from levelsets.elicitation.study import RECHECK_SECONDS, StudyWatcher, is_study
from levelsets.errors import LevelsetsError

MAX_BODY_BYTES = 16 * 1024
"""Largest request body accepted (a response is a few hundred bytes)."""

CODE_PLACEHOLDER = "{code}"
"""Replaced by the (URL-encoded) completion code in ``completion_url``."""


def check_completion(code: str | None, url: str | None) -> None:
    """Check ``--completion-code`` / ``--completion-url``.

    Raises
    ------
    LevelsetsError
        A code that is empty, long or has spaces or control characters; a URL that is not
        absolute http(s); a ``{code}`` placeholder without a code.
    """
    if code is not None and (not code or len(code) > 128 or any(c.isspace() or not c.isprintable() for c in code)):
        raise LevelsetsError("--completion-code must be 1 to 128 printable characters without spaces, e.g. C1A2B3C4")
    if url is not None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in url):
            raise LevelsetsError(
                f"--completion-url {url!r} is not an absolute http(s) URL; give the platform's completion link, "
                "e.g. https://<platform>/submissions/complete?cc=C1A2B3C4"
            )
        if CODE_PLACEHOLDER in url and code is None:
            raise LevelsetsError("--completion-url contains {code} but no --completion-code was given")


def create_app(stimulus_dir: str | Path, db: str | Path, *, admin_token: str | None = None,
               max_body_bytes: int = MAX_BODY_BYTES, allowed_host: Iterable[str] = (),
               completion_code: str | None = None, completion_url: str | None = None,
               lease_minutes: float = DEFAULT_LEASE_SECONDS / 60, allowlist: Iterable[str] | None = None,
               clock: Callable[[], float] = time.time, recheck_seconds: float = RECHECK_SECONDS) -> FastAPI:
    """Build the study app for one stimulus directory and one database.

    Parameters
    ----------
    stimulus_dir:
        Output of ``levelsets stimuli export``, or a live study directory
        (:mod:`levelsets.elicitation.study`): its new rounds are taken up without a restart,
        checked at most every ``recheck_seconds`` on the next request.
    db:
        SQLite file for the responses (created when missing; must belong to the same study and be
        writable).
    admin_token:
        Token for the admin pages; ``None`` disables them (403).
    max_body_bytes:
        Largest accepted request body.
    allowed_host:
        ``Host`` names accepted besides the loopback names (the public name behind a reverse
        proxy); any other ``Host`` gets 400.
    completion_code, completion_url:
        Shown / followed once the last answer is committed; ``{code}`` in the URL is replaced by
        the code.
    lease_minutes:
        How long a participant holds a batch after their last request.
    allowlist:
        Participant ids allowed to take part (``None``: anyone).
    clock:
        Current Unix time (tests inject a fake one to expire leases).
    recheck_seconds:
        Live studies only: how often (at most) ``study.json`` is looked at for new rounds.

    Raises
    ------
    LevelsetsError
        When the stimulus directory or the database is unusable, or an option is invalid.
    """
    check_completion(completion_code, completion_url)
    hosts = allowed_hosts(allowed_host)
    stimuli: StimulusSet = load_stimuli(stimulus_dir)
    settings = {"lease_minutes": lease_minutes, "allowed_hosts": hosts, "allowlist": allowlist is not None,
                "completion_code": completion_code is not None, "completion_url": completion_url is not None}
    store = ResponseStore(db, stimuli, lease_seconds=60.0 * lease_minutes, clock=clock, settings=settings)
    watcher = StudyWatcher(stimuli.root, store.extend, interval=recheck_seconds) if is_study(stimuli.root) else None

    def current() -> StimulusSet:
        """The served stimulus set: the store's, after taking up a live study's new rounds."""
        if watcher is not None:
            watcher.refresh()
        return store.stimuli
    static_dir = resources.files("levelsets.elicitation").joinpath("static")
    allowed = None if allowlist is None else frozenset(allowlist)
    completion = None
    if completion_code is not None or completion_url is not None:
        url = None if completion_url is None else completion_url.replace(CODE_PLACEHOLDER, quote(completion_code or "", safe=""))
        completion = Completion(code=completion_code, url=url)

    app = FastAPI(
        title="levelsets elicitation",
        version="2",
        description="Soft-label and mixing-coefficient elicitation over level-set samples (seed 001 appendix A).",
        docs_url=None,  # the interactive docs pages load scripts from a CDN; the schema is at /openapi.json
        redoc_url=None,
    )
    app.state.store = store
    app.state.stimuli = stimuli
    app.state.watcher = watcher
    app.state.allowed_hosts = hosts
    app.add_middleware(BodyLimit, limit=max_body_bytes)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=hosts, www_redirect=False)
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=str(static_dir)), name="static")

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": ("body",), "msg": "invalid request"}
        loc = [str(part) for part in first.get("loc", ()) if part not in ("body", "query")]
        field = ".".join(loc) or "body"
        message = str(first.get("msg", "invalid")).replace("Value error, ", "")
        if first.get("type") == "missing":
            message = "field required"
        if first.get("type") == "json_invalid":
            field, message = "body", f"not valid JSON ({first.get('ctx', {}).get('error', 'parse error')})"
        return _error(422, field, message)

    @app.exception_handler(sqlite3.OperationalError)
    async def _database_unavailable(request: Request, exc: sqlite3.OperationalError) -> JSONResponse:
        return _error(503, None, f"the response database is unavailable ({exc}); nothing was stored, try again")

    def _admit(participant_id: str) -> JSONResponse | None:
        try:
            check_participant_id(participant_id)
        except ValueError as exc:
            return _error(422, "participant", str(exc))
        if allowed is not None and participant_id not in allowed:
            return _error(403, "participant", "this participant id is not on the study's list of participants; "
                          "open the study from the link the platform gave you")
        return None

    def _known(participant_id: str):
        denied = _admit(participant_id)
        if denied:
            return None, denied
        row = store.participant(participant_id)
        if row is None:
            return None, _error(422, "participant", "unknown participant; open the study page (GET /api/session) first")
        return row, None

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def study_page() -> HTMLResponse:
        return HTMLResponse(render_page("study.html", study_id=stimuli.study_id))

    @app.get("/healthz", summary="Liveness check")
    def healthz() -> dict:
        return {"status": "ok", "study_id": stimuli.study_id}

    @app.get("/stimuli/{name}", include_in_schema=False)
    def stimulus_image(name: str) -> Response:
        served = current()
        relative = served.image_files.get(name)
        data = None if relative is None else read_confined(served.root, relative)
        if data is None:
            return _error(404, None, "no such stimulus image")
        return Response(content=data, media_type="image/png")

    @app.get("/api/session", response_model=SessionOut,
             responses={403: {"model": ErrorOut}, 422: {"model": ErrorOut}},
             summary="A participant's trials and progress (assigns a leased batch on first visit)")
    def session(participant: str = Query(..., max_length=128, description="Participant id."),
                study_id: str | None = Query(None, max_length=128, description="The platform's STUDY_ID."),
                session_id: str | None = Query(None, max_length=128, description="The platform's SESSION_ID.")):
        denied = _admit(participant)
        if denied:
            return denied
        for name, value in (("study_id", study_id), ("session_id", session_id)):
            try:
                check_platform_id(value)
            except ValueError as exc:
                return _error(422, name, str(exc))
        current()
        row = store.open_session(participant, platform_study_id=study_id, platform_session_id=session_id)
        stimuli = store.stimuli  # read after the assignment: it holds every batch index given out so far
        batch = stimuli.batches[row.batch]
        trials = []
        for trial in batch["trials"]:
            record = stimuli.stimuli[trial["stimulus"]]
            mixed = record["kind"] == "mixed"
            trials.append(SessionTrial(
                trial=trial["trial"], stimulus=trial["stimulus"], kind="mixed" if mixed else "soft_label",
                image=f"stimuli/{Path(record['file']).name}",
                classes=[e["class"] for e in record["mixing"]["endpoints"]] if mixed else None,
            ))
        answered = store.answered_trials(participant)
        done = set(answered)
        nxt = next((t for t in range(len(trials)) if t not in done), None)
        return SessionOut(
            participant=participant, study_id=stimuli.study_id, platform_study_id=row.platform_study_id,
            platform_session_id=row.platform_session_id, batch=row.batch,
            consented=row.consented is not None, completed=nxt is None,
            label_order=batch["label_order"], trials=trials, answered=answered, next_trial=nxt,
            comprehension=Comprehension(**COMPREHENSION.public(), passed=row.comprehension_passed is not None,
                                        attempts=row.comprehension_attempts),
            completion=completion if nxt is None else None,
        )

    @app.post("/api/consent", responses={403: {"model": ErrorOut}, 422: {"model": ErrorOut}},
              summary="Record the participant's consent")
    def consent(body: ParticipantIn) -> dict:
        denied = _admit(body.participant)
        if denied:
            return denied
        if store.participant(body.participant) is None:
            store.open_session(body.participant)
        store.mark(body.participant, "consented")
        return {"consented": True}

    @app.post("/api/comprehension", responses={403: {"model": ErrorOut}, 422: {"model": ErrorOut}},
              summary="One attempt at the comprehension question (every attempt is stored)")
    def comprehension(body: ComprehensionIn) -> dict:
        _, denied = _known(body.participant)
        if denied:
            return denied
        if body.question != COMPREHENSION.id:
            return _error(422, "question", f"unknown question {body.question!r}; reload the page")
        options = [key for key, _ in COMPREHENSION.options]
        if body.answer not in options:
            return _error(422, "answer", f"unknown option {body.answer!r}; choose one of {', '.join(options)}")
        correct = COMPREHENSION.is_correct(body.answer)
        attempts = store.record_comprehension(body.participant, body.answer, correct)
        return {"correct": correct, "attempts": attempts}

    @app.post("/api/return", responses={403: {"model": ErrorOut}, 422: {"model": ErrorOut}},
              summary="The participant stops: their batch is freed for someone else")
    def return_study(body: ParticipantIn) -> dict:
        _, denied = _known(body.participant)
        if denied:
            return denied
        return {"returned": store.release(body.participant)}

    @app.post("/api/responses", status_code=201, response_model=StoredOut,
              responses={200: {"model": StoredOut, "description": "Already stored (a retried submission)."},
                         403: {"model": ErrorOut}, 409: {"model": ErrorOut}, 413: {"model": ErrorOut},
                         422: {"model": ErrorOut}},
              summary="Store one trial's answer (idempotent for the same answer; 409 for a changed one)")
    def post_response(body: ResponseIn):
        current()
        row, denied = _known(body.participant)
        if denied:
            return denied
        stimuli = store.stimuli
        try:
            kind, answer = check_answer(body, stimuli, row.batch)
        except AnswerError as exc:
            return _error(422, exc.field, exc.message)
        trials = stimuli.batches[row.batch]["trials"]
        try:
            result = store.record_answer(body.participant, body.stimulus, body.trial, kind, answer, body.rt_ms,
                                         trials_in_batch=len(trials))
        except AnswerConflict:
            return _error(409, "trial", f"trial {body.trial} already has a different stored answer; "
                          "a stored answer cannot be changed (resend the same answer, or go on to the next trial)")
        done = set(result.answered)
        nxt = next((t for t in range(len(trials)) if t not in done), None)
        out = StoredOut(stored=result.stored, next_trial=nxt, completed=result.completed,
                        completion=completion if result.completed else None)
        return JSONResponse(status_code=201 if result.stored else 200, content=out.model_dump())

    add_admin_routes(app, store=store, stimuli=stimuli, current=current, watcher=watcher,
                     admin_token=admin_token, lease_minutes=lease_minutes)
    return app
