"""The shapes world's renderer (generative.shapes_render): shapes, geometry, blur, bad latents."""

import math

import pytest
import torch

from levelsets.generative import shapes, shapes_render


def test_render_shape_range_dtype_determinism():
    torch.manual_seed(0)
    z = shapes.ShapesPrior().sample((50,))
    img = shapes_render.render(z)
    assert img.shape == (50, 1, 64, 64) and img.dtype == torch.float32
    assert img.min() >= 0 and img.max() <= 1
    assert torch.equal(img, shapes_render.render(z.clone()))
    assert shapes_render.render(z.double()).dtype == torch.float64
    assert shapes_render.render(z, size=32).shape == (50, 1, 32, 32)
    # batching does not change an image
    torch.testing.assert_close(shapes_render.render(z[3:4]), img[3:4])


def test_render_geometry_area_and_position():
    # Without blur, the total ink equals the shape's area (rectangle + triangle) in pixels.
    z = torch.tensor([[30.0, 10.0, 8.0], [10.0, 30.0, 6.0], [21.3, 17.7, 9.1]], dtype=torch.float64)
    img = shapes_render.render(z, blur_sigma_px=0.0)
    px = shapes_render.CANVAS_UNITS / 64
    area = (z[:, 0] * z[:, 1] + 0.5 * z[:, 0] * z[:, 2]) / px**2
    torch.testing.assert_close(img.sum(dim=(1, 2, 3)), area, rtol=0.02, atol=0.0)
    # The blur (zero padding far from the edges) preserves total ink.
    torch.testing.assert_close(shapes_render.render(z).sum(dim=(1, 2, 3)), img.sum(dim=(1, 2, 3)), rtol=1e-6, atol=1e-6)
    # Horizontally symmetric; the rectangle's bottom row is the ground line.
    torch.testing.assert_close(img, img.flip(-1))
    ground_row = 64 - int(shapes_render.GROUND_UNITS / px)  # first row below the ground
    assert img[:, 0, ground_row:].abs().max() == 0
    assert (img[:, 0, ground_row - 1].sum(-1) > 0).all()
    # A wider latent gives a wider image.
    wide = shapes_render.render(torch.tensor([[40.0, 10.0, 8.0]]), blur_sigma_px=0)
    assert wide.sum() > img[0].sum()


def test_render_non_positive_sizes_are_blank_not_nan():
    z = torch.tensor([[-5.0, 10.0, 8.0], [0.0, 0.0, 0.0], [10.0, -3.0, -2.0]])
    img = shapes_render.render(z)
    assert not torch.isnan(img).any()
    assert img.sum() == 0


def test_render_circle_variant_adds_ink():
    z = torch.tensor([[20.0, 15.0, 8.0, 10.0, 30.0, 30.0]])
    with_circle = shapes_render.render(z)
    without = shapes_render.render(z[:, :3])
    assert (with_circle >= without - 1e-6).all()
    ring_ink = (with_circle - without).sum()
    px = shapes_render.CANVAS_UNITS / 64
    expected = 2 * math.pi * 10.0 * shapes_render.CIRCLE_LINE_UNITS / px**2
    assert 0.6 * expected < float(ring_ink) < 1.2 * expected


def test_render_rejects_bad_shapes():
    with pytest.raises(ValueError):
        shapes_render.render(torch.zeros(3, 4))
    with pytest.raises(ValueError):
        shapes_render.render(torch.zeros(3, 3), size=63)


def test_fast_blur_path_equals_blurring_the_sharp_image():
    torch.manual_seed(5)
    z = shapes.ShapesPrior(dtype=torch.float64).sample((64,))
    z = torch.cat([z, torch.tensor([[0.3, 0.2, 0.1], [95.0, 85.0, 20.0], [50.0, 5.0, 0.0]], dtype=torch.float64)])
    sharp = shapes_render.render(z, blur_sigma_px=0.0)[:, 0]
    b = shapes_render.blur_matrix(64, shapes_render.BLUR_SIGMA_PX, torch.float64)
    reference = (b @ sharp @ b.T).clamp(0, 1)
    torch.testing.assert_close(shapes_render.render(z)[:, 0], reference, rtol=0, atol=1e-12)


def test_render_survives_non_finite_latents():
    z = torch.tensor([[float("nan"), 10.0, 8.0], [float("inf"), 10.0, 8.0], [20.0, float("inf"), 8.0], [20.0, 10.0, float("nan")]])
    img = shapes_render.render(z)
    assert img.shape == (4, 1, 64, 64)
