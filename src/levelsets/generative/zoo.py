"""Trained MNIST generators, cached in the model home and trained on first use.

``get_generator("vae")`` returns the VAE decoder (z (N, 5) → images (N, 1, 28, 28) in [0, 1],
in eval mode) and its model card, loading ``<model home>/vae/mnist/model.pt`` or, when missing,
training it (one line says what is trained on which data), caching it and returning it.
``train_generator`` always trains and writes the checkpoint, the model card, a sample-grid PNG
and a loss-curve PNG (each with a JSON sidecar) into one directory, atomically.

Two recipes (the ``dataset`` argument; both train on MNIST digits):

* ``mnist``: seed 003's generators, a 5-d latent (VAE and GAN);
* ``mnist32``: a VAE with a 32-d latent and a deeper decoder (one extra 3×3 convolution at each of
  its 7×7 and 14×14 stages), the generator of the world ``mnist32`` (:data:`RECIPES`).

Cache layout (``name`` is ``mnist``, ``mnist32``, or ``mnist-no{C}`` for a generator trained
without class C)::

    <model home>/<kind>/<name>/model.pt         weights + architecture (torch.load weights_only)
    <model home>/<kind>/<name>/model.card.json  data, epochs, final losses, seed, versions, seconds
    <model home>/<kind>/<name>/samples.png      an 8×8 grid of g(z), z ~ N(0, I_d)
    <model home>/<kind>/<name>/loss_curve.png   per-epoch training losses
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from levelsets.errors import LevelsetsError
from levelsets.generative.sample_grid import save_sample_grid

log = logging.getLogger(__name__)

LATENT_DIM = 5
"""Latent size of the ``mnist`` generators (seed 003)."""

KINDS = ("vae", "gan")


@dataclass(frozen=True)
class GeneratorRecipe:
    """What one ``dataset`` name of the zoo trains.

    Attributes
    ----------
    latent_dim:
        d, the size of the latent z (prior N(0, I_d)).
    kinds:
        The generator kinds this recipe offers.
    vae:
        :class:`~levelsets.generative.vae.VaeConfig` fields of its VAE (besides ``latent_dim``).
    description:
        How the one-line training note names the model.
    """

    latent_dim: int
    kinds: tuple[str, ...]
    vae: dict[str, Any]
    description: str


RECIPES: dict[str, GeneratorRecipe] = {
    "mnist": GeneratorRecipe(LATENT_DIM, ("vae", "gan"), {}, "MNIST {KIND} (5-d latent"),
    "mnist32": GeneratorRecipe(32, ("vae",), {"decoder_depth": 1}, "MNIST {KIND} (32-d latent, deeper decoder"),
}
"""The zoo's generator recipes by ``dataset`` name; every one trains on MNIST digits."""
DATASETS = tuple(RECIPES)

GeneratorKind = Literal["vae", "gan"]


def cache_name(dataset: str = "mnist", exclude_class: int | None = None) -> str:
    """Cache directory name: ``"mnist"`` or ``"mnist-no{C}"``."""
    return dataset if exclude_class is None else f"{dataset}-no{exclude_class}"


def checkpoint_path(kind: str, dataset: str = "mnist", exclude_class: int | None = None) -> Path:
    """Where the cached generator lives: ``<model home>/<kind>/<name>/model.pt``."""
    from levelsets.home import model_dir

    _validate(kind, dataset, exclude_class)
    return model_dir(kind, cache_name(dataset, exclude_class)) / "model.pt"


def retrain_command(kind: str, dataset: str = "mnist", exclude_class: int | None = None) -> str:
    """Return the CLI command that (re)creates a cached generator."""
    extra = "" if exclude_class is None else f" --exclude-class {exclude_class}"
    return f"levelsets train {kind} --dataset {dataset}{extra}"


def _validate(kind: str, dataset: str, exclude_class: int | None) -> None:
    if kind not in KINDS:
        raise LevelsetsError(f"unknown generator kind {kind!r}; use one of {', '.join(KINDS)}")
    if dataset not in DATASETS:
        raise LevelsetsError(f"unknown dataset {dataset!r} for a {kind}; use one of {', '.join(DATASETS)}")
    if kind not in RECIPES[dataset].kinds:
        raise LevelsetsError(f"--dataset {dataset} has no {kind}; it offers {', '.join(RECIPES[dataset].kinds)}")
    if exclude_class is not None and exclude_class not in range(10):
        raise LevelsetsError(f"--exclude-class {exclude_class!r} is not an MNIST class; use 0-9")


@dataclass(frozen=True)
class TrainedGenerator:
    """Paths written by :func:`train_generator`, plus the card and the decoder.

    Attributes
    ----------
    decoder:
        z (N, d) → images (N, 1, 28, 28) in [0, 1], eval mode, on the CPU (d = 5, or 32 for ``mnist32``).
    card:
        The model card (also in ``card_path``).
    checkpoint, card_path, sample_grid, loss_curve:
        Files written.
    """

    decoder: Any
    card: dict
    checkpoint: Path
    card_path: Path
    sample_grid: Path
    loss_curve: Path


