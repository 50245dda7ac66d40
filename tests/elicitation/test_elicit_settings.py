"""levelsets.elicitation.elicit_settings: `levelsets elicit serve` / `elicit export` settings, checked on construction."""

from __future__ import annotations

from pathlib import Path

import pytest

from levelsets.elicitation.elicit_settings import DEFAULT_HOST, DEFAULT_PORT, ExportJob, ServeJob
from levelsets.elicitation.store import DEFAULT_LEASE_SECONDS
from levelsets.errors import LevelsetsError


def test_serve_defaults_bind_this_machine_only():
    job = ServeJob(stimulus_dir=Path("s"), db=Path("d.sqlite"))
    assert (job.host, job.port, DEFAULT_HOST, DEFAULT_PORT) == ("127.0.0.1", 8000, "127.0.0.1", 8000)
    assert job.lease_minutes == DEFAULT_LEASE_SECONDS / 60 and job.allowed_host == [] and job.log_level == "warning"


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"port": 0}, "--port 0 is out of range; use 1 to 65535"),
    ({"port": 70000}, "--port 70000 is out of range"),
    ({"lease_minutes": 0.0}, "--lease-minutes 0 must be above 0"),
])
def test_bad_serve_settings_are_one_line(kwargs, message):
    with pytest.raises(LevelsetsError, match=message):
        ServeJob(stimulus_dir=Path("s"), db=Path("d.sqlite"), **kwargs)


def test_serve_refuses_bad_settings_before_touching_the_study(tmp_path):
    from levelsets.elicitation.server import serve

    with pytest.raises(LevelsetsError, match="--port 0 is out of range"):
        serve(tmp_path / "no-such-study", tmp_path / "d.sqlite", port=0)
    assert list(tmp_path.iterdir()) == []


def test_export_settings():
    job = ExportJob(db="d.sqlite", out="r.json")
    assert (job.db, job.out, job.exclude_flagged) == (Path("d.sqlite"), Path("r.json"), False)
    with pytest.raises(LevelsetsError, match=r"-o r.csv should end in .json \(the CIFAR-10S format is JSON\)"):
        ExportJob(db="d.sqlite", out="r.csv")
