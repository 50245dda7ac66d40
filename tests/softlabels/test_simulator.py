"""The soft-label simulator (seed 001 appendix B.5)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import polygamma

from levelsets.errors import LevelsetsError
from levelsets.softlabels.simulator import (
    SoftLabelSimulator,
    entropy,
    fit_beta,
)

CLASSES = tuple("abcdef")


def beta_mle_se(a, b, n):
    """Asymptotic standard errors of the Beta MLE from the Fisher information."""
    t = polygamma(1, a + b)
    info = np.array([[polygamma(1, a) - t, -t], [-t, polygamma(1, b) - t]])
    return np.sqrt(np.diag(np.linalg.inv(info)) / n)


@pytest.mark.parametrize(("a", "b"), [(2.0, 5.0), (8.0, 2.0)])
def test_fit_beta_recovers_known_parameters(a, b):
    n = 4000
    x = np.random.default_rng(0).beta(a, b, size=n)
    fa, fb = fit_beta(x)
    se = beta_mle_se(a, b, n)
    assert abs(fa - a) < 4 * se[0] and abs(fb - b) < 4 * se[1]


def synthetic_responses(n, rng, a1=6.0, b1=2.0, a2=2.0, b2=6.0, k_p_probs=(0.1, 0.2, 0.3, 0.2, 0.1, 0.1)):
    out = {}
    for i in range(n):
        top1 = int(rng.integers(6))
        p1 = float(rng.beta(a1, b1))
        others = [j for j in range(6) if j != top1]
        k_p = int(rng.choice(6, p=k_p_probs))
        possible = list(rng.permutation(others)[:k_p])
        impossible = [CLASSES[j] for j in others if j not in possible]
        second, p2 = "No", None
        if possible:
            second, p2 = CLASSES[possible[0]], 100 * min(float(rng.beta(a2, b2)), 1 - p1)
        out[str(i)] = [{
            "Most Probable Class": CLASSES[top1],
            "Most Probable Class Prob": 100 * p1,
            "Second Most Probable Class": second,
            "Second Most Probable Class Prob": p2,
            "Impossible Class(es)": impossible,
        }]
    return out


def test_fit_recovers_top1_beta_and_histogram():
    rng = np.random.default_rng(1)
    n = 3000
    raw = synthetic_responses(n, rng)
    sim = SoftLabelSimulator.fit(raw, CLASSES, entropies={k: 0.0 for k in raw}, entropy_threshold=1.0)
    low = sim.groups["low"]
    assert low.num_responses == n
    se = beta_mle_se(6.0, 2.0, n)
    assert abs(low.top1[0] - 6.0) < 4 * se[0] and abs(low.top1[1] - 2.0) < 4 * se[1]
    expected = np.array([0.1, 0.2, 0.3, 0.2, 0.1, 0.1])
    hist_se = np.sqrt(expected * (1 - expected) / n)
    assert np.all(np.abs(low.possible_counts - expected) < 4 * hist_se)
    # no high-entropy example: the high group borrows the pooled fit
    assert sim.groups["high"].num_responses == n


def test_entropy_split_uses_median_by_default():
    rng = np.random.default_rng(2)
    raw = synthetic_responses(200, rng)
    sim = SoftLabelSimulator.fit(raw, CLASSES)
    assert sim.groups["low"].num_responses + sim.groups["high"].num_responses == 200
    assert abs(sim.groups["low"].num_responses - 100) <= 5
    again = SoftLabelSimulator.from_dict(sim.to_dict())
    assert again.entropy_threshold == sim.entropy_threshold
    np.testing.assert_allclose(again.groups["high"].possible_counts, sim.groups["high"].possible_counts)


def test_generate_shapes_sums_similarity_and_seed():
    rng = np.random.default_rng(3)
    sim = SoftLabelSimulator.fit(synthetic_responses(500, rng), CLASSES)
    for g in sim.groups.values():  # force at least one possible alternative
        g.possible_counts = np.array([0.0, 0.5, 0.5, 0, 0, 0])
    hard = np.arange(60) % 6
    similarity = np.eye(6) * 0
    for c in range(6):
        similarity[c, (c + 1) % 6] = 1.0  # the next class is the most similar
    labels = sim.generate(hard, similarity=similarity, high_entropy=hard % 2 == 0, seed=7)
    assert labels.shape == (60, 6)
    np.testing.assert_allclose(labels.sum(1), 1.0)
    assert (labels >= 0).all()
    assert (labels.argmax(1) == hard).all()
    assert (labels[np.arange(60), (hard + 1) % 6] > 0).all()  # the most similar class is possible
    assert ((labels > 0).sum(1) <= 3).all()  # top1 + at most 2 possible alternatives
    np.testing.assert_array_equal(labels, sim.generate(hard, similarity=similarity, high_entropy=hard % 2 == 0, seed=7))
    assert not np.array_equal(labels, sim.generate(hard, similarity=similarity, seed=8))
    for g in sim.groups.values():  # exactly one possible alternative: it is the second class
        g.possible_counts = np.array([0.0, 1.0, 0, 0, 0, 0])
    one = sim.generate(hard, similarity=similarity, seed=7)
    assert (np.argsort(one, axis=1)[:, -2] == (hard + 1) % 6).all() and ((one > 0).sum(1) == 2).all()


def test_fit_file_and_label_set(tmp_path):
    import json

    from levelsets.softlabels.label_files import load_soft_labels, save_soft_labels

    path = tmp_path / "responses.json"
    path.write_text(json.dumps(synthetic_responses(100, np.random.default_rng(5))))
    sim = SoftLabelSimulator.fit_file(path, ",".join(CLASSES))
    labels = sim.label_set(np.array([0, 3, 5]), annotators=4, seed=2)
    assert labels.ids == ["0", "1", "2"] and labels.per_annotator["1"].shape == (4, 6)
    assert (labels.aggregate_matrix().argmax(1) == [0, 3, 5]).all()
    assert not np.allclose(labels.per_annotator["1"][0], labels.per_annotator["1"][1])
    save_soft_labels(tmp_path / "sim.json", labels)
    again = load_soft_labels(tmp_path / "sim.json", class_names=CLASSES)
    np.testing.assert_allclose(again.per_annotator["2"], labels.per_annotator["2"])
    with pytest.raises(LevelsetsError):
        SoftLabelSimulator.fit_file(tmp_path / "missing.json", "mnist")


def test_generate_rejects_bad_input():
    sim = SoftLabelSimulator.fit(synthetic_responses(50, np.random.default_rng(4)), CLASSES)
    with pytest.raises(LevelsetsError):
        sim.generate(np.array([0, 9]))
    with pytest.raises(LevelsetsError):
        sim.generate(np.array([0, 1]), similarity=np.eye(3))


def test_entropy():
    np.testing.assert_allclose(entropy(np.array([[0.5, 0.5, 0.0], [1.0, 0.0, 0.0]])), [np.log(2), 0.0])


def test_entropy_in_nats_with_zero_log_zero():
    p = np.array([[[0.25] * 4, [1.0, 0.0, 0.0, 0.0]], [[0.5, 0.5, 0.0, 0.0], [0.1, 0.2, 0.3, 0.4]]])
    h = entropy(p)
    assert h.shape == (2, 2)
    expected = [[np.log(4), 0.0], [np.log(2), -sum(q * np.log(q) for q in (0.1, 0.2, 0.3, 0.4))]]
    np.testing.assert_allclose(h, expected, rtol=1e-12, atol=1e-15)
