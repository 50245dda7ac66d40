"""The world registry and --world specs (``levelsets.worlds.world_specs``): built-ins through the entry-point
group, third-party names, slugs, light imports."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
import textwrap

import pytest

from levelsets.errors import LevelsetsError
from levelsets.worlds import world_specs

from .toy_world import TOY


def fake_entry_points(extra):
    real = importlib.metadata.entry_points

    def entry_points(**kwargs):
        found = list(real(**kwargs))
        if kwargs.get("group") == world_specs.ENTRY_POINT_GROUP:
            found += [importlib.metadata.EntryPoint(name=n, value=v, group=world_specs.ENTRY_POINT_GROUP) for n, v in extra.items()]
        return found

    return entry_points


def test_builtins_are_registered_in_the_entry_point_group():
    eps = {ep.name: ep.value for ep in importlib.metadata.entry_points(group="levelsets.worlds")}
    assert eps.get("shapes") == "levelsets.worlds.shapes:make_world"
    assert eps.get("mnist") == "levelsets.worlds.mnist:make_world"
    assert {n: t for n, (t, _) in world_specs.registered_worlds().items() if n in eps} == eps


def test_old_names_keep_working():
    from levelsets.worlds import DEFAULT_ALPHA, PRIORS, WORLDS, default_prior, validate_world

    assert WORLDS == ("shapes", "mnist")
    assert PRIORS == {"shapes": ("exact", "exact-circle"), "mnist": ("vae", "gan")}
    assert DEFAULT_ALPHA == {"mnist": 100.0, "shapes": 300.0}
    assert default_prior("shapes") == "exact" and default_prior("mnist") == "vae"
    choice = validate_world("mnist", "gan")
    assert choice.spec.builtin and choice.prior == "gan" and choice.default_alpha == 100.0
    with pytest.raises(LevelsetsError, match="world mnist has no prior 'flow'; choose one of vae, gan"):
        validate_world("mnist", "flow")


def test_a_package_registers_a_named_world(toy_package, monkeypatch):
    from levelsets.worlds import load_world

    monkeypatch.setattr(importlib.metadata, "entry_points", fake_entry_points({"toy": toy_package}))
    assert world_specs.registered_worlds()["toy"][0] == toy_package
    world = load_world("toy", "narrow")
    assert world.name == "toy" and world.prior_name == "narrow" and world.latent_names == ("u", "v")
    assert float(world.prior.base_dist.scale[0]) == 0.5
    described = world.describe()
    assert described["world_plugin"]["kind"] == "entry_point" and described["world_plugin"]["load_spec"] == "toy"
    assert described["world_plugin"]["module"] == "toyworlds.toy"
    with pytest.raises(LevelsetsError, match="world toy has no prior 'flat'; choose one of wide, narrow"):
        load_world("toy", "flat")


def test_two_packages_claiming_one_name_is_one_line(toy_package, monkeypatch):
    monkeypatch.setattr(importlib.metadata, "entry_points", fake_entry_points({"shapes": toy_package}))
    with pytest.raises(LevelsetsError, match="world 'shapes' is registered twice"):
        world_specs.registered_worlds()


def test_loop_refuses_plugin_worlds_in_one_line(toy_package):
    from levelsets.loop import LoopSettings
    from levelsets.worlds import validate_world

    with pytest.raises(LevelsetsError, match="retrains the world's classifier"):
        validate_world(toy_package, command="loop")
    with pytest.raises(LevelsetsError, match="retrains"):
        LoopSettings(world=toy_package)
    with pytest.raises(LevelsetsError, match="unknown world 'cifar'"):
        LoopSettings(world="cifar")


@pytest.mark.parametrize(
    "spec, slug",
    [("shapes", "shapes"), ("my_world.py:make_world", "my_world"), ("/a/b/my-world.py", "my-world"),
     ("pkg.sub.worlds:build", "worlds"), ("dir/w.py", "w")],
)
def test_world_slug_is_a_safe_directory_name(spec, slug):
    assert world_specs.world_slug(spec) == slug


def test_file_without_function_defaults_to_make_world(tmp_path):
    (tmp_path / "w.py").write_text(textwrap.dedent(TOY))
    ws = world_specs.parse_world_spec(str(tmp_path / "w.py"))
    assert ws.kind == "file" and ws.function == "make_world" and ws.path == (tmp_path / "w.py").resolve()


def test_top_level_import_stays_light():
    code = "import sys, levelsets; levelsets.World; import levelsets.worlds; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", out.stderr


def test_numpy_and_scikit_learn_classifiers_are_wrapped(tmp_path):
    """A plugin's classifier may return numpy arrays or be an estimator with predict_proba (docs/worlds.md)."""
    import torch

    from levelsets.worlds import load_world

    source = textwrap.dedent(TOY).replace(
        "classifier=lambda x: torch.stack([x.reshape(-1, 2)[:, 0], 1 - x.reshape(-1, 2)[:, 0]], 1),",
        "classifier=Estimator(),",
    ) + textwrap.dedent("""
        import numpy as np


        class Estimator:
            def predict_proba(self, flat):
                assert isinstance(flat, np.ndarray) and flat.shape[1] == 2
                return np.stack([flat[:, 0], 1 - flat[:, 0]], axis=1)
    """)
    (tmp_path / "sk_world.py").write_text(source)
    world = load_world(f"{tmp_path / 'sk_world.py'}:make_world")
    z = torch.zeros(3, 2)
    probs = world.classifier(world.decoder(z))
    assert isinstance(probs, torch.Tensor) and probs.shape == (3, 2)
    torch.testing.assert_close(probs, torch.full((3, 2), 0.5, dtype=probs.dtype))
