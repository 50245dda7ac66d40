"""User-facing errors (``levelsets.errors``): one catchable family, one-line messages kept intact."""

from __future__ import annotations

import pickle

import pytest

from levelsets.errors import CheckpointError, LevelsetsError


def test_a_user_error_is_a_value_error_carrying_its_message_unchanged():
    with pytest.raises(ValueError) as info:  # callers that only know ValueError still catch it
        raise LevelsetsError("--alpha must be > 0, got -1; larger alpha means a tighter level set")
    assert type(info.value) is LevelsetsError
    assert str(info.value) == "--alpha must be > 0, got -1; larger alpha means a tighter level set"


def test_a_checkpoint_error_is_caught_as_a_user_error():
    assert issubclass(CheckpointError, LevelsetsError)
    with pytest.raises(LevelsetsError, match="no shapes classifier"):
        raise CheckpointError("no shapes classifier at /x/model.pt; train one with `levelsets train classifier`")


def test_a_missing_checkpoint_raises_one_line_naming_the_command(tmp_path, monkeypatch):
    from levelsets.generative import zoo

    monkeypatch.setenv("LEVELSETS_HOME", str(tmp_path))
    with pytest.raises(LevelsetsError) as info:
        zoo.get_generator("vae", "mnist", train_if_missing=False)
    assert type(info.value) is CheckpointError
    assert "\n" not in str(info.value) and "levelsets train vae --dataset mnist" in str(info.value)


@pytest.mark.parametrize("cls", [LevelsetsError, CheckpointError])
def test_errors_survive_pickling_with_class_and_message(cls):
    """Errors raised inside Ray shards and sweep cells travel back pickled: class and message must survive."""
    err = pickle.loads(pickle.dumps(cls("bad --target '0.2,0.2': probabilities must sum to 1")))
    assert type(err) is cls and str(err) == "bad --target '0.2,0.2': probabilities must sum to 1"
