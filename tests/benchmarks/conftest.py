"""Shared fixture: the benchmark script a test module names in its ``BENCH`` path, loaded as a module."""

from __future__ import annotations

import importlib.util

import pytest


@pytest.fixture(scope="module")
def bench(request):
    """The module at ``request.module.BENCH`` (benchmarks/ holds scripts, not a package)."""
    path = request.module.BENCH
    spec = importlib.util.spec_from_file_location(f"{path.stem}_benchmark", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
