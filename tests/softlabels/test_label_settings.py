"""levelsets.softlabels.label_settings: `levelsets labels build` / `labels cifar10h` settings, checked on construction."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from levelsets.errors import LevelsetsError
from levelsets.softlabels.label_construction import ConstructionSettings
from levelsets.softlabels.label_settings import BuildLabelsJob, Cifar10hJob


def job(**kwargs) -> BuildLabelsJob:
    return BuildLabelsJob(**{"responses": "r.json", "classes": "shapes", "out": "l.json", **kwargs})


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"variety": "t3"}, "unknown label variety 't3'"),
    ({"gamma": 1.0}, "--gamma must be in [0, 1), got 1.0"),
    ({"aggregate": "vote"}, "unknown --aggregate 'vote'; choose one of mean, dawid-skene, glad"),
    ({"unreliable_below": 0.3}, "--unreliable-below needs --aggregate dawid-skene or glad"),
    ({"aggregate": "glad", "table": "t.txt"}, "--table t.txt should end in .csv"),
])
def test_bad_build_settings_are_one_line(kwargs, message):
    with pytest.raises(LevelsetsError) as info:
        job(**kwargs)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_build_settings_resolve_paths_and_give_the_construction():
    settings = job(variety="t1-uniform", gamma=0.2, aggregate="dawid-skene", unreliable_below=0.4, table="t.CSV",
                   classes=["a", "b"])
    assert (settings.responses, settings.out, settings.table) == (Path("r.json"), Path("l.json"), Path("t.CSV"))
    assert settings.construction_settings() == ConstructionSettings("t1-uniform", 0.2)
    assert settings.classes == ["a", "b"]  # Python callers may pass the class names themselves


def test_a_mean_build_does_not_load_pandas():
    code = ("import sys; from levelsets.softlabels.label_settings import BuildLabelsJob; "
            "BuildLabelsJob(responses='r.json', classes='shapes', out='l.json'); print('pandas' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "False"


def test_cifar10h_settings_defaults():
    settings = Cifar10hJob(data_dir=Path("d"), out=Path("c.json"))
    assert (settings.source, settings.split, settings.per_annotator, settings.seed) == ("counts", "all", False, 0)
    assert [f.name for f in dataclasses.fields(Cifar10hJob)][:2] == ["data_dir", "out"]  # the required two
