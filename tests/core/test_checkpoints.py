import pytest
import torch

from levelsets.checkpoints import (
    card_path,
    load_checkpoint,
    load_model,
    load_state,
    save_checkpoint,
)
from levelsets.errors import CheckpointError

HINT = "levelsets train classifier --world shapes"


def _save(path):
    model = torch.nn.Linear(3, 2)
    save_checkpoint(path, kind="classifier", config={"num_classes": 2}, state_dict=model.state_dict(), card={"data": "x"})
    return model


def test_round_trip(tmp_path):
    path = tmp_path / "model.pt"
    model = _save(path)
    payload = load_checkpoint(path, kind="classifier", expect={"num_classes": 2})
    fresh = load_state(torch.nn.Linear(3, 2), payload, path)
    assert torch.equal(fresh.weight, model.weight)
    assert card_path(path).is_file()


def test_missing_truncated_wrong_kind_and_mismatch(tmp_path):
    path = tmp_path / "model.pt"
    with pytest.raises(CheckpointError, match=f"does not exist; recreate it with `{HINT}`"):
        load_checkpoint(path, kind="classifier", retrain_hint=HINT)
    _save(path)
    with pytest.raises(CheckpointError, match="vae model, but a classifier"):
        save_checkpoint(path, kind="vae", config={}, state_dict={}, card={})
        load_checkpoint(path, kind="classifier")
    _save(path)
    with pytest.raises(CheckpointError, match="num_classes=2 but 10 is needed"):
        load_checkpoint(path, kind="classifier", expect={"num_classes": 10})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=r"model\.pt is corrupt or truncated") as info:
        load_checkpoint(path, kind="classifier", retrain_hint=HINT)
    assert HINT in str(info.value) and "\n" not in str(info.value)


def test_state_mismatch_is_checkpoint_error(tmp_path):
    path = tmp_path / "model.pt"
    _save(path)
    payload = load_checkpoint(path, kind="classifier")
    with pytest.raises(CheckpointError, match="does not match the model"):
        load_state(torch.nn.Linear(4, 2), payload, path)


def test_refuses_pickled_objects(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"format": "levelsets-checkpoint", "obj": object()}, path)
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        load_checkpoint(path, kind="classifier")


def test_load_model_builds_from_the_config_and_names_the_file_when_it_cannot(tmp_path):
    def build(config):
        if config["width"] < 1:
            raise ValueError("width must be >= 1")
        return torch.nn.Linear(config["width"], 2)

    good = torch.nn.Linear(3, 2)
    save_checkpoint(tmp_path / "m.pt", kind="toy", config={"width": 3}, state_dict=good.state_dict(), card={})
    model, payload = load_model(tmp_path / "m.pt", kind="toy", build=build)
    assert payload["config"] == {"width": 3} and torch.equal(model.weight, good.weight)
    save_checkpoint(tmp_path / "bad.pt", kind="toy", config={"width": 0}, state_dict=good.state_dict(), card={})
    with pytest.raises(CheckpointError, match=r"bad\.pt has an unusable configuration \(width must be >= 1\); recreate it with `make toy`"):
        load_model(tmp_path / "bad.pt", kind="toy", build=build, retrain_hint="make toy")
    save_checkpoint(tmp_path / "other.pt", kind="toy", config={"width": 4}, state_dict=good.state_dict(), card={})
    with pytest.raises(CheckpointError, match=r"other\.pt does not match the model"):
        load_model(tmp_path / "other.pt", kind="toy", build=build)
