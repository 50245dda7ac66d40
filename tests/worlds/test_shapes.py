"""The world ``shapes`` (levelsets.worlds.shapes): exact prior, renderer and posterior under the zoo's shapes CNN.

The zoo's classifier is replaced by a tiny untrained CNN (no training); the world with the trained CNN runs end to
end in tests/cli and tests/workflows.
"""

from __future__ import annotations

import pytest
import torch

from levelsets.errors import LevelsetsError
from levelsets.generative import shapes as shapes_model
from levelsets.worlds import shapes


@pytest.fixture
def zoo(monkeypatch):
    """A stand-in shapes classifier (image → 2 logits) and the calls made to the zoo."""
    import levelsets.classifiers.zoo as classifier_zoo

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(4), torch.nn.Flatten(), torch.nn.Linear(16, 2))  # (N, 1, H, W)
    calls = []

    def get_classifier(name, **kw):
        calls.append(("get_classifier", name, kw))
        return model, {"data": "rendered shapes"}

    def load_classifier(path, name, **kw):
        calls.append(("load_classifier", name, path))
        return model, {"data": "rendered shapes"}

    monkeypatch.setattr(classifier_zoo, "get_classifier", get_classifier)
    monkeypatch.setattr(classifier_zoo, "load_classifier", load_classifier)
    return model, calls


@pytest.mark.parametrize("prior, names", [("exact", ("w", "h", "t")), ("exact-circle", ("w", "h", "t", "r", "cx", "cy"))])
def test_the_world_draws_renders_and_classifies_its_latents(zoo, prior, names):
    model, calls = zoo
    world = shapes.make_world(prior, seed=2, progress=False)
    assert world.name == "shapes" and world.prior_name == prior and world.latent_names == names
    assert world.class_names == tuple(shapes_model.SHAPES_CLASSES)
    assert isinstance(world.prior, shapes_model.ShapesPrior) and world.prior.circle is (prior == "exact-circle")
    z = world.prior.sample((5,))
    assert z.shape == (5, len(names))
    x = world.decoder(z)
    torch.testing.assert_close(x, shapes_model.render(z))  # the exact generative process, no learned decoder
    p = world.classifier(x)
    assert p.shape == (5, 2)
    torch.testing.assert_close(p, torch.softmax(model(x), -1))
    assert world.exact_posterior is shapes_model.exact_posterior
    assert "no external data" in world.data and world.cards == {"classifier": {"data": "rendered shapes"}}
    assert calls == [("get_classifier", "shapes", {"train_if_missing": True, "seed": 2, "device": torch.device("cpu"),
                                                   "progress": False})]


def test_a_given_classifier_checkpoint_is_loaded_instead_of_the_cached_one(zoo, tmp_path):
    _, calls = zoo
    shapes.make_world(classifier_path=tmp_path / "cnn.pt", progress=False)
    assert calls == [("load_classifier", "shapes", tmp_path / "cnn.pt")]


def test_exclude_class_is_refused_before_any_model_is_loaded(zoo):
    _, calls = zoo
    with pytest.raises(LevelsetsError, match="--exclude-class applies to learned priors") as info:
        shapes.make_world(exclude_class=1)
    assert "\n" not in str(info.value) and calls == []


def test_priors_and_default_alpha_are_declared_on_the_factory():
    assert shapes.make_world.priors == ("exact", "exact-circle") and shapes.make_world.default_alpha == 300.0
