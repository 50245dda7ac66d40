"""Load and fault check of the elicitation server (issue 5, item 7; leases since issue 15).

50 simulated participants x 27 responses, concurrently, against `levelsets elicit serve` on
loopback with leases (--lease-minutes 30) and a completion code; participants arrive with
STUDY_ID / SESSION_ID and pass the comprehension check; the server is killed with SIGKILL after
40% of the answers were acknowledged and restarted on the same database; clients retry; then the
stored rows are counted.

    .venv/bin/python benchmarks/elicitation_load.py [--participants 50] [--runs RUN_DIR ...]

Without --runs, stimuli come from small synthetic sample runs (random 16x16 images; the server does
not care what the pictures show). Writes benchmarks/results/elicitation_load.json and .md (the
paragraph of docs/elicitation.md, rendered from the JSON by `markdown`, with a .md.json sidecar).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

import numpy as np
from elicitation_loadtest import run_load_check

from levelsets.artifacts import provenance, write_json, write_sidecar
from levelsets.elicitation.stimuli import StimuliSettings, export_stimuli
from levelsets.runs import SampleRun

RESULTS = Path(__file__).parent / "results" / "elicitation_load.json"


def synthetic_runs(root: Path, seed: int) -> list[Path]:
    rng = np.random.default_rng(seed)
    classes = tuple(f"class{i}" for i in range(10))
    out = []
    for name, n, spec in (("ambiguous", 40, "ambiguous"), ("1vs7", 40, "1vs7"), ("confident", 12, "confident:class3")):
        target = np.full(10, 0.1)
        if spec == "confident:class3":
            target = np.full(10, 0.01)
            target[3] = 0.91
        run = SampleRun(latents=rng.normal(size=(n, 5)), images=rng.uniform(size=(n, 1, 16, 16)),
                        probs=rng.dirichlet(np.ones(10), size=n), target=target, class_names=classes)
        (root / name).mkdir()
        run.save(root / name)
        (root / name / "summary.json").write_text(json.dumps({"target": {"spec": spec}}))
        out.append(root / name)
    return out


def markdown(record: dict) -> str:
    """The docs paragraph: responses stored, lost and duplicated across a SIGKILL, codes, balance, latency, load."""
    lat, load = record["post_latency_ms"], record["load_average"]
    per_batch = "/".join(str(n) for n in record["participants_per_batch"].values())
    trials = record["expected_responses"] // record["participants"]
    return (
        f"Last run ({record['provenance']['created'][:10]}, {record['provenance']['machine']['cpus']} shared CPU cores, "
        f"1-minute load average {load['before'][0]:.0f}–{load['after'][0]:.0f}): {record['participants']} participants "
        f"× {trials} trials = {record['expected_responses']:,} responses with leases on "
        f"(`--lease-minutes {record['lease_minutes']:g}`), platform ids and a completion code — "
        f"**{record['distinct_stored']:,} stored, {record['lost']} lost, {record['duplicated']} duplicated**; "
        f"{record['completion_codes']} of {record['participants']} participants got the completion code with their "
        f"last answer and {record['early_codes']} earlier; batches balanced {per_batch}; p95 latency of "
        f"`POST /api/responses` {lat['p95']:.0f} ms (p50 {lat['p50']:.0f} ms); killed after "
        f"{record['acknowledged_before_kill']} acknowledged answers.\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=50)
    parser.add_argument("--kill-after", type=float, default=0.4)
    parser.add_argument("--runs", nargs="*", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        runs = args.runs or synthetic_runs(tmp, args.seed)
        settings = StimuliSettings(size=160, per_participant=27, repeats=2, catch=3, seed=args.seed)
        stimuli = export_stimuli(runs, tmp / "stimuli", settings, progress=False)
        report = run_load_check(stimuli, tmp / "responses.sqlite", participants=args.participants,
                                kill_after=args.kill_after, seed=args.seed, log=tmp / "server.log")
    load = {"before": [round(x, 2) for x in load_before], "after": [round(x, 2) for x in os.getloadavg()],
            "note": "1/5/15-minute load averages of this machine (2 cores shared with other jobs)"}
    record = {"benchmark": "elicitation_load", **report, "load_average": load,
              "stimuli": "synthetic runs" if not args.runs else [str(r) for r in args.runs],
              "provenance": provenance(settings=vars(args) | {"runs": None if not args.runs else [str(r) for r in args.runs],
                                                               "out": str(args.out)}, seed=args.seed)}
    write_json(args.out, record)
    md_path = args.out.with_suffix(".md")
    md_path.write_text(markdown(record))
    write_sidecar(md_path, {"made_from": args.out.name, **record["provenance"]})
    lat = report["post_latency_ms"]
    print(f"{report['participants']} participants, {report['expected_responses']} responses, "
          f"{report['server_kills']} SIGKILL after {report['acknowledged_before_kill']} acknowledged: "
          f"stored {report['distinct_stored']}, lost {report['lost']}, duplicated {report['duplicated']}; "
          f"leases {report['lease_minutes']:g} min, completion codes {report['completion_codes']} "
          f"(early {report['early_codes']}); "
          f"POST p50 {lat['p50']:.1f} ms, p95 {lat['p95']:.1f} ms; {report['wall_seconds']:.1f} s "
          f"(load average {load['before'][0]:.1f} -> {load['after'][0]:.1f}) -> {args.out}")


if __name__ == "__main__":
    main()
