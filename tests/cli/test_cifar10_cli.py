"""CIFAR-10 end to end on a stand-in in the real on-disk formats: labels, train classifier, evaluate.

The stand-ins (:mod:`levelsets.data.standins`) hold a few dozen random images; the ResNet runs
at width 2-4 for one epoch, so every command finishes in seconds on a CPU. Nothing here says
anything about CIFAR-10 itself.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from levelsets.cli.app import app
from levelsets.data.standins import (
    write_cifar10_standin,
    write_cifar10h_standin,
    write_cifar10s_standin,
)

runner = CliRunner()
TINY = ["--width", "2", "--epochs", "1", "--batch-size", "8", "--quiet", "--device", "cpu"]


@pytest.fixture(scope="module")
def standin(tmp_path_factory):
    root = tmp_path_factory.mktemp("cifar")
    write_cifar10_standin(root, per_batch=6, n_test=20, seed=0)
    write_cifar10h_standin(root / "cifar10h", n_images=20, n_annotators=10, per_annotator=6, seed=0)
    return root


def ok(result):
    assert result.exit_code == 0, result.output + (result.stderr if result.stderr_bytes else "")
    return result


def error_line(result):
    """The one-line error: stderr's last line (notes logged before it, e.g. "downloading ...", may precede it)."""
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("error: ") and sum(line.startswith("error: ") for line in lines) == 1, result.stderr
    return lines[-1]


@pytest.mark.slow
def test_train_plain_then_evaluate_on_cifar10h(standin, tmp_path):
    model = tmp_path / "resnet.pt"
    result = ok(runner.invoke(app, ["train", "classifier", "--dataset", "cifar10", "--data-dir", str(standin), "--seed", "1", *TINY, "--out", str(model)]))
    assert "held-out accuracy" in result.output and "30 training images" in result.output
    card = json.loads((tmp_path / "resnet.card.json").read_text())
    assert card["config"] == {"arch": "PreActResNet18", "num_classes": 10, "width": 2, "normalize": True}
    assert card["classes"][:3] == ["airplane", "automobile", "bird"] and card["seed"] == 1
    assert card["n_train"] == 30 and card["n_heldout"] == 20 and card["settings"]["augment"] == "shift-flip"
    assert str(standin / "cifar-10-batches-py") in card["data"]

    labels = tmp_path / "h_heldout.json"
    ok(runner.invoke(app, ["labels", "cifar10h", "--data-dir", str(standin / "cifar10h"), "--split", "heldout", "-o", str(labels)]))
    doc = json.loads(labels.read_text())
    assert len(doc["examples"]) == 6 and doc["class_names"][0] == "airplane"
    assert json.loads((tmp_path / "h_heldout.json.json").read_text())["seed"] == 0

    out = tmp_path / "eval.json"
    result = ok(runner.invoke(app, [
        "evaluate", "--classifier", str(model), "--eval-labels", str(labels), "--images", "cifar10",
        "--data-dir", str(standin), "-o", str(out), "--bin-size", "3", "--device", "cpu",
    ]))
    ev = json.loads(out.read_text())
    assert ev["metrics"]["n"] == 6 and ev["class_names"][9] == "truck"
    assert "accuracy_true_class" in ev["metrics"]  # true classes come from test_batch
    assert "test_batch" in ev["eval_set"]["images"] and (tmp_path / "eval.png").is_file()


@pytest.mark.slow
def test_train_with_cifar10h_soft_labels_deaggregated(standin, tmp_path):
    labels = tmp_path / "h_train.json"
    ok(runner.invoke(app, [
        "labels", "cifar10h", "--data-dir", str(standin / "cifar10h"), "--source", "raw", "--split", "train",
        "--per-annotator", "-o", str(labels),
    ]))
    ids = json.loads(labels.read_text())["examples"]
    assert len(ids) == 14 and all(len(v["annotators"]) >= 1 for v in ids.values())
    out = tmp_path / "soft.pt"
    result = ok(runner.invoke(app, [
        "train", "classifier", "--dataset", "cifar10", "--data-dir", str(standin), "--soft-labels", str(labels),
        "--deaggregate", "--method", "mixup", *TINY, "--out", str(out),
    ]))
    assert "held-out accuracy" in result.output and "on 6 images" in result.output
    card = json.loads((tmp_path / "soft.card.json").read_text())
    assert card["training_data"]["soft_labelled_examples"] == 14 and card["training_data"]["base_examples"] == 14
    assert card["n_heldout"] == 6 and "not in" in card["data_details"]["heldout_source"]
    assert card["method"] == "mixup"


