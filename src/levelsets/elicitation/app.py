"""The participant web app (FastAPI): consent → instructions → trials → debrief.

Routes (the JSON API is documented in the OpenAPI schema at ``/openapi.json``):

``GET /``
    the study page (plain HTML + JS served from this package; nothing from a CDN). The participant
    id comes from ``?PROLIFIC_PID=``, ``?participant=``, ``?workerId=`` or ``?PARTICIPANT_ID=``, or
    is generated in the browser and kept in the URL and local storage, so a reload resumes.
``GET /api/session?participant=ID``
    the participant's trials (in batch order), class-button order and progress; assigns a batch
    on the first visit.
``POST /api/consent``
    records consent.
``POST /api/responses``
    201 when stored, 200 when the same (participant, stimulus, trial) was already stored, 422 with
    ``{"detail": "<field>: <what is wrong>", "field": "<field>"}`` when invalid (nothing stored),
    413 when the body exceeds :data:`MAX_BODY_BYTES`.
``GET /stimuli/<file>``
    a stimulus PNG; only files listed in the manifest are served (no path is ever joined).
``GET /healthz``
    liveness.
``GET /admin``, ``GET /admin/progress``, ``GET /admin/export``
    progress page (responses per stimulus, per participant), the same as JSON, and the export;
    they need the admin token (``?token=``, ``X-Admin-Token`` or ``Authorization: Bearer``).

Participant-provided text is never put into HTML unescaped: the study page sets it with
``textContent`` and the admin page escapes it with :func:`html.escape`.
"""

from __future__ import annotations

import html
import secrets
from importlib import resources
from pathlib import Path
from string import Template

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field

from levelsets.elicitation.answers import (
    AnswerError,
    ResponseIn,
    check_answer,
    check_participant_id,
)
from levelsets.elicitation.manifest import StimulusSet, load_stimuli
from levelsets.elicitation.store import ResponseStore

MAX_BODY_BYTES = 16 * 1024
"""Largest request body accepted (a response is a few hundred bytes)."""

CONTENT_SECURITY_POLICY = "default-src 'self'; img-src 'self'; object-src 'none'; base-uri 'none'"
"""Pages may load scripts, styles and images from this server only (no inline scripts, no CDN)."""


class SessionTrial(BaseModel):
    """One trial as the page needs it."""

    trial: int = Field(description="0-based position in the batch.")
    stimulus: str = Field(description="Stimulus id.")
    kind: str = Field(description="'soft_label' or 'mixed'.")
    image: str = Field(description="URL of the PNG.")
    classes: list[str] | None = Field(None, description="Mixed trials: the two classes that were mixed.")


class SessionOut(BaseModel):
    """A participant's session: trials in order, class-button order, progress."""

    participant: str
    study_id: str
    batch: int
    consented: bool
    completed: bool
    label_order: list[str] = Field(description="Class names in the order of the buttons for this participant.")
    trials: list[SessionTrial]
    answered: list[int] = Field(description="Trial positions already stored.")
    next_trial: int | None = Field(description="First unanswered trial, or null when done.")


class ConsentIn(BaseModel):
    """Body of ``POST /api/consent``."""

    participant: str = Field(max_length=128)


class StoredOut(BaseModel):
    """Answer of ``POST /api/responses``."""

    stored: bool = Field(description="True when this call stored the response, false when it was already stored.")
    next_trial: int | None = Field(description="First unanswered trial, or null when the batch is done.")
    completed: bool


class ErrorOut(BaseModel):
    """A rejected request."""

    detail: str = Field(description="'<field>: <what is wrong>'.")
    field: str | None = Field(None, description="The offending field.")


def _error(status: int, field: str | None, message: str) -> JSONResponse:
    detail = f"{field}: {message}" if field else message
    return JSONResponse(status_code=status, content={"detail": detail, "field": field})


