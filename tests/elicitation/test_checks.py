"""The comprehension question (``levelsets.elicitation.checks``): what the page sees, and grading."""

from __future__ import annotations

from levelsets.elicitation.checks import COMPREHENSION, Question


def test_public_view_hides_the_correct_answer():
    public = COMPREHENSION.public()
    assert public["id"] == COMPREHENSION.id and public["text"] == COMPREHENSION.text
    assert [o["id"] for o in public["options"]] == [key for key, _ in COMPREHENSION.options]
    assert set(public) == {"id", "text", "options"}  # no "correct" key


def test_only_the_correct_option_passes():
    assert COMPREHENSION.correct in {key for key, _ in COMPREHENSION.options}
    assert [key for key, _ in COMPREHENSION.options if COMPREHENSION.is_correct(key)] == ["others"]
    assert not COMPREHENSION.is_correct("") and not COMPREHENSION.is_correct("Others")
    q = Question(id="q", text="?", options=(("a", "A"), ("b", "B")), correct="b")
    assert q.is_correct("b") and not q.is_correct("a")
