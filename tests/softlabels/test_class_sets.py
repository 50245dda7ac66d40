"""Class-name sets named on the command line (levelsets.softlabels.class_sets)."""

from __future__ import annotations

import pytest

from levelsets.errors import LevelsetsError
from levelsets.softlabels.class_sets import CIFAR10_CLASSES, MNIST_CLASSES, resolve_class_names


def test_class_sets():
    assert resolve_class_names("shapes") == ("rocket", "house")
    assert len(resolve_class_names("CIFAR10")) == 10
    assert resolve_class_names(" x , y ") == ("x", "y")
    for bad in ["x", "x,,y", "x,X"]:
        with pytest.raises(LevelsetsError):
            resolve_class_names(bad)


def test_named_sets_in_their_published_order():
    assert resolve_class_names(" Mnist ") == MNIST_CLASSES == tuple("0123456789")
    assert resolve_class_names("cifar10") == CIFAR10_CLASSES
    assert CIFAR10_CLASSES[0] == "airplane" and CIFAR10_CLASSES[3] == "cat" and CIFAR10_CLASSES[-1] == "truck"
    assert resolve_class_names("dog,Cat,bird") == ("dog", "Cat", "bird")  # a list keeps its order and spelling


@pytest.mark.parametrize(("spec", "needle"), [
    ("", "is neither a named set (cifar10, mnist, shapes) nor a comma-separated list of at least two"),
    ("cifar100", "is neither a named set"),
    ("a,", "has an empty class name; remove the extra comma"),
    (",a,b", "has an empty class name"),
    ("Cat,dog,cat,DOG", "repeats Cat, DOG, cat, dog; give each class once"),
])
def test_bad_specs_are_one_line_errors_saying_what_to_fix(spec, needle):
    with pytest.raises(LevelsetsError) as exc:
        resolve_class_names(spec)
    assert needle in str(exc.value) and "\n" not in str(exc.value)
    assert str(exc.value).startswith(f"--classes {spec!r}")
