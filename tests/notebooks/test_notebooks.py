"""Every notebook in notebooks/ is committed clean (or with the outputs of a full run) and executes on quick settings.

Notebooks run with nbclient on the python3 kernel.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import nbformat
import pytest

NOTEBOOK_DIR = Path(__file__).resolve().parents[2] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
QUICK_LINE = 'QUICK = os.environ.get("LEVELSETS_NOTEBOOK_QUICK") == "1"'
# Notebooks committed WITH the outputs of one full (non-quick) run, so that readers on GitHub see the pictures.
STORED_WITH_OUTPUTS: set[str] = {"01_shapes_level_sets.ipynb", "02_mnist_level_sets.ipynb", "03_soft_label_loop.ipynb"}
MAX_STORED_BYTES = 2_000_000

# What each notebook must show, beyond running without error: (mime type, substring or None, minimum count).
EXPECTED = {
    "01_shapes_level_sets.ipynb": [
        ("image/png", None, 7),  # three sample grids, the fig. 3 scatter, latents, trace plot, burn-in history, job grid
        ("text/html", "within ±0.05", 1),  # the diagnostics table
        ("text/html", "r_hat", 1),  # the ArviZ summary
        ("text/html", "prior_accepted", 1),  # MH vs prior-rejection yield
    ],
    "02_mnist_level_sets.ipynb": [
        # 2 prior grids, 6 prior × target grids, the strip, its calibration, 3 latent pictures, trace plot, job grid
        ("image/png", None, 15),
        ("text/html", "within ±0.05", 1),  # the diagnostics table
        ("text/html", "target classes", 1),
        ("text/html", "r_hat", 1),  # the ArviZ summary
        ("text/html", "chain / population spread", 1),  # families and R-hat within them
        ("stream", "data: classifier: ", 2),  # says which data the models were trained on (world.data)
    ],
    "03_soft_label_loop.ipynb": [
        ("image/png", None, 2),  # rounds.png and the comparison plot
        ("text/html", "heldout_accuracy", 2),  # the per-round table and the comparison
        ("text/markdown", "| round |", 1),  # the elicited loop's markdown table
    ],
}
# Files a quick run must leave in its working directory: (path, check on the parsed JSON).
ARTIFACTS = {
    "01_shapes_level_sets.ipynb": [("runs/notebook_01/ambiguous/summary.json", lambda s: "compare_prior" in s and s["delta"] < 0.5)],
    "02_mnist_level_sets.ipynb": [
        ("runs/notebook_02/gan_8vs9/summary.json",
         lambda s: s["prior"] == "gan" and s["target"]["spec"] == "8vs9" and "MNIST" in s["data"]
         and math.isfinite(s["delta"]) and s["delta"] < 0.5 and 0 <= s["target_classes_share"] <= 1),
    ],
    "03_soft_label_loop.ipynb": [
        ("runs/notebook_03/truth/table.json", lambda t: [r["round"] for r in t] == [0, 1, 2] and t[1]["augmenting_runs"] == 3),
        ("runs/notebook_03/elicited/table.json", lambda t: [r["round"] for r in t] == [0, 1] and t[1]["augmenting_runs"] == 3),
    ],
}
# Model cards a quick run must leave under the session's $LEVELSETS_HOME (quick mode trains tiny models in a
# model home of its own, `notebook-quick`, so they never replace real cached models).
MODEL_CARDS = {
    "02_mnist_level_sets.ipynb": [
        (f"notebook-quick/{kind}/mnist/model.card.json", lambda c: c["epochs"] <= 3) for kind in ("vae", "gan")
    ] + [("notebook-quick/classifier/mnist/model.card.json", lambda c: c["settings"]["epochs"] <= 2)],
}


def _outputs(nb) -> list[dict]:
    return [out for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", [])]


def _found(outputs: list[dict], mime: str, text: str | None) -> list[dict]:
    """Outputs carrying ``mime`` (or stream outputs, for ``"stream"``) that contain ``text``."""
    if mime == "stream":
        return [o for o in outputs if o.get("output_type") == "stream" and (text is None or text in o.get("text", ""))]
    return [o for o in outputs if mime in o.get("data", {}) and (text is None or text in str(o["data"][mime]))]


def test_the_notebooks_exist():
    assert set(EXPECTED) <= {p.name for p in NOTEBOOKS}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_clean(path):
    """The first code cell reads the quick switch (CI runs notebooks on tiny settings); outputs are stripped,
    or, for STORED_WITH_OUTPUTS, those of one complete, error-free run on the full settings."""
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and QUICK_LINE in code[0].source
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"
    if path.name not in STORED_WITH_OUTPUTS:
        assert all(not c.get("outputs") and c.get("execution_count") is None for c in code), f"{path.name}: strip the outputs"
        return
    assert path.stat().st_size < MAX_STORED_BYTES, f"{path.name}: stored outputs too large; use smaller figures"
    assert [c.get("execution_count") for c in code] == list(range(1, len(code) + 1)), f"{path.name}: run it top to bottom once"
    outputs = _outputs(nb)
    assert not [o for o in outputs if o.output_type == "error"], f"{path.name}: stored with an error"
    assert "Traceback" not in "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    first = "".join(o.get("text", "") for o in code[0].get("outputs", []))
    assert "full settings" in first, f"{path.name}: store the outputs of a full run, not of LEVELSETS_NOTEBOOK_QUICK=1"
    for mime, text, minimum in EXPECTED.get(path.name, []):
        assert len(_found(outputs, mime, text)) >= minimum, f"{path.name}: stored outputs lack {mime} {text!r}"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_executes(path, tmp_path, monkeypatch, request):
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    if 'load_world("shapes"' in path.read_text():
        request.getfixturevalue("tiny_shapes_classifier")  # a small cached CNN instead of the 16,000-image default
    monkeypatch.setenv("LEVELSETS_NOTEBOOK_QUICK", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    client = NotebookClient(nb, kernel_name="python3", timeout=600, resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError (with the traceback) when a cell fails

    outputs = _outputs(nb)
    assert not [o for o in outputs if o.output_type == "error"]
    stderr = "".join(o.get("text", "") for o in outputs if o.output_type == "stream" and o.get("name") == "stderr")
    assert "Traceback" not in stderr
    for mime, text, minimum in EXPECTED.get(path.name, [("image/png", None, 1)]):
        found = _found(outputs, mime, text)
        assert len(found) >= minimum, f"{path.name}: expected ≥ {minimum} {mime} output(s) containing {text!r}, got {len(found)}"
    for rel, check in ARTIFACTS.get(path.name, []):
        artifact = tmp_path / rel
        assert artifact.is_file(), f"{path.name} did not write {rel}"
        assert check(json.loads(artifact.read_text())), f"{path.name}: unexpected {rel}"
    home = Path(os.environ["LEVELSETS_HOME"])  # the session's private model home (tests/conftest.py)
    for rel, check in MODEL_CARDS.get(path.name, []):
        card = home / rel
        assert card.is_file(), f"{path.name}: quick mode did not train its tiny model into {card}"
        assert check(json.loads(card.read_text())), f"{path.name}: {rel} is not a quick-mode model"
