"""levelsets.cli.options: CLI options built from a settings dataclass (each option declared once)."""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from levelsets.cli import app
from levelsets.cli.options import (
    attribute_docs,
    field_help,
    field_options,
    job_options,
    option_name,
)
from levelsets.workflows.sample import SampleJob

runner = CliRunner()


@dataclass
class _Job:
    """A toy job."""

    size: int = field(default=3, metadata={"flags": ("-s",)})
    """How many.
    Second line of the same help."""
    name: str | None = None
    """Who."""
    out: Path | None = None
    """Where to."""
    verbose: bool = field(default=True, metadata={"cli": False})
    """Python only."""
    fast_mode: bool = False
    """Go fast."""


@dataclass
class _Child(_Job):
    name: str | None = "kid"
    """The child's name."""


def test_attribute_docs_reads_the_string_below_each_field():
    docs = attribute_docs(_Job)
    assert docs["size"] == "How many. Second line of the same help."
    assert docs["name"] == "Who."
    assert set(docs) == {"size", "name", "out", "verbose", "fast_mode"}
    child = attribute_docs(_Child)
    assert child["name"] == "The child's name." and child["size"] == "How many. Second line of the same help."


def test_field_options_one_option_per_field():
    params = field_options(_Job, help={"out": "Elsewhere."})
    assert [p.name for p in params] == ["size", "name", "out", "fast_mode"]  # verbose: cli=False
    by_name = {p.name: p for p in params}
    assert by_name["size"].default.param_decls == ("--size", "-s")
    assert by_name["size"].default.default == 3 and by_name["size"].annotation is int
    assert by_name["fast_mode"].default.param_decls == ("--fast-mode",)
    assert by_name["name"].annotation == (str | None)
    assert by_name["out"].default.help == "Elsewhere."
    assert [p.name for p in field_options(_Job, exclude=("name", "out"))] == ["size", "fast_mode"]
    assert option_name("burn_in") == "--burn-in"


def test_a_field_without_default_is_required_and_an_argument_field_is_positional():
    @dataclass
    class Job:
        src: Path = field(metadata={"argument": True})
        """Where from."""
        x: int
        """X."""
        shared: int = field(default=4, metadata={"help": "From metadata.", "metavar": "K"})

    params = {p.name: p.default for p in field_options(Job)}
    assert isinstance(params["src"], typer.models.ArgumentInfo) and params["src"].help == "Where from."
    assert params["x"].default is ... and params["x"].param_decls == ("--x",)
    assert params["shared"].help == "From metadata." and params["shared"].metavar == "K"
    toy = typer.Typer(add_completion=False)
    seen = {}
    toy.command()(job_options(Job)(lambda **job: seen.update(job=Job(**job))))
    assert runner.invoke(toy, ["here", "--x", "2"]).exit_code == 0 and seen["job"] == Job(Path("here"), 2)
    missing = runner.invoke(toy, ["here"])
    assert missing.exit_code == 2 and "Missing option '--x'" in missing.output


def test_field_options_refuses_what_cannot_be_an_option():
    @dataclass
    class NoHelp:
        x: int = 1

    with pytest.raises(TypeError, match="no help"):
        field_options(NoHelp)
    with pytest.raises(TypeError, match="not a dataclass"):
        field_options(int)
    with pytest.raises(TypeError, match="not fields of _Job"):
        field_options(_Job, exclude=("sise",))
    with pytest.raises(TypeError, match="not fields of _Job"):
        field_options(_Job, help={"nmae": "typo"})


def _toy_app(seen: dict[str, Any]) -> typer.Typer:
    toy = typer.Typer(add_completion=False)

    @toy.command()
    @job_options(_Job)
    def run(
        ctx: typer.Context,
        label: str = typer.Option("x", "--label", help="Own option."),
        *,
        loud: bool = typer.Option(False, "--loud", help="Presentation."),
        **job: Any,
    ) -> None:
        """Run the toy job."""
        seen.update(job=_Job(**job), label=label, loud=loud, ctx=ctx)

    return toy


