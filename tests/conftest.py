"""Suite-wide settings: a private model home, one torch thread per xdist worker, no GUI backend."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(scope="session", autouse=True)
def _isolated_model_home(tmp_path_factory):
    """Every test session caches models in its own temporary LEVELSETS_HOME."""
    home = tmp_path_factory.mktemp("levelsets_home")
    old = os.environ.get("LEVELSETS_HOME")
    os.environ["LEVELSETS_HOME"] = str(home)
    yield home
    if old is None:
        os.environ.pop("LEVELSETS_HOME", None)
    else:
        os.environ["LEVELSETS_HOME"] = old


@pytest.fixture(scope="session", autouse=True)
def _torch_threads():
    """Two xdist workers share two cores: one intra-op thread each."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        import torch

        torch.set_num_threads(1)
    yield


@pytest.fixture(autouse=True)
def _no_leftover_log_handlers():
    """A CLI test's ``configure_cli`` must not leave its handler on the ``levelsets`` logger for the next test."""
    yield
    from levelsets.logs import disable

    disable()


@pytest.fixture(scope="session")
def tiny_shapes_classifier(_isolated_model_home):
    """A small shapes CNN cached in the session's model home, so `load_world("shapes")` finds it.

    Trained on 1,500 images for 2 epochs (seconds); good enough to have a decision boundary.
    """
    from levelsets.classifiers.zoo import classifier_path, train_classifier

    if not classifier_path("shapes").exists():
        train_classifier("shapes", n_train=1500, n_heldout=500, epochs=2, seed=0, device="cpu", progress=False)
    return classifier_path("shapes")


@pytest.fixture
def log_notes():
    """The notes logged under ``levelsets`` (INFO and above) during the test, one string each, as they come."""
    from levelsets.logs import capture

    with capture() as lines:
        yield lines


@pytest.fixture(scope="session")
def tiny_mnist32_models(_isolated_model_home):
    """The mnist32 world's ResNet (width 4, 300 digits, one epoch) and 32-d VAE (one epoch), cached where load_world looks."""
    from levelsets.classifiers.zoo import classifier_path, get_classifier
    from levelsets.generative import zoo as gen_zoo

    if not classifier_path("mnist-resnet").exists():
        get_classifier("mnist-resnet", seed=0, device="cpu", n_train=300, epochs=1, width=4, progress=False)
    if not gen_zoo.checkpoint_path("vae", "mnist32").exists():
        gen_zoo.get_generator("vae", "mnist32", epochs=1, seed=0, device="cpu", progress=False)
    return _isolated_model_home


@pytest.fixture(scope="session")
def mnist32_run(tiny_mnist32_models, tmp_path_factory):
    """One tiny ``levelsets sample --world mnist32`` run (48 particles, 12 steps, seed 2): its folder and summary.

    Shared by the world's end-to-end test and the mnist32 benchmark's tests; treat it as read-only.
    """
    import json

    from typer.testing import CliRunner

    from levelsets.cli import app

    out = tmp_path_factory.mktemp("mnist32") / "run"
    args = ["sample", "--world", "mnist32", "--target", "1vs7", "--particles", "48", "--steps", "12", "--burn-in", "8",
            "--samples", "8", "--seed", "2", "--quiet", "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return out, json.loads((out / "summary.json").read_text())
