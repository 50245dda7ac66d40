"""``levelsets.loop``: its whole job is to re-export the closed loop's public names from ``levelsets.workflows``.

The loop itself is tested in ``tests/workflows/`` (test_loop.py and the modules it names).
"""

from __future__ import annotations

import levelsets.loop
import levelsets.workflows.loop as job
import levelsets.workflows.loop_evaluation as evaluation
import levelsets.workflows.loop_settings as settings


def test_every_public_name_is_the_workflows_object_itself():
    homes = (job, evaluation, settings)
    assert len(levelsets.loop.__all__) == len(set(levelsets.loop.__all__))
    for name in levelsets.loop.__all__:
        obj = getattr(levelsets.loop, name)
        owners = [home.__name__ for home in homes if name in vars(home) and vars(home)[name] is obj]
        assert owners, f"levelsets.loop.{name} is not the object of that name in levelsets.workflows"


def test_the_names_notebooks_use_are_public():
    assert {"run_loop", "LoopSettings", "LoopResult", "evaluate_round", "markdown_table", "ROUND_METRICS",
            "DEFAULT_TARGETS"} <= set(levelsets.loop.__all__)
    assert levelsets.loop.run_loop is job.run_loop and levelsets.loop.LoopSettings is settings.LoopSettings
    assert not [name for name in dir(levelsets.loop) if not name.startswith("_") and name not in levelsets.loop.__all__
                and name != "annotations"]  # nothing public beyond __all__
