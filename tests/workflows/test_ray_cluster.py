"""levelsets.workflows.ray_cluster: the address a sweep joins, probed quickly, with user mistakes as one line."""

from __future__ import annotations

import socket

import pytest

from levelsets.errors import LevelsetsError
from levelsets.workflows.ray_cluster import ClusterInfo, probe, ray_cluster, resolve_address


@pytest.mark.parametrize("address", ["nonsense", "host:", ":6379", "127.0.0.1:port", "ray://:1"])
def test_a_malformed_address_is_one_line(address):
    with pytest.raises(LevelsetsError, match=r"is not HOST:PORT \(e.g. 127.0.0.1:6379\) or auto"):
        resolve_address(address)


def test_an_explicit_address_is_kept_and_auto_reads_ray_address(monkeypatch):
    assert resolve_address("10.0.0.5:6379") == "10.0.0.5:6379"
    assert resolve_address("ray://[::1]:10001") == "ray://[::1]:10001"
    monkeypatch.setenv("RAY_ADDRESS", "192.168.1.2:6380")
    assert resolve_address("auto") == "192.168.1.2:6380"


def test_probe_accepts_a_listening_port_and_refuses_a_closed_one_quickly():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        probe(f"127.0.0.1:{port}", timeout=2.0)  # something listens: no error
    with pytest.raises(LevelsetsError, match=rf"cannot reach a Ray cluster at 127.0.0.1:{port} .*ray start --head"):
        probe(f"127.0.0.1:{port}", timeout=2.0)  # closed now


def test_a_local_cluster_needs_at_least_one_cpu():
    import ray

    assert not ray.is_initialized()
    with pytest.raises(LevelsetsError, match=r"--num-cpus must be ≥ 1 \(got 0\)"), ray_cluster(num_cpus=0):
        pass
    assert not ray.is_initialized()  # refused before starting anything


def test_cluster_info_is_recorded_as_json_ready_fields():
    info = ClusterInfo(address="auto", started_here=False, resources={"CPU": 4.0})
    assert info.describe() == {"address": "auto", "started_here": False, "resources": {"CPU": 4.0}}
