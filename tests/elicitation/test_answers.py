"""What a participant may submit (levelsets.elicitation.answers): the checks, strict types, the allowlist file."""

import json

import pytest

from levelsets.elicitation.answers import (
    AnswerError,
    ResponseIn,
    check_answer,
    check_participant_id,
    check_platform_id,
)
from levelsets.elicitation.manifest import load_stimuli
from levelsets.errors import LevelsetsError

from .study_clients import (
    answer,
    first_soft_trial,
    kinds_of,
    open_client,
    rows,
    session,
    soft_body,
    stored_rows,
)

INVALID = [
    ({"most_probable_prob": 101}, "most_probable_prob"),
    ({"most_probable_prob": -1}, "most_probable_prob"),
    ({"second_prob": 150}, "second_prob"),
    ({"second": "cat"}, "second"),
    ({"impossible": ["cat"]}, "impossible"),
    ({"impossible": ["dog"]}, "impossible"),
    ({"impossible": ["frog", "frog"]}, "impossible"),
    ({"most_probable": "horse"}, "most_probable"),
    ({"second": "horse"}, "second"),
    ({"impossible": ["horse"]}, "impossible"),
    ({"second": None}, "second_prob"),
    ({"second_prob": None}, "second_prob"),
    ({"second_prob": 70}, "second_prob"),
    ({"most_probable_prob": None}, "most_probable_prob"),
    ({"most_probable_prob": "lots"}, "most_probable_prob"),
    ({"stimulus": "no-such-stimulus"}, "stimulus"),
    ({"trial": 5}, "trial"),
    ({"trial": 9999}, "trial"),
    ({"participant": "mallory"}, "participant"),
    ({"participant": "bad\nid"}, "participant"),
    ({"mix_percent": 50}, "mix_percent"),
    ({"rt_ms": -3}, "rt_ms"),
    ({"extra_field": 1}, "extra_field"),
]


