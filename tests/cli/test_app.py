"""levelsets.cli.app: the command groups, user errors as one line (exit 2), and an import light enough for --help."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest
import typer
from typer.testing import CliRunner

from levelsets.classifiers.training_job import TrainClassifierJob
from levelsets.cli import app
from levelsets.elicitation.elicit_settings import ExportJob, ServeJob
from levelsets.elicitation.stimuli import StimuliSettings
from levelsets.evaluation.evaluate_settings import EvaluateJob
from levelsets.generative.training_job import TrainGeneratorJob
from levelsets.softlabels.label_settings import BuildLabelsJob, Cifar10hJob
from levelsets.workflows.loop_settings import LoopSettings
from levelsets.workflows.sample import SampleJob

from .command_options import helps, options

runner = CliRunner()


def test_every_command_group_is_registered():
    group = typer.main.get_command(app)
    assert set(group.commands) == {"sample", "sweep", "train", "labels", "evaluate", "loop", "stimuli", "elicit"}
    assert set(group.commands["labels"].commands) == {"build", "cifar10h"}
    assert set(group.commands["elicit"].commands) == {"serve", "export"}
    assert set(group.commands["stimuli"].commands) == {"export"}


def test_a_user_error_is_one_line_on_stderr_and_exit_2(tmp_path):
    result = runner.invoke(app, ["sample", "--world", "shapes", "--particles", "0", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == "error: --particles must be an integer ≥ 1, got 0\n"
    assert not (tmp_path / "o").exists()


def test_the_console_script_reports_a_user_error_the_same_way(tmp_path):
    code = "from levelsets.cli import main; main()"
    proc = subprocess.run([sys.executable, "-c", code, "labels", "build", "--responses", str(tmp_path / "r.json"),
                           "--classes", "shapes", "-o", str(tmp_path / "l.json"), "--variety", "t3"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().startswith("error: unknown label variety 't3'") and len(proc.stderr.strip().splitlines()) == 1


def test_building_the_options_keeps_the_cli_import_light():
    """The settings dataclasses are imported when the CLI is (to build the options): nothing heavy."""
    heavy = {"torch", "scipy", "matplotlib", "pandas", "fastapi", "uvicorn"}
    code = f"import sys, levelsets.cli; print(sorted({heavy!r} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "[]"


# (command path, its settings dataclass, parameters the command itself declares)
COMMANDS = [
    (("sample",), SampleJob, {"json_output", "quiet"}),
    (("loop",), LoopSettings, {"quiet"}),
    (("stimuli", "export"), StimuliSettings, {"run_dirs", "out", "overwrite"}),
    (("evaluate",), EvaluateJob, set()),
    (("labels", "build"), BuildLabelsJob, set()),
    (("labels", "cifar10h"), Cifar10hJob, set()),
    (("elicit", "serve"), ServeJob, set()),
    (("elicit", "export"), ExportJob, set()),
    (("train", "classifier"), TrainClassifierJob, {"quiet"}),
    (("train", "vae"), TrainGeneratorJob, set()),
    (("train", "gan"), TrainGeneratorJob, set()),
]


@pytest.mark.parametrize(("path", "settings", "own"), COMMANDS, ids=lambda v: " ".join(v) if isinstance(v, tuple) else None)
def test_each_commands_options_are_its_settings_fields_with_their_help_and_defaults(path, settings, own):
    """One source: every parameter of these commands is a field of its settings dataclass (or the command's own)."""
    fields = [f for f in dataclasses.fields(settings) if f.metadata.get("cli", True)]
    declared = {**options(*path), **options(*path, kind="argument")}
    assert set(declared) == {f.name for f in fields} | own
    docs = helps(settings)
    for f in fields:
        param = declared[f.name]
        assert param.param_type_name == ("argument" if f.metadata.get("argument") else "option"), f.name
        if param.param_type_name == "option":
            assert param.help == docs[f.name], f.name
        if f.default is not dataclasses.MISSING:
            assert param.default == f.default and not param.required, f.name
        else:
            assert param.required, f.name
