"""Batch augmentations (``levelsets.classifiers.augmentation``): shifts, flips, and their composition."""

from __future__ import annotations

import pytest
import torch

from levelsets.classifiers.augmentation import (
    AUGMENTATIONS,
    augment_batch,
    random_flip,
    random_shift,
)


def test_random_shift_moves_content():
    x = torch.zeros(50, 1, 8, 8)
    x[:, :, 4, 4] = 1.0
    g = torch.Generator().manual_seed(0)
    out = random_shift(x, 2, g)
    assert out.shape == x.shape
    assert torch.equal(out.sum(dim=(1, 2, 3)), torch.ones(50))  # content kept (no clipping here)
    pos = out[:, 0].flatten(1).argmax(1)
    rows, cols = pos // 8, pos % 8
    assert ((rows - 4).abs() <= 2).all() and ((cols - 4).abs() <= 2).all()
    assert len(set(zip(rows.tolist(), cols.tolist(), strict=True))) > 5
    assert torch.equal(random_shift(x, 0), x)


def test_random_flip_mirrors_about_half():
    x = torch.arange(4 * 32, dtype=torch.float32).view(1, 1, 4, 32).repeat(400, 1, 1, 1)
    out = random_flip(x, torch.Generator().manual_seed(0))
    flipped = (out == x.flip(-1)).flatten(1).all(1)
    kept = (out == x).flatten(1).all(1)
    assert bool((flipped ^ kept).all())  # each image is either mirrored or untouched
    # Binomial(400, 1/2): sd 10; 4 sd either way
    assert 160 <= int(flipped.sum()) <= 240


def test_shift_is_a_zero_filled_translation_of_each_image():
    x = torch.rand(20, 2, 6, 7)
    out = random_shift(x, 1, torch.Generator().manual_seed(3))
    padded = torch.nn.functional.pad(x, (1, 1, 1, 1))
    for i in range(20):  # each output is one of the 9 windows of its own padded image, all channels alike
        windows = [padded[i, :, r:r + 6, c:c + 7] for r in range(3) for c in range(3)]
        assert any(torch.equal(out[i], w) for w in windows), i


@pytest.mark.parametrize("augment", AUGMENTATIONS)
def test_augment_batch_is_reproducible_from_the_generator(augment):
    x = torch.rand(64, 1, 8, 8)
    first = augment_batch(x, augment, 2, torch.Generator().manual_seed(5))
    again = augment_batch(x, augment, 2, torch.Generator().manual_seed(5))
    assert torch.equal(first, again) and first.shape == x.shape
    if augment == "none":
        assert first is x
    else:
        assert not torch.equal(first, x)


def test_shift_flip_mirrors_some_images_that_shift_alone_does_not():
    x = torch.rand(64, 1, 8, 8)
    shifted = augment_batch(x, "shift", 2, torch.Generator().manual_seed(5))
    both = augment_batch(x, "shift-flip", 2, torch.Generator().manual_seed(5))
    same = (shifted == both).flatten(1).all(1)
    mirrored = (shifted.flip(-1) == both).flatten(1).all(1)
    assert bool((same | mirrored).all()) and 0 < int(mirrored.sum()) < 64
