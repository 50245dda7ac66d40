"""The JSON bodies of the participant web app's API (pydantic models; they make ``/openapi.json``)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from levelsets.elicitation.answers import STRICT


class SessionTrial(BaseModel):
    """One trial as the page needs it."""

    trial: int = Field(description="0-based position in the batch.")
    stimulus: str = Field(description="Stimulus id.")
    kind: str = Field(description="'soft_label' or 'mixed'.")
    image: str = Field(description="URL of the PNG.")
    classes: list[str] | None = Field(None, description="Mixed trials: the two classes that were mixed.")


class Completion(BaseModel):
    """What the participant gets once every trial is stored."""

    code: str | None = Field(description="Completion code to show (and to enter on the platform).")
    url: str | None = Field(description="Where the page sends the participant (the platform's completion link).")


class Comprehension(BaseModel):
    """The comprehension question asked before the first trial, and whether it was passed."""

    id: str
    text: str
    options: list[dict[str, str]] = Field(description="Each {'id', 'text'}.")
    passed: bool
    attempts: int


class SessionOut(BaseModel):
    """A participant's session: trials in order, class-button order, progress."""

    participant: str
    study_id: str
    platform_study_id: str | None = Field(description="The platform's STUDY_ID, as last given.")
    platform_session_id: str | None = Field(description="The platform's SESSION_ID, as last given.")
    batch: int
    consented: bool
    completed: bool
    label_order: list[str] = Field(description="Class names in the order of the buttons for this participant.")
    trials: list[SessionTrial]
    answered: list[int] = Field(description="Trial positions already stored.")
    next_trial: int | None = Field(description="First unanswered trial, or null when done.")
    comprehension: Comprehension
    completion: Completion | None = Field(description="Present only when every trial is stored.")


class ParticipantIn(BaseModel):
    """Body of ``POST /api/consent`` and ``POST /api/return``."""

    model_config = STRICT

    participant: str = Field(max_length=128)


ConsentIn = ParticipantIn


class ComprehensionIn(BaseModel):
    """Body of ``POST /api/comprehension``: one attempt at the question."""

    model_config = STRICT

    participant: str = Field(max_length=128)
    question: str = Field(max_length=128, description="The question id shown.")
    answer: str = Field(max_length=128, description="The option id chosen.")


class StoredOut(BaseModel):
    """Answer of ``POST /api/responses``."""

    stored: bool = Field(description="True when this call stored the response, false when it was already stored.")
    next_trial: int | None = Field(description="First unanswered trial, or null when the batch is done.")
    completed: bool
    completion: Completion | None = Field(None, description="Present only on the answers of a completed batch.")


class ErrorOut(BaseModel):
    """A rejected request."""

    detail: str = Field(description="'<field>: <what is wrong>'.")
    field: str | None = Field(None, description="The offending field.")
