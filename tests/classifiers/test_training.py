"""The training loop (levelsets.classifiers.training): fit, its settings, history and divergence checks."""

import math

import pytest
import torch

from levelsets.classifiers.training import (
    SoftCrossEntropy,
    TrainSettings,
    accuracy,
    fit,
    predict_probs,
)
from levelsets.errors import LevelsetsError

from .tiny_net import TinyNet


def blobs(n=512, seed=0):
    """Two classes: bright top half vs bright bottom half of a 4x4 image, with noise."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=g)
    x = torch.rand(n, 1, 4, 4, generator=g) * 0.8
    x[y == 0, :, :2] += 0.5
    x[y == 1, :, 2:] += 0.5
    return x, y


def test_fit_learns_with_one_hot_soft_labels():
    x, y = blobs()
    train = torch.utils.data.TensorDataset(x, torch.nn.functional.one_hot(y, 2).float())
    xe, ye = blobs(256, seed=1)
    torch.manual_seed(0)
    model = TinyNet()
    before = accuracy(model, xe, ye, device="cpu")
    hist = fit(model, train, settings=TrainSettings(epochs=4, batch_size=32, lr=1e-2, progress=False, device="cpu"),
               eval_data=torch.utils.data.TensorDataset(xe, ye))
    assert len(hist.train_loss) == 4 and len(hist.eval_accuracy) == 4 and len(hist.train_accuracy) == 4
    assert hist.train_loss[-1] < 0.5 * hist.train_loss[0]
    assert hist.eval_accuracy[-1] > 0.9 and accuracy(model, xe, ye, device="cpu") > max(0.9, before)
    assert hist.device == "cpu" and hist.seconds > 0
    assert not model.training


def test_fit_accepts_integer_labels_and_generic_datasets():
    x, y = blobs(128)

    class ListData(torch.utils.data.Dataset):
        def __len__(self):
            return len(y)

        def __getitem__(self, i):
            return x[i], y[i]

    torch.manual_seed(0)
    hist = fit(TinyNet(), ListData(), settings=TrainSettings(epochs=3, batch_size=16, lr=1e-2, progress=False, device="cpu"),
               eval_data=ListData())
    assert hist.eval_accuracy[-1] > 0.85


def test_fit_is_reproducible():
    x, y = blobs(128)
    train = torch.utils.data.TensorDataset(x, y)
    s = TrainSettings(epochs=2, batch_size=16, lr=1e-2, progress=False, device="cpu", seed=3, augment="shift", max_shift=1)
    a, b = TinyNet(), TinyNet()
    b.load_state_dict(a.state_dict())
    fit(a, train, settings=s)
    fit(b, train, settings=s)
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)


def test_soft_labels_are_fitted():
    # Every example carries the same soft label (0.3, 0.7): the model should learn to predict it.
    x = torch.rand(256, 1, 4, 4)
    y = torch.tensor([0.3, 0.7]).expand(256, 2).clone()
    model = TinyNet()
    fit(model, torch.utils.data.TensorDataset(x, y), settings=TrainSettings(epochs=20, batch_size=64, lr=1e-2, progress=False, device="cpu"))
    p = predict_probs(model, x, device="cpu").mean(0)
    assert abs(float(p[1]) - 0.7) < 0.05


def test_custom_method_is_used():
    calls = []

    class Recording(SoftCrossEntropy):
        def loss(self, model, x, y, generator=None):
            calls.append((x.shape[0], y.shape, generator is not None))
            return super().loss(model, x, y, generator)

    x, y = blobs(64)
    fit(TinyNet(), torch.utils.data.TensorDataset(x, y), settings=TrainSettings(epochs=1, batch_size=16, progress=False, device="cpu"),
        method=Recording())
    assert len(calls) == 4 and all(c[1] == (16, 2) and c[2] for c in calls)


def test_divergence_is_a_user_error():
    class Nan:
        def loss(self, model, x, y, generator=None):
            return model(x).sum() * float("nan")

    x, y = blobs(32)
    with pytest.raises(LevelsetsError, match="diverged"):
        fit(TinyNet(), torch.utils.data.TensorDataset(x, y), settings=TrainSettings(epochs=1, progress=False, device="cpu"), method=Nan())


@pytest.mark.parametrize(
    "kwargs",
    [{"epochs": 0}, {"batch_size": 0}, {"lr": 0.0}, {"weight_decay": -1.0}, {"augment": "rotate"}, {"max_shift": -1}],
)
def test_settings_validation(kwargs):
    with pytest.raises(LevelsetsError):
        TrainSettings(**kwargs)


def test_batchnorm_model_with_lone_last_batch_and_integer_labels():
    x, y = blobs(33)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 8), torch.nn.BatchNorm1d(8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    hist = fit(model, torch.utils.data.TensorDataset(x, y), settings=TrainSettings(epochs=2, batch_size=16, progress=False, device="cpu"))
    assert len(hist.train_loss) == 2 and all(torch.isfinite(torch.tensor(hist.train_loss)))


def test_cpu_results_match_the_values_stored_before_the_gpu_work():
    """Regression: fit's CPU arithmetic is unchanged by the no-host-sync / AMP rework (issue 12, item 5).

    Values recorded with the previous loop (per-step ``float(loss)``) on this exact run; the new
    loop gave them bit for bit. The tolerance only allows for other CPUs' float rounding.
    """
    x, y = blobs(96)
    torch.manual_seed(0)
    model = TinyNet()
    hist = fit(model, torch.utils.data.TensorDataset(x, y),
               settings=TrainSettings(epochs=2, batch_size=16, lr=1e-2, progress=False, device="cpu", seed=3,
                                      augment="shift-flip", max_shift=1))
    assert hist.train_loss == pytest.approx([0.6918982863426208, 0.6518068412939707], rel=1e-5)
    assert hist.train_accuracy == pytest.approx([1.0, 0.9270833333333334])
    assert float(sum(p.detach().double().sum() for p in model.parameters())) == pytest.approx(-5.08901383576449, rel=1e-5)


class _HostReads(torch.Tensor):
    """A loss tensor that counts every read of its value on the host (float, item, bool, tolist, numpy)."""

    reads = 0

    def _count(self, name, *args):
        type(self).reads += 1
        return getattr(torch.Tensor, name)(self.as_subclass(torch.Tensor), *args)

    def __float__(self):
        return self._count("__float__")

    def __bool__(self):
        return self._count("__bool__")

    def item(self):
        return self._count("item")

    def tolist(self):
        return self._count("tolist")

    def numpy(self, *args, **kwargs):
        type(self).reads += 1
        return self.as_subclass(torch.Tensor).numpy(*args, **kwargs)


@pytest.mark.parametrize("steps_per_epoch", [4, 16])
def test_the_loss_is_not_read_on_the_host_per_step_off_the_cpu(monkeypatch, steps_per_epoch):
    """With the accelerator's policy (no per-step NaN check), no step reads its loss on the host: the
    epoch's loss reaches the host once per epoch, from the device-side sum (which inherits the counting
    type), whatever the number of steps."""
    import levelsets.classifiers.training as training

    monkeypatch.setattr(training, "_checks_each_step", lambda device: False)

    class Counting(SoftCrossEntropy):
        def loss(self, model, x, y, generator=None):
            return super().loss(model, x, y, generator).as_subclass(_HostReads)

    _HostReads.reads = 0
    x, y = blobs(16 * steps_per_epoch)
    hist = fit(TinyNet(), torch.utils.data.TensorDataset(x, y),
               settings=TrainSettings(epochs=2, batch_size=16, progress=False, device="cpu"), method=Counting())
    assert _HostReads.reads == 2  # one per epoch, not one per step
    assert len(hist.train_loss) == 2 and all(math.isfinite(v) for v in hist.train_loss)


def test_divergence_is_reported_at_the_epoch_end_without_per_step_checks(monkeypatch):
    import levelsets.classifiers.training as training

    monkeypatch.setattr(training, "_checks_each_step", lambda device: False)

    class NanLater:
        calls = 0

        def loss(self, model, x, y, generator=None):
            NanLater.calls += 1
            scale = float("nan") if NanLater.calls == 2 else 1.0
            return SoftCrossEntropy().loss(model, x, y) * scale

    x, y = blobs(64)
    with pytest.raises(LevelsetsError, match="diverged .* epoch 1"):
        fit(TinyNet(), torch.utils.data.TensorDataset(x, y), settings=TrainSettings(epochs=3, batch_size=16, progress=False, device="cpu"),
            method=NanLater())
    assert NanLater.calls == 4  # the epoch ran to its end, then the sum's NaN stopped the run


def test_running_loss_is_the_example_weighted_mean():
    from levelsets.classifiers.training import _RunningLoss

    r = _RunningLoss(torch.device("cpu"))
    assert math.isnan(r.mean())
    r.add(torch.tensor(0.5), 10)
    r.add(torch.tensor(2.0, dtype=torch.float32), 2)
    assert r.mean() == pytest.approx((0.5 * 10 + 2.0 * 2) / 12)
    assert r.total.dtype == torch.float64


def test_history_says_whether_mixed_precision_was_used():
    x, y = blobs(32)
    hist = fit(TinyNet(), torch.utils.data.TensorDataset(x, y), settings=TrainSettings(epochs=1, progress=False, device="cpu"))
    assert hist.mixed_precision is False and hist.to_dict()["mixed_precision"] is False  # CUDA only


def test_one_cycle_warms_up_linearly_then_decays_by_a_cosine_to_the_floor():
    from levelsets.classifiers.training import one_cycle

    f = one_cycle(10, warmup=0.2, floor=0.01)  # W = 2 warm-up steps, then 8 decaying ones
    assert [f(0), f(1)] == [0.5, 1.0]
    assert f(2) == pytest.approx(1.0)  # the top of the cosine
    assert f(6) == pytest.approx(0.01 + 0.99 * 0.5)  # half-way down
    assert f(10) == pytest.approx(0.01) and f(50) == pytest.approx(0.01)  # the floor, and it stays there
    values = [f(s) for s in range(2, 11)]
    assert all(a > b for a, b in zip(values, values[1:]))
    assert one_cycle(3)(0) == 1.0  # fewer than 5 steps: one warm-up step
