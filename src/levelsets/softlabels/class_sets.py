"""Class-name sets a user can name on the command line.

``cifar10``
    airplane, automobile, bird, cat, deer, dog, frog, horse, ship, truck (CIFAR-10 order).
``mnist``
    the digits ``"0"`` … ``"9"``.
``shapes``
    rocket, house (seed 003; class 0 is rocket, class 1 is house).
``"a,b,c"``
    any comma-separated list of at least two distinct names.
"""

from __future__ import annotations

from levelsets.errors import LevelsetsError

CIFAR10_CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)
MNIST_CLASSES = tuple(str(d) for d in range(10))
SHAPES_CLASSES = ("rocket", "house")

NAMED_CLASS_SETS: dict[str, tuple[str, ...]] = {
    "cifar10": CIFAR10_CLASSES,
    "mnist": MNIST_CLASSES,
    "shapes": SHAPES_CLASSES,
}


def resolve_class_names(spec: str) -> tuple[str, ...]:
    """Turn ``cifar10`` / ``mnist`` / ``shapes`` / ``"a,b,c"`` into a tuple of class names.

    Parameters
    ----------
    spec:
        A named set or a comma-separated list of distinct names (at least two).

    Returns
    -------
    tuple of str
        The K class names, in output order.

    Raises
    ------
    LevelsetsError
        For an empty list, a single class, empty or duplicate names.
    """
    key = spec.strip()
    if key.lower() in NAMED_CLASS_SETS:
        return NAMED_CLASS_SETS[key.lower()]
    names = tuple(part.strip() for part in key.split(","))
    if len(names) < 2:
        raise LevelsetsError(
            f"--classes {spec!r} is neither a named set ({', '.join(NAMED_CLASS_SETS)}) "
            "nor a comma-separated list of at least two class names"
        )
    if any(not n for n in names):
        raise LevelsetsError(f"--classes {spec!r} has an empty class name; remove the extra comma")
    lowered = [n.lower() for n in names]
    dupes = sorted({n for n in names if lowered.count(n.lower()) > 1})
    if dupes:
        raise LevelsetsError(f"--classes {spec!r} repeats {', '.join(dupes)}; give each class once")
    return names
