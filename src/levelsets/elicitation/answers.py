"""What a participant may submit, and the server-side checks of it.

Two trial interfaces (seed 001 appendix A):

soft label (``sample`` and ``catch`` stimuli)
    ``most_probable`` (a class name) with ``most_probable_prob`` in 0–100; optionally ``second``
    (another class; ``null`` = "No alternative") with ``second_prob`` in 0–100 and not above the
    first; ``impossible``: classes marked "definitely not" (never the first or second class).
    Probabilities need not sum to 100 (they are normalized when labels are built, DESIGN §5).
mixing coefficient (``mixed`` stimuli)
    ``mix_percent`` in 0–100: how much of the *first* named class people would say the image is
    made of (λ_h = mix_percent / 100), and ``confidence`` in 0–100 (ω = confidence / 100).

Types are strict (pydantic strict mode): a probability is a JSON number (an integer or a
float, finite), never a string such as ``"60"`` or a boolean; a trial position is an integer; ids
and class names are strings. Every check failure is an :class:`AnswerError` (or a pydantic
validation error) naming the field; the app turns it into a 422.
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from levelsets.elicitation.manifest import StimulusSet
from levelsets.errors import LevelsetsError

MAX_ID_LENGTH = 128
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_participant_id(value: str) -> str:
    """Participant ids: 1–128 characters, no control characters (any other text is allowed)."""
    if not isinstance(value, str) or not value or len(value) > MAX_ID_LENGTH:
        raise ValueError(f"must be 1 to {MAX_ID_LENGTH} characters")
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    return value


def read_allowlist(path: str | Path) -> frozenset[str]:
    """Participant ids allowed to take part: one per line; blank lines and ``#`` comments ignored.

    Raises
    ------
    LevelsetsError
        When the file is missing, unreadable, lists no id or an invalid one.
    """
    path = Path(path).expanduser()
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise LevelsetsError(f"--allowlist {path} does not exist; give a text file with one participant id per line") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise LevelsetsError(f"--allowlist {path} cannot be read ({exc}); give a UTF-8 text file, one id per line") from None
    ids = set()
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        try:
            ids.add(check_participant_id(text))
        except ValueError as exc:
            raise LevelsetsError(f"--allowlist {path} line {number}: participant id {exc}") from None
    if not ids:
        raise LevelsetsError(f"--allowlist {path} lists no participant id; put one id per line")
    return frozenset(ids)


def check_platform_id(value: str | None) -> str | None:
    """Platform study / session ids (``STUDY_ID``, ``SESSION_ID``): as participant ids, or None."""
    return None if value is None else check_participant_id(value)


STRICT = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)
"""Request bodies: unknown fields refused, no type coercion ("60" or true is not a number)."""


class ResponseIn(BaseModel):
    """One answer to one trial, as posted to ``POST /api/responses``."""

    model_config = STRICT

    participant: str = Field(description="Participant id (as in the session).", max_length=MAX_ID_LENGTH)
    stimulus: str = Field(description="Stimulus id shown in this trial.", max_length=MAX_ID_LENGTH)
    trial: int = Field(description="0-based position of the trial in the participant's batch.", ge=0, le=100_000)
    rt_ms: float = Field(description="Reaction time in milliseconds, from the image appearing to submitting.",
                         ge=0, le=86_400_000)
    most_probable: str | None = Field(None, description="Soft-label trials: the most probable class.", max_length=200)
    most_probable_prob: float | None = Field(None, description="Its probability in percent, 0–100.", ge=0, le=100)
    second: str | None = Field(None, description="Optional second most probable class; null = no alternative.",
                               max_length=200)
    second_prob: float | None = Field(None, description="Its probability in percent, 0–100.", ge=0, le=100)
    impossible: list[str] = Field(default_factory=list, description="Classes marked 'definitely not'.",
                                  max_length=1000)
    mix_percent: float | None = Field(None, description="Mixed trials: percent of the first named class, 0–100.",
                                      ge=0, le=100)
    confidence: float | None = Field(None, description="Mixed trials: confidence in that estimate, 0–100.",
                                     ge=0, le=100)

    @field_validator("participant")
    @classmethod
    def _participant(cls, value: str) -> str:
        return check_participant_id(value)


class AnswerError(ValueError):
    """An invalid submission: ``field`` names the offending field, ``message`` says what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def _soft_label(response: ResponseIn, classes: tuple[str, ...]) -> dict:
    known = ", ".join(classes)
    if response.mix_percent is not None or response.confidence is not None:
        field = "mix_percent" if response.mix_percent is not None else "confidence"
        raise AnswerError(field, "only mixed-image trials take a mixing percentage and confidence")
    if response.most_probable is None:
        raise AnswerError("most_probable", "field required: choose the most probable class")
    if response.most_probable not in classes:
        raise AnswerError("most_probable", f"unknown class {response.most_probable!r}; choose one of {known}")
    if response.most_probable_prob is None:
        raise AnswerError("most_probable_prob", "field required: give a percentage between 0 and 100")
    if response.second is not None:
        if response.second not in classes:
            raise AnswerError("second", f"unknown class {response.second!r}; choose one of {known} or none")
        if response.second == response.most_probable:
            raise AnswerError("second", "the second most probable class must differ from the most probable class")
        if response.second_prob is None:
            raise AnswerError("second_prob", "field required when a second class is chosen: give a percentage 0–100")
        if response.second_prob > response.most_probable_prob:
            raise AnswerError("second_prob", "the second class cannot be more probable than the most probable class")
    elif response.second_prob is not None:
        raise AnswerError("second_prob", "give a second percentage only together with a second class")
    seen: set[str] = set()
    for name in response.impossible:
        if name not in classes:
            raise AnswerError("impossible", f"unknown class {name!r}; choose among {known}")
        if name in seen:
            raise AnswerError("impossible", f"class {name!r} is listed twice")
        seen.add(name)
    if response.most_probable in seen:
        raise AnswerError("impossible", "the most probable class cannot also be marked 'definitely not'")
    if response.second is not None and response.second in seen:
        raise AnswerError("impossible", "the second most probable class cannot also be marked 'definitely not'")
    return {
        "most_probable": response.most_probable,
        "most_probable_prob": response.most_probable_prob,
        "second": response.second,
        "second_prob": response.second_prob,
        "impossible": [c for c in classes if c in seen],
    }


