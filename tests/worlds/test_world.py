"""The World record (``levelsets.worlds.world``): defaults and what it describes."""

from __future__ import annotations


def test_world_record_defaults():
    import torch

    from levelsets import World

    prior = torch.distributions.Independent(torch.distributions.Normal(torch.zeros(4), torch.ones(4)), 1)
    world = World(prior=prior, decoder=lambda z: z, classifier=lambda x: x, class_names=["x", "y"])
    assert world.latent_names == ("z1", "z2", "z3", "z4") and world.latent_dim == 4
    assert world.class_names == ("x", "y") and world.name is None and world.exact_posterior is None and world.data == ""
    assert "world_plugin" not in world.describe()
