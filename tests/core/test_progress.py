import io
import sys

import pytest
import torch

from levelsets.progress import LOG_INTERVAL, progress_bar


def test_bar_is_quiet_in_logs(monkeypatch):
    monkeypatch.setattr(sys, "stderr", io.StringIO())  # not a TTY
    bar = progress_bar(range(3), desc="x", unit="step")
    assert bar.mininterval == LOG_INTERVAL
    assert list(bar) == [0, 1, 2]


@pytest.mark.parametrize("enabled", [True, False])
def test_disabled_bar_is_silent_and_keeps_the_interface(monkeypatch, enabled):
    """``enabled=False`` writes nothing where the same calls on an enabled bar do write."""
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    bar = progress_bar(total=5, desc="quiet-check", enabled=enabled)
    bar.update(2)
    bar.set_postfix(a=1)
    bar.close()
    assert ("quiet-check" in err.getvalue()) is enabled


def test_quiet_sample_job_trains_missing_models_without_bars(monkeypatch, tmp_path):
    """`levelsets sample --quiet` passes progress=False down to the training of missing models."""
    import levelsets.classifiers.zoo as classifier_zoo
    import levelsets.generative.zoo as generator_zoo
    from levelsets.worlds import load_world

    seen = {}

    class Stop(Exception):
        pass

    def fake_classifier(name, **kwargs):
        seen["classifier"] = kwargs.get("progress")
        return torch.nn.Linear(1, 1), {}

    def fake_generator(prior, name, **kwargs):
        seen["generator"] = kwargs.get("progress")
        raise Stop

    monkeypatch.setattr(classifier_zoo, "get_classifier", fake_classifier)
    monkeypatch.setattr(generator_zoo, "get_generator", fake_generator)
    with pytest.raises(Stop):
        load_world("mnist", "vae", progress=False)
    assert seen == {"classifier": False, "generator": False}
