"""The evaluation suite: CE, adaptive-binning RMSE calibration, FGSM, accuracy, KL, diagram."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from levelsets.errors import LevelsetsError
from levelsets.evaluation.classifier import (
    EvaluationSettings,
    accuracy,
    adaptive_bins,
    calibration_rmse,
    cross_entropy,
    evaluate_classifier,
    fgsm_attack,
    kl_divergence,
    plot_reliability,
    reliability_bins,
)


def test_calibration_rmse_hand_computed():
    probs = np.array([[0.9, 0.1], [0.6, 0.4], [0.3, 0.7], [0.45, 0.55]])
    labels = np.array([[1.0, 0.0], [0.2, 0.8], [0.4, 0.6], [0.0, 1.0]])  # correct: 1, 0, 1, 1
    # sorted confidences 0.55 (ok), 0.6 (wrong) | 0.7 (ok), 0.9 (ok)
    expected = math.sqrt(0.5 * (0.575 - 0.5) ** 2 + 0.5 * (0.8 - 1.0) ** 2)
    assert calibration_rmse(probs, labels, bin_size=2) == pytest.approx(expected)
    bins = reliability_bins(probs, labels, bin_size=2)
    assert [(round(b.confidence, 6), b.accuracy, b.count) for b in bins] == [(0.575, 0.5, 2), (0.8, 1.0, 2)]
    # one bin: |mean conf - accuracy|
    assert calibration_rmse(probs, labels, bin_size=100) == pytest.approx(abs(np.mean([0.9, 0.6, 0.7, 0.55]) - 0.75))
    assert accuracy(probs, labels) == 0.75
    # expected correctness = the label's probability of the predicted class: 1, 0.2 | 0.6, 1
    expected_rule = math.sqrt(0.5 * (0.575 - 0.6) ** 2 + 0.5 * (0.8 - 0.8) ** 2)
    assert calibration_rmse(probs, labels, bin_size=2, correctness="expected") == pytest.approx(expected_rule)
    with pytest.raises(LevelsetsError):
        calibration_rmse(probs, labels, correctness="nope")


def test_expected_correctness_scores_the_true_posterior_as_calibrated():
    rng = np.random.default_rng(0)
    n = 20000
    truth = rng.dirichlet([3, 3], size=n)  # soft labels that are true class probabilities
    # a classifier that predicts them exactly is calibrated against hard labels drawn from them
    hard = np.eye(2)[(rng.random(n) < truth[:, 1]).astype(int)]
    drawn = calibration_rmse(truth, hard, bin_size=1000)
    assert calibration_rmse(truth, truth, bin_size=1000, correctness="expected") < 1e-12
    assert drawn < 4 * np.sqrt(0.25 / 1000)  # only Monte Carlo noise of 1000-example bins
    assert calibration_rmse(truth, truth, bin_size=1000) > 0.2  # the argmax rule penalizes it


def test_adaptive_bins_last_takes_remainder():
    assert adaptive_bins(5, 2) == [slice(0, 2), slice(2, 5)]
    assert adaptive_bins(3, 10) == [slice(0, 3)]
    with pytest.raises(LevelsetsError):
        adaptive_bins(3, 0)


def test_cross_entropy_and_kl():
    p = np.array([[0.25, 0.75]])
    y = np.array([[0.5, 0.5]])
    assert cross_entropy(p, y) == pytest.approx(-(0.5 * math.log(0.25) + 0.5 * math.log(0.75)))
    assert kl_divergence(y, p) == pytest.approx(cross_entropy(p, y) - math.log(2))
    assert kl_divergence(np.array([[1.0, 0.0]]), np.array([[0.5, 0.5]])) == pytest.approx(math.log(2))
    assert kl_divergence(y, y) == pytest.approx(0.0)


def test_kl_floors_a_zero_prediction_and_averages_rows():
    r = np.array([[0.5, 0.5], [1.0, 0.0]])
    p = np.array([[1.0, 0.0], [1.0, 0.0]])  # row 0 puts no mass where r has half of it
    expected = (0.5 * math.log(0.5) + 0.5 * math.log(0.5 / 1e-12) + 0.0) / 2
    assert kl_divergence(r, p) == pytest.approx(expected, rel=1e-12)
    assert np.isfinite(kl_divergence(r, p))


def toy(seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 3))


def test_fgsm_increases_ce_and_respects_the_budget():
    model = toy()
    g = torch.Generator().manual_seed(1)
    x = 0.25 + 0.5 * torch.rand(40, 1, 4, 4, generator=g)  # away from the [0, 1] box edges
    y = torch.softmax(torch.randn(40, 3, generator=g), 1)
    eps = 4 / 255
    adv = fgsm_attack(model, x, y, epsilon=eps, device="cpu")
    assert adv.shape == x.shape
    np.testing.assert_allclose((adv - x).abs().numpy(), eps, rtol=1e-5)  # every pixel moved by ε
    # the sign of the input gradient, computed by hand
    xr = x.clone().requires_grad_(True)
    (-(y * torch.log_softmax(model(xr), 1)).sum()).backward()
    np.testing.assert_array_equal(torch.sign(adv - x).numpy(), torch.sign(xr.grad).numpy())
    with torch.no_grad():
        ce = cross_entropy(torch.softmax(model(x), 1), y)
        ce_adv = cross_entropy(torch.softmax(model(adv), 1), y)
    assert ce_adv > ce
    # clipping to [0, 1]
    ones = fgsm_attack(model, torch.ones(2, 1, 4, 4), y[:2], epsilon=0.5, device="cpu")
    assert ones.max() <= 1.0 and ones.min() >= 0.5


def test_evaluate_classifier_and_diagram(tmp_path):
    model = toy()
    g = torch.Generator().manual_seed(2)
    x = torch.rand(30, 1, 4, 4, generator=g)
    y = torch.softmax(torch.randn(30, 3, generator=g), 1).double().numpy()
    result = evaluate_classifier(model, x, y, settings=EvaluationSettings(bin_size=10), device="cpu")
    m = result.metrics
    with torch.no_grad():
        p = torch.softmax(model(x), 1).double().numpy()
    assert m["n"] == 30 and len(result.bins) == 3
    assert m["ce"] == pytest.approx(cross_entropy(p, y))
    assert m["kl"] == pytest.approx(kl_divergence(y, p))
    assert m["fgsm_ce"] > m["ce"]
    assert m["calibration_rmse"] == pytest.approx(calibration_rmse(p, y, 10))
    png = plot_reliability(result, tmp_path / "r.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    no_attack = evaluate_classifier(model, x, y, settings=EvaluationSettings(epsilon=0.0), device="cpu")
    assert no_attack.metrics["fgsm_ce"] == pytest.approx(no_attack.metrics["ce"])
    with pytest.raises(LevelsetsError, match="classes"):
        evaluate_classifier(model, x, y[:, :2], device="cpu")
    with pytest.raises(LevelsetsError):
        EvaluationSettings(epsilon=2.0)


def test_true_class_metrics_are_the_argmax_rule_on_one_hot_classes():
    model = toy()
    g = torch.Generator().manual_seed(5)
    x = torch.rand(40, 1, 4, 4, generator=g)
    y = torch.softmax(torch.randn(40, 3, generator=g), 1).double().numpy()
    classes = torch.randint(0, 3, (40,), generator=g).numpy()
    m = evaluate_classifier(model, x, y, classes=classes, settings=EvaluationSettings(bin_size=10), device="cpu").metrics
    with torch.no_grad():
        p = torch.softmax(model(x), 1).double().numpy()
    assert m["accuracy_true_class"] == pytest.approx(float((p.argmax(1) == classes).mean()))
    assert m["calibration_rmse_true_class"] == pytest.approx(calibration_rmse(p, np.eye(3)[classes], 10))
    # not added without classes, and a wrong class vector is a one-line error
    assert "calibration_rmse_true_class" not in evaluate_classifier(model, x, y, device="cpu").metrics
    with pytest.raises(LevelsetsError, match="true classes"):
        evaluate_classifier(model, x, y, classes=classes[:5], device="cpu")
    with pytest.raises(LevelsetsError, match="true classes"):
        evaluate_classifier(model, x, y, classes=classes + 3, device="cpu")