@pytest.mark.slow
def test_cifar10s_responses_to_training(standin, tmp_path):
    responses = write_cifar10s_standin(tmp_path / "cifar10s.json", ids=[0, 3, 5, 8, 11], annotators=2)
    labels = tmp_path / "s.json"
    ok(runner.invoke(app, ["labels", "build", "--responses", str(responses), "--classes", "cifar10", "-o", str(labels)]))
    out = tmp_path / "s.pt"
    ok(runner.invoke(app, ["train", "classifier", "--dataset", "cifar10", "--data-dir", str(standin), "--soft-labels", str(labels), *TINY, "--out", str(out)]))
    card = json.loads((tmp_path / "s.card.json").read_text())
    assert card["n_train"] == 5 and card["n_heldout"] == 15


def test_cifar10h_labels_all_and_counts(standin, tmp_path):
    out = tmp_path / "all.json"
    ok(runner.invoke(app, ["labels", "cifar10h", "--data-dir", str(standin / "cifar10h"), "-o", str(out)]))
    doc = json.loads(out.read_text())
    counts = np.load(standin / "cifar10h" / "cifar10h-counts.npy")
    agg = np.array([doc["examples"][str(i)]["aggregate"] for i in range(20)])
    np.testing.assert_allclose(agg, counts / counts.sum(axis=1, keepdims=True))


def test_cifar10h_labels_never_overwrite_a_users_file(standin, tmp_path):
    mine = tmp_path / "mine.json"
    mine.write_text('{"my": "data"}')
    line = error_line(runner.invoke(app, ["labels", "cifar10h", "--data-dir", str(standin / "cifar10h"), "-o", str(mine)]))
    assert "-o" in line and mine.read_text() == '{"my": "data"}' and not (tmp_path / "mine.json.json").exists()
    # a file levelsets wrote (it has its sidecar) is replaced
    out = tmp_path / "ours.json"
    ok(runner.invoke(app, ["labels", "cifar10h", "--data-dir", str(standin / "cifar10h"), "-o", str(out)]))
    ok(runner.invoke(app, ["labels", "cifar10h", "--data-dir", str(standin / "cifar10h"), "--split", "heldout", "-o", str(out)]))
    assert json.loads(out.read_text())["examples"]


@pytest.mark.parametrize(("args", "needle"), [
    (["--source", "csv"], "unknown CIFAR-10H source"),
    (["--split", "test"], "unknown split"),
    (["--per-annotator"], "need the raw trials"),
])
def test_cifar10h_bad_options(standin, tmp_path, args, needle):
    out = tmp_path / "x.json"
    line = error_line(runner.invoke(app, ["labels", "cifar10h", "--data-dir", str(standin / "cifar10h"), "-o", str(out), *args]))
    assert needle in line and not out.exists()


def test_no_data_offline_is_one_line_saying_where_and_which_files(tmp_path):
    line = error_line(runner.invoke(app, ["train", "classifier", "--dataset", "cifar10", "--epochs", "1", "--out", str(tmp_path / "m.pt")]))
    assert "holds no cifar-10-batches-py/batches.meta" in line and "cifar-10-python.tar.gz" in line
    assert "--data-dir" in line and "data_batch_1..data_batch_5, test_batch, batches.meta" in line
    line = error_line(runner.invoke(app, ["train", "classifier", "--dataset", "cifar10", "--data-dir", str(tmp_path), "--epochs", "1"]))
    assert f"--data-dir {tmp_path} holds no" in line
    assert list(tmp_path.iterdir()) == []


def test_failed_download_is_one_line(tmp_path, monkeypatch):
    import torchvision

    monkeypatch.setattr(torchvision.datasets.CIFAR10, "url", (tmp_path / "offline.tar.gz").as_uri())
    line = error_line(runner.invoke(app, ["train", "classifier", "--dataset", "cifar10", "--data-dir", str(tmp_path / "d"), "--download", "--epochs", "1"]))
    assert "could not download CIFAR-10" in line


