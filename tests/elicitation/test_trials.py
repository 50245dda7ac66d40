"""What participants see (levelsets.elicitation.trials): mixed images and the batches of trials."""

import numpy as np
import pytest
from PIL import Image

from levelsets.elicitation.manifest import load_stimuli
from levelsets.elicitation.stimuli import StimuliSettings, export_stimuli
from levelsets.elicitation.stimulus_selection import Pick
from levelsets.elicitation.trials import MIX_LAMBDAS, make_batches, mixed_records
from levelsets.errors import LevelsetsError
from levelsets.runs import load_run


def test_mixed_image_is_convex_combination(runs, tmp_path):
    out = export_stimuli(runs, tmp_path / "s", StimuliSettings(size=8, per_participant=5, repeats=0, catch=1,
                                                               mixed=3, seed=1), progress=False)
    s = load_stimuli(out)
    loaded = {p.name: load_run(p) for p in runs}
    for sid in ("mix-0000", "mix-0001", "mix-0002"):
        m = s.stimuli[sid]["mixing"]
        a, b = m["endpoints"]
        xa = loaded[a["run"]].images[a["index"], 0].astype(np.float64)
        xb = loaded[b["run"]].images[b["index"], 0].astype(np.float64)
        want = np.clip(np.rint((m["lambda"] * xa + (1 - m["lambda"]) * xb) * 255), 0, 255)
        with Image.open(s.image_path(sid)) as im:
            got = np.asarray(im).astype(np.float64)
        assert np.abs(got - want).max() <= 1.0  # size 8 → no resampling; 1 level of rounding slack


def test_batches(stimuli_dir):
    s = load_stimuli(stimuli_dir)
    regular = {sid for sid, r in s.stimuli.items() if r["kind"] != "catch"}
    covered = set()
    for batch in s.batches:
        trials = batch["trials"]
        assert len(trials) == 8 and [t["trial"] for t in trials] == list(range(8))
        assert sorted(batch["label_order"]) == sorted(s.class_names)
        assert sum(t["catch"] for t in trials) == 1 and sum(t["repeat"] for t in trials) == 1
        firsts = [t["stimulus"] for t in trials if not t["repeat"]]
        assert len(firsts) == len(set(firsts))  # no stimulus twice except the repeat
        for t in trials:
            assert (s.stimuli[t["stimulus"]]["kind"] == "catch") == t["catch"]
            if t["repeat"]:
                first = next(u["trial"] for u in trials if u["stimulus"] == t["stimulus"] and not u["repeat"])
                assert first + 2 <= t["trial"]
        covered |= {t["stimulus"] for t in trials if not t["catch"]}
    assert covered == regular  # every regular stimulus is shown to someone


CLASS_NAMES = ("cat", "dog", "frog")


def pick(k, cls, level):
    """A stored sample the classifier puts in class ``cls``, its image all ``level``."""
    probs = np.full(3, 0.1)
    probs[cls] = 0.8
    return Pick(index=k, particle=None, latent=np.zeros(2), probs=probs, image=np.full((1, 4, 4), level))


def test_make_batches_deals_every_regular_stimulus_with_catch_and_repeat():
    regular = [f"s{i}" for i in range(10)]
    settings = StimuliSettings(size=8, per_participant=6, repeats=1, catch=1)
    batches = make_batches(regular, ["c0", "c1", "c2"], settings, 1, CLASS_NAMES, np.random.default_rng(0))
    assert len(batches) == 3  # 4 distinct regular stimuli per batch: ceil(10 / 4)
    assert [b["batch"] for b in batches] == [0, 1, 2]
    seen = set()
    for b in batches:
        trials = b["trials"]
        assert [t["trial"] for t in trials] == list(range(6))
        assert sorted(b["label_order"]) == sorted(CLASS_NAMES)
        catch = [t["stimulus"] for t in trials if t["catch"]]
        assert len(catch) == 1 and catch[0] in {"c0", "c1", "c2"}
        (rep,) = [t for t in trials if t["repeat"]]
        first = next(t["trial"] for t in trials if t["stimulus"] == rep["stimulus"] and not t["repeat"])
        assert first < rep["trial"]
        firsts = [t["stimulus"] for t in trials if not t["catch"] and not t["repeat"]]
        assert len(firsts) == len(set(firsts)) == 4
        seen |= set(firsts)
    assert seen == set(regular)  # the last batch is topped up from the start of the permutation
    again = make_batches(regular, ["c0", "c1", "c2"], settings, 1, CLASS_NAMES, np.random.default_rng(0))
    assert again == batches  # seeded


def test_make_batches_with_fewer_stimuli_than_a_batch_and_no_checks():
    settings = StimuliSettings(size=8, per_participant=10, repeats=0, catch=0)
    (only,) = make_batches(["a", "b", "c"], [], settings, 0, CLASS_NAMES, np.random.default_rng(1))
    assert sorted(t["stimulus"] for t in only["trials"]) == ["a", "b", "c"]
    assert not any(t["catch"] or t["repeat"] for t in only["trials"])


def test_mixed_records_mix_two_samples_of_different_classes():
    samples = [("r", pick(0, 0, 0.0)), ("r", pick(1, 0, 0.2)), ("s", pick(2, 1, 1.0))]
    out = mixed_records(samples, 6, np.random.default_rng(3), CLASS_NAMES)
    assert [r["id"] for r, _ in out] == [f"mix-{k:04d}" for k in range(6)]
    for record, image in out:
        m = record["mixing"]
        a, b = m["endpoints"]
        assert record["kind"] == "mixed" and m["lambda"] in MIX_LAMBDAS and a["class"] != b["class"]
        level = {0: 0.0, 1: 0.2, 2: 1.0}
        np.testing.assert_allclose(image, m["lambda"] * level[a["index"]] + (1 - m["lambda"]) * level[b["index"]])
    assert mixed_records(samples, 0, np.random.default_rng(3), CLASS_NAMES) == []
    with pytest.raises(LevelsetsError, match="--mixed needs samples the classifier puts in at least two different"):
        mixed_records(samples[:2], 1, np.random.default_rng(3), CLASS_NAMES)
