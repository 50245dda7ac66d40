"""Fixtures of the world tests: the toy world installed as an importable package."""

from __future__ import annotations

import textwrap

import pytest

from .toy_world import TOY


@pytest.fixture
def toy_package(tmp_path, monkeypatch):
    pkg = tmp_path / "toyworlds"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "toy.py").write_text(textwrap.dedent(TOY))
    monkeypatch.syspath_prepend(str(tmp_path))
    return "toyworlds.toy:make_world"