def _mixing(response: ResponseIn) -> dict:
    for name in ("most_probable", "most_probable_prob", "second", "second_prob"):
        if getattr(response, name) is not None:
            raise AnswerError(name, "mixed-image trials take mix_percent and confidence, not class probabilities")
    if response.impossible:
        raise AnswerError("impossible", "mixed-image trials take mix_percent and confidence, not class probabilities")
    if response.mix_percent is None:
        raise AnswerError("mix_percent", "field required: set the mixing slider (0–100)")
    if response.confidence is None:
        raise AnswerError("confidence", "field required: set the confidence slider (0–100)")
    return {"mix_percent": response.mix_percent, "confidence": response.confidence}


def check_answer(response: ResponseIn, stimuli: StimulusSet, batch: int) -> tuple[str, dict]:
    """Validate ``response`` against the stimulus set and the participant's ``batch``.

    Returns
    -------
    tuple of (str, dict)
        The stimulus kind and the normalized answer to store.

    Raises
    ------
    AnswerError
        Naming the field that is wrong.
    """
    record = stimuli.stimuli.get(response.stimulus)
    if record is None:
        raise AnswerError("stimulus", f"unknown stimulus {response.stimulus!r}")
    trials = stimuli.batches[batch]["trials"]
    if response.trial >= len(trials):
        raise AnswerError("trial", f"trial {response.trial} does not exist; this batch has {len(trials)} trials (0-based)")
    expected = trials[response.trial]["stimulus"]
    if expected != response.stimulus:
        raise AnswerError("trial", f"trial {response.trial} of this participant shows {expected!r}, not {response.stimulus!r}")
    if record["kind"] == "mixed":
        return "mixed", _mixing(response)
    return record["kind"], _soft_label(response, stimuli.class_names)
