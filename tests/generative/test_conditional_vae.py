"""The class-conditional VAE for 32 x 32 x 3 images, trained for seconds on the CIFAR-10 stand-in."""

from __future__ import annotations

import pytest
import torch

from levelsets.data.cifar10 import load_cifar10
from levelsets.data.standins import write_cifar10_standin
from levelsets.errors import CheckpointError, LevelsetsError
from levelsets.generative.conditional_vae import (
    ConditionalVAE,
    ConditionalVaeConfig,
    ConditionalVaeTrainSettings,
    class_decoder,
    load_conditional_vae,
    save_conditional_vae,
    train_conditional_vae,
)


def test_shapes_and_range():
    model = ConditionalVAE(ConditionalVaeConfig(latent_dim=6, width=4)).eval()
    z = torch.randn(5, 6)
    with torch.no_grad():
        images = model.decode(z, torch.tensor([0, 1, 2, 3, 9]))
    assert images.shape == (5, 3, 32, 32) and 0.0 <= float(images.min()) and float(images.max()) <= 1.0
    mu, logvar = model.encode(images, torch.tensor([0, 1, 2, 3, 9]))
    assert mu.shape == logvar.shape == (5, 6)
    parts = model.train().loss(images, torch.tensor([0, 1, 2, 3, 9]))
    torch.testing.assert_close(parts["loss"], parts["recon"] + parts["kl"])
    assert float(parts["kl"].detach()) >= 0.0


def test_class_decoder_is_a_generator_of_z():
    model = ConditionalVAE(ConditionalVaeConfig(latent_dim=3, width=4))
    g = class_decoder(model, 4)
    z = torch.randn(7, 3)
    torch.testing.assert_close(g(z), model.decode(z, torch.full((7,), 4)))
    half = torch.zeros(10)
    half[[0, 2]] = 0.5
    assert class_decoder(model, half)(z).shape == (7, 3, 32, 32)
    with pytest.raises(LevelsetsError, match="outside 0..9"):
        class_decoder(model, 10)
    with pytest.raises(LevelsetsError, match="summing to 1"):
        class_decoder(model, torch.ones(10))


@pytest.mark.slow
def test_learns_the_class_conditional_colours_of_the_standin(tmp_path):
    # each stand-in class has its own mean colour: prior draws decoded for class c must have
    # the mean colour of class c's images (nearest of the 10), which needs the class input
    write_cifar10_standin(tmp_path, per_batch=40, n_test=4, seed=0)
    data = load_cifar10("train", data_dir=tmp_path)
    x, y = torch.as_tensor(data.images), torch.as_tensor(data.labels)
    model, history = train_conditional_vae(
        x, y, config=ConditionalVaeConfig(latent_dim=4, width=8),
        settings=ConditionalVaeTrainSettings(epochs=15, batch_size=16, lr=1e-2, device="cpu"),
    )
    assert len(history.loss) == 15 and history.loss[-1] < history.loss[0] - 100  # nats per image
    means = torch.stack([x[y == c].mean((0, 2, 3)) for c in range(10)])
    images = model.sample(torch.arange(10).repeat(20), torch.Generator().manual_seed(1))
    colours = images.mean((2, 3)).view(20, 10, 3).mean(0)
    nearest = torch.cdist(colours, means).argmin(1)
    assert int((nearest == torch.arange(10)).sum()) >= 9, nearest  # chance: about 1 of 10

    path = tmp_path / "cvae.pt"
    save_conditional_vae(path, model, {"data": data.source})
    again = load_conditional_vae(path)
    z = torch.randn(4, 4)
    torch.testing.assert_close(again.decode(z, torch.arange(4)), model.cpu().decode(z, torch.arange(4)))
    with pytest.raises(CheckpointError, match="is corrupt or truncated"):
        path.write_bytes(path.read_bytes()[:100])
        load_conditional_vae(path)


@pytest.mark.parametrize(("images", "labels", "needle"), [
    (torch.rand(4, 1, 28, 28), torch.zeros(4), "shape (N, 3, 32, 32)"),
    (torch.rand(4, 3, 32, 32) * 2, torch.zeros(4), "in [0, 1]"),
    (torch.rand(4, 3, 32, 32), torch.tensor([0, 1, 2, 10]), "classes must be in 0..9"),
    (torch.rand(4, 3, 32, 32), torch.zeros(3), "one class per image"),
])
def test_bad_training_input(images, labels, needle):
    with pytest.raises(LevelsetsError, match=needle.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[").replace("]", r"\]")):
        train_conditional_vae(images, labels, settings=ConditionalVaeTrainSettings(epochs=1, device="cpu"))
