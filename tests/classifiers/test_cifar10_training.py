"""The cifar10 zoo recipe (PreAct ResNet-18) on a learnable stand-in."""

from __future__ import annotations

import pytest
import torch

from levelsets.classifiers import zoo
from levelsets.data.standins import write_cifar10_standin
from levelsets.errors import CheckpointError


@pytest.mark.slow
def test_resnet_learns_the_standin_classes(tmp_path):
    # each class of the learnable stand-in has its own mean colour: far above chance (0.1) after 3 epochs
    # (0.52 at this seed; chance on 100 images would be 0.1 +- 0.03)
    write_cifar10_standin(tmp_path, per_batch=40, n_test=100, seed=0, learnable=True)
    model, card = zoo.train_classifier(
        "cifar10", data_dir=tmp_path, out=tmp_path / "m.pt", width=4, epochs=3, batch_size=40, lr=1e-2,
        device="cpu", progress=False,
    )
    assert card["heldout_accuracy"] > 0.3, card["history"]
    assert card["n_train"] == 200 and card["n_heldout"] == 100 and card["arch"] == "PreActResNet18"
    again, card2 = zoo.load_classifier(tmp_path / "m.pt", "cifar10")
    x = torch.rand(3, 3, 32, 32)
    torch.testing.assert_close(model.cpu()(x), again(x))
    assert card2["config"]["width"] == 4


def test_n_train_subset_and_defaults(tmp_path):
    assert zoo.default_settings("cifar10").augment == "shift-flip"
    assert zoo.default_settings("cifar10").max_shift == 4
    assert zoo.new_classifier("cifar10").config["width"] == 64
    write_cifar10_standin(tmp_path, per_batch=4, n_test=4)
    train, heldout, data = zoo._cifar10_data(tmp_path, False, 7, 0)
    assert len(train) == 7 and len(heldout) == 4 and train.tensors[1].shape == (7, 10)


def test_get_classifier_never_trains_cifar10_implicitly():
    with pytest.raises(CheckpointError, match="no cifar10 classifier.*--dataset cifar10 --data-dir DIR"):
        zoo.get_classifier("cifar10")
