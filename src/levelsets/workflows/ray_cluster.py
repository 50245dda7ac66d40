"""Starting or joining the Ray cluster a sweep runs on, with user mistakes as one-line errors.

Ray itself waits minutes before giving up on an address where nothing listens, so an explicit
address is first probed with a short TCP connect; ``auto`` is resolved the way ``ray.init`` does
(``RAY_ADDRESS``, then the cluster of the last ``ray start``) before the probe.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from levelsets.errors import LevelsetsError

CONNECT_TIMEOUT = 3.0
"""Seconds the address probe waits for a TCP connection."""


@dataclass(frozen=True)
class ClusterInfo:
    """Where a sweep ran: the address joined (``None`` for a local cluster it started) and its resources."""

    address: str | None
    started_here: bool
    resources: dict[str, float]

    def describe(self) -> dict[str, Any]:
        """JSON-ready record for ``sweep.json``."""
        return {"address": self.address, "started_here": self.started_here, "resources": self.resources}


def _host_port(address: str) -> tuple[str, int]:
    """Split ``[ray://]HOST:PORT`` into its host and port; a malformed address is a user error."""
    bare = address.removeprefix("ray://")
    host, sep, port = bare.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise LevelsetsError(f"--address {address!r} is not HOST:PORT (e.g. 127.0.0.1:6379) or auto")
    return host.strip("[]"), int(port)


def resolve_address(address: str) -> str:
    """Return the ``HOST:PORT`` that ``ray.init(address=address)`` would connect to.

    ``auto`` reads ``RAY_ADDRESS`` or the address recorded by the last ``ray start`` on this
    machine; an explicit address is returned as given.
    """
    if address != "auto":
        _host_port(address)
        return address
    found = os.environ.get("RAY_ADDRESS") or None
    if found is None:
        try:
            from ray._private.services import find_bootstrap_address
        except ImportError:  # a Ray without this helper: let ray.init resolve it
            return address
        found = find_bootstrap_address(None)
    if not found or found == "auto":
        raise LevelsetsError(
            "--address auto found no running Ray cluster on this machine; start one with `ray start --head` "
            "or drop --address to run on a local cluster"
        )
    return found


def probe(address: str, *, timeout: float = CONNECT_TIMEOUT) -> None:
    """Raise :class:`LevelsetsError` unless something accepts TCP connections at ``address``."""
    host, port = _host_port(address)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise LevelsetsError(
            f"cannot reach a Ray cluster at {address} ({reason}); start one with `ray start --head` "
            "and pass the address it prints, or drop --address to run on a local cluster"
        ) from None


@contextlib.contextmanager
def ray_cluster(address: str | None = None, *, num_cpus: int | None = None) -> Iterator[ClusterInfo]:
    """Yield a connected Ray: the one already initialized in this process, a joined one, or a new local one.

    Parameters
    ----------
    address:
        ``None``: start a local cluster of ``num_cpus`` CPUs (default: every CPU of the machine),
        without the dashboard, and shut it down afterwards. ``auto`` or ``HOST:PORT``: join an
        existing cluster (probed first, see :func:`probe`) and disconnect afterwards.
    num_cpus:
        CPUs of a local cluster; ignored when joining one.
    """
    import ray

    if ray.is_initialized():  # a notebook that called ray.init itself keeps its cluster
        yield ClusterInfo(address=None, started_here=False, resources=_resources(ray))
        return
    kwargs: dict[str, Any] = {"include_dashboard": False, "logging_level": logging.ERROR, "log_to_driver": True}
    if address is not None:
        resolved = resolve_address(address)
        if resolved != "auto":
            probe(resolved)
        try:
            ray.init(address=resolved, **kwargs)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise LevelsetsError(f"cannot join the Ray cluster at {resolved}: {first}") from None
    else:
        if num_cpus is not None and num_cpus < 1:
            raise LevelsetsError(f"--num-cpus must be ≥ 1 (got {num_cpus})")
        ray.init(num_cpus=num_cpus or os.cpu_count() or 1, **kwargs)
    try:
        yield ClusterInfo(address=address, started_here=address is None, resources=_resources(ray))
    finally:
        ray.shutdown()


def _resources(ray: Any) -> dict[str, float]:
    return {key: float(value) for key, value in ray.cluster_resources().items()
            if key in ("CPU", "GPU", "memory", "object_store_memory")}
