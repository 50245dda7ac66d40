"""Write docs/index.md, the documentation site's front page, from README.md (links made site-relative).

Run after editing the README: ``python docs/gen_index.py``. ``tests/docs`` checks it is up to date.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def index_text(readme: str) -> str:
    """The README with its ``docs/`` links made relative to the site and CONTRIBUTING.md mapped to its page."""
    text = readme.replace("](docs/", "](").replace("(CONTRIBUTING.md)", "(contributing.md)")
    return text.replace("Full documentation: [`docs/`](index.md) (an mkdocs site:\n`mkdocs serve`).",
                        "This is the documentation site; the repository's README is its front page.")


if __name__ == "__main__":
    (ROOT / "docs" / "index.md").write_text(index_text((ROOT / "README.md").read_text()))
