"""The world ``mnist`` (levelsets.worlds.mnist): how make_world / digit_world wire the zoo's models into a World.

The zoo is replaced by tiny untrained modules (no training, no data); the world with real models runs end to
end in tests/cli and tests/workflows.
"""

from __future__ import annotations

import pytest
import torch

from levelsets.worlds import mnist


class Zoo:
    """Stand-ins for the classifier and generator zoos that record how they were asked."""

    def __init__(self, monkeypatch, gen_card: dict, card: dict | None = None):
        import levelsets.classifiers.zoo as classifier_zoo
        import levelsets.generative.zoo as generator_zoo

        torch.manual_seed(0)
        latent_dim = int(gen_card.get("config", {}).get("latent_dim", 5))
        self.model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(28 * 28, 10))
        self.decoder = torch.nn.Sequential(torch.nn.Linear(latent_dim, 28 * 28), torch.nn.Sigmoid(),
                                           torch.nn.Unflatten(1, (1, 28, 28)))
        self.card, self.gen_card, self.calls = card or {"data": "60 digits"}, gen_card, []

        def get_classifier(name, **kw):
            self.calls.append(("get_classifier", name, kw))
            return self.model, self.card

        def load_classifier(path, name, **kw):
            self.calls.append(("load_classifier", name, path))
            return self.model, self.card

        def get_generator(prior, name, **kw):
            self.calls.append(("get_generator", prior, name, kw))
            return self.decoder, self.gen_card

        monkeypatch.setattr(classifier_zoo, "get_classifier", get_classifier)
        monkeypatch.setattr(classifier_zoo, "load_classifier", load_classifier)
        monkeypatch.setattr(generator_zoo, "get_generator", get_generator)


def test_the_world_has_a_standard_normal_prior_of_the_generators_latent_dimension(monkeypatch):
    zoo = Zoo(monkeypatch, {"data": "VAE on 60 digits", "config": {"latent_dim": 7}})
    world = mnist.make_world("gan", seed=3, progress=False)
    assert world.name == "mnist" and world.prior_name == "gan" and world.latent_dim == 7
    assert world.latent_names == ("z1", "z2", "z3", "z4", "z5", "z6", "z7")
    assert world.class_names == tuple("0123456789")
    base = world.prior.base_dist
    assert torch.equal(base.loc, torch.zeros(7)) and torch.equal(base.scale, torch.ones(7))
    assert world.data == "classifier: 60 digits; gan: VAE on 60 digits"
    assert world.cards == {"classifier": zoo.card, "generator": zoo.gen_card} and world.exact_posterior is None
    kinds = [c[0] for c in zoo.calls]
    assert kinds == ["get_classifier", "get_generator"]
    assert zoo.calls[0][1] == "mnist" and zoo.calls[0][2]["seed"] == 3 and zoo.calls[0][2]["progress"] is False
    assert zoo.calls[1][1:3] == ("gan", "mnist") and zoo.calls[1][3]["exclude_class"] is None


def test_decoder_is_the_generator_and_the_classifier_gives_probabilities_with_gradients(monkeypatch):
    zoo = Zoo(monkeypatch, {"config": {"latent_dim": 4}})
    world = mnist.make_world(progress=False)
    z = torch.randn(6, 4, requires_grad=True)
    x = world.decoder(z)
    assert x.shape == (6, 1, 28, 28)
    torch.testing.assert_close(x, zoo.decoder(z))
    p = world.classifier(x)
    assert p.shape == (6, 10)
    torch.testing.assert_close(p, torch.softmax(zoo.model(x), -1))  # the model's logits, as probabilities
    (p[:, 1] - p[:, 7]).sum().backward()  # differentiable in z: the sampler may use MALA on this world
    assert z.grad is not None and float(z.grad.abs().sum()) > 0


def test_options_reach_the_zoo(monkeypatch, tmp_path):
    zoo = Zoo(monkeypatch, {})  # a card without a config: the 5-d default latent, data "unknown"
    world = mnist.make_world("vae", exclude_class=4, classifier_path=tmp_path / "cnn.pt", train_if_missing=False,
                             progress=False)
    assert world.latent_dim == 5 and world.data == "classifier: 60 digits; vae: unknown"
    assert zoo.calls[0] == ("load_classifier", "mnist", tmp_path / "cnn.pt")  # the given checkpoint, not the cache
    assert zoo.calls[1][3]["exclude_class"] == 4 and zoo.calls[1][3]["train_if_missing"] is False


def test_priors_and_default_alpha_are_declared_on_the_factory():
    assert mnist.make_world.priors == ("vae", "gan") and mnist.make_world.default_alpha == 100.0


@pytest.mark.parametrize("card, data", [({}, "classifier: unknown; vae: unknown"),
                                        ({"data": "all 70,000"}, "classifier: all 70,000; vae: unknown")])
def test_digit_world_records_the_data_of_both_cards(card, data):
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 10))
    world = mnist.digit_world("digits", "vae", lambda z: z.reshape(-1, 1, 2, 2), model, 4, card, {}, torch.device("cpu"))
    assert world.name == "digits" and world.data == data and world.cards == {"classifier": card, "generator": {}}
    assert world.classifier(world.decoder(torch.zeros(3, 4))).shape == (3, 10)
