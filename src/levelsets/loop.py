"""The closed loop's public names, kept importable as ``levelsets.loop`` (notebooks and scripts use it).

The job lives in :mod:`levelsets.workflows.loop`, its settings in
:mod:`levelsets.workflows.loop_settings` and its evaluation in :mod:`levelsets.workflows.loop_evaluation`.
"""

from __future__ import annotations

from levelsets.workflows.loop import LoopResult, run_loop
from levelsets.workflows.loop_evaluation import (
    HELDOUT_SEED_OFFSET,
    NEAR_BOUNDARY_SEED_OFFSET,
    ROUND_METRICS,
    EvalSets,
    evaluate_round,
    loop_eval_sets,
    markdown_table,
)
from levelsets.workflows.loop_settings import DEFAULT_TARGETS, LABELERS, LOOP_N_TRAIN, LoopSettings

__all__ = [
    "DEFAULT_TARGETS", "HELDOUT_SEED_OFFSET", "LABELERS", "LOOP_N_TRAIN", "NEAR_BOUNDARY_SEED_OFFSET", "ROUND_METRICS",
    "EvalSets", "LoopResult", "LoopSettings", "evaluate_round", "loop_eval_sets", "markdown_table", "run_loop",
]
