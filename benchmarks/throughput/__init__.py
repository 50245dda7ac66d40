"""The sampler-throughput benchmark (``benchmarks/sampler_throughput.py``), one job per module.

- :mod:`.worlds`: the synthetic world and the trained ones, with NUTS's differentiable callables;
- :mod:`.runners`: the timed stages at one N: forward pass, our MH sampler, Pyro's NUTS;
- :mod:`.stages`: the run as a whole: rows per N, the reference ratios, replicates, ablation;
- :mod:`.replicates`: check (d), cross-seed ESS and the bias against an exact mean;
- :mod:`.quadrature`: the shapes world's exact posterior mean;
- :mod:`.report`: the markdown table and the console summary (from a finished record only);
- :mod:`.resume`: ``--resume``'s stage checkpoint; :mod:`.machine`: memory, load, platform.

The ESS estimators themselves live in :mod:`levelsets.inference.diagnostics`.
"""

REFERENCE_PARTICLES = 1000
GOAL_MH_OVER_FORWARD = 0.8
GOAL_ESS_OVER_NUTS = 100.0
ABLATION = {"independence_every": 0}
"""``--ablation``: the sampler settings that turn the independence sweeps off."""
