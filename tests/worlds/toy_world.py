"""A toy plugin world (2-d latent, two classes, two priors) written to files by the world tests."""

TOY = """
import torch
from levelsets import World


def make_world(prior="wide", device="cpu"):
    scale = 2.0 if prior == "wide" else 0.5
    prior_dist = torch.distributions.Independent(torch.distributions.Normal(torch.zeros(2), scale * torch.ones(2)), 1)
    return World(prior=prior_dist, decoder=lambda z: torch.sigmoid(z).reshape(-1, 1, 1, 2),
                 classifier=lambda x: torch.stack([x.reshape(-1, 2)[:, 0], 1 - x.reshape(-1, 2)[:, 0]], 1),
                 class_names=("a", "b"), latent_names=("u", "v"), data="no data: a toy")


make_world.priors = ("wide", "narrow")
"""
