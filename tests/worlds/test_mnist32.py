"""The registered world mnist32: a 32-d latent MNIST VAE (deeper decoder) under a small PreAct ResNet.

Its models are trained tiny (one epoch, a narrow ResNet) in the session's isolated model home. The benchmark
that measures its runs (benchmarks/mnist32_world.py) is tested in tests/benchmarks/test_mnist32_world.py.
"""

from __future__ import annotations

import importlib.metadata
import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from levelsets.cli import app
from levelsets.errors import CheckpointError, LevelsetsError
from levelsets.generative import zoo as gen_zoo
from levelsets.generative.vae import VAE, VaeConfig, VaeDecoder


def test_registered_in_the_entry_point_group():
    from levelsets.worlds import plugins

    eps = {ep.name: ep.value for ep in importlib.metadata.entry_points(group="levelsets.worlds")}
    assert eps.get("mnist32") == "levelsets.worlds.mnist32:make_world"
    assert plugins.registered_worlds()["mnist32"][0] == "levelsets.worlds.mnist32:make_world"
    choice = plugins.choose_world("mnist32")
    assert choice.priors == ("vae",) and choice.prior == "vae" and choice.default_alpha == 100.0


def test_class_names_and_bad_options_need_no_models(tmp_path, monkeypatch):
    from levelsets.worlds import class_names, load_world, validate_world

    monkeypatch.setenv("LEVELSETS_HOME", str(tmp_path))
    assert class_names("mnist32") == tuple("0123456789")
    with pytest.raises(LevelsetsError, match="world mnist32 has no prior 'gan'; choose one of vae"):
        validate_world("mnist32", "gan")
    with pytest.raises(LevelsetsError, match="does not take --exclude-class"):
        load_world("mnist32", exclude_class=3)
    with pytest.raises(LevelsetsError) as info:  # nothing cached and no training allowed: one line, the command
        load_world("mnist32", train_if_missing=False)
    assert "levelsets train classifier --dataset mnist-resnet" in str(info.value) and "\n" not in str(info.value)
    assert [f for f in tmp_path.rglob("*") if f.is_file()] == []  # nothing was trained or written


def test_generator_recipe_and_bad_requests(tmp_path, monkeypatch):
    monkeypatch.setenv("LEVELSETS_HOME", str(tmp_path))
    recipe = gen_zoo.RECIPES["mnist32"]
    assert recipe.latent_dim == 32 and recipe.kinds == ("vae",) and recipe.vae == {"decoder_depth": 1}
    assert gen_zoo.checkpoint_path("vae", "mnist32") == tmp_path / "vae" / "mnist32" / "model.pt"
    assert gen_zoo.retrain_command("vae", "mnist32") == "levelsets train vae --dataset mnist32"
    with pytest.raises(LevelsetsError, match="--dataset mnist32 has no gan; it offers vae"):
        gen_zoo.checkpoint_path("gan", "mnist32")
    with pytest.raises(CheckpointError, match="levelsets train vae --dataset mnist32"):
        gen_zoo.get_generator("vae", "mnist32", train_if_missing=False)


def test_deeper_decoder_keeps_old_checkpoints_loadable():
    old = VaeConfig.from_dict({"latent_dim": 5, "channels": [16, 32], "hidden": 256, "image_shape": [1, 28, 28]})
    assert old.decoder_depth == 0
    keys = set(VaeDecoder(old).state_dict())
    assert keys == {f"net.{i}.{w}" for i in (0, 2, 5, 7) for w in ("weight", "bias")}  # the layout before decoder_depth
    deep = VaeConfig(latent_dim=32, decoder_depth=1)
    assert VaeConfig.from_dict(deep.to_dict()) == deep
    dec = VaeDecoder(deep).eval()
    convs = [m for m in dec.net if isinstance(m, torch.nn.Conv2d) and not isinstance(m, torch.nn.ConvTranspose2d)]
    assert [c.in_channels for c in convs] == [32, 16]  # one extra 3x3 convolution at 7x7 and one at 14x14
    with torch.no_grad():
        x = dec(torch.randn(3, 32))
    assert x.shape == (3, 1, 28, 28) and 0.0 <= float(x.min()) and float(x.max()) <= 1.0
    assert VAE(deep).loss(torch.rand(2, 1, 28, 28))["loss"].isfinite()
    with pytest.raises(ValueError, match="decoder_depth must be >= 0"):
        VaeConfig(decoder_depth=-1)