def test_job_options_builds_a_typer_command():
    seen: dict[str, Any] = {}
    toy = _toy_app(seen)
    result = runner.invoke(toy, ["-s", "7", "--name", "ann", "--fast-mode", "--loud", "--label", "y"])
    assert result.exit_code == 0, result.output
    assert seen["job"] == _Job(size=7, name="ann", out=None, verbose=True, fast_mode=True)
    assert seen["label"] == "y" and seen["loud"] is True and seen["ctx"].params["size"] == 7
    result = runner.invoke(toy, [])
    assert seen["job"] == _Job() and seen["loud"] is False

    command = typer.main.get_command(toy)
    names = [p.name for p in command.params if p.param_type_name == "option"]
    assert names == ["label", "size", "name", "out", "fast_mode", "loud"]  # own, fields, keyword-only
    helps = {p.name: p.help for p in command.params}
    assert helps["size"] == "How many. Second line of the same help."
    assert runner.invoke(toy, ["--verbose"]).exit_code == 2  # a cli=False field is no option


def test_job_options_refuses_a_second_declaration():
    with pytest.raises(TypeError, match="declared twice"):
        @job_options(_Job)
        def run(*, size: int = 1, **job: Any) -> None: ...

    with pytest.raises(TypeError, match=r"\*\*kwargs"):
        @job_options(_Job)
        def run2(*, loud: bool = False) -> None: ...


def _helps(cls: type) -> dict[str, str | None]:
    """Each field's help: its docstring, or the help a shared field carries (levelsets.job_fields)."""
    return {f.name: field_help(cls, f) for f in dataclasses.fields(cls)}


def _options(*command_path: str) -> dict[str, Any]:
    """The click options of a command of the app, by parameter name."""
    group = typer.main.get_command(app)
    command = group
    for name in command_path:
        command = command.get_command(typer.Context(group), name)
    return {p.name: p for p in command.params if p.param_type_name == "option"}


def test_every_sample_job_field_is_an_option_of_sample_and_sweep():
    """One source: `levelsets sample`'s job options are exactly SampleJob's fields, with their docs."""
    docs = _helps(SampleJob)
    job_fields = [f for f in dataclasses.fields(SampleJob) if f.metadata.get("cli", True)]
    sample = _options("sample")
    assert set(sample) == {f.name for f in job_fields} | {"json_output", "quiet"}
    for f in job_fields:
        option = sample[f.name]
        assert option.help == docs[f.name], f.name
        assert option.default == f.default, f.name
        assert option_name(f.name) in option.opts
    assert "-N" in sample["particles"].opts and "-t" in sample["target"].opts

    sweep = _options("sweep")
    for f in job_fields:
        if f.name in ("target", "prior", "seed", "out"):  # replaced by the sweep's lists and directory
            continue
        assert sweep[f.name].opts == sample[f.name].opts, f.name
        if f.name != "overwrite":  # the sweep gives --overwrite its own meaning
            assert sweep[f.name].help == docs[f.name], f.name
    assert "--targets" in sweep["targets"].opts and sweep["overwrite"].help != docs["overwrite"]


def test_sample_help_lists_the_field_docs():
    result = runner.invoke(app, ["sample", "--help"], terminal_width=200)
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "-N, --particles" in text and "Particles N advanced in parallel. [default: 1000]" in text
    assert "--progress" not in text and "-q, --quiet" in text


def test_sample_job_gives_the_sampler_its_shared_settings(tmp_path):
    job = SampleJob(world="shapes", target="0.3,0.7", particles=50, steps=40, burn_in=10, samples=20, thin=2,
                    tolerance=0.1, relaxation="dirichlet", seed=9, progress=False, out=tmp_path / "o")
    settings = job.sampler_settings(seed=11, device="cpu")
    assert (settings.particles, settings.steps, settings.burn_in, settings.samples, settings.thin) == (50, 40, 10, 20, 2)
    assert (settings.tolerance, settings.relaxation, settings.alpha) == (0.1, "dirichlet", job.alpha)
    assert (settings.seed, settings.device, settings.progress) == (11, "cpu", False)
    assert job.sampler_settings().seed == 9 and job.sampler_settings().device == "auto"
    assert job.alpha == 300.0  # resolved in __post_init__: the shapes world's default


@pytest.mark.parametrize("args, message", [
    (["--steps", "10", "--burn-in", "10"], "need 0 ≤ --burn-in < --steps"),
    (["--thin", "0"], "--thin must be an integer ≥ 1, got 0"),
    (["--burn-in", "0"], "tempering needs a burn-in of at least 1 step (got --burn-in 0); raise --burn-in"),
    (["--shards", "0"], "--shards must be an integer"),
])
def test_sample_job_validation_is_one_line(tmp_path, args, message):
    out = tmp_path / "never"
    result = runner.invoke(app, ["sample", "--world", "shapes", *args, "--out", str(out)])
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output
    assert not out.exists()