def train_generator(
    kind: GeneratorKind,
    dataset: str = "mnist",
    *,
    exclude_class: int | None = None,
    epochs: int | None = None,
    seed: int = 0,
    device: str = "auto",
    data_dir: str | Path | None = None,
    download: bool = False,
    out: str | Path | None = None,
    progress: bool = True,
) -> TrainedGenerator:
    """Train a VAE or GAN on MNIST digits and write checkpoint, card, sample grid and loss curve.

    Parameters
    ----------
    kind:
        ``"vae"`` or ``"gan"``.
    dataset:
        The recipe (:data:`RECIPES`): ``"mnist"`` (5-d latent) or ``"mnist32"`` (VAE, 32-d latent).
    exclude_class:
        Train without this digit (0-9); the card and cache name say so.
    epochs:
        Training epochs; ``None`` uses the defaults of
        :class:`~levelsets.generative.training.VaeTrainSettings` / ``GanTrainSettings``.
    seed:
        Seeds training and the sample grid.
    device:
        ``"auto"``, ``"cpu"``, ``"cuda"``...
    data_dir, download:
        Full MNIST (see :func:`levelsets.data.mnist.load_mnist`); otherwise the offline subset.
    out:
        Output directory (must be new or empty); ``None`` replaces the cached model in the model
        home. Either way the directory appears only when everything was written.
    progress:
        Show tqdm progress bars. What is trained, on which data and where it goes is logged
        (INFO, ``levelsets.generative.zoo``).

    Returns
    -------
    TrainedGenerator
    """
    import torch

    from levelsets.artifacts import atomic_output_dir, provenance
    from levelsets.checkpoints import card_path, save_checkpoint
    from levelsets.data.mnist import load_mnist
    from levelsets.generative import training

    _validate(kind, dataset, exclude_class)
    device = "auto" if device is None else str(device)  # a torch.device is fine too
    target_dir = Path(out).expanduser() if out is not None else checkpoint_path(kind, dataset, exclude_class).parent
    if out is not None:
        from levelsets.artifacts import check_writable_dir

        check_writable_dir(target_dir)  # fail before training, not after
    data = load_mnist("train", data_dir=data_dir, download=download, exclude_class=exclude_class)
    if kind == "vae":
        settings = training.VaeTrainSettings(seed=seed, device=device, **({} if epochs is None else {"epochs": epochs}))
    else:
        settings = training.GanTrainSettings(seed=seed, device=device, **({} if epochs is None else {"epochs": epochs}))
    recipe = RECIPES[dataset]
    log.info(
        f"training the {recipe.description.format(KIND=kind.upper())}, {settings.epochs} epochs"
        f"{'' if exclude_class is None else f', without class {exclude_class}'}) on {data.source}; "
        f"saving it to {target_dir}"
    )
    heldout_metrics: dict[str, float] = {}
    if kind == "vae":
        from levelsets.generative.vae import VaeConfig

        result = training.train_vae(data, settings, config=VaeConfig(latent_dim=recipe.latent_dim, **recipe.vae),
                                    progress=progress)
        model_config = result.model.config.to_dict()
        module = result.model.decoder
        # the decoder alone is what the sampler needs; the encoder is kept for users who want it
        state = result.model.state_dict()
        heldout = load_mnist("heldout", data_dir=data_dir, exclude_class=exclude_class)
        heldout_metrics = training.vae_heldout_loss(result.model, heldout, seed=seed)
    else:
        result = training.train_gan(data, settings, progress=progress)
        model_config = result.model.config.to_dict()
        module = result.model.generator
        state = result.model.state_dict()
    module = module.cpu().eval()
    config = {**model_config, "dataset": dataset, "exclude_class": exclude_class}
    final = result.final()
    record = provenance(
        settings=asdict(settings),
        seed=seed,
        data=data.source,
        kind=kind,
        dataset=dataset,
        exclude_class=exclude_class,
        trained_without_class=(
            f"trained without class {exclude_class}: it never saw a {exclude_class}"
            if exclude_class is not None else None
        ),
        num_train_images=len(data),
        class_counts=data.class_counts.tolist(),
        epochs=settings.epochs,
        final_losses=final,
        heldout_losses=heldout_metrics or None,
        history=result.history,
        train_seconds=round(result.seconds, 2),
        device=result.device,
        torch_threads=torch.get_num_threads(),
    )
    with atomic_output_dir(target_dir, overwrite=out is None) as tmp:
        gen = torch.Generator().manual_seed(seed)
        grid = save_sample_grid(module, tmp / "samples.png", gen, latent_dim=LATENT_DIM,
                                title=f"MNIST {kind.upper()}: g(z), z ~ N(0, I_{recipe.latent_dim})")
        curve = _save_loss_curve(result.history, tmp / "loss_curve.png", title=f"MNIST {kind.upper()} training")
        final_dir = target_dir
        card = {
            **record,
            "sample_grid": str(final_dir / grid.name),
            "loss_curve": str(final_dir / curve.name),
            "checkpoint": str(final_dir / "model.pt"),
        }
        from levelsets.artifacts import write_sidecar

        write_sidecar(grid, {**record, "what": f"8x8 grid of generator samples, z ~ N(0, I_{recipe.latent_dim})"})
        write_sidecar(curve, {**record, "what": "per-epoch training losses"})
        save_checkpoint(tmp / "model.pt", kind=kind, config=config, state_dict=state, card=card)
    ckpt = target_dir / "model.pt"
    return TrainedGenerator(
        decoder=module,
        card=json.loads(card_path(ckpt).read_text()),
        checkpoint=ckpt,
        card_path=card_path(ckpt),
        sample_grid=target_dir / "samples.png",
        loss_curve=target_dir / "loss_curve.png",
    )


