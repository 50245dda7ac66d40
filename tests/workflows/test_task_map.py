"""levelsets.workflows.task_map: a function over many items, one Ray task each, results in order."""

from __future__ import annotations

import sys

import pytest
import ray.cloudpickle
import torch

ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import this test module


def _square_and_threads(x):
    return x * x, torch.get_num_threads()


def test_map_tasks_runs_each_item_as_a_task_in_order(ray_local):
    import functools

    from levelsets.workflows.task_map import map_tasks

    assert map_tasks(_square_and_threads, [3, 1, 2]) == [(9, 1), (1, 1), (4, 1)]  # one torch thread per task
    assert map_tasks(functools.partial(divmod, 7), [2, 3]) == [(3, 1), (2, 1)]
    with pytest.raises(ZeroDivisionError):
        map_tasks(functools.partial(divmod, 7), [1, 0])