def test_sample_signature_is_built_once():
    from levelsets.cli.sample import sample

    params = inspect.signature(sample).parameters
    assert list(params)[-2:] == ["json_output", "quiet"]
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params.values())


def test_every_loop_settings_field_is_an_option_of_loop():
    from levelsets.workflows.loop_settings import LoopSettings

    docs = _helps(LoopSettings)
    job_fields = [f for f in dataclasses.fields(LoopSettings) if f.metadata.get("cli", True)]
    loop = _options("loop")
    assert set(loop) == {f.name for f in job_fields} | {"quiet"}
    for f in job_fields:
        assert loop[f.name].help == docs[f.name], f.name
    assert loop["targets"].opts == ["--target", "-t"] and loop["targets"].multiple  # repeatable


def test_loop_passes_repeated_targets_and_quiet(monkeypatch, tmp_path):
    import levelsets.workflows.loop as loop_mod

    seen = {}

    def fake_run_loop(settings):
        seen["settings"] = settings
        raise typer.Exit(0)

    monkeypatch.setattr(loop_mod, "run_loop", fake_run_loop)
    result = runner.invoke(app, ["loop", "-t", "ambiguous", "--target", "0.3,0.7", "-q", "-N", "500",
                                 "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    settings = seen["settings"]
    assert settings.targets == ("ambiguous", "0.3,0.7") and settings.progress is False and settings.particles == 500
    runner.invoke(app, ["loop", "--out", str(tmp_path / "o")])
    assert len(seen["settings"].targets) == 3 and seen["settings"].progress is True  # the shapes defaults


def test_every_stimuli_settings_field_is_an_option_of_stimuli_export():
    from levelsets.elicitation.stimuli import StimuliSettings

    docs = _helps(StimuliSettings)
    export = _options("stimuli", "export")
    assert set(export) == {f.name for f in dataclasses.fields(StimuliSettings)} | {"out", "overwrite"}
    for f in dataclasses.fields(StimuliSettings):
        assert export[f.name].help == docs[f.name] and export[f.name].default == f.default, f.name


def test_building_the_options_keeps_the_cli_import_light():
    """The settings dataclasses are imported when the CLI is (to build the options): not torch."""
    import subprocess
    import sys

    code = "import sys, levelsets.cli; print(sorted({'torch', 'scipy', 'matplotlib'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "[]"


def test_sweep_own_options_are_sweep_spec_fields():
    from levelsets.workflows.sweep_plan import SweepSpec

    docs = _helps(SweepSpec)
    sweep = _options("sweep")
    for name in ("out", "address", "resume", "num_cpus", "cell_threads", "cell_gpus", "retries"):
        field_ = SweepSpec.__dataclass_fields__[name]
        assert sweep[name].help == docs[name] and sweep[name].default == field_.default, name
    assert sweep["out"].opts == ["--out", "-o"]
    names = list(sweep)  # in --help order
    assert names[:4] == ["targets", "priors", "seeds", "out"] and names[-2:] == ["json_output", "quiet"]


def test_sweep_passes_its_own_options_to_the_spec(monkeypatch, tmp_path):
    import levelsets.workflows.sweep as sweep_mod

    seen = {}

    def fake_run_sweep(spec):
        seen["spec"] = spec
        raise typer.Exit(0)

    monkeypatch.setattr(sweep_mod, "run_sweep", fake_run_sweep)
    result = runner.invoke(app, ["sweep", "--targets", "1vs7,[0.2,0.8]", "--seeds", "0-2", "--retries", "5",
                                 "--cell-gpus", "0.5", "-N", "64", "--world", "shapes", "-q", "-o", str(tmp_path / "s")])
    assert result.exit_code == 0, result.output
    spec = seen["spec"]
    assert spec.targets == ["1vs7", "[0.2,0.8]"] and spec.seeds == [0, 1, 2] and spec.priors is None
    assert (spec.retries, spec.cell_gpus, spec.out, spec.progress) == (5, 0.5, tmp_path / "s", False)
    assert spec.options["particles"] == 64 and spec.options["world"] == "shapes"
    assert not {"retries", "out", "target", "seed"} & set(spec.options)