@pytest.mark.parametrize("change, field", INVALID, ids=[f"{f}-{i}" for i, (_, f) in enumerate(INVALID)])
def test_invalid_submissions_rejected(client, db, change, field):
    ses = session(client, "carol")
    trial = first_soft_trial(ses)
    body = soft_body("carol", trial, **change)
    if change.get("trial") == 5:
        # an existing trial position that shows another stimulus
        other = next(t for t in ses["trials"] if t["stimulus"] != trial["stimulus"])
        body["trial"] = other["trial"]
    r = client.post("/api/responses", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["field"] == field
    assert r.json()["detail"].startswith(f"{field}:")
    assert stored_rows(db) == []


@pytest.mark.parametrize("missing", ["participant", "stimulus", "trial", "rt_ms", "most_probable"])
def test_missing_field_named(client, db, missing):
    trial = first_soft_trial(session(client, "dan"))
    body = soft_body("dan", trial)
    del body[missing]
    r = client.post("/api/responses", json=body)
    assert r.status_code == 422 and r.json()["field"] == missing
    assert "required" in r.json()["detail"]
    assert stored_rows(db) == []


def test_mixed_trial_checks(client, db):
    for i in range(8):
        ses = session(client, f"m{i}")
        mixed = [t for t in ses["trials"] if t["kind"] == "mixed"]
        if mixed:
            break
    t = mixed[0]
    assert len(t["classes"]) == 2 and t["classes"][0] != t["classes"][1]
    base = {"participant": ses["participant"], "stimulus": t["stimulus"], "trial": t["trial"], "rt_ms": 9}
    bad = client.post("/api/responses", json={**base, "most_probable": "cat", "most_probable_prob": 50})
    assert bad.status_code == 422 and bad.json()["field"] == "most_probable"
    bad = client.post("/api/responses", json={**base, "mix_percent": 40})
    assert bad.status_code == 422 and bad.json()["field"] == "confidence"
    bad = client.post("/api/responses", json={**base, "mix_percent": 140, "confidence": 3})
    assert bad.status_code == 422 and bad.json()["field"] == "mix_percent"
    assert stored_rows(db) == []
    ok = client.post("/api/responses", json={**base, "mix_percent": 40, "confidence": 60})
    assert ok.status_code == 201 and len(stored_rows(db)) == 1


STRICT_CASES = [
    ({"most_probable_prob": "60"}, "most_probable_prob"),
    ({"most_probable_prob": True}, "most_probable_prob"),
    ({"second_prob": "30"}, "second_prob"),
    ({"second_prob": False}, "second_prob"),
    ({"trial": "0"}, "trial"),
    ({"trial": True}, "trial"),
    ({"trial": 0.0}, "trial"),
    ({"rt_ms": "800"}, "rt_ms"),
    ({"rt_ms": True}, "rt_ms"),
    ({"participant": 7}, "participant"),
    ({"most_probable": 1}, "most_probable"),
    ({"impossible": "frog"}, "impossible"),
    ({"impossible": [1]}, "impossible.0"),
]


@pytest.mark.parametrize("change, field", STRICT_CASES, ids=[f"{f}-{i}" for i, (_, f) in enumerate(STRICT_CASES)])
def test_strict_types(stimuli_dir, tmp_path, change, field):
    db = tmp_path / "r.sqlite"
    with open_client(stimuli_dir, db) as client:
        ses = session(client, "s")
        trial = next(t for t in ses["trials"] if kinds_of(client)[t["stimulus"]] != "mixed")
        body = answer("s", trial, kinds_of(client), **change)
        r = client.post("/api/responses", json=body)
        assert r.status_code == 422, r.text
        assert r.json()["field"] == field
        assert rows(db, "SELECT * FROM responses") == []
        # the same body with proper JSON numbers (integers are numbers) is stored
        fixed = answer("s", trial, kinds_of(client), most_probable_prob=60, second_prob=30.0)
        assert client.post("/api/responses", json=fixed).status_code == 201


def test_strict_types_mixing_nan_and_consent(stimuli_dir, tmp_path):
    with open_client(stimuli_dir, tmp_path / "r.sqlite") as client:
        for i in range(8):
            ses = session(client, f"m{i}")
            mixed = [t for t in ses["trials"] if t["kind"] == "mixed"]
            if mixed:
                break
        base = {"participant": ses["participant"], "stimulus": mixed[0]["stimulus"], "trial": mixed[0]["trial"],
                "rt_ms": 5}
        for bad in ({"mix_percent": "50", "confidence": 50}, {"mix_percent": 50, "confidence": True}):
            r = client.post("/api/responses", json={**base, **bad})
            assert r.status_code == 422 and r.json()["field"] in bad
        nan = json.dumps({**base, "mix_percent": 50}).replace("}", ', "confidence": NaN}').encode()
        r = client.post("/api/responses", content=nan, headers={"content-type": "application/json"})
        assert r.status_code == 422 and r.json()["field"] == "confidence"
        assert client.post("/api/consent", json={"participant": 5}).status_code == 422
        assert client.post("/api/responses", json={**base, "mix_percent": 50, "confidence": 50}).status_code == 201


def test_allowlist_file(tmp_path):
    from levelsets.elicitation.answers import read_allowlist

    good = tmp_path / "ids.txt"
    good.write_text("# platform ids\nabc\n\n  def  \nabc\n")
    assert read_allowlist(good) == frozenset({"abc", "def"})
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing\n\n")
    with pytest.raises(LevelsetsError, match="lists no participant id"):
        read_allowlist(empty)
    with pytest.raises(LevelsetsError, match="does not exist"):
        read_allowlist(tmp_path / "missing.txt")
    long = tmp_path / "long.txt"
    long.write_text("ok\n" + "x" * 200 + "\n")
    with pytest.raises(LevelsetsError, match="line 2"):
        read_allowlist(long)


# check_answer and the id checks on their own, without the app --------------------------------


def test_check_answer_returns_the_kind_and_the_normalized_answer(stimuli_dir):
    stimuli = load_stimuli(stimuli_dir)
    trials = stimuli.batches[0]["trials"]
    soft = next(t for t in trials if stimuli.stimuli[t["stimulus"]]["kind"] != "mixed")
    body = ResponseIn(participant="p", stimulus=soft["stimulus"], trial=soft["trial"], rt_ms=10,
                      most_probable="dog", most_probable_prob=70, impossible=["frog", "cat"])
    kind, stored = check_answer(body, stimuli, 0)
    assert kind == stimuli.stimuli[soft["stimulus"]]["kind"]
    assert stored == {"most_probable": "dog", "most_probable_prob": 70, "second": None, "second_prob": None,
                      "impossible": ["cat", "frog"]}  # impossible classes in class order
    other_batch = next(b for b, batch in enumerate(stimuli.batches)
                       if len(batch["trials"]) <= soft["trial"] or batch["trials"][soft["trial"]]["stimulus"] != soft["stimulus"])
    with pytest.raises(AnswerError) as exc:
        check_answer(body, stimuli, other_batch)  # the same trial position shows another stimulus there
    assert exc.value.field == "trial" and str(exc.value).startswith("trial: trial ")


def test_check_answer_for_a_mixed_image(stimuli_dir):
    stimuli = load_stimuli(stimuli_dir)
    b, t = next((b, t) for b, batch in enumerate(stimuli.batches) for t in batch["trials"]
                if stimuli.stimuli[t["stimulus"]]["kind"] == "mixed")
    body = ResponseIn(participant="p", stimulus=t["stimulus"], trial=t["trial"], rt_ms=10, mix_percent=25.5,
                      confidence=90)
    assert check_answer(body, stimuli, b) == ("mixed", {"mix_percent": 25.5, "confidence": 90})
    with pytest.raises(AnswerError) as exc:
        check_answer(body.model_copy(update={"impossible": ["cat"]}), stimuli, b)
    assert exc.value.field == "impossible" and "not class probabilities" in exc.value.message


def test_participant_and_platform_ids():
    assert check_participant_id("PID 1 ünïcode <b>") == "PID 1 ünïcode <b>"  # any text but control characters
    for bad, message in (("", "must be 1 to 128 characters"), ("x" * 129, "must be 1 to 128 characters"),
                         ("a\tb", "control characters"), ("a\x7fb", "control characters")):
        with pytest.raises(ValueError, match=message):
            check_participant_id(bad)
    assert check_platform_id(None) is None and check_platform_id("SESS-1") == "SESS-1"
    with pytest.raises(ValueError):
        check_platform_id("bad\nid")
