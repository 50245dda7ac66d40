"""A small version of benchmarks/elicitation_load.py: real server with leases, SIGKILL mid-run, restart, retry."""

import sqlite3

from elicitation_loadtest import run_load_check


def test_no_response_lost_or_duplicated_across_a_kill(stimuli_dir, tmp_path):
    db = tmp_path / "load.sqlite"
    report = run_load_check(stimuli_dir, db, participants=6, kill_after=0.4, seed=1, log=tmp_path / "server.log",
                            timeout=120)
    assert report["server_kills"] == 1
    assert 0 < report["acknowledged_before_kill"] < report["expected_responses"]
    assert report["expected_responses"] == 6 * 8
    assert report["acknowledged"] == report["expected_responses"]
    assert report["lost"] == 0 and report["duplicated"] == 0 and report["missing_vs_expected"] == 0
    con = sqlite3.connect(db)
    try:
        n, distinct = con.execute(
            "SELECT COUNT(*), COUNT(DISTINCT participant || '|' || stimulus || '|' || trial) FROM responses").fetchone()
    finally:
        con.close()
    assert n == distinct == 48
    assert report["post_latency_ms"]["p95"] > 0
    # leases on; every participant got the completion code with their last answer, none earlier
    assert report["lease_minutes"] == 30.0
    assert report["completion_codes"] == 6 and report["early_codes"] == 0
    assert report["platform_session_ids_recorded"] == 6
    per_batch = report["participants_per_batch"].values()
    assert sum(per_batch) == 6 and max(per_batch) - min(per_batch) <= 1
    assert (tmp_path / "server.log").read_text().count("listening on http://127.0.0.1:") == 2
