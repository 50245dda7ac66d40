"""Soft-label training through the zoo: inputs checked first, method and label sources on the card."""

from __future__ import annotations

import json

import numpy as np
import pytest

from levelsets.errors import LevelsetsError
from levelsets.softlabels.soft_training import soft_label_training_set, train_with_soft_labels
from shapes_runs import make_run


def test_training_set_for_shapes_with_labels_and_runs(tmp_path):
    make_run(tmp_path / "run")
    labels = tmp_path / "l.json"
    labels.write_text(json.dumps({"3": [0.3, 0.7], "5": [[0.5, 0.5], [0.1, 0.9]]}))
    data = soft_label_training_set("shapes", n_train=32, soft_labels=labels, augment=[tmp_path / "run"], seed=1)
    x, y = data.dataset.tensors
    assert x.shape == (48, 1, 64, 64) and y.shape == (48, 2)
    np.testing.assert_allclose(y[3].numpy(), [0.3, 0.7], atol=1e-7)
    np.testing.assert_allclose(y[5].numpy(), [0.3, 0.7], atol=1e-7)
    assert data.info["base_examples"] == 32 and data.info["augment"][0]["samples"] == 16


def test_bad_input_fails_before_training(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(LevelsetsError, match="is empty"):
        train_with_soft_labels("shapes", n_train=16, augment=[tmp_path / "empty"], out=tmp_path / "m.pt")
    with pytest.raises(LevelsetsError, match="unknown --method"):
        train_with_soft_labels("shapes", method="dropout", out=tmp_path / "m.pt")
    labels = tmp_path / "l.json"
    labels.write_text(json.dumps({"99": [0.5, 0.5]}))
    with pytest.raises(LevelsetsError, match="matches no example"):
        train_with_soft_labels("shapes", n_train=16, soft_labels=labels, out=tmp_path / "m.pt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "l.json"]


@pytest.mark.slow
def test_train_shapes_with_mixup_and_augment(tmp_path):
    make_run(tmp_path / "run")
    model, card = train_with_soft_labels(
        "shapes", method="mixup", method_options={"alpha": 0.4}, augment=[tmp_path / "run"], deaggregate=True,
        n_train=256, n_heldout=128, epochs=1, progress=False, device="cpu", out=tmp_path / "m.pt",
    )
    assert card["method"] == "mixup" and card["method_settings"]["alpha"] == 0.4
    assert card["training_data"]["total_examples"] == 272 and card["training_data"]["deaggregate"]
    assert card["n_train"] == 272
    assert (tmp_path / "m.pt").is_file() and (tmp_path / "m.card.json").is_file()
    assert 0.0 <= card["heldout_accuracy"] <= 1.0


def test_soft_training_is_reproducible_and_records_precision(tmp_path):
    """Same seed → bit-identical weights on the CPU; the card says mixed precision was off (CUDA only),
    and ``mixed_precision=False`` (gpu_check's float32 baseline) reaches the settings."""
    import torch

    runs = []
    for i, amp in enumerate((True, False)):
        model, card = train_with_soft_labels("shapes", method="ent-wc", n_train=48, n_heldout=16, epochs=1, progress=False,
                                             device="cpu", out=tmp_path / f"m{i}.pt", mixed_precision=amp)
        assert card["settings"]["mixed_precision"] is amp and card["history"]["mixed_precision"] is False
        runs.append((model.state_dict(), card["history"]["train_loss"]))
    (a, loss_a), (b, loss_b) = runs
    assert loss_a == loss_b and all(torch.equal(a[k], b[k]) for k in a)
