"""The probe a loaded world goes through (``levelsets.worlds.world_check``)."""

from __future__ import annotations


def test_the_probe_does_not_move_the_global_rng(toy_package):
    import torch

    from levelsets.worlds import load_world

    torch.manual_seed(7)
    expected = torch.rand(3)
    torch.manual_seed(7)
    load_world(toy_package)
    torch.testing.assert_close(torch.rand(3), expected)
