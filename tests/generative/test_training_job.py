"""levelsets.generative.training_job: `levelsets train vae|gan`'s settings, checked on construction."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from levelsets.errors import LevelsetsError
from levelsets.generative.training_job import KINDS, TrainGeneratorJob


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"kind": "flow"}, "unknown generator 'flow'; choose one of vae, gan"),
    ({"epochs": 0}, "--epochs must be >= 1, got 0"),
    ({"exclude_class": 10}, "--exclude-class must be a digit from 0 to 9, got 10"),
    ({"exclude_class": -1}, "--exclude-class must be a digit from 0 to 9, got -1"),
])
def test_bad_settings_are_one_line(kwargs, message):
    with pytest.raises(LevelsetsError, match=message.replace("(", r"\(")):
        TrainGeneratorJob(**kwargs)


def test_the_job_is_exactly_train_generators_arguments():
    from levelsets.generative.zoo import train_generator

    job = TrainGeneratorJob(kind="gan", epochs=3, exclude_class=0, seed=4, out=Path("g"))
    kwargs = job.train_kwargs()
    bound = inspect.signature(train_generator).bind(**kwargs)  # every setting is a parameter, none is missing
    assert bound.arguments["kind"] == "gan" and bound.arguments["exclude_class"] == 0 and bound.arguments["out"] == Path("g")
    assert KINDS == ("vae", "gan")