def load_generator(
    path: str | Path,
    kind: GeneratorKind,
    *,
    exclude_class: int | None = None,
    dataset: str = "mnist",
    check_exclude_class: bool = True,
) -> tuple[Any, dict]:
    """Load a generator checkpoint: (decoder in eval mode on the CPU, model card).

    Raises
    ------
    CheckpointError
        Missing, truncated or corrupt file, a different kind, a latent size other than the
        recipe's (5; 32 for ``mnist32``), other image shape or ``exclude_class``, or weights that do not fit; the message names the file
        and the command that recreates it.
    """
    from levelsets.checkpoints import card_path, load_checkpoint, load_state
    from levelsets.errors import CheckpointError
    from levelsets.generative.gan import GanConfig, Generator
    from levelsets.generative.vae import VaeConfig, VaeDecoder

    path = Path(path)
    hint = retrain_command(kind, dataset, exclude_class)
    _validate(kind, dataset, exclude_class)
    expect: dict[str, Any] = {"latent_dim": RECIPES[dataset].latent_dim, "image_shape": [1, 28, 28], "dataset": dataset}
    if check_exclude_class:
        expect["exclude_class"] = exclude_class
    payload = load_checkpoint(path, kind=kind, expect=expect, retrain_hint=hint)
    try:
        if kind == "vae":
            module = VaeDecoder(VaeConfig.from_dict(payload["config"]))
            prefix = "decoder."
        else:
            module = Generator(GanConfig.from_dict(payload["config"]))
            prefix = "generator."
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"checkpoint {path} has an unusable configuration ({exc}); recreate it with `{hint}`") from None
    sub = {k[len(prefix):]: v for k, v in payload["state_dict"].items() if k.startswith(prefix)}
    load_state(module, {"state_dict": sub}, path, hint)
    module.eval().requires_grad_(False)
    card_file = card_path(path)
    try:
        card = json.loads(card_file.read_text()) if card_file.is_file() else {}
    except (OSError, json.JSONDecodeError):
        card = {}
    card.setdefault("checkpoint", str(path))
    return module, card


def get_generator(
    kind: GeneratorKind,
    dataset: str = "mnist",
    *,
    exclude_class: int | None = None,
    train_if_missing: bool = True,
    seed: int = 0,
    device: str = "auto",
    epochs: int | None = None,
    data_dir: str | Path | None = None,
    download: bool = False,
    progress: bool = True,
) -> tuple[Any, dict]:
    """Return the cached MNIST generator of ``kind``, training and caching it first when missing.

    Parameters
    ----------
    kind:
        ``"vae"`` or ``"gan"``.
    dataset:
        The recipe (:data:`RECIPES`): ``"mnist"`` or ``"mnist32"`` (VAE only).
    exclude_class:
        A generator trained without this class (cached separately as ``mnist-no{C}``).
    train_if_missing:
        Train when no cached model exists; otherwise a missing model is a ``CheckpointError``
        that names the command to create it.
    seed, device, epochs, data_dir, download, progress:
        Used only when training (see :func:`train_generator`); a cached model is reused
        whatever seed it was trained with (its card records it).

    Returns
    -------
    decoder, card:
        ``decoder`` maps z (N, d) → images (N, 1, 28, 28) in [0, 1] (d = 5; 32 for ``mnist32``); it is in eval mode with
        gradients off, on the CPU (move it with ``.to(device)``). ``card`` is the model card
        (``card["data"]`` says which data it was trained on).
    """
    from levelsets.errors import CheckpointError

    path = checkpoint_path(kind, dataset, exclude_class)
    if not path.is_file():
        if not train_if_missing:
            raise CheckpointError(
                f"no cached {kind} at {path}; create it with `{retrain_command(kind, dataset, exclude_class)}`"
            )
        trained = train_generator(
            kind, dataset, exclude_class=exclude_class, epochs=epochs, seed=seed, device=device,
            data_dir=data_dir, download=download, progress=progress,
        )
        return trained.decoder, trained.card
    return load_generator(path, kind, exclude_class=exclude_class, dataset=dataset)


def _save_loss_curve(history: dict[str, list[float]], path: Path, *, title: str) -> Path:
    """Plot every per-epoch loss in ``history`` against the epoch."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for name, values in history.items():
        ax.plot(range(1, len(values) + 1), values, label=name)
    ax.set_xlabel("epoch")
    ax.set_ylabel("per-epoch mean")
    ax.set_title(title, fontsize=10)
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
