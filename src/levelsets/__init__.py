"""levelsets: sample the images a classifier is unsure about, and use them.

The top-level import is kept light (no torch) so that ``levelsets --help`` starts fast.
Import the pieces you need from their modules, e.g.::

    from levelsets.targets import parse_target
    from levelsets.inference.sampler import sample_level_set
"""

__version__ = "0.1.0"
