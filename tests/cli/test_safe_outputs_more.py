"""Safe outputs for the commands test_safe_outputs.py leaves out: train vae, loop --out ., live-loop paths.

Each must answer one line, exit 2, and leave the user's files where they were (issue 15, item 1).
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from levelsets.cli import app

from . import test_safe_outputs as safe

runner = CliRunner()
user_tree = safe.user_tree  # the fixture: a user's project, the working directory inside it
_snapshot, _one_line_error = safe._snapshot, safe._one_line_error


@pytest.mark.parametrize(("out", "needle"), [(".", "current directory"), ("..", "holds the current directory"),
                                             ("results", "not empty")])
def test_train_vae_never_replaces_a_users_folder(user_tree, out, needle):
    before = _snapshot(user_tree)
    _one_line_error(runner.invoke(app, ["train", "vae", "--out", out]), needle)
    assert _snapshot(user_tree) == before


@pytest.mark.parametrize("out", [".", "results"])
def test_loop_never_replaces_a_users_folder(user_tree, out):
    before = _snapshot(user_tree)
    result = runner.invoke(app, ["loop", "--world", "shapes", "--rounds", "1", "--out", out, "--overwrite", "--quiet"])
    assert result.exit_code == 2 and result.output.count("\n") == 1, result.output
    assert _snapshot(user_tree) == before


@pytest.mark.parametrize(("study", "db", "needle"), [
    ("results", "new.sqlite", "--study results exists and is not empty"),
    ("new-study", "data.csv", "--db data.csv already exists"),
    ("new-study", "results", "--db results is a directory"),
    ("loop/study", "new.sqlite", "must lie outside --out"),
])
def test_live_loop_never_touches_a_users_files(user_tree, study, db, needle):
    before = _snapshot(user_tree)
    result = runner.invoke(app, ["loop", "--labeler", "elicited", "--study", study, "--db", db, "--out", "loop", "--quiet"])
    _one_line_error(result, needle)
    assert _snapshot(user_tree) == before
