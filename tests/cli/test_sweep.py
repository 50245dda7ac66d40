"""`levelsets sweep` (levelsets.cli.sweep): its options are SampleJob's and SweepSpec's fields; the command line recorded."""

from __future__ import annotations

from typer.testing import CliRunner

from levelsets.cli import app

from .command_options import capture_call, helps, options

runner = CliRunner()


def test_every_sample_option_is_a_sweep_option():
    import typer.main

    command = typer.main.get_command(app)
    sample = {p.name: p for p in command.commands["sample"].params}
    sweep = {p.name: p for p in command.commands["sweep"].params}
    replaced = {"target", "prior", "seed", "out"}
    assert set(sample) - replaced <= set(sweep)
    for name in set(sample) - replaced:
        assert sample[name].opts == sweep[name].opts and sample[name].default == sweep[name].default, name
    assert sample["overwrite"].help == "Replace a non-empty --out."  # the sweep's own help text is a copy


def test_sweep_own_options_are_sweep_spec_fields():
    from levelsets.workflows.sweep_plan import SweepSpec

    docs = helps(SweepSpec)
    sweep = options("sweep")
    for name in ("out", "address", "resume", "num_cpus", "cell_threads", "cell_gpus", "retries"):
        field_ = SweepSpec.__dataclass_fields__[name]
        assert sweep[name].help == docs[name] and sweep[name].default == field_.default, name
    assert sweep["out"].opts == ["--out", "-o"]
    names = list(sweep)  # in --help order
    assert names[:4] == ["targets", "priors", "seeds", "out"] and names[-2:] == ["json_output", "quiet"]


def test_sweep_passes_its_own_options_to_the_spec(monkeypatch, tmp_path):
    import levelsets.workflows.sweep as sweep_mod

    seen = capture_call(monkeypatch, sweep_mod, "run_sweep")
    result = runner.invoke(app, ["sweep", "--targets", "1vs7,[0.2,0.8]", "--seeds", "0-2", "--retries", "5",
                                 "--cell-gpus", "0.5", "-N", "64", "--world", "shapes", "-q", "-o", str(tmp_path / "s")])
    assert result.exit_code == 0, result.output
    spec = seen["settings"]
    assert spec.targets == ["1vs7", "[0.2,0.8]"] and spec.seeds == [0, 1, 2] and spec.priors is None
    assert (spec.retries, spec.cell_gpus, spec.out, spec.progress) == (5, 0.5, tmp_path / "s", False)
    assert spec.options["particles"] == 64 and spec.options["world"] == "shapes"
    assert not {"retries", "out", "target", "seed"} & set(spec.options)


def test_the_command_line_every_cell_records_is_rebuilt_from_what_was_given(monkeypatch, tmp_path):
    import levelsets.workflows.sweep as sweep_mod

    seen = capture_call(monkeypatch, sweep_mod, "run_sweep")
    out = str(tmp_path / "s")
    result = runner.invoke(app, ["sweep", "-q", "--targets", "1vs7", "-N", "64", "--retries", "5", "-o", out, "--overwrite"])
    assert result.exit_code == 0, result.output
    words = seen["settings"].command
    assert words[:2] == ["levelsets", "sweep"]
    given = words[2:]
    assert given.count("--targets") == 1 and given[given.index("--targets") + 1] == "1vs7"
    assert given[given.index("--particles") + 1] == "64" and given[given.index("--retries") + 1] == "5"
    assert given[given.index("--out") + 1] == out and "--quiet" in given
    assert "--overwrite" in given and "--compare-prior" not in given  # flags: as given
    assert "--seeds" not in given and "--json" not in given and "--world" not in given  # defaults are not repeated
