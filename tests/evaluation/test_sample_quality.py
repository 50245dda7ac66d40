import numpy as np
import pytest

from levelsets.errors import LevelsetsError
from levelsets.evaluation import sample_quality as q


def blobs(k, per, d=20, spread=0.01, gap=1.0, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, d)) * gap
    return np.concatenate([c + spread * rng.normal(size=(per, d)) for c in centres]), centres


def brute_nnd(x, k):
    d = np.linalg.norm(x[:, None] - x[None], axis=2)
    return np.sort(d, axis=1)[:, k]  # index 0 is the point itself


def brute_prdc(real, fake, k):
    r_real, r_fake = brute_nnd(real, k), brute_nnd(fake, k)
    d = np.linalg.norm(real[:, None] - fake[None], axis=2)  # (M, N)
    precision = np.mean([any(d[i, j] < r_real[i] for i in range(len(real))) for j in range(len(fake))])
    recall = np.mean([any(d[i, j] < r_fake[j] for j in range(len(fake))) for i in range(len(real))])
    density = sum(d[i, j] < r_real[i] for i in range(len(real)) for j in range(len(fake))) / (k * len(fake))
    coverage = np.mean([any(d[i, j] < r_real[i] for j in range(len(fake))) for i in range(len(real))])
    return {"precision": precision, "recall": recall, "density": density, "coverage": coverage}


def test_separated_blobs_are_k_families_and_one_image_repeated_is_one():
    x, _ = blobs(7, 15)
    assert q.visual_families(x, threshold=0.5) == 7
    assert q.visual_families(np.repeat(x[:1], 100, axis=0), threshold=0.5) == 1
    assert q.visual_families(x, threshold=1e-6) == len(x)  # every point its own family below the spread
    assert q.visual_families(x[:1], threshold=0.5) == 1


def test_one_dominant_family_reads_as_few_effective_families():
    x, centres = blobs(16, 1)  # 16 separated singletons ...
    dominant = np.concatenate([np.repeat(x[:1], 85, axis=0), x[1:]])  # ... one of them repeated 85 times
    sizes = q.family_sizes(dominant, threshold=0.5)
    assert sizes.tolist() == [85] + [1] * 15 and q.visual_families(dominant, 0.5) == 16
    expected = np.exp(-(0.85 * np.log(0.85) + 15 * 0.01 * np.log(0.01)))
    assert q.effective_families(sizes) == pytest.approx(expected) and 2.2 < expected < 2.4
    assert q.effective_families(np.full(7, 15)) == pytest.approx(7.0)  # equal families: the count itself
    assert q.effective_families([100]) == pytest.approx(1.0)
    images = dominant.reshape(-1, 1, 4, 5).clip(0, 1)
    ref = q.reference_from_images(np.random.default_rng(1).random((60, 1, 4, 5)), "noise", real=False)
    report = q.quality_report(images, ref)
    assert report["largest_family_share"] >= 0.85 and report["effective_families"] <= report["families"]


def test_families_use_complete_linkage():
    # a chain of points 0.4 apart: single linkage would give 1 family; complete linkage needs every
    # pair of a family within 0.5, so at most 2 consecutive points (0.4 apart) per family: ≥ 5 families
    # (greedy merging of tied pairs may leave a few singletons).
    chain = np.arange(10, dtype=float)[:, None] * 0.4
    assert 5 <= q.visual_families(chain, threshold=0.5) <= 7
    with pytest.raises(LevelsetsError, match="> 0"):
        q.visual_families(chain, threshold=0.0)


def test_threshold_is_the_median_nearest_neighbour_distance():
    x = np.array([[0.0], [1.0], [3.0], [7.0], [15.0]])  # nearest distances 1, 1, 2, 4, 8 → median 2
    assert q.nearest_neighbour_threshold(x) == pytest.approx(2.0)
    rng = np.random.default_rng(4)
    y = rng.normal(size=(40, 6))
    assert q.nearest_neighbour_threshold(y) == pytest.approx(np.median(brute_nnd(y, 1)))
    ref = q.reference_from_images(y.reshape(40, 1, 2, 3), "test")
    assert ref.threshold == pytest.approx(np.median(brute_nnd(y, 1)))
    np.testing.assert_allclose(q.nearest_neighbour_distances(y, q.NEAREST_K), brute_nnd(y, q.NEAREST_K))
    with pytest.raises(LevelsetsError):
        q.nearest_neighbour_threshold(x[:1])


def test_prdc_matches_brute_force():
    rng = np.random.default_rng(1)
    real, fake = rng.normal(size=(60, 3)), rng.normal(size=(50, 3)) * 0.7 + 0.3
    got = q.prdc(real, fake, k=5)
    want = brute_prdc(real, fake, 5)
    for key in want:
        assert got[key] == pytest.approx(want[key]), key
    assert 0 < got["coverage"] < 1 and got["density"] > 0  # a non-degenerate case
    radii = brute_nnd(real, 5)
    assert q.prdc(real, fake, k=5, real_radii=radii) == pytest.approx(got)