class _BodyLimit:
    """ASGI middleware: refuse request bodies larger than ``limit`` bytes with 413."""

    def __init__(self, app, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        too_big = _error(413, "body", f"request body larger than {self.limit} bytes")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            await too_big(scope, receive, send)
            return
        received = 0
        chunks = []
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                chunks.append(message)
                break
            received += len(message.get("body", b""))
            if received > self.limit:
                await too_big(scope, receive, send)
                return
            chunks.append(message)
            more = message.get("more_body", False)

        async def replay():
            if chunks:
                return chunks.pop(0)
            return await receive()

        await self.app(scope, replay, send)


class _SecurityHeaders:
    """ASGI middleware: a strict Content-Security-Policy and no MIME sniffing on every response."""

    HEADERS = (
        (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
    )

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in self.HEADERS if k not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _template(name: str) -> Template:
    return Template(resources.files("levelsets.elicitation").joinpath("templates", name).read_text(encoding="utf-8"))


def create_app(stimulus_dir: str | Path, db: str | Path, *, admin_token: str | None = None,
               max_body_bytes: int = MAX_BODY_BYTES) -> FastAPI:
    """Build the study app for one stimulus directory and one database.

    Parameters
    ----------
    stimulus_dir:
        Output of ``levelsets stimuli export``.
    db:
        SQLite file for the responses (created when missing; must belong to the same study).
    admin_token:
        Token for the admin pages; ``None`` disables them (403).
    max_body_bytes:
        Largest accepted request body.

    Raises
    ------
    LevelsetsError
        When the stimulus directory or the database is unusable.
    """
    stimuli: StimulusSet = load_stimuli(stimulus_dir)
    store = ResponseStore(db, stimuli)
    files = {Path(record["file"]).name: stimuli.image_path(sid) for sid, record in stimuli.stimuli.items()}
    static_dir = resources.files("levelsets.elicitation").joinpath("static")

    app = FastAPI(
        title="levelsets elicitation",
        version="1",
        description="Soft-label and mixing-coefficient elicitation over level-set samples (seed 001 appendix A).",
        docs_url=None,  # the interactive docs pages load scripts from a CDN; the schema is at /openapi.json
        redoc_url=None,
    )
    app.state.store = store
    app.state.stimuli = stimuli
    app.add_middleware(_BodyLimit, limit=max_body_bytes)

    app.add_middleware(_SecurityHeaders)
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

    def _progress(participant_id: str, batch: int) -> tuple[list[int], int | None, int]:
        answered = store.answered_trials(participant_id)
        total = len(stimuli.batches[batch]["trials"])
        done = set(answered)
        nxt = next((t for t in range(total) if t not in done), None)
        return answered, nxt, total

    def _participant_or_error(participant_id: str) -> JSONResponse | None:
        try:
            check_participant_id(participant_id)
        except ValueError as exc:
            return _error(422, "participant", str(exc))
        return None

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def study_page() -> HTMLResponse:
        return HTMLResponse(_template("study.html").substitute(study_id=html.escape(stimuli.study_id)))

    @app.get("/healthz", summary="Liveness check")
    def healthz() -> dict:
        return {"status": "ok", "study_id": stimuli.study_id}

    @app.get("/stimuli/{name}", include_in_schema=False)
    def stimulus_image(name: str) -> Response:
        path = files.get(name)
        if path is None:
            return _error(404, None, "no such stimulus image")
        return FileResponse(path, media_type="image/png")

    @app.get("/api/session", response_model=SessionOut, responses={422: {"model": ErrorOut}},
             summary="A participant's trials and progress (assigns a batch on first visit)")
    def session(participant: str = Query(..., max_length=128, description="Participant id.")):
        bad = _participant_or_error(participant)
        if bad:
            return bad
        row = store.participant(participant)
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
        answered, nxt, _ = _progress(participant, row.batch)
        return SessionOut(
            participant=participant, study_id=stimuli.study_id, batch=row.batch,
            consented=row.consented is not None, completed=nxt is None,
            label_order=batch["label_order"], trials=trials, answered=answered, next_trial=nxt,
        )

    @app.post("/api/consent", responses={422: {"model": ErrorOut}}, summary="Record the participant's consent")
    def consent(body: ConsentIn) -> dict:
        bad = _participant_or_error(body.participant)
        if bad:
            return bad
        store.participant(body.participant)
        store.mark(body.participant, "consented")
        return {"consented": True}

    @app.post("/api/responses", status_code=201, response_model=StoredOut,
              responses={200: {"model": StoredOut, "description": "Already stored (a retried submission)."},
                         413: {"model": ErrorOut}, 422: {"model": ErrorOut}},
              summary="Store one trial's answer (idempotent on participant, stimulus and trial)")
    def post_response(body: ResponseIn):
        row = store.participant(body.participant, create=False)
        if row is None:
            return _error(422, "participant", "unknown participant; open the study page (GET /api/session) first")
        try:
            kind, answer = check_answer(body, stimuli, row.batch)
        except AnswerError as exc:
            return _error(422, exc.field, exc.message)
        stored = store.add_response(body.participant, body.stimulus, body.trial, kind, answer, body.rt_ms)
        _, nxt, _ = _progress(body.participant, row.batch)
        if nxt is None and row.completed is None:
            store.mark(body.participant, "completed")
        out = StoredOut(stored=stored, next_trial=nxt, completed=nxt is None)
        return JSONResponse(status_code=201 if stored else 200, content=out.model_dump())

    def _authorized(request: Request) -> JSONResponse | None:
        if admin_token is None:
            return _error(403, None, "admin pages are disabled; restart the server with --admin-token")
        given = (request.query_params.get("token") or request.headers.get("x-admin-token")
                 or request.headers.get("authorization", "").removeprefix("Bearer ").strip())
        if not given or not secrets.compare_digest(given.encode(), admin_token.encode()):
            return _error(401, "token", "admin token missing or wrong; pass ?token=... or the X-Admin-Token header")
        return None

    def _progress_data() -> dict:
        return {"study_id": stimuli.study_id, "participants": store.participants(),
                "per_stimulus": store.counts_per_stimulus()}

    @app.get("/admin/progress", summary="Responses per stimulus and per participant (admin token)")
    def admin_progress(request: Request):
        denied = _authorized(request)
        return denied or _progress_data()

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
            f"<tr><td>{html.escape(p['id'])}</td><td>{p['batch']}</td><td>{p['responses']}</td>"
            f"<td>{'yes' if p['consented'] else 'no'}</td><td>{'yes' if p['completed'] else 'no'}</td></tr>"
            for p in data["participants"]
        )
        per_stimulus = "\n".join(
            f"<tr><td>{html.escape(sid)}</td><td>{n}</td></tr>" for sid, n in data["per_stimulus"].items()
        )
        page = _template("admin.html").substitute(
            study_id=html.escape(stimuli.study_id), participants=people, stimuli=per_stimulus,
            n_participants=len(data["participants"]), n_responses=sum(data["per_stimulus"].values()),
        )
        return HTMLResponse(page)

    return app
