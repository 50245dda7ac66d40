"""Responses → the CIFAR-10S JSON format (DESIGN §5) plus a details file.

``responses.json`` maps stimulus id → list of responses, one per participant (their first
showing of the stimulus; the second showing of a repeat goes to the details), each with exactly
the CIFAR-10S keys::

    {"Most Probable Class": "cat", "Most Probable Class Prob": 70,
     "Second Most Probable Class": "dog",   # "No" when none
     "Second Most Probable Class Prob": 20, # null when none
     "Impossible Class(es)": ["truck", "ship"]}

Catch trials and mixed images are not in it. ``levelsets labels build --responses responses.json``
turns it into soft labels.

``responses.details.json`` keeps everything else: the participant ids of each response (same
order as in ``responses.json``), every trial with its reaction time, the repeat pairs and their
consistency, catch-trial results, the participants *flagged* for failing a catch trial (listed,
not dropped, unless ``exclude_flagged``), and mixing-coefficient judgments (λ_h, confidence ω, the
generating λ and the two classes).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from levelsets.artifacts import check_output_file, provenance, write_json, write_sidecar
from levelsets.elicitation.elicit_settings import ExportJob
from levelsets.elicitation.store import ResponseStore

NO_SECOND = "No"
"""The CIFAR-10S value of "Second Most Probable Class" when there is none."""


def cifar10s_record(answer: dict) -> dict:
    """One stored soft-label answer in the CIFAR-10S key format."""
    return {
        "Most Probable Class": answer["most_probable"],
        "Most Probable Class Prob": answer["most_probable_prob"],
        "Second Most Probable Class": answer["second"] if answer["second"] is not None else NO_SECOND,
        "Second Most Probable Class Prob": answer["second_prob"] if answer["second"] is not None else None,
        "Impossible Class(es)": list(answer["impossible"]),
    }


def build_export(store: ResponseStore, *, exclude_flagged: bool = False) -> tuple[dict, dict]:
    """Build the CIFAR-10S mapping and the details from a response store.

    Returns
    -------
    tuple of (dict, dict)
        ``responses`` (stimulus id → list of CIFAR-10S records) and ``details``.
    """
    stimuli = store.stimuli
    participants = store.participants()
    batch_of = {p["id"]: p["batch"] for p in participants}
    rows = store.responses()

    trials, catch, mixing = [], [], []
    first_showing: dict[tuple[str, str], dict] = {}
    repeats_pending: list[dict] = []
    for row in sorted(rows, key=lambda r: (r["participant"], r["trial"])):
        meta = stimuli.batches[batch_of[row["participant"]]]["trials"][row["trial"]]
        record = stimuli.stimuli[row["stimulus"]]
        trials.append({**row, "repeat": bool(meta.get("repeat")), "catch": bool(meta.get("catch"))})
        if row["kind"] == "mixed":
            a, b = record["mixing"]["endpoints"]
            mixing.append({
                "participant": row["participant"], "stimulus": row["stimulus"], "trial": row["trial"],
                "classes": [a["class"], b["class"]], "lambda_generating": record["mixing"]["lambda"],
                "lambda_human": row["answer"]["mix_percent"] / 100.0,
                "confidence": row["answer"]["confidence"] / 100.0, "rt_ms": row["rt_ms"],
            })
        elif row["kind"] == "catch":
            answered = row["answer"]["most_probable"]
            catch.append({
                "participant": row["participant"], "stimulus": row["stimulus"], "trial": row["trial"],
                "expected": record["expected"], "answered": answered, "passed": answered == record["expected"],
            })
        key = (row["participant"], row["stimulus"])
        if meta.get("repeat"):
            repeats_pending.append(row)
        else:
            first_showing.setdefault(key, row)

    repeats = []
    for row in repeats_pending:
        first = first_showing.get((row["participant"], row["stimulus"]))
        entry = {"participant": row["participant"], "stimulus": row["stimulus"], "repeat_trial": row["trial"],
                 "first_trial": None if first is None else first["trial"],
                 "first_answer": None if first is None else first["answer"], "repeat_answer": row["answer"]}
        if first is not None and row["kind"] != "mixed":
            entry["same_most_probable"] = first["answer"]["most_probable"] == row["answer"]["most_probable"]
            entry["abs_prob_difference"] = abs(first["answer"]["most_probable_prob"] - row["answer"]["most_probable_prob"])
        elif first is not None:
            entry["abs_mix_difference"] = abs(first["answer"]["mix_percent"] - row["answer"]["mix_percent"]) / 100.0
        repeats.append(entry)

    failed = defaultdict(int)
    total = defaultdict(int)
    for c in catch:
        total[c["participant"]] += 1
        failed[c["participant"]] += not c["passed"]
    flagged = [p["id"] for p in participants if failed[p["id"]] > 0]

    responses: dict[str, list[dict]] = {}
    annotators: dict[str, list[str]] = {}
    order = {sid: i for i, sid in enumerate(stimuli.stimuli)}
    kept = [r for r in first_showing.values() if r["kind"] == "sample"]
    if exclude_flagged:
        kept = [r for r in kept if r["participant"] not in set(flagged)]
    for row in sorted(kept, key=lambda r: (order[r["stimulus"]], r["received"], r["participant"])):
        responses.setdefault(row["stimulus"], []).append(cifar10s_record(row["answer"]))
        annotators.setdefault(row["stimulus"], []).append(row["participant"])

    rts = defaultdict(list)
    for row in rows:
        rts[row["participant"]].append(row["rt_ms"])
    people = []
    for p in participants:
        times = sorted(rts[p["id"]])
        median = None if not times else (times[(len(times) - 1) // 2] + times[len(times) // 2]) / 2.0
        people.append({**p, "catch_trials": total[p["id"]], "catch_failed": failed[p["id"]],
                       "flagged": p["id"] in flagged, "median_rt_ms": median})

    details = {
        "format": "levelsets-elicitation-details/1",
        "study_id": stimuli.study_id,
        "class_names": list(stimuli.class_names),
        "flag_rule": "a participant is flagged when they fail at least one catch trial (most probable class != expected)",
        "excluded_flagged": exclude_flagged,
        "flagged_participants": flagged,
        "annotators": annotators,
        "participants": people,
        "catch": catch,
        "repeats": repeats,
        "mixing": mixing,
        "trials": trials,
        "counts": {"responses": len(rows), "cifar10s_responses": sum(len(v) for v in responses.values()),
                   "stimuli_with_responses": len(responses), "participants": len(participants)},
    }
    return responses, details


def details_path(out: str | Path) -> Path:
    """Where the details file of ``out`` goes: ``responses.json`` → ``responses.details.json``."""
    out = Path(out)
    return out.with_name(f"{out.stem}.details.json")


def export_responses(db: str | Path, out: str | Path, **settings: Any) -> tuple[Path, Path, dict]:
    """Write ``out`` (CIFAR-10S JSON), its details file and a provenance sidecar.

    Parameters
    ----------
    db:
        The SQLite file written by ``levelsets elicit serve``.
    out:
        Path of the CIFAR-10S JSON, e.g. ``responses.json``.
    **settings:
        The other fields of :class:`~levelsets.elicitation.elicit_settings.ExportJob`:
        ``exclude_flagged`` leaves the responses of flagged participants out of ``out`` (they stay
        in the details). The resolved settings are recorded in the sidecar.

    Returns
    -------
    tuple of (Path, Path, dict)
        ``out``, the details path and the counts.

    Raises
    ------
    LevelsetsError
        When ``db`` is missing or not a levelsets database, or ``out`` is a directory.
    """
    job = ExportJob(db=Path(db), out=Path(out), **settings)
    out = check_output_file(job.out, option="-o")
    store = ResponseStore(db)
    responses, details = build_export(store, exclude_flagged=job.exclude_flagged)
    side = details_path(out)
    if side.exists() and not out.exists():
        check_output_file(side, option="the details file")
    write_json(out, responses)
    write_json(side, details)
    write_sidecar(out, provenance(
        settings=job, data={"db": str(Path(db).resolve()), "study_id": store.stimuli.study_id},
        format="CIFAR-10S (DESIGN §5)", details=side.name, counts=details["counts"],
    ))
    return out, side, details["counts"]
