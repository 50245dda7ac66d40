"""levelsets.classifiers.training_job: `levelsets train classifier`'s settings, checked before anything is loaded."""

from __future__ import annotations

import pytest

from levelsets.classifiers.training_job import TrainClassifierJob, run_training_job
from levelsets.errors import LevelsetsError


@pytest.mark.parametrize(("kwargs", "message"), [
    ({}, "give exactly one of --world shapes or --dataset mnist|cifar10"),
    ({"world": "shapes", "dataset": "mnist"}, "give exactly one of"),
    ({"world": "circles"}, "unknown --world 'circles'; classifiers exist for: shapes"),
    ({"dataset": "svhn"}, "unknown --dataset 'svhn'; choose one of mnist, mnist-resnet, cifar10"),
    ({"world": "shapes", "epochs": 0}, "--epochs must be >= 1, got 0"),
    ({"world": "shapes", "n_train": 0}, "--n-train must be >= 1, got 0"),
    ({"dataset": "cifar10", "width": 0}, "--width must be >= 1, got 0"),
    ({"dataset": "mnist", "n_heldout": 100}, "--n-heldout must be >= 1 and applies to --world shapes only"),
    ({"dataset": "mnist", "download": True}, "--download applies to --dataset cifar10"),
])
def test_bad_settings_are_one_line(kwargs, message):
    with pytest.raises(LevelsetsError) as info:
        TrainClassifierJob(**kwargs)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_which_zoo_entry_and_which_training_path():
    assert TrainClassifierJob(world="shapes").name == "shapes" and TrainClassifierJob(dataset="cifar10").name == "cifar10"
    assert not TrainClassifierJob(world="shapes").soft  # plain cross-entropy on the recipe's data: the zoo
    assert TrainClassifierJob(world="shapes", method="mixup").soft
    assert TrainClassifierJob(world="shapes", augment=["run"]).soft and TrainClassifierJob(world="shapes", deaggregate=True).soft
    assert not TrainClassifierJob(world="shapes", augment=[]).soft


def test_a_users_file_at_out_is_refused_before_anything_is_trained(tmp_path):
    mine = tmp_path / "mine.pt"
    mine.write_text("not levelsets'")
    with pytest.raises(LevelsetsError, match="refusing to overwrite"):
        run_training_job(TrainClassifierJob(world="shapes", n_train=16, epochs=1, out=mine, device="cpu", progress=False))
    assert mine.read_text() == "not levelsets'" and sorted(p.name for p in tmp_path.iterdir()) == ["mine.pt"]