def test_prdc_known_cases():
    rng = np.random.default_rng(2)
    real = rng.normal(size=(80, 4))
    same = q.prdc(real, real.copy(), k=5)
    assert same["coverage"] == 1.0 and same["precision"] == 1.0 and same["recall"] == 1.0
    far = q.prdc(real, real + 100.0, k=5)
    assert far == {"precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}
    pile = q.prdc(real, np.repeat(real[:1], 50, axis=0) + 1e-9, k=5)  # one real image, repeated
    assert pile["coverage"] < 0.2 and pile["precision"] == 1.0
    with pytest.raises(LevelsetsError, match="more than k"):
        q.prdc(real, real[:5], k=5)


def test_mean_intensity_and_report():
    real, _ = blobs(5, 20, seed=2)
    real = np.abs(real) / np.abs(real).max()
    images = real.reshape(-1, 1, 4, 5)
    ref = q.reference_from_images(images, "test blobs")
    assert q.mean_intensity(images) == pytest.approx(real.mean())
    report = q.quality_report(images * 0.5, ref)
    assert report["intensity_ratio"] == pytest.approx(0.5)
    assert report["mean_intensity"] == pytest.approx(0.5 * real.mean())
    assert report["reference"] == "test blobs" and report["n"] == 100 and report["reference_size"] == 100
    same = q.quality_report(images, ref)
    assert same["coverage"] == 1.0 and same["reference_subset"] == 50  # n' = min(n, M // 2)
    assert same["families_threshold"] == ref.threshold and same["feature_space"] == q.FEATURE_SPACE
    one = q.quality_report(np.repeat(images[:1], 30, axis=0), ref)
    assert one["families"] == 1 and one["coverage"] < 0.2
    tiny = q.quality_report(images[:3], ref)
    assert tiny["families"] >= 1 and tiny["density"] is None
    import json
    json.dumps(report, allow_nan=False)
    with pytest.raises(LevelsetsError, match="values each"):
        q.quality_report(np.zeros((3, 1, 2, 2)), ref)


def test_yardstick_is_real_images_against_the_rest_of_the_reference():
    rng = np.random.default_rng(5)
    real = rng.normal(size=(400, 1, 2, 3))
    ref = q.reference_from_images(real, "gaussian")
    report = q.quality_report(rng.normal(size=(100, 1, 2, 3)), ref)  # fresh draws of the same law
    assert report["reference_subset"] == 100
    assert 0.7 < report["reference_density"] < 1.4 and 0.7 < report["density"] < 1.4
    assert abs(report["coverage"] - report["reference_coverage"]) < 0.1
    assert abs(report["families"] - report["reference_families"]) <= 10
    shrunk = q.quality_report(0.05 * rng.normal(size=(100, 1, 2, 3)), ref)  # piled near one mode
    assert shrunk["families"] < report["reference_families"] / 3
    assert shrunk["coverage"] < report["reference_coverage"] / 2 and shrunk["density"] > 2 * report["reference_density"]
    tiny = q.quality_report(real[:1], q.reference_from_images(real[:3], "three"))
    assert tiny["reference_subset"] == 1 and tiny["reference_density"] is None


def test_near_copies_read_one_image_with_small_variations_as_copies_where_families_split_it():
    # a chain of variations 0.4 apart: complete linkage at 0.5 splits it into ≥ 5 families, yet every
    # image has a neighbour closer than 0.5 — the near-copy share reads what the grid shows
    chain = np.arange(10, dtype=float)[:, None] * 0.4
    assert q.visual_families(chain, threshold=0.5) >= 5
    assert q.near_copy_share(chain, threshold=0.5) == 1.0
    assert q.near_copy_share(chain, threshold=0.39) == 0.0  # none closer than its spacing
    x, _ = blobs(7, 1)  # seven separated images: none has a near copy
    assert q.near_copy_share(x, threshold=0.5) == 0.0
    with pytest.raises(LevelsetsError, match="at least 2"):
        q.near_copy_share(x[:1], threshold=0.5)


def test_copy_threshold_is_the_5th_percentile_and_real_draws_are_rarely_copies():
    rng = np.random.default_rng(7)
    real = rng.normal(size=(400, 1, 2, 3))
    ref = q.reference_from_images(real, "gaussian")
    nn = brute_nnd(real.reshape(400, -1), 1)
    assert ref.copy_threshold == pytest.approx(np.quantile(nn, 0.05)) and ref.copy_threshold < ref.threshold
    fresh = q.quality_report(rng.normal(size=(100, 1, 2, 3)), ref)  # 100 draws: sparser than 400, few copies
    assert fresh["near_copy_share"] <= 0.1 and fresh["reference_near_copy_share"] <= 0.1
    assert fresh["near_copy_threshold"] == ref.copy_threshold
    base = rng.normal(size=(1, 1, 2, 3))
    repeated = q.quality_report(base + 0.01 * ref.copy_threshold * rng.normal(size=(100, 1, 2, 3)), ref)
    assert repeated["near_copy_share"] == 1.0
    assert q.quality_report(real[:1], ref)["near_copy_share"] is None