def test_world_builds_and_shapes_fit(tiny_mnist32_models):
    from levelsets.worlds import load_world

    world = load_world("mnist32", progress=False)
    assert world.name == "mnist32" and world.prior_name == "vae"
    assert tuple(world.prior.event_shape) == (32,) and world.latent_dim == 32
    assert world.latent_names == tuple(f"z{i}" for i in range(1, 33))
    assert world.class_names == tuple("0123456789")
    assert world.cards["classifier"]["arch"] == "MnistPreActResNet"
    config = world.cards["generator"]["config"]
    assert config["latent_dim"] == 32 and config["decoder_depth"] == 1 and config["dataset"] == "mnist32"
    assert "offline subset" in world.data or "MNIST" in world.data
    assert world.source["load_spec"] == "mnist32"  # stimuli export reloads the decoder by name
    torch.manual_seed(0)
    z = world.prior.sample((6,))
    assert z.shape == (6, 32)
    with torch.no_grad():
        x = world.decoder(z)
        p = world.classifier(x)
    assert x.shape == (6, 1, 28, 28) and float(x.min()) >= 0.0 and float(x.max()) <= 1.0
    assert p.shape == (6, 10) and float(p.min()) >= 0.0
    torch.testing.assert_close(p.sum(1), torch.ones(6))


def test_decoder_is_differentiable_in_z(tiny_mnist32_models):
    """The lead's gradient-based moves need d g(z) / dz: the world's decoder is not wrapped in no_grad."""
    from levelsets.worlds import load_world

    world = load_world("mnist32", progress=False)
    z = torch.randn(3, 32, requires_grad=True)
    x = world.decoder(z)
    assert x.requires_grad
    x[:, :, 10:18, 10:18].sum().backward()
    assert z.grad is not None and z.grad.shape == (3, 32) and float(z.grad.abs().sum()) > 0
    assert all(not p.requires_grad for p in world.decoder.parameters())  # weights frozen


def test_classifier_passes_gradients_when_the_images_require_them(tiny_mnist32_models):
    """Through as_probability_fn, f(x) keeps its graph when x requires grad (for MALA on this world)."""
    from levelsets.worlds import load_world

    world = load_world("mnist32", progress=False)
    z = torch.randn(3, 32, requires_grad=True)
    p = world.classifier(world.decoder(z))
    assert p.shape == (3, 10) and p.requires_grad
    (p[:, 1] - p[:, 7]).sum().backward()
    assert z.grad is not None and float(z.grad.abs().sum()) > 0


def test_sample_cli_end_to_end(tmp_path, mnist32_run):
    from levelsets.runs import load_run

    out, summary = mnist32_run
    assert summary["world"] == "mnist32" and summary["prior"] == "vae" and summary["seed"] == 2
    assert summary["generator"]["config"]["latent_dim"] == 32
    assert summary["world_plugin"]["spec"] == "mnist32"
    # its images are MNIST digits: scored against real 1s and 7s, like the mnist world's
    assert summary["quality"]["reference_real"] is True
    assert "real MNIST digits of class 1, 7" in summary["quality"]["reference"]
    run = load_run(out)
    assert run.latents.shape == (8, 32)
    assert run.images.shape == (8, 1, 28, 28)
    assert run.probs.shape == (8, 10)
    np.testing.assert_allclose(run.probs.sum(1), 1.0, atol=1e-5)
    assert (out / "grid.png").stat().st_size > 1000

    # stimulus export reloads the world by its registered name to decode the final population
    stim = tmp_path / "stimuli"
    result = CliRunner().invoke(app, ["stimuli", "export", str(out), "--out", str(stim), "--per-run", "4", "--size", "28",
                                      "--per-participant", "4", "--repeats", "0", "--select", "diverse"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((stim / "manifest.json").read_text())
    assert len(manifest["stimuli"]) == 4
