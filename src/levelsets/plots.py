"""Pictures of level sets: sample grids, latent scatters (one or several level sets), graded strips.

All functions draw on a fresh :class:`matplotlib.figure.Figure` (no pyplot state, no display
needed) and return the figure; pass ``path`` to also save a PNG.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

_PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#ff7f0e")


def _save(fig: Figure, path: str | Path | None) -> Figure:
    if path is not None:
        fig.savefig(path, dpi=110, bbox_inches="tight")
    return fig


def _gray(image: np.ndarray) -> np.ndarray:
    """(C, H, W) → (H, W) or (H, W, 3) for imshow."""
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[0] == 1:
        return image[0]
    if image.ndim == 3:
        return np.transpose(image, (1, 2, 0))
    return image


def _prob_label(probs: np.ndarray, class_names: Sequence[str]) -> str:
    top = np.argsort(-probs)[:2]
    return "\n".join(f"{class_names[i]} {probs[i]:.2f}" for i in top)


def plot_sample_grid(
    images: np.ndarray,
    probs: np.ndarray,
    class_names: Sequence[str],
    *,
    title: str = "",
    max_images: int = 48,
    columns: int = 8,
    path: str | Path | None = None,
) -> Figure:
    """Samples with their two most probable classes and probabilities above each image.

    Parameters
    ----------
    images:
        ``(n, C, H, W)`` in [0, 1].
    probs:
        ``(n, K)`` classifier probabilities of those images.
    """
    n = min(len(images), max_images)
    columns = max(1, min(columns, n))
    rows = max(1, math.ceil(n / columns))
    # Not torchvision's make_grid: every tile carries its own caption (the classifier's top two
    # classes), which make_grid cannot draw; one matplotlib axis per tile places it (the same in
    # plot_graded_strip, whose tiles carry p_A / p_B).
    fig = Figure(figsize=(1.45 * columns, 1.85 * rows + (0.4 if title else 0)))
    for i in range(rows * columns):
        ax = fig.add_subplot(rows, columns, i + 1)
        ax.set_axis_off()
        if i < n:
            ax.imshow(_gray(images[i]), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            ax.set_title(_prob_label(probs[i], class_names), fontsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    return _save(fig, path)


def plot_graded_strip(
    images: Sequence[np.ndarray],
    probs: Sequence[np.ndarray],
    betas: Sequence[float],
    class_names: Sequence[str],
    pair: tuple[int, int],
    *,
    rows: int = 3,
    path: str | Path | None = None,
) -> Figure:
    """One column per β (mass moving from class A to B), ``rows`` samples each.

    ``images[j]`` is ``(n_j, C, H, W)`` for β = ``betas[j]``; ``probs[j]`` is ``(n_j, K)``.
    Each image is titled with the classifier's p_A / p_B.
    """
    a, b = pair
    cols = len(betas)
    fig = Figure(figsize=(1.25 * cols, 1.45 * rows + 0.5))
    for j, beta in enumerate(betas):
        for r in range(rows):
            ax = fig.add_subplot(rows, cols, r * cols + j + 1)
            ax.set_axis_off()
            if r < len(images[j]):
                ax.imshow(_gray(images[j][r]), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
                ax.set_title(f"{probs[j][r][a]:.2f}/{probs[j][r][b]:.2f}", fontsize=7)
            if r == 0:
                ax.text(0.5, 1.35, f"β={beta:g}", transform=ax.transAxes, ha="center", fontsize=8)
    fig.suptitle(
        f"graded {class_names[a]} → {class_names[b]} (titles: p[{class_names[a]}] / p[{class_names[b]}])", fontsize=10
    )
    return _save(fig, path)


def embed_2d(latents: np.ndarray, *, method: str = "auto", seed: int = 0) -> tuple[np.ndarray, str]:
    """Reduce latents ``(n, d)`` to 2-D: the first two coordinates for d ≤ 3, else t-SNE (seed 003 fig. 4).

    Returns the ``(n, 2)`` embedding and the method used (``"coordinates"``, ``"tsne"`` or ``"pca"``).
    """
    latents = np.asarray(latents, dtype=np.float64)
    if method == "auto":
        method = "coordinates" if latents.shape[1] <= 3 else "tsne"
    if method == "coordinates":
        return latents[:, :2], method
    if method == "pca":
        from sklearn.decomposition import PCA

        return PCA(n_components=2, random_state=seed).fit_transform(latents), method
    from sklearn.manifold import TSNE

    perplexity = float(min(30.0, max(5.0, (len(latents) - 1) / 4)))
    return TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(latents), "tsne"


def plot_latents(
    prior_latents: np.ndarray,
    prior_classes: np.ndarray,
    posterior_latents: np.ndarray,
    class_names: Sequence[str],
    *,
    latent_names: Sequence[str] = ("z1", "z2"),
    title: str = "",
    method: str = "auto",
    seed: int = 0,
    path: str | Path | None = None,
) -> Figure:
    """Prior latents coloured by predicted class (light) and posterior samples (dark green).

    For d ≤ 3 the axes are the first two latent coordinates (seed 003 fig. 3: w and h for
    shapes); for larger d both sets are embedded jointly with t-SNE (seed 003 fig. 4).
    """
    both = np.concatenate([prior_latents, posterior_latents], axis=0)
    emb, used = embed_2d(both, method=method, seed=seed)
    prior_2d, post_2d = emb[: len(prior_latents)], emb[len(prior_latents) :]
    fig = Figure(figsize=(6.2, 5.2))
    ax = fig.add_subplot(1, 1, 1)
    for k, name in enumerate(class_names):
        mask = prior_classes == k
        if mask.any():
            ax.scatter(prior_2d[mask, 0], prior_2d[mask, 1], s=6, alpha=0.35, color=_PALETTE[k % 10], label=f"prior, predicted {name}")
    ax.scatter(post_2d[:, 0], post_2d[:, 1], s=14, color="#0b5d1e", edgecolor="white", linewidth=0.3, label="level-set samples")
    if used == "coordinates":
        ax.set_xlabel(latent_names[0])
        ax.set_ylabel(latent_names[1])
    else:
        ax.set_xlabel(f"{used} 1")
        ax.set_ylabel(f"{used} 2")
    ax.legend(fontsize=7, markerscale=2, loc="best")
    ax.set_title(title or f"latents ({used})", fontsize=10)
    return _save(fig, path)


_SET_STYLES = (("*", "#111111"), ("D", "#e6007e"), ("P", "#0b5d1e"), ("X", "#8a4b00"))


@dataclass
class LatentPanel:
    """One panel of :func:`plot_latent_panels`: prior draws and any number of level sets of one latent space.

    Attributes
    ----------
    title:
        Panel title (e.g. the prior's name).
    prior_latents:
        Prior draws ``(m, d)``.
    prior_classes:
        Predicted class index of each prior draw ``(m,)``.
    level_sets:
        Label → level-set latents ``(n_j, d)`` (e.g. ``{"1vs7": z17, "8vs9": z89}``).
    latent_names:
        Axis names when the embedding is the first two coordinates (d ≤ 3).
    """

    title: str
    prior_latents: np.ndarray
    prior_classes: np.ndarray
    level_sets: Mapping[str, np.ndarray]
    latent_names: Sequence[str] = ("z1", "z2")


def plot_latent_panels(
    panels: Sequence[LatentPanel],
    class_names: Sequence[str],
    *,
    title: str = "",
    method: str = "auto",
    seed: int = 0,
    label_classes: bool = True,
    path: str | Path | None = None,
) -> Figure:
    """Prior latents coloured by predicted class with several level sets marked distinctly (seed 003 fig. 4).

    Each panel embeds its prior draws and all its level sets *jointly* with :func:`embed_2d`
    (t-SNE for d > 3), so the sets sit where they belong among the prior's class clusters.
    With ``label_classes`` each class's name is written at the median of its prior points.
    """
    fig = Figure(figsize=(6.0 * len(panels) + 1.6, 5.6))
    handles: dict[str, object] = {}
    for p, panel in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), p + 1)
        sets = [np.asarray(z, dtype=np.float64) for z in panel.level_sets.values()]
        prior = np.asarray(panel.prior_latents, dtype=np.float64)
        emb, used = embed_2d(np.concatenate([prior, *sets], axis=0), method=method, seed=seed)
        prior_2d = emb[: len(prior)]
        classes = np.asarray(panel.prior_classes)
        for k, name in enumerate(class_names):
            mask = classes == k
            if mask.any():
                h = ax.scatter(prior_2d[mask, 0], prior_2d[mask, 1], s=7, alpha=0.35, color=_PALETTE[k % 10],
                               label=f"prior, predicted {name}")
                handles.setdefault(f"prior, predicted {name}", h)
                if label_classes:
                    cx, cy = np.median(prior_2d[mask], axis=0)
                    ax.text(cx, cy, str(name), fontsize=13, fontweight="bold", ha="center", va="center",
                            color=_PALETTE[k % 10], alpha=0.9,
                            bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "alpha": 0.6, "edgecolor": "none"})
        start = len(prior)
        for j, (label, z) in enumerate(zip(panel.level_sets, sets)):
            marker, color = _SET_STYLES[j % len(_SET_STYLES)]
            pts = emb[start : start + len(z)]
            start += len(z)
            h = ax.scatter(pts[:, 0], pts[:, 1], s=46 if marker == "*" else 24, marker=marker, color=color,
                           edgecolor="white", linewidth=0.4, label=f"level set {label}", zorder=3)
            handles.setdefault(f"level set {label}", h)
        if used == "coordinates":
            ax.set_xlabel(panel.latent_names[0])
            ax.set_ylabel(panel.latent_names[1])
        else:
            ax.set_xlabel(f"{used} 1")
            ax.set_ylabel(f"{used} 2")
            ax.set_xticks([])
            ax.set_yticks([])
        ax.set_title(panel.title, fontsize=10)
    fig.legend(list(handles.values()), list(handles), loc="center right", fontsize=8, markerscale=1.6, frameon=False)
    fig.subplots_adjust(left=0.03, right=1.0 - 1.55 / fig.get_figwidth(), wspace=0.08, top=0.86 if title else 0.92)
    if title:
        fig.suptitle(title, fontsize=11)
    return _save(fig, path)


def plot_rounds(table: Sequence[dict], metrics: Sequence[str], *, path: str | Path | None = None) -> Figure:
    """One panel per metric, value against round (for the soft-label loop)."""
    fig = Figure(figsize=(3.2 * len(metrics), 3.0))
    rounds = [row["round"] for row in table]
    for i, metric in enumerate(metrics):
        ax = fig.add_subplot(1, len(metrics), i + 1)
        ax.plot(rounds, [row.get(metric) for row in table], marker="o")
        ax.set_xlabel("round")
        ax.set_title(metric, fontsize=9)
        ax.set_xticks(rounds)
    fig.tight_layout()
    return _save(fig, path)
