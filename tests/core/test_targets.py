import numpy as np
import pytest

from levelsets.errors import LevelsetsError
from levelsets.targets import graded_strip, is_graded_strip, parse_target

MNIST = tuple("0123456789")
SHAPES = ("rocket", "house")


def test_ambiguous_is_uniform():
    t = parse_target("ambiguous", MNIST)
    assert t.probs.shape == (10,)
    np.testing.assert_allclose(t.probs, 0.1)


def test_pair_target_matches_seed_003():
    t = parse_target("1vs7", MNIST)
    assert t.classes == (1, 7)
    assert t.probs[1] == pytest.approx(0.46) and t.probs[7] == pytest.approx(0.46)
    others = np.delete(t.probs, [1, 7])
    np.testing.assert_allclose(others, 0.01)
    assert t.probs.sum() == pytest.approx(1.0)


def test_pair_by_name_and_two_classes():
    t = parse_target("rocketvshouse", SHAPES)
    np.testing.assert_allclose(t.probs, [0.5, 0.5])


def test_confident_defaults():
    t10 = parse_target("confident:3", MNIST)
    assert t10.probs[3] == pytest.approx(0.91)
    np.testing.assert_allclose(np.delete(t10.probs, 3), 0.01)
    t2 = parse_target("confident:house", SHAPES)
    np.testing.assert_allclose(t2.probs, [0.001, 0.999])
    t2q = parse_target("confident:rocket:0.9", SHAPES)
    np.testing.assert_allclose(t2q.probs, [0.9, 0.1])


def test_graded_moves_mass_from_a_to_b():
    t0 = parse_target("graded:1vs7:0", MNIST)
    t1 = parse_target("graded:1vs7:1", MNIST)
    t3 = parse_target("graded:1vs7:0.3", MNIST)
    assert t0.probs[1] == pytest.approx(0.92) and t0.probs[7] == pytest.approx(0.0)
    assert t1.probs[7] == pytest.approx(0.92)
    assert t3.probs[1] == pytest.approx(0.7 * 0.92) and t3.probs[7] == pytest.approx(0.3 * 0.92)
    ts = parse_target("graded:rocketvshouse:0.999", SHAPES)
    np.testing.assert_allclose(ts.probs, [0.001, 0.999])


def test_graded_strip():
    assert is_graded_strip("graded:1vs7") and not is_graded_strip("graded:1vs7:0.5")
    strip = graded_strip("graded:1vs7", MNIST)
    assert len(strip) == 11
    betas = [s.probs[7] / 0.92 for s in strip]
    np.testing.assert_allclose(betas, np.linspace(0, 1, 11), atol=1e-12)


def test_explicit_vectors():
    np.testing.assert_allclose(parse_target("0.2,0.8", SHAPES).probs, [0.2, 0.8])
    np.testing.assert_allclose(parse_target("[0.3, 0.7]", SHAPES).probs, [0.3, 0.7])
    np.testing.assert_allclose(parse_target(np.array([0.25, 0.75]), SHAPES).probs, [0.25, 0.75])


@pytest.mark.parametrize(
    "spec, fragment",
    [
        ("nonsense", "unknown target"),
        ("1vs1", "must differ"),
        ("1vs12", "unknown class"),
        ("0.2,0.3,0.5", "3 entries but the classifier has 2"),
        ("-0.2,1.2", "negative"),
        ("0.2,0.7", "sums to 0.9"),
        ("0.2,", "not a valid vector"),
        ("graded:rocketvshouse:1.5", "must lie in [0, 1]"),
        ("confident:plane", "unknown class"),
        ("", "empty target"),
    ],
)
def test_bad_targets_give_one_line_errors(spec, fragment):
    with pytest.raises(LevelsetsError) as info:
        parse_target(spec, SHAPES if "vs1" not in spec and "1vs" not in spec else MNIST)
    message = str(info.value)
    assert fragment in message
    assert "\n" not in message


def test_only_the_dirichlet_refuses_a_target_with_a_zero_entry():
    from levelsets.targets import check_relaxation_target

    target = parse_target("1.0,0.0", ["a", "b"])
    for relaxation in ("band", "normal"):
        check_relaxation_target(target, relaxation)  # no error
    with pytest.raises(LevelsetsError, match=r"^target 1.0,0.0 has a zero entry; .* or --relaxation band or normal\)$"):
        check_relaxation_target(target, "dirichlet")
    check_relaxation_target(parse_target("0.3,0.7", ["a", "b"]), "dirichlet")
