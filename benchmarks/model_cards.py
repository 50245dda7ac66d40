"""The cached models' figures, from their model cards: the models table of docs/data-and-models.md.

Loads the built-in worlds ``mnist`` (VAE and GAN priors), ``shapes`` and ``mnist32`` — which trains
and caches any missing model first, exactly as a user's first ``levelsets sample`` would — then
reads each model's card (``<model home>/<kind>/<name>/model.card.json``): its data, epochs,
held-out accuracy (classifiers; the shapes card adds the Bayes-optimal accuracy of its held-out
set) or held-out negative ELBO (VAEs), and training seconds with the torch thread count. For each
MNIST generator it also classifies 10,000 prior draws with the MNIST CNN and records the share of
each predicted class (does the generator make every digit?).

Outputs ``benchmarks/results/model_cards.{json,md}`` (``benchmarks/render_results.py`` re-renders
the ``.md``). Reading cached models takes seconds; training missing ones takes minutes (the GAN
the longest). Usage::

    python benchmarks/model_cards.py
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
#: (world, prior, the models it loads: (kind, cache name)).
WORLDS = (("mnist", "vae", (("classifier", "mnist"), ("vae", "mnist"))), ("mnist", "gan", (("gan", "mnist"),)),
          ("shapes", None, (("classifier", "shapes"),)),
          ("mnist32", None, (("classifier", "mnist-resnet"), ("vae", "mnist32"))))
DRAWS = 10_000


def class_shares(world) -> list[float]:
    """The share of each class the MNIST CNN predicts for :data:`DRAWS` images the world's generator decodes."""
    import torch

    torch.manual_seed(0)
    with torch.no_grad():
        z = world.prior.sample((DRAWS,))
        predicted = torch.cat([world.classifier(world.decoder(chunk)).argmax(-1) for chunk in z.split(1000)])
    return (torch.bincount(predicted, minlength=len(world.class_names)).double() / DRAWS).tolist()


def card_row(kind: str, name: str, card: dict[str, Any]) -> dict[str, Any]:
    """The figures of one model card the table shows."""
    row = {"kind": kind, "name": name, "arch": card.get("arch") or (card.get("config") or {}).get("arch"),
           "data": card.get("data"), "epochs": card.get("epochs") or (card.get("settings") or {}).get("epochs"),
           "augment": (card.get("settings") or {}).get("augment"), "train_seconds": card.get("train_seconds"),
           "torch_threads": card.get("torch_threads") or (card.get("machine") or {}).get("torch_threads"),
           "created": card.get("created"), "n_train": card.get("n_train") or card.get("num_train_images"),
           "n_heldout": card.get("n_heldout")}
    if kind == "classifier":
        row.update(heldout_accuracy=card.get("heldout_accuracy"), bayes_accuracy=card.get("bayes_accuracy"))
    elif card.get("heldout_losses"):
        row.update(heldout_losses=card["heldout_losses"], final_losses=card.get("final_losses"),
                   latent_dim=(card.get("config") or {}).get("latent_dim"))
    else:
        row["latent_dim"] = (card.get("config") or {}).get("latent_dim")
    return row


def collect() -> list[dict[str, Any]]:
    from levelsets.home import model_dir
    from levelsets.worlds import load_world

    rows = []
    for world_name, prior, models in WORLDS:
        world = load_world(world_name, prior, progress=False)
        shares = class_shares(world) if world_name == "mnist" and prior else None
        for kind, name in models:
            if any(r["kind"] == kind and r["name"] == name for r in rows):
                continue
            card = json.loads((model_dir(kind, name) / "model.card.json").read_text())
            row = card_row(kind, name, card)
            if kind in ("vae", "gan") and shares is not None:
                row["class_shares"] = shares
            rows.append({"world": world_name, **row})
    return rows


def _seconds(r: dict[str, Any]) -> str:
    if r["train_seconds"] is None:
        return "—"
    threads = r["torch_threads"]
    return f"{r['train_seconds']:,.0f} s" + (f" ({threads} thread{'s' if threads != 1 else ''})" if threads else "")


def _result(r: dict[str, Any]) -> str:
    if r["kind"] == "classifier":
        if r.get("bayes_accuracy") is not None:  # two decimals: the gap to the Bayes-optimal accuracy is small
            return (f"**{r['heldout_accuracy']:.2%}** held-out accuracy ({r['n_heldout']:,} images); "
                    f"Bayes-optimal {r['bayes_accuracy']:.2%}")
        return f"**{r['heldout_accuracy']:.1%}** held-out accuracy ({r['n_heldout']:,} images)"
    parts = []
    if r.get("heldout_losses"):
        held, train = r["heldout_losses"], r.get("final_losses") or {}
        parts.append(f"held-out −ELBO {held['loss']:.1f} nats (reconstruction {held['recon']:.1f} + KL {held['kl']:.1f}; "
                     f"train {train.get('loss', float('nan')):.1f})")
    if r.get("class_shares"):
        parts.append(f"each digit {min(r['class_shares']):.1%}–{max(r['class_shares']):.1%} of {DRAWS:,} draws (MNIST CNN)")
    return "; ".join(parts) or "—"


def markdown(record: dict[str, Any]) -> str:
    """The models table: one row per cached model, from its card."""
    lines = ["| world | model | trained on | result | training time (CPU) |", "|---|---|---|---|---|"]
    for r in record["rows"]:
        if r["kind"] == "classifier":
            model = f"classifier `{r['name']}` ({r['arch']})"
        else:
            model = f"{r['kind'].upper()} `{r['name']}` ({r['latent_dim']}-d latent)"
        augment = r.get("augment") not in (None, "none")
        trained = f"{r['n_train']:,} images, {r['epochs']} epochs" + (f", {r['augment']} augmentation" if augment else "")
        lines.append(f"| {r['world']} | {model} | {trained} | {_result(r)} | {_seconds(r)} |")
    home = record["model_home"]
    lines += ["", f"From the model cards in the model home ({home}), read {record['provenance']['created'][:10]} "
              "(`benchmarks/model_cards.py`); each card records the machine and date it was trained on. Training "
              "seconds depend on the machine's load at the time, which the cards do not record."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=HERE / "results")
    args = ap.parse_args(argv)
    if importlib.util.find_spec("levelsets") is None:  # not installed: the source tree (ahead of it on sys.path, a
        sys.path.append(str(HERE.parent / "src"))     # stale src/*.egg-info would hide the registered worlds)
    from levelsets.artifacts import provenance, write_json
    from levelsets.home import model_home

    rows = collect()
    home = str(model_home()).replace(os.path.expanduser("~"), "~")
    record = {"benchmark": "model_cards", "model_home": home, "rows": rows,
              "provenance": provenance(settings={"worlds": [w[:2] for w in WORLDS], "draws": DRAWS}, seed=0,
                                       data="the cached models' own cards")}
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / "model_cards.json", record)
    text = markdown(record)
    (args.out / "model_cards.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
