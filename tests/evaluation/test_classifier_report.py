"""`levelsets evaluate` as an API (levelsets.evaluation.classifier_report): loading a classifier, the report files."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from levelsets.checkpoints import save_checkpoint
from levelsets.classifiers.cnn import MnistCNN
from levelsets.errors import CheckpointError, LevelsetsError
from levelsets.evaluation.classifier import EvaluationSettings, evaluate_classifier
from levelsets.evaluation.classifier_report import load_classifier, run_evaluation
from levelsets.softlabels.evaluation_sets import EvalSet

SETTINGS = EvaluationSettings(epsilon=0.05, bin_size=5, batch_size=8)


def tiny_set(n=20, seed=0):
    g = torch.Generator().manual_seed(seed)
    images = torch.rand(n, 1, 4, 4, generator=g)
    labels = np.random.default_rng(seed).dirichlet([1.0, 1.0], size=n)
    return EvalSet(images=images, labels=labels, class_names=("left", "right"), description={"what": "tiny"})


def tiny_model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 2)).eval()


def test_run_evaluation_writes_the_report_the_plot_and_their_sidecars(tmp_path):
    model, eval_set = tiny_model(), tiny_set()
    info = {"classifier": "my.pt", "config": {"arch": "x"}, "card": {"huge": list(range(5))}}
    done = run_evaluation(model, eval_set, tmp_path / "ev.json", settings=SETTINGS, classifier_info=info, seed=5,
                          device="cpu")
    assert done.json_path == tmp_path / "ev.json" and done.plot_path == tmp_path / "ev.png"
    doc = json.loads(done.json_path.read_text())
    assert set(doc) == {"classifier", "eval_set", "class_names", "metrics", "reliability_bins", "settings", "plot"}
    assert doc["classifier"] == {"classifier": "my.pt", "config": {"arch": "x"}}  # the card is left out
    assert doc["eval_set"] == {"what": "tiny"} and doc["class_names"] == ["left", "right"]
    assert doc["plot"] == str(tmp_path / "ev.png") and doc["settings"]["bin_size"] == 5
    direct = evaluate_classifier(model, eval_set.images, eval_set.labels, settings=SETTINGS, device="cpu")
    assert doc["metrics"] == pytest.approx(direct.metrics) and doc["metrics"] == pytest.approx(done.result.metrics)
    assert len(doc["reliability_bins"]) == 4  # 20 examples, bins of 5
    assert done.plot_path.read_bytes()[:4] == b"\x89PNG"
    sidecar = json.loads((tmp_path / "ev.json.json").read_text())
    assert sidecar["artifact"] == "evaluation" and sidecar["seed"] == 5 and sidecar["data"] == {"what": "tiny"}
    assert sidecar["classifier"] == doc["classifier"]
    assert json.loads((tmp_path / "ev.png.json").read_text())["what"] == "reliability diagram"
    # written by levelsets: a second run may replace both files
    again = run_evaluation(model, eval_set, tmp_path / "ev.json", plot=tmp_path / "other.png", settings=SETTINGS,
                           device="cpu")
    assert again.plot_path == tmp_path / "other.png" and again.plot_path.is_file()


def test_the_plot_may_not_be_the_json_file(tmp_path):
    with pytest.raises(LevelsetsError, match="equals the JSON output path; give --plot another name"):
        run_evaluation(tiny_model(), tiny_set(), tmp_path / "ev.json", plot=tmp_path / "ev.json", device="cpu")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("which", ["out", "plot"])
def test_a_users_file_is_never_replaced_and_nothing_is_written(tmp_path, which):
    mine = tmp_path / ("ev.json" if which == "out" else "ev.png")
    mine.write_text("my notes")
    with pytest.raises(LevelsetsError) as exc:
        run_evaluation(tiny_model(), tiny_set(), tmp_path / "ev.json", device="cpu")
    assert str(mine) in str(exc.value) and "\n" not in str(exc.value)
    assert mine.read_text() == "my notes" and [p.name for p in tmp_path.iterdir()] == [mine.name]


def test_load_classifier_from_a_checkpoint_file(tmp_path):
    model = MnistCNN(width=4).eval()
    path = save_checkpoint(tmp_path / "c.pt", kind="classifier", config=model.config, state_dict=model.state_dict(),
                           card={})
    loaded, info = load_classifier(path, device="cpu")
    assert not loaded.training and info == {"classifier": str(path), "config": model.config}
    x = torch.rand(3, 1, 28, 28)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x))
    save_checkpoint(tmp_path / "v.pt", kind="vae", config={}, state_dict={}, card={})
    with pytest.raises(CheckpointError, match="vae"):
        load_classifier(tmp_path / "v.pt")


def test_load_classifier_by_name_and_unknown_specs(tiny_shapes_classifier, tmp_path):
    model, info = load_classifier("shapes", device="cpu")
    assert info["classifier"] == "shapes" and info["card"]["path"] == str(tiny_shapes_classifier)
    assert not model.training and model(torch.rand(2, 1, 64, 64)).shape == (2, 2)
    with pytest.raises(LevelsetsError) as exc:
        load_classifier(tmp_path / "nope.pt")
    assert str(exc.value) == (f"--classifier {tmp_path / 'nope.pt'} is neither shapes nor mnist nor cifar10 nor an "
                              "existing checkpoint file")
    with pytest.raises(CheckpointError, match="no cifar10 classifier"):  # never trained implicitly
        load_classifier("cifar10")
