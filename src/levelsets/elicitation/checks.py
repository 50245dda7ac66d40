"""Attention and comprehension checks of a study.

Attention checks are the *catch trials* of the stimulus set (``kind == "catch"``: confidently
classified samples whose expected answer is known, see :mod:`levelsets.elicitation.stimuli`);
their results are in the export's details (``catch``, ``flagged_participants``).

The comprehension check is one multiple-choice question asked after the instructions and before
the first trial: it checks that the participant understood the third-person framing of seed 001
appendix A (report what *other people* would say, not one's own answer). The page asks again,
after showing the instructions once more, until it is answered correctly; every attempt is
stored (``comprehension_answers``, ``comprehension_attempts``, ``comprehension_passed`` of the
participant, in the export's details).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Question:
    """A multiple-choice question: ``options`` are (id, text) pairs, ``correct`` an option id."""

    id: str
    text: str
    options: tuple[tuple[str, str], ...]
    correct: str

    def public(self) -> dict:
        """The question as the page shows it (without the correct answer)."""
        return {"id": self.id, "text": self.text,
                "options": [{"id": key, "text": text} for key, text in self.options]}

    def is_correct(self, answer: str) -> bool:
        """Whether ``answer`` (an option id) is the correct option."""
        return answer == self.correct


COMPREHENSION = Question(
    id="framing-v1",
    text="For each image, what are you asked to tell us?",
    options=(
        ("self", "Which category I personally think the image shows."),
        ("others", "Which categories 100 other people would choose, and what percentage of them would choose each."),
        ("program", "Which category the computer program used to make the image."),
    ),
    correct="others",
)
"""The comprehension question asked before the first trial."""
