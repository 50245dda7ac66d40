"""Responses → the CIFAR-10S JSON and its details file (levelsets.elicitation.export, `levelsets elicit export`)."""

import json

import numpy as np
import pytest
from fastapi.testclient import TestClient

from levelsets.elicitation.app import create_app
from levelsets.elicitation.export import cifar10s_record, details_path, export_responses
from levelsets.errors import LevelsetsError

CIFAR10S_KEYS = {"Most Probable Class", "Most Probable Class Prob", "Second Most Probable Class",
                 "Second Most Probable Class Prob", "Impossible Class(es)"}


def answer_all(client, pid, *, catch_answer):
    ses = client.get("/api/session", params={"participant": pid}).json()
    stimuli = client.app.state.stimuli.stimuli
    for t in ses["trials"]:
        body = {"participant": pid, "stimulus": t["stimulus"], "trial": t["trial"], "rt_ms": 1000.0 + t["trial"]}
        kind = stimuli[t["stimulus"]]["kind"]
        if kind == "mixed":
            body |= {"mix_percent": 30, "confidence": 80}
        elif kind == "catch":
            body |= {"most_probable": catch_answer, "most_probable_prob": 95}
        elif t["trial"] % 2:
            body |= {"most_probable": "dog", "most_probable_prob": 55, "second": None, "second_prob": None}
        else:
            body |= {"most_probable": "cat", "most_probable_prob": 60, "second": "dog", "second_prob": 30,
                     "impossible": ["frog"]}
        assert client.post("/api/responses", json=body).status_code == 201
    return ses


@pytest.fixture
def filled_db(stimuli_dir, tmp_path):
    db = tmp_path / "r.sqlite"
    with TestClient(create_app(stimuli_dir, db), base_url="http://127.0.0.1") as client:
        good = answer_all(client, "good", catch_answer="cat")
        bad = answer_all(client, "bad<b>", catch_answer="dog")
        client.get("/api/session", params={"participant": "idle"})
    return db, {"good": good, "bad<b>": bad}


def test_export_format(filled_db, stimuli_dir, tmp_path):
    db, sessions = filled_db
    out, side, counts = export_responses(db, tmp_path / "responses.json")
    responses = json.loads(out.read_text())
    details = json.loads(side.read_text())
    assert side == details_path(out) and side.name == "responses.details.json"
    assert (tmp_path / "responses.json.json").is_file()  # provenance sidecar
    manifest = {s["id"]: s for s in json.loads((stimuli_dir / "manifest.json").read_text())["stimuli"]}
    assert responses and all(manifest[sid]["kind"] == "sample" for sid in responses)
    for sid, items in responses.items():
        assert len(items) == len(details["annotators"][sid])
        for item in items:
            assert set(item) == CIFAR10S_KEYS
            if item["Second Most Probable Class"] == "No":
                assert item["Second Most Probable Class Prob"] is None
            assert 0 <= item["Most Probable Class Prob"] <= 100
    # every sample trial answered by the two participants appears once per participant
    expected = sum(1 for ses in sessions.values() for t in ses["trials"]
                   if manifest[t["stimulus"]]["kind"] == "sample" and not _is_repeat(stimuli_dir, ses, t))
    assert counts["cifar10s_responses"] == expected
    assert details["flagged_participants"] == ["bad<b>"]
    people = {p["id"]: p for p in details["participants"]}
    assert people["good"]["catch_failed"] == 0 and people["bad<b>"]["catch_failed"] == people["bad<b>"]["catch_trials"] == 1
    assert people["idle"]["responses"] == 0 and not people["idle"]["flagged"]
    assert {c["expected"] for c in details["catch"]} == {"cat"}
    assert len(details["repeats"]) == 2
    for rep in details["repeats"]:
        assert rep["first_trial"] is not None and rep["first_trial"] < rep["repeat_trial"]
    for mix in details["mixing"]:
        assert mix["lambda_human"] == pytest.approx(0.3) and mix["confidence"] == pytest.approx(0.8)
        assert mix["lambda_generating"] in (0.1, 0.25, 0.5, 0.75, 0.9) and len(mix["classes"]) == 2
    assert all(t["rt_ms"] >= 1000 for t in details["trials"])
    assert counts["responses"] == sum(len(s["trials"]) for s in sessions.values())


def _is_repeat(stimuli_dir, ses, t):
    batches = json.loads((stimuli_dir / "batches.json").read_text())["batches"]
    return batches[ses["batch"]]["trials"][t["trial"]]["repeat"]


def test_exclude_flagged(filled_db, tmp_path):
    db, _ = filled_db
    _, side, _ = export_responses(db, tmp_path / "all.json")
    _, side_x, _ = export_responses(db, tmp_path / "kept.json", exclude_flagged=True)
    kept = json.loads(side_x.read_text())
    assert all("bad<b>" not in ids for ids in kept["annotators"].values())
    assert kept["flagged_participants"] == ["bad<b>"]  # still listed
    assert any("bad<b>" in ids for ids in json.loads(side.read_text())["annotators"].values())


def test_round_trip_through_label_builder(filled_db, tmp_path):
    from levelsets.softlabels.label_files import build_label_file, load_soft_labels

    db, _ = filled_db
    out, side, counts = export_responses(db, tmp_path / "responses.json")
    result = build_label_file(out, classes="cat,dog,frog", variety="t2-clamp", gamma=0.1, out=tmp_path / "labels.json")
    assert result.num_labels == counts["cifar10s_responses"]
    labels = load_soft_labels(tmp_path / "labels.json")
    responses = json.loads(out.read_text())
    for sid, items in responses.items():
        rows = labels.per_annotator[sid]
        assert rows.shape == (len(items), 3)
        for item, row in zip(items, rows, strict=True):
            if item["Second Most Probable Class"] == "dog":
                # 60% cat + 30% dog, frog impossible: clamp has nowhere to spread → normalize
                np.testing.assert_allclose(row, [60 / 90, 30 / 90, 0.0], atol=1e-12)
            else:
                # 55% dog, nothing impossible: 45% spread over cat and frog
                np.testing.assert_allclose(row, [0.225, 0.55, 0.225], atol=1e-12)


def test_export_errors(tmp_path, filled_db):
    db, _ = filled_db
    with pytest.raises(LevelsetsError, match="does not exist"):
        export_responses(tmp_path / "nope.sqlite", tmp_path / "r.json")
    with pytest.raises(LevelsetsError, match="is a directory"):
        export_responses(db, tmp_path)
    with pytest.raises(LevelsetsError, match="should end in .json"):
        export_responses(db, tmp_path / "r.csv")
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"\x00" * 2048)
    with pytest.raises(LevelsetsError, match="not a levelsets response database"):
        export_responses(junk, tmp_path / "r.json")
    assert not (tmp_path / "r.json").exists()


def test_a_stored_answer_in_the_cifar10s_key_format():
    full = {"most_probable": "cat", "most_probable_prob": 60.0, "second": "dog", "second_prob": 30.0,
            "impossible": ["frog"]}
    assert cifar10s_record(full) == {"Most Probable Class": "cat", "Most Probable Class Prob": 60.0,
                                     "Second Most Probable Class": "dog", "Second Most Probable Class Prob": 30.0,
                                     "Impossible Class(es)": ["frog"]}
    alone = cifar10s_record(full | {"second": None, "second_prob": 10.0, "impossible": ()})
    assert alone["Second Most Probable Class"] == "No" and alone["Second Most Probable Class Prob"] is None
    assert alone["Impossible Class(es)"] == [] and set(alone) == CIFAR10S_KEYS
    assert details_path("out/responses.json").as_posix() == "out/responses.details.json"
