"""Fixtures of the sweep tests: tiny MNIST models in the session's model home, one shared Ray cluster."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def tiny_mnist_models(_isolated_model_home):
    """An MNIST CNN, VAE and GAN trained for one epoch each (seconds), cached where `load_world` looks."""
    from levelsets.classifiers.zoo import classifier_path, get_classifier
    from levelsets.generative.zoo import checkpoint_path, get_generator

    if not classifier_path("mnist").exists():
        get_classifier("mnist", seed=0, device="cpu", n_train=1000, epochs=1, progress=False)
    for kind in ("vae", "gan"):
        if not checkpoint_path(kind).exists():
            get_generator(kind, epochs=1, seed=0, device="cpu", progress=False)
    return _isolated_model_home


@pytest.fixture(scope="module")
def ray_local():
    """A 2-CPU local Ray cluster for a whole test module (`run_sweep` uses an initialized Ray as it is)."""
    import ray

    assert not ray.is_initialized()
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR")
    yield ray
    ray.shutdown()
