"""End-to-end tests of `levelsets loop` on tiny settings (shapes world), and its bad-input errors."""

from __future__ import annotations

import dataclasses
import json

import pytest
from typer.testing import CliRunner

from levelsets.cli import app
from levelsets.runs import load_run
from levelsets.workflows.loop_evaluation import ROUND_METRICS

from .command_options import capture_call, helps, options

runner = CliRunner()
TINY = [
    "--world", "shapes", "--samples-per-target", "8", "--particles", "16", "--steps", "8", "--burn-in", "4",
    "--n-train", "300", "--epochs", "1", "--eval-size", "100", "--heldout-size", "100", "--quiet",
]


@pytest.mark.slow
def test_loop_two_rounds_end_to_end(tmp_path):
    out = tmp_path / "loop"
    targets = ("ambiguous", "graded:rocketvshouse:0.25")
    result = runner.invoke(app, ["loop", *TINY, "--rounds", "2", "--labeler", "truth", "--seed", "1",
                                 "-t", targets[0], "-t", targets[1], "--out", str(out)])
    assert result.exit_code == 0, result.output
    for name in ("table.json", "table.md", "rounds.png", "summary.json"):
        assert (out / name).is_file(), name
    table = json.loads((out / "table.json").read_text())
    assert [row["round"] for row in table] == [0, 1, 2]
    assert [row["augmenting_runs"] for row in table] == [0, len(targets), 2 * len(targets)]
    assert [row["added_this_round"] for row in table] == [0, 8 * len(targets), 8 * len(targets)]
    for row in table:
        for metric in ROUND_METRICS:
            assert row[metric] == row[metric] and row[metric] >= 0.0, (row["round"], metric)  # finite, not NaN
        assert 0.0 <= row["accuracy"] <= 1.0 and 0.0 <= row["heldout_accuracy"] <= 1.0
    md = (out / "table.md").read_text().strip().splitlines()
    assert len(md) == 2 + 3 and md[0].startswith("| round |")
    assert (out / "table.md").read_text() in result.stdout
    for r in range(3):
        assert (out / f"round_{r}" / "classifier.pt").is_file()
        card = json.loads((out / f"round_{r}" / "classifier.card.json").read_text())
        assert len(card["training_data"]["augment"]) == r * len(targets)
        assert card["training_data"]["base_examples"] == 300
        assert all(a["labels"] == "posterior" for a in card["training_data"]["augment"])
    assert not (out / "round_0" / "runs").exists()
    for r in (1, 2):
        runs = sorted(p.name for p in (out / f"round_{r}" / "runs").iterdir())
        assert runs == ["ambiguous", "graded_rocketvshouse_0.25"]
        for name in runs:
            run = load_run(out / f"round_{r}" / "runs" / name)
            assert len(run) == 8 and run.exact_posterior is not None
            sampled_with = json.loads((out / f"round_{r}" / "runs" / name / "summary.json").read_text())["classifier"]["path"]
            assert sampled_with.endswith(f"round_{r - 1}/classifier.pt"), sampled_with
    summary = json.loads((out / "summary.json").read_text())
    assert summary["table"] == table and summary["seed"] == 1 and "versions" in summary
    assert summary["settings"]["labeler"] == "truth" and tuple(summary["settings"]["targets"]) == targets
    assert [(d["round"], d["target"]) for d in summary["runs"]] == [(r, t) for r in (1, 2) for t in targets]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--labeler", "oracle"], "unknown --labeler"),
        (["--labeler", "truth", "--world", "mnist"], "--world shapes"),
        (["--labeler", "simulator"], "--simulator-responses"),
        (["--labeler", "elicited"], "--elicited-labels"),
        (["--rounds", "0"], "--rounds must be"),
        (["--world", "cifar"], "unknown world"),
        (["--method", "magic"], "unknown --method"),
        (["--samples-per-target", "50", "--particles", "10"], "--samples-per-target (50) must not exceed --particles (10)"),
        (["--burn-in", "20", "--steps", "10"], "need 0 ≤ --burn-in < --steps"),
        (["--burn-in", "0"], "tempering needs a burn-in of at least 1 step (got --burn-in 0)"),
        (["--alpha", "0"], "--alpha must be a finite number > 0"),
        (["--augment-repeat", "0"], "--augment-repeat"),
        (["--target", "1vs7"], "target"),
        (["--labeler", "truth", "--study", "s", "--db", "d.sqlite"], "--study and --db are for --labeler elicited"),
        (["--labeler", "elicited", "--study", "s"], "--db FILE"),
        (["--labeler", "elicited", "--study", "s", "--db", "d.sqlite", "--timeout", "0"], "--timeout"),
        (["--labeler", "elicited", "--study", "s", "--db", "d.sqlite", "--stimuli", "x", "--elicited-labels", "y"], "not both"),
    ],
)
def test_bad_input_one_line_and_nothing_written(tmp_path, args, fragment):
    out = tmp_path / "loop"
    result = runner.invoke(app, ["loop", "--quiet", *args, "--out", str(out)])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], result.stderr
    assert list(tmp_path.iterdir()) == []


def test_simulator_responses_must_exist(tmp_path):
    result = runner.invoke(app, ["loop", "--labeler", "simulator", "--simulator-responses", str(tmp_path / "none.json"),
                                 "--out", str(tmp_path / "loop")])
    assert result.exit_code == 2 and "does not exist" in result.stderr, result.output
    assert list(tmp_path.iterdir()) == []


def test_every_loop_settings_field_is_an_option_of_loop():
    from levelsets.workflows.loop_settings import LoopSettings

    docs = helps(LoopSettings)
    job_fields = [f for f in dataclasses.fields(LoopSettings) if f.metadata.get("cli", True)]
    loop = options("loop")
    assert set(loop) == {f.name for f in job_fields} | {"quiet"}
    for f in job_fields:
        assert loop[f.name].help == docs[f.name], f.name
    assert loop["targets"].opts == ["--target", "-t"] and loop["targets"].multiple  # repeatable


def test_loop_passes_repeated_targets_and_quiet(monkeypatch, tmp_path):
    import levelsets.workflows.loop as loop_mod

    seen = capture_call(monkeypatch, loop_mod, "run_loop")
    result = runner.invoke(app, ["loop", "-t", "ambiguous", "--target", "0.3,0.7", "-q", "-N", "500",
                                 "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    settings = seen["settings"]
    assert settings.targets == ("ambiguous", "0.3,0.7") and settings.progress is False and settings.particles == 500
    assert (settings.relaxation, settings.tolerance) == ("band", 0.05)
    result = runner.invoke(app, ["loop", "--relaxation", "dirichlet", "--alpha", "80", "--tolerance", "0.1",
                                 "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    assert (seen["settings"].relaxation, seen["settings"].alpha, seen["settings"].tolerance) == ("dirichlet", 80.0, 0.1)
    runner.invoke(app, ["loop", "--out", str(tmp_path / "o")])
    assert len(seen["settings"].targets) == 3 and seen["settings"].progress is True  # the shapes defaults
