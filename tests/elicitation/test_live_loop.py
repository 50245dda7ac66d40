"""The loop with people in it: two rounds against a live `levelsets elicit serve`, simulated participants."""

from __future__ import annotations

import json
import sqlite3
import threading
import time

import pytest
from elicitation_loadtest import free_port, start_server

from levelsets.elicitation.manifest import load_stimuli
from levelsets.elicitation.study import STUDY_FILE
from levelsets.softlabels.label_files import load_soft_labels
from levelsets.workflows.loop import run_loop
from levelsets.workflows.loop_settings import LoopSettings

from .simulated_crowd import SimulatedCrowd, fitted_simulator

TINY = {"world": "shapes", "targets": ("ambiguous", "graded:rocketvshouse:0.25"), "samples_per_target": 8,
        "particles": 16, "steps": 8, "burn_in": 4, "n_train": 100, "epochs": 1, "eval_size": 40,
        "heldout_size": 40, "device": "cpu", "progress": False}


@pytest.mark.slow
def test_two_live_rounds_with_simulated_participants(tmp_path, log_notes):
    study, db, log = tmp_path / "study", tmp_path / "responses.sqlite", tmp_path / "server.log"
    port = free_port()
    crowd: list[SimulatedCrowd] = []
    server = []

    def operator() -> None:
        """Start the server once round 1 exists (as a person would after the loop's message), then the crowd."""
        deadline = time.monotonic() + 120
        while not (study / STUDY_FILE).is_file() and time.monotonic() < deadline:
            time.sleep(0.05)
        server.append(start_server(study, db, port, log=log))
        crowd.append(SimulatedCrowd(f"http://127.0.0.1:{port}", study, fitted_simulator(), gap=0.05, seed=3))
        crowd[0].start()

    helper = threading.Thread(target=operator, daemon=True)
    helper.start()
    messages = log_notes
    settings = LoopSettings(**TINY, rounds=2, labeler="elicited", study=study, db=db, stimuli_per_round=6,
                            wait_responses=2, poll_seconds=0.1, timeout=90, per_participant=4, repeats=1,
                            stimulus_size=16, seed=5, out=tmp_path / "loop")
    try:
        result = run_loop(settings)
    finally:
        helper.join(timeout=30)
        if crowd:
            crowd[0].stop()
            crowd[0].join(timeout=30)
        for proc in server:
            proc.terminate()
            proc.wait(timeout=30)
    assert crowd and not crowd[0].errors, crowd[0].errors[:3]
    out = tmp_path / "loop"

    # two rounds of six stimuli each, in one study the server took up without a restart
    doc = json.loads((study / STUDY_FILE).read_text())
    assert [r["round"] for r in doc["rounds"]] == [1, 2] and [r["stimuli_count"] for r in doc["rounds"]] == [6, 6]
    assert log.read_text().count("listening on http://127.0.0.1:") == 1
    merged = load_stimuli(study)
    assert len(merged.stimuli) == 12 and {b["round"] for b in merged.batches} == {1, 2}
    by_round = {r: [s for s, rec in merged.stimuli.items() if rec["round"] == r] for r in (1, 2)}
    assert all(s.startswith("r1-") for s in by_round[1]) and all(s.startswith("r2-") for s in by_round[2])

    # every stimulus of each round got ≥ 2 responses through HTTP; participants after round 2 got round-2 batches
    con = sqlite3.connect(db)
    try:
        responders = dict(con.execute("SELECT stimulus, COUNT(DISTINCT participant) FROM responses GROUP BY stimulus"))
        stored = json.loads(con.execute("SELECT stimulus_set FROM study").fetchone()[0])
    finally:
        con.close()
    assert all(responders.get(s, 0) >= 2 for s in merged.stimuli), responders
    assert len(stored["batches"]) == len(merged.batches)  # the database took up round 2 as well
    round_two_batches = {b["batch"] for b in merged.batches if b["round"] == 2}
    assert any(p["batch"] in round_two_batches for p in crowd[0].participants)

    # the table: round 0 on base data; rounds 1 and 2 trained on every elicited label so far
    table = result.table
    assert [row["round"] for row in table] == [0, 1, 2]
    assert [row["added_this_round"] for row in table] == [0, 6, 6]
    assert [row["labelled_stimuli"] for row in table[1:]] == [6, 12]
    assert table[1]["disagreement_chosen"] is None and 0.0 <= table[2]["disagreement_chosen"] <= 1.0
    for r, labelled in ((1, 6), (2, 12)):
        card = json.loads((out / f"round_{r}" / "classifier.card.json").read_text())
        assert card["training_data"]["total_examples"] == 100 + labelled
        labels = load_soft_labels(out / f"round_{r}" / "elicited" / "labels.json", class_names=("rocket", "house"))
        assert len(labels) == labelled and min(len(v) for v in labels.per_annotator.values()) >= 2
    summary = json.loads((out / "summary.json").read_text())
    live = summary["live_study"]
    assert [r["rule"] for r in live["rounds"]] == ["diverse", "disagreement"]
    assert live["rounds"][1]["disagreement_chosen"] >= live["rounds"][1]["disagreement_candidates"]
    assert "total variation" in live["disagreement"]
    # round 2 was sampled with round 1's classifier, which trained on round 1's responses
    run_summary = json.loads((out / "round_2" / "runs" / "ambiguous" / "summary.json").read_text())
    assert run_summary["classifier"]["path"].endswith("round_1/classifier.pt")
    assert any("waiting for 2 responses per stimulus" in m for m in messages)
    assert any("levelsets elicit serve" in m for m in messages)  # told how to start the server


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"db": None}, "--study DIR"),
        ({"study": None}, "--study DIR"),
        ({"stimuli_per_round": 0}, "--stimuli-per-round"),
        ({"wait_responses": 0}, "--wait-responses"),
        ({"poll_seconds": 0.0}, "--poll-seconds"),
        ({"timeout": -1.0}, "--timeout"),
        ({"repeats": 4}, "--repeats"),
        ({"stimuli_per_round": 17}, "exceeds the 16 samples"),
    ],
)
def test_live_settings_errors(tmp_path, change, fragment):
    from levelsets.errors import LevelsetsError

    kwargs = {**TINY, "labeler": "elicited", "study": tmp_path / "study", "db": tmp_path / "db.sqlite",
              "per_participant": 4, "stimuli_per_round": 6, "out": tmp_path / "loop"} | change
    with pytest.raises(LevelsetsError, match=fragment):
        LoopSettings(**kwargs)
    assert list(tmp_path.iterdir()) == []
