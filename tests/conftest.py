"""Suite-wide settings: a private model home, one torch thread per xdist worker, no GUI backend."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(scope="session", autouse=True)
def _isolated_model_home(tmp_path_factory):
    """Every test session caches models in its own temporary LEVELSETS_HOME."""
    home = tmp_path_factory.mktemp("levelsets_home")
    old = os.environ.get("LEVELSETS_HOME")
    os.environ["LEVELSETS_HOME"] = str(home)
    yield home
    if old is None:
        os.environ.pop("LEVELSETS_HOME", None)
    else:
        os.environ["LEVELSETS_HOME"] = old


@pytest.fixture(scope="session", autouse=True)
def _torch_threads():
    """Two xdist workers share two cores: one intra-op thread each."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        import torch

        torch.set_num_threads(1)
    yield
