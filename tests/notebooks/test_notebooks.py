"""Every notebook in notebooks/ is committed clean and executes on quick settings (nbclient, python3 kernel)."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

NOTEBOOK_DIR = Path(__file__).resolve().parents[2] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
QUICK_LINE = 'QUICK = os.environ.get("LEVELSETS_NOTEBOOK_QUICK") == "1"'

# What each notebook must show, beyond running without error: (mime type, substring or None, minimum count).
EXPECTED = {
    "01_shapes_level_sets.ipynb": [
        ("image/png", None, 7),  # three sample grids, the fig. 3 scatter, latents, trace plot, burn-in history, job grid
        ("text/html", "within ±0.05", 1),  # the diagnostics table
        ("text/html", "r_hat", 1),  # the ArviZ summary
        ("text/html", "prior_accepted", 1),  # MH vs prior-rejection yield
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
    "03_soft_label_loop.ipynb": [
        ("runs/notebook_03/truth/table.json", lambda t: [r["round"] for r in t] == [0, 1, 2] and t[1]["augmenting_runs"] == 3),
        ("runs/notebook_03/elicited/table.json", lambda t: [r["round"] for r in t] == [0, 1] and t[1]["augmenting_runs"] == 3),
    ],
}


def _outputs(nb) -> list[dict]:
    return [out for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", [])]


def test_the_notebooks_exist():
    assert set(EXPECTED) <= {p.name for p in NOTEBOOKS}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_clean(path):
    """Outputs stripped, and the first code cell reads the quick switch (CI runs notebooks on tiny settings)."""
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and QUICK_LINE in code[0].source
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code), f"{path.name}: strip the outputs"
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"


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
        found = [o for o in outputs if mime in o.get("data", {}) and (text is None or text in str(o["data"][mime]))]
        assert len(found) >= minimum, f"{path.name}: expected ≥ {minimum} {mime} output(s) containing {text!r}, got {len(found)}"
    for rel, check in ARTIFACTS.get(path.name, []):
        artifact = tmp_path / rel
        assert artifact.is_file(), f"{path.name} did not write {rel}"
        assert check(json.loads(artifact.read_text())), f"{path.name}: unexpected {rel}"
