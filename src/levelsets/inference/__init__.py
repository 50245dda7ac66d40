"""Inference: the level-set Pyro model, the vectorized random-walk sampler and its diagnostics.

Typical use::

    from levelsets.inference import SamplerSettings, sample_level_set, summarize
    result = sample_level_set(prior, decoder, classifier, target, SamplerSettings(particles=1000))
    print(summarize(result, target))
"""

from levelsets.inference.diagnostics import sampling_yield, summarize, to_inference_data
from levelsets.inference.model import LogDensity, level_set_model, log_density_fn
from levelsets.inference.pyro_kernel import LevelSetKernel
from levelsets.inference.sampler import (
    LevelSetResult,
    PriorRejectionResult,
    SamplerSettings,
    prior_rejection,
    sample_level_set,
)

__all__ = [
    "LevelSetKernel",
    "LevelSetResult",
    "LogDensity",
    "PriorRejectionResult",
    "SamplerSettings",
    "level_set_model",
    "log_density_fn",
    "prior_rejection",
    "sample_level_set",
    "sampling_yield",
    "summarize",
    "to_inference_data",
]
