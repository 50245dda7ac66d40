"""A function over many items as Ray tasks: the generic form of a sweep, for loops that are not
``levelsets sample`` jobs (a benchmark's training seeds, say).

Each item is one Ray task with a fixed torch thread count (its result does not depend on how
many tasks share the machine), re-run by Ray if its worker process dies; results come back in
the items' order. Without ``address`` a local Ray cluster is started (or the one already
initialized in this process is used) — see :func:`levelsets.workflows.ray_cluster.ray_cluster`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def _call(fn: Callable[[Any], Any], item: Any, threads: int) -> Any:
    import torch

    torch.set_num_threads(threads)
    return fn(item)


def map_tasks(fn: Callable[[T], R], items: Sequence[T], *, threads: int = 1, retries: int = 3,
              address: str | None = None, num_cpus: int | None = None, progress: bool = False,
              desc: str = "tasks") -> list[R]:
    """Return ``[fn(item) for item in items]``, each call a Ray task with ``threads`` torch threads.

    Parameters
    ----------
    fn:
        Any picklable callable (cloudpickle: closures, ``functools.partial`` and functions of a
        script run as ``__main__`` work); shipped once through the object store.
    items:
        The arguments, one task each.
    threads:
        torch threads (and Ray CPUs reserved) per task.
    retries:
        Re-runs of a task whose worker process died.
    address, num_cpus:
        As for :func:`levelsets.workflows.ray_cluster.ray_cluster`.
    progress:
        A progress bar over the tasks.

    Raises
    ------
    Exception
        The first failing task's exception (Ray's wrapper, an instance of the original type).
    """
    from levelsets.progress import progress_bar
    from levelsets.workflows.ray_cluster import ray_cluster

    with ray_cluster(address, num_cpus=num_cpus):
        import ray

        task = ray.remote(_call).options(num_cpus=threads, max_retries=retries)
        fn_ref = ray.put(fn)
        refs = [task.remote(fn_ref, item, threads) for item in items]
        waiting = list(refs)
        with progress_bar(total=len(refs), desc=desc, unit="task", enabled=progress) as bar:
            while waiting:
                done, waiting = ray.wait(waiting, num_returns=1)
                ray.get(done[0])  # a failure surfaces as soon as it happens
                bar.update(1)
        return ray.get(refs)
