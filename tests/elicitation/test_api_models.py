"""The JSON bodies of the study API (levelsets.elicitation.api_models): strict inputs, the documented outputs."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from levelsets.elicitation.api_models import (
    Completion,
    ComprehensionIn,
    ConsentIn,
    ErrorOut,
    ParticipantIn,
    SessionOut,
    StoredOut,
)

from .study_clients import session


def test_participant_bodies_are_strict():
    assert ParticipantIn(participant="p1").participant == "p1" and ConsentIn is ParticipantIn
    for bad in ({"participant": 7}, {"participant": "x" * 129}, {"participant": "p", "extra": 1}, {}):
        with pytest.raises(ValidationError):
            ParticipantIn.model_validate(bad)


def test_comprehension_body_names_question_and_answer():
    body = ComprehensionIn(participant="p", question="q1", answer="others")
    assert (body.question, body.answer) == ("q1", "others")
    for bad in ({"participant": "p", "question": "q1"}, {"participant": "p", "question": "q1", "answer": 3},
                {"participant": "p", "question": "q" * 129, "answer": "a"}):
        with pytest.raises(ValidationError):
            ComprehensionIn.model_validate(bad)


def test_outputs_default_their_optional_parts():
    stored = StoredOut(stored=True, next_trial=None, completed=True)
    assert stored.completion is None and stored.model_dump() == {"stored": True, "next_trial": None, "completed": True,
                                                                "completion": None}
    assert ErrorOut(detail="trial: unknown").field is None
    done = StoredOut(stored=False, next_trial=None, completed=True, completion=Completion(code="C1", url=None))
    assert done.model_dump()["completion"] == {"code": "C1", "url": None}


def test_the_session_answer_is_a_session_out_and_documented(client):
    body = session(client, "model-check")
    parsed = SessionOut.model_validate(body)  # the app's answer has exactly this shape
    assert parsed.participant == "model-check" and parsed.trials and parsed.trials[0].trial == 0
    assert set(body) == set(SessionOut.model_fields)
    schema = client.get("/openapi.json").json()["components"]["schemas"]
    assert {"SessionOut", "SessionTrial", "Completion", "Comprehension", "StoredOut", "ErrorOut"} <= set(schema)
    assert schema["SessionOut"]["properties"]["label_order"]["description"].startswith("Class names in the order")
