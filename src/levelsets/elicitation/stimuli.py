r"""Export sample runs as elicitation stimuli (``levelsets stimuli export``).

Every sample of every run becomes a PNG (upscaled with Lanczos, as seed 001 §3.2.1 does for
CIFAR-10H: 32 px → 160 px), or, with ``per_run`` = n, n of them per run chosen by ``select``:
``random`` (a seeded uniform choice among the run's stored samples, which are themselves an
equal-weight resample of the sampler's final population) or ``diverse`` (the default; greedy k-center,
:func:`levelsets.evaluation.image_features.select_diverse`, in the pixel space of
:data:`~levelsets.evaluation.image_features.FEATURE_SPACE`, over the run's *final population* when
``samples.npz`` stores it — its latents decoded by the run's generator, checked against the stored
images — and over the stored samples otherwise). ``diverse`` spreads a small study over every
visual family at the price of over-representing rare, outlying images; ``random`` keeps the
stimuli a sample of the level set, so elicited soft labels average over it as it is. Samples of runs whose target is ``confident:C`` are *catch trials*
(expected answer: the target's most probable class). Optionally, *mixed* images are made as in
mixup, :math:`\tilde x = \lambda x_a + (1 - \lambda) x_b` for two samples the classifier puts in
different classes, with :math:`\lambda \in \{0.1, 0.25, 0.5, 0.75, 0.9\}` (seed 001 §4.2.1).

Participants see *batches* (seed 001: 27 images of which 2 are repeated and 3 are low-entropy
checks): each batch holds ``per_participant`` trials = ``per_participant - repeats - catch``
distinct regular stimuli (samples and mixed images), ``catch`` catch trials, and ``repeats`` second
showings of regular stimuli of the same batch (always later than the first showing). The regular
stimuli are dealt out from one seeded permutation, so every regular stimulus is in at least one
batch; the last batch is topped up from the start of the permutation. Trial order and class-button
order are shuffled per batch with the seed.

References
----------
Collins, *Improving ML Systems by Eliciting and Incorporating Additional Human Knowledge*, §3.2.1,
§4.2.1 and appendix A.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from levelsets.artifacts import (
    atomic_output_dir,
    provenance,
    to_jsonable,
    write_json,
    write_sidecar,
)
from levelsets.elicitation.manifest import BATCHES_FILE, FORMAT, IMAGES_DIR, MANIFEST_FILE
from levelsets.elicitation.stimulus_selection import Pick, select_stimuli, selection_rule
from levelsets.elicitation.trials import make_batches, mixed_records
from levelsets.errors import LevelsetsError
from levelsets.job_fields import seed_field
from levelsets.runs import SampleRun, load_run

DEFAULT_CATCH = 3
"""Catch trials per batch when runs with ``confident:`` targets are given and ``catch`` is None."""

CATCH_PREFIX = "confident:"

CONTACT_SHEET = "contact_sheet.png"
"""Overview picture of the first stimuli, written beside the manifest."""

SELECT_RULES = ("random", "diverse")
"""How ``per_run`` stimuli are chosen from a run (module docstring)."""

@dataclass
class StimuliSettings:
    """Settings of a stimuli export (validated on construction).

    Each field is one option of ``levelsets stimuli export``: its docstring is the option's
    ``--help`` (:mod:`levelsets.cli.options`; ``seed``'s is :func:`levelsets.job_fields.seed_field`'s). ``size`` is the longer side for non-square images
    (8–2048); ``seed`` drives every random choice (batches, orders, mixing pairs, ``random``
    selection, the first point of ``diverse`` selection); ``select`` is explained in the module
    docstring.
    """

    size: int = 160
    """Side of the PNGs in pixels (Lanczos upscaling)."""
    per_participant: int = 27
    """Trials per participant batch."""
    repeats: int = 2
    """Repeated trials per batch (consistency checks)."""
    catch: int | None = None
    """Catch trials per batch from confident: runs [default: 3 if any, else 0]."""
    mixed: int = 0
    """Mixed (mixup) images to add, for the mixing-coefficient interface."""
    per_run: int | None = None
    """Stimuli per run [default: every stored sample]."""
    select: str = "diverse"
    """How --per-run stimuli are chosen: diverse (k-center spread over the run's final population, in pixel
    space; default) or random (a random sample of the level set)."""
    seed: int = seed_field()

    def __post_init__(self) -> None:
        if self.select not in SELECT_RULES:
            raise LevelsetsError(f"--select {self.select!r} is unknown; choose one of {', '.join(SELECT_RULES)}")
        if self.per_run is not None and self.per_run < 1:
            raise LevelsetsError(f"--per-run {self.per_run} must be at least 1 (or left out for every sample)")
        if not 8 <= self.size <= 2048:
            raise LevelsetsError(f"--size {self.size} is out of range; use 8 to 2048 pixels (seed 001 uses 160)")
        if self.per_participant < 1:
            raise LevelsetsError(f"--per-participant {self.per_participant} must be at least 1 (seed 001 uses 27)")
        if self.repeats < 0 or (self.catch is not None and self.catch < 0) or self.mixed < 0:
            raise LevelsetsError("--repeats, --catch and --mixed must be non-negative")
        if self.repeats + (self.catch or 0) >= self.per_participant:
            raise LevelsetsError(
                f"--repeats {self.repeats} + --catch {self.catch or 0} leave no regular trial in a batch of "
                f"--per-participant {self.per_participant}; lower them or raise --per-participant"
            )


def _slug(name: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-")
    return slug or "run"


def _target_spec(run: SampleRun) -> str:
    target = run.summary.get("target") if isinstance(run.summary, dict) else None
    if isinstance(target, dict):
        return str(target.get("spec", ""))
    if isinstance(target, str):
        return target
    return ""


def _to_pil(image: np.ndarray, size: int):
    """(C, H, W) in [0, 1] → a Lanczos-upscaled PIL image whose longer side is ``size``."""
    from PIL import Image

    channels, height, width = image.shape
    pixels = np.clip(np.rint(np.asarray(image, dtype=np.float64) * 255.0), 0, 255).astype(np.uint8)
    if channels == 1:
        pil = Image.fromarray(pixels[0], mode="L")
    elif channels == 3:
        pil = Image.fromarray(np.transpose(pixels, (1, 2, 0)), mode="RGB")
    else:
        raise LevelsetsError(f"images with {channels} channels cannot be exported; stimuli need 1 (gray) or 3 (RGB)")
    scale = size / max(height, width)
    new = (max(1, round(width * scale)), max(1, round(height * scale)))
    return pil.resize(new, Image.Resampling.LANCZOS)


def _contact_sheet(records: list[tuple[dict, np.ndarray]], size: int, limit: int = 60):
    """A grid of the first ``limit`` stimuli, each captioned with its id and kind (an overview)."""
    # Not torchvision's make_grid: each tile is Lanczos-resized as the stimulus files are and has its
    # id written under it, which make_grid (tensor tiles, uniform padding, no text) cannot do.
    from PIL import Image, ImageDraw

    shown = records[:limit]
    cell = max(64, min(size, 128))
    caption, gap = 14, 4
    cols = min(10, len(shown))
    rows = math.ceil(len(shown) / cols)
    sheet = Image.new("RGB", (cols * (cell + gap), rows * (cell + caption)), "white")
    draw = ImageDraw.Draw(sheet)
    for n, (record, image) in enumerate(shown):
        x, y = (n % cols) * (cell + gap), (n // cols) * (cell + caption)
        tile = _to_pil(image, cell).convert("RGB")
        sheet.paste(tile, (x + (cell - tile.width) // 2, y))
        draw.text((x + 2, y + cell), record["id"][:20], fill="black")
    return sheet


def _study_id(manifest: dict, batches: dict) -> str:
    blob = json.dumps([manifest, batches], sort_keys=True, allow_nan=False).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def _load_runs(run_dirs: Sequence[str | Path]) -> list[tuple[str, SampleRun]]:
    if not run_dirs:
        raise LevelsetsError("give at least one RUN_DIR (an output directory of `levelsets sample`)")
    runs: list[tuple[str, SampleRun]] = []
    seen: dict[str, int] = {}
    for run_dir in run_dirs:
        run = load_run(run_dir)
        base = _slug(Path(run_dir).resolve().name)
        seen[base] = seen.get(base, 0) + 1
        name = base if seen[base] == 1 else f"{base}-{seen[base]}"
        runs.append((name, run))
    first = runs[0][1]
    for name, run in runs[1:]:
        if run.class_names != first.class_names:
            raise LevelsetsError(
                f"run {name} has classes {list(run.class_names)} but the first run has {list(first.class_names)}; "
                "export runs of one classifier together"
            )
        if run.images.shape[1:] != first.images.shape[1:]:
            raise LevelsetsError(
                f"run {name} has images of shape {run.images.shape[1:]} but the first run {first.images.shape[1:]}; "
                "export runs of one generative model together"
            )
    return runs


def export_stimuli(run_dirs: Sequence[str | Path], out: str | Path, settings: StimuliSettings | None = None,
                   *, overwrite: bool = False, progress: bool = True) -> Path:
    """Export sample runs as a stimulus directory (format: :mod:`levelsets.elicitation.manifest`).

    Parameters
    ----------
    run_dirs:
        Output directories of ``levelsets sample`` (one classifier, one image shape).
    out:
        The stimulus directory to create; written atomically (nothing is left on failure).
    settings:
        :class:`StimuliSettings`; the defaults follow seed 001 (160 px, 27 trials, 2 repeats).
    overwrite:
        Replace an existing non-empty ``out``.
    progress:
        Show a progress bar while writing PNGs.

    Returns
    -------
    Path
        ``out``.

    Raises
    ------
    LevelsetsError
        On unreadable runs, runs that disagree on classes or image shape, catch trials requested
        without a ``confident:`` run (or too few of them), or impossible settings.
    """
    from levelsets.progress import progress_bar

    settings = settings or StimuliSettings()
    runs = _load_runs(run_dirs)
    class_names = runs[0][1].class_names
    rng = np.random.default_rng(settings.seed)

    records: list[tuple[dict, np.ndarray]] = []
    samples: list[tuple[str, Pick]] = []
    selections: dict[str, dict] = {}
    for run_number, (name, run) in enumerate(runs):
        spec = _target_spec(run)
        is_catch = spec.startswith(CATCH_PREFIX)
        expected = class_names[int(np.argmax(run.target))] if is_catch else None
        picks, selections[name] = select_stimuli(name, run, settings, run_number)
        for pick in picks:
            samples.append((name, pick))
            source = {
                "run": name,
                "path": str(run.path.resolve()) if run.path else None,
                "index": pick.index,
                "particle": pick.particle,
            }
            if selections[name]["pool"] == "final population":
                source["pool"] = "final population"
            records.append(({
                "id": f"{name}-{pick.index:04d}" if pick.index is not None else f"{name}-p{pick.particle:05d}",
                "kind": "catch" if is_catch else "sample",
                "source": source,
                "latent": pick.latent,
                "probs": pick.probs,
                "target": run.target,
                "target_spec": spec or None,
                "expected": expected,
                "mixing": None,
            }, pick.image))
    records += mixed_records(samples, settings.mixed, rng, class_names)

    catch_pool = [r["id"] for r, _ in records if r["kind"] == "catch"]
    regular = [r["id"] for r, _ in records if r["kind"] != "catch"]
    catch = settings.catch if settings.catch is not None else (DEFAULT_CATCH if catch_pool else 0)
    if catch and not catch_pool:
        raise LevelsetsError(f"--catch {catch} needs a run whose target is confident:C (catch trials); add one or pass --catch 0")
    if catch > len(catch_pool):
        raise LevelsetsError(f"--catch {catch} per batch but the confident: runs hold only {len(catch_pool)} samples; lower --catch")
    if not regular:
        raise LevelsetsError("no regular stimuli: every run has a confident: target; add runs with other targets or --mixed N")
    if settings.repeats + catch >= settings.per_participant:
        raise LevelsetsError(
            f"--repeats {settings.repeats} + {catch} catch trials leave no regular trial in a batch of "
            f"--per-participant {settings.per_participant}; lower them or raise --per-participant"
        )
    batches = make_batches(regular, catch_pool, settings, catch, class_names, rng)

    for record, _ in records:
        record["file"] = f"{IMAGES_DIR}/{record['id']}.png"
    manifest = {
        "format": FORMAT,
        "class_names": list(class_names),
        "size": settings.size,
        "seed": settings.seed,
        "settings": asdict(settings) | {"catch": catch},
        "selection": selection_rule(settings),
        "runs": [{"name": name, "path": str(run.path.resolve()) if run.path else None,
                  "target_spec": _target_spec(run) or None, "samples": len(run), **selections[name]}
                 for name, run in runs],
        "stimuli": to_jsonable([r for r, _ in records]),
    }
    batch_doc = {"format": FORMAT, "batches": batches}
    study_id = _study_id(manifest, batch_doc)
    manifest = {"format": FORMAT, "study_id": study_id, **{k: v for k, v in manifest.items() if k != "format"}}
    batch_doc = {"format": FORMAT, "study_id": study_id, "batches": batches}

    with atomic_output_dir(out, overwrite=overwrite) as tmp:
        (tmp / IMAGES_DIR).mkdir()
        for record, image in progress_bar(records, desc="stimuli", unit="png", enabled=progress):
            _to_pil(image, settings.size).save(tmp / record["file"], format="PNG", optimize=False)
        _contact_sheet(records, settings.size).save(tmp / CONTACT_SHEET, format="PNG")
        write_json(tmp / MANIFEST_FILE, manifest)
        write_json(tmp / BATCHES_FILE, batch_doc)
        write_sidecar(tmp, provenance(
            settings=manifest["settings"], seed=settings.seed,
            data={"runs": manifest["runs"]}, study_id=study_id, selection=manifest["selection"],
            counts={"stimuli": len(records), "catch": len(catch_pool), "batches": len(batches)},
        ))
    return Path(out)