@pytest.mark.parametrize(("args", "needle"), [
    (["--download", "--world", "shapes"], "--download applies to --dataset cifar10"),
    (["--dataset", "cifar10", "--width", "0"], "--width must be >= 1"),
    (["--dataset", "cifar10", "--n-heldout", "5"], "--n-heldout"),
])
def test_bad_train_options(standin, args, needle):
    assert needle in error_line(runner.invoke(app, ["train", "classifier", "--data-dir", str(standin), *args]))


def test_soft_labels_naming_every_test_image_or_unknown_ids(standin, tmp_path):
    every = tmp_path / "all.json"
    every.write_text(json.dumps({str(i): [0.1] * 10 for i in range(20)}))
    line = error_line(runner.invoke(app, ["train", "classifier", "--dataset", "cifar10", "--data-dir", str(standin), "--soft-labels", str(every), *TINY]))
    assert "labels all 20 CIFAR-10 test images" in line and "--split train" in line
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"25": [0.1] * 10}))
    line = error_line(runner.invoke(app, ["train", "classifier", "--dataset", "cifar10", "--data-dir", str(standin), "--soft-labels", str(bad), *TINY]))
    assert "'25' is not a CIFAR-10 test index 0..19" in line


def test_evaluate_named_cifar10_without_a_trained_model(standin, tmp_path):
    labels = tmp_path / "l.json"
    labels.write_text(json.dumps({"0": [0.1] * 10}))
    line = error_line(runner.invoke(app, [
        "evaluate", "--classifier", "cifar10", "--eval-labels", str(labels), "--images", "cifar10",
        "--data-dir", str(standin), "-o", str(tmp_path / "e.json"),
    ]))
    assert "no cifar10 classifier" in line and "--dataset cifar10 --data-dir DIR" in line
    line = error_line(runner.invoke(app, [
        "evaluate", "--classifier", "mnist", "--eval-labels", str(labels), "--images", "mnist",
        "--data-dir", str(standin), "-o", str(tmp_path / "e.json"),
    ]))
    assert "--data-dir applies to --images cifar10" in line


def _docs_plugin() -> str:
    """The `cifar_world.py` code block of docs/cifar.md, verbatim."""
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "cifar.md").read_text()
    start = text.index("```python\n# cifar_world.py") + len("```python\n")
    return text[start : text.index("```", start)]


@pytest.mark.slow
def test_docs_cifar_world_plugin_samples_end_to_end(standin, tmp_path):
    import torch

    from levelsets.data.cifar10 import load_cifar10
    from levelsets.generative.conditional_vae import (
        ConditionalVaeConfig,
        ConditionalVaeTrainSettings,
        save_conditional_vae,
        train_conditional_vae,
    )

    data = load_cifar10("train", data_dir=standin)
    cvae, _ = train_conditional_vae(
        torch.as_tensor(data.images), torch.as_tensor(data.labels),
        config=ConditionalVaeConfig(latent_dim=6, width=4), settings=ConditionalVaeTrainSettings(epochs=1, device="cpu"),
    )
    save_conditional_vae(tmp_path / "cvae.pt", cvae, {"data": data.source})
    ok(runner.invoke(app, ["train", "classifier", "--dataset", "cifar10", "--data-dir", str(standin), *TINY, "--out", str(tmp_path / "resnet18.pt")]))
    (tmp_path / "cifar_world.py").write_text(_docs_plugin())
    out = tmp_path / "run"
    ok(runner.invoke(app, [
        "sample", "--world", f"{tmp_path / 'cifar_world.py'}:make_world", "--target", "catvsdog", "-N", "32", "-T", "12",
        "--burn-in", "8", "-n", "8", "--device", "cpu", "-q", "-o", str(out),
    ]))
    summary = json.loads((out / "summary.json").read_text())
    assert "generator: cvae.pt" in json.dumps(summary)
    with np.load(out / "samples.npz") as npz:
        assert npz["images"].shape == (8, 3, 32, 32) and npz["latents"].shape == (8, 6)
