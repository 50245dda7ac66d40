"""The documentation site builds with ``mkdocs build --strict`` (broken links, missing pages and bad
API references are errors), and the README stays a short front page."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_mkdocs_build_strict(tmp_path):
    site = tmp_path / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    for page in ("index.html", "sampler/index.html", "benchmarks/index.html", "reference/inference/index.html"):
        assert (site / page).is_file(), page
    api = (site / "reference/inference/index.html").read_text()
    assert "sample_level_set" in api and "SamplerSettings" in api  # mkdocstrings rendered the docstrings


def test_readme_is_a_front_page():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 250, len(lines)
    text = "\n".join(lines[:40])
    assert "make run" in text and "make test" in text  # the two commands at the top


def test_site_front_page_is_the_readme():
    import importlib.util

    spec = importlib.util.spec_from_file_location("gen_index", ROOT / "docs" / "gen_index.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    expected = gen.index_text((ROOT / "README.md").read_text())
    assert (ROOT / "docs" / "index.md").read_text() == expected, "docs/index.md is stale: run python docs/gen_index.py"
