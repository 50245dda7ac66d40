"""levelsets.evaluation.evaluate_settings: the metrics' settings and `levelsets evaluate`'s, checked on construction."""

from __future__ import annotations

from pathlib import Path

import pytest

from levelsets.errors import LevelsetsError
from levelsets.evaluation.evaluate_settings import (
    DEFAULT_BIN_SIZE,
    FGSM_EPSILON,
    EvaluateJob,
    EvaluationSettings,
)


def test_evaluation_settings_defaults_and_ranges():
    assert (EvaluationSettings().epsilon, EvaluationSettings().bin_size) == (FGSM_EPSILON, DEFAULT_BIN_SIZE) == (4 / 255, 100)
    for kwargs, message in (({"epsilon": 1.5}, r"--epsilon must be in \[0, 1\]"), ({"bin_size": 0}, "--bin-size must be >= 1"),
                            ({"batch_size": 0}, "batch size must be >= 1")):
        with pytest.raises(LevelsetsError, match=message):
            EvaluationSettings(**kwargs)


def test_the_classifier_module_uses_these_settings():
    import levelsets.evaluation.classifier as classifier

    assert classifier.EvaluationSettings is EvaluationSettings and classifier.FGSM_EPSILON == FGSM_EPSILON


@pytest.fixture
def files(tmp_path):
    (tmp_path / "labels.json").write_text("{}")
    (tmp_path / "run").mkdir()
    return tmp_path


@pytest.mark.parametrize(("kwargs", "message"), [
    ({}, "give either --eval-labels FILE|RUN_DIR or --world shapes --near-boundary N"),
    ({"world": "shapes", "eval_labels": "run"}, "give either"),
    ({"world": "mnist", "near_boundary": 5}, "--world mnist: only shapes has a built-in evaluation set"),
    ({"world": "shapes"}, "--world shapes needs --near-boundary N ≥ 1"),
    ({"eval_labels": "labels.json"}, "--eval-labels FILE needs --images RUN_DIR|mnist|cifar10"),
    ({"eval_labels": "nowhere.json"}, "does not exist"),
    ({"eval_labels": "run", "data_dir": "d"}, "--data-dir applies to --images cifar10"),
    ({"eval_labels": "run", "epsilon": 2.0}, "--epsilon must be in [0, 1]"),
    ({"eval_labels": "run", "out": "."}, "is a directory; give a file path such as eval.json"),
])
def test_bad_jobs_are_one_line(files, monkeypatch, kwargs, message):
    monkeypatch.chdir(files)
    kwargs = {"out": "eval.json", **kwargs}
    with pytest.raises(LevelsetsError) as info:
        EvaluateJob(classifier="shapes", **kwargs)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_a_job_gives_its_metric_settings_and_plot_path(files):
    job = EvaluateJob(classifier="shapes", out=files / "e.json", eval_labels=str(files / "run"), epsilon=0.1, bin_size=7)
    assert job.evaluation_settings() == EvaluationSettings(epsilon=0.1, bin_size=7)
    assert job.plot_path == files / "e.png"
    assert EvaluateJob(classifier="shapes", out="e.json", world="shapes", near_boundary=3, plot="p.png").plot_path == Path("p.png")
