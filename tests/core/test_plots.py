"""Pictures of level sets (``levelsets.plots``): what each figure draws, read back from its axes."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.collections import PathCollection

from levelsets import plots

CLASSES = ("cat", "dog", "owl")


def images_and_probs(n: int, channels: int = 1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(np.ones(len(CLASSES)), size=n)
    return rng.uniform(size=(n, channels, 6, 5)), probs


def scatters(ax) -> list[PathCollection]:
    return [c for c in ax.collections if isinstance(c, PathCollection)]


def test_sample_grid_titles_each_tile_with_its_two_most_probable_classes(tmp_path):
    images, probs = images_and_probs(10)
    probs[3] = [0.1, 0.25, 0.65]
    fig = plots.plot_sample_grid(images, probs, CLASSES, title="level set", columns=4, path=tmp_path / "grid.png")
    axes = fig.axes
    assert len(axes) == 12  # 10 tiles in rows of 4: 3 rows, the last two axes empty
    assert [len(ax.images) for ax in axes] == [1] * 10 + [0, 0]
    assert axes[3].get_title() == "owl 0.65\ndog 0.25"
    np.testing.assert_array_equal(axes[0].images[0].get_array(), images[0, 0])  # (1, H, W) drawn as (H, W)
    assert fig._suptitle.get_text() == "level set"
    assert (tmp_path / "grid.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_sample_grid_caps_the_images_and_draws_colour_as_rgb():
    images, probs = images_and_probs(60, channels=3)
    fig = plots.plot_sample_grid(images, probs, CLASSES, max_images=5)
    assert len(fig.axes) == 5  # one row of five, not 60 tiles
    assert fig.axes[4].images[0].get_array().shape == (6, 5, 3)  # (C, H, W) → (H, W, C)
    np.testing.assert_array_equal(fig.axes[4].images[0].get_array(), np.transpose(images[4], (1, 2, 0)))
    assert fig._suptitle is None


def test_graded_strip_has_one_column_per_beta_titled_with_both_probabilities():
    sets = [images_and_probs(3, seed=s) for s in range(3)]
    images, probs = [s[0] for s in sets], [s[1] for s in sets]
    images[2], probs[2] = images[2][:1], probs[2][:1]  # the last β kept one sample only
    fig = plots.plot_graded_strip(images, probs, [0.0, 0.5, 1.0], CLASSES, (0, 2), rows=3)
    assert len(fig.axes) == 9
    cell = {(ax.get_subplotspec().rowspan.start, ax.get_subplotspec().colspan.start): ax for ax in fig.axes}
    assert [cell[r, 1].get_title() for r in range(3)] == [f"{p[0]:.2f}/{p[2]:.2f}" for p in probs[1]]  # β = 0.5
    assert [len(cell[r, 2].images) for r in range(3)] == [1, 0, 0]
    assert [t.get_text() for t in cell[0, 1].texts] == ["β=0.5"] and not cell[1, 1].texts
    assert fig._suptitle.get_text().startswith("graded cat → owl")


def test_embed_2d_keeps_low_dimensional_coordinates_and_reduces_the_rest():
    rng = np.random.default_rng(1)
    low = rng.normal(size=(20, 3))
    emb, method = plots.embed_2d(low)
    assert method == "coordinates"
    np.testing.assert_array_equal(emb, low[:, :2])
    high = rng.normal(size=(20, 6)) * np.array([5.0, 3.0, 0.1, 0.1, 0.1, 0.1])
    emb, method = plots.embed_2d(high, method="pca")
    assert method == "pca" and emb.shape == (20, 2)
    assert emb[:, 0].var() > emb[:, 1].var() > 10 * 0.1**2  # the two spread-out directions, largest first


def test_embed_2d_uses_tsne_above_three_dimensions_with_a_perplexity_that_fits_n(monkeypatch):
    import sklearn.manifold

    made = []

    class RecordingTSNE:  # the real t-SNE takes seconds; what is checked here is the call
        def __init__(self, **kwargs):
            made.append(kwargs)

        def fit_transform(self, x):
            return x[:, :2] * 2.0

    monkeypatch.setattr(sklearn.manifold, "TSNE", RecordingTSNE)
    for n, perplexity in ((21, 5.0), (81, 20.0), (401, 30.0)):  # (n − 1) / 4, clipped to [5, 30]
        latents = np.arange(n * 4, dtype=float).reshape(n, 4)
        emb, method = plots.embed_2d(latents, seed=7)
        assert method == "tsne"
        np.testing.assert_array_equal(emb, latents[:, :2] * 2.0)
        assert made[-1] == {"n_components": 2, "perplexity": perplexity, "init": "pca", "random_state": 7}


def test_latents_colours_the_prior_by_class_and_marks_the_level_set():
    rng = np.random.default_rng(2)
    prior, posterior = rng.normal(size=(30, 2)), rng.normal(size=(7, 2))
    classes = np.array([0] * 15 + [2] * 15)  # no prior draw predicted "dog"
    fig = plots.plot_latents(prior, classes, posterior, CLASSES, latent_names=("w", "h"))
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["prior, predicted cat", "prior, predicted owl",
                                                                  "level-set samples"]
    np.testing.assert_array_equal(scatters(ax)[-1].get_offsets(), posterior)
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("w", "h")
    assert ax.get_title() == "latents (coordinates)"


def test_latent_panels_mark_each_level_set_and_share_one_legend():
    rng = np.random.default_rng(3)
    sets = {"1vs7": rng.normal(size=(4, 2)), "8vs9": rng.normal(size=(5, 2))}
    prior = rng.normal(size=(40, 2))
    classes = np.array([0] * 20 + [1] * 20)
    panels = [plots.LatentPanel("vae", prior, classes, sets), plots.LatentPanel("gan", prior, classes, sets)]
    fig = plots.plot_latent_panels(panels, CLASSES, title="two priors")
    assert [ax.get_title() for ax in fig.axes] == ["vae", "gan"]
    ax = fig.axes[0]
    offsets = [c.get_offsets() for c in scatters(ax)]
    np.testing.assert_array_equal(offsets[-2], sets["1vs7"])
    np.testing.assert_array_equal(offsets[-1], sets["8vs9"])
    labels = {t.get_text(): (t.get_position()) for t in ax.texts}
    assert set(labels) == {"cat", "dog"}  # each class named at the median of its prior points
    np.testing.assert_allclose(labels["dog"], np.median(prior[20:], axis=0))
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ["prior, predicted cat", "prior, predicted dog", "level set 1vs7", "level set 8vs9"]  # once each


def test_rounds_draws_one_panel_per_metric_against_round():
    table = [{"round": 0, "kl": 0.5, "accuracy": 0.6}, {"round": 1, "kl": 0.3, "accuracy": 0.7},
             {"round": 2, "kl": 0.2, "accuracy": 0.75}]
    fig = plots.plot_rounds(table, ["kl", "accuracy"])
    assert [ax.get_title() for ax in fig.axes] == ["kl", "accuracy"]
    line = fig.axes[1].lines[0]
    assert list(line.get_xdata()) == [0, 1, 2] and list(line.get_ydata()) == pytest.approx([0.6, 0.7, 0.75])
    assert list(fig.axes[0].get_xticks()) == [0, 1, 2]
