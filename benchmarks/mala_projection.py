r"""Black-box moves vs MALA on the projection world in 128 and 512 dimensions: the table of docs/sampler.md.

The world of ``tests/inference/test_mala_projection.py``: z ~ N(0, I_d), and the classifier sees z
only through u = w·z (one mode: f_0 = sigmoid(4(u − 1)); two modes: f_0 = sigmoid(20(u² − 1))),
under the Dirichlet relaxation, α = 50, target (0.3, 0.7), at ``levelsets sample``'s budget
(N = 1,000 particles, 300 steps, 200 burn-in; the settings ``levelsets sample --relaxation
dirichlet --alpha 50`` maps to). The posterior of u is known by quadrature, and every direction
orthogonal to w is exactly N(0, 1); a sampler that shrinks those directions is wrong. For each d
and mode count, with ``moves="black-box"`` and ``moves="auto"`` (MALA above 16 dimensions): the
standard deviation of the recorded draws along d − 1 orthonormal directions orthogonal to w, and
E|u| against its exact value. The test asserts the MALA column; this script measures both.

Outputs ``benchmarks/results/mala_projection.{json,md}`` (``benchmarks/render_results.py``
re-renders the ``.md``). Usage::

    python benchmarks/mala_projection.py                 # d = 128, 512 (minutes on 2 cores)
    python benchmarks/mala_projection.py --quick --out /tmp/m   # d = 24, 200 particles (seconds)
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
P0, ALPHA = 0.3, 50.0
MOVES = ("black-box", "auto")


def world(d: int, modes: int, seed: int = 0):
    """The unit projection ``w`` and the classifier that sees only u = w·z (as ``tests/inference``'s world)."""
    import torch

    w = torch.randn(d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    w = w / w.norm()

    def classifier(z):
        u = z @ w.to(z)
        f0 = torch.sigmoid(20 * (u**2 - 1) if modes == 2 else 4 * (u - 1))
        return torch.stack([f0, 1 - f0], dim=1)

    return w, classifier


def exact_abs_u(modes: int) -> float:
    """E|u| under π(u) ∝ φ(u) Dir(p | α f(u)), by quadrature."""
    import numpy as np
    from scipy import integrate, stats

    def density(u: float) -> float:
        f0 = 1 / (1 + math.exp(-(20 * (u * u - 1) if modes == 2 else 4 * (u - 1))))
        return stats.norm.pdf(u) * stats.dirichlet.pdf([P0, 1 - P0], ALPHA * np.clip([f0, 1 - f0], 1e-6, None))

    def integral(fn) -> float:
        return integrate.quad(fn, -8.0, 8.0, points=[-1.0, 1.0], limit=200)[0]

    return integral(lambda u: abs(u) * density(u)) / integral(density)


def measure(d: int, modes: int, moves: str, particles: int | None = None) -> dict[str, Any]:
    """One sampler run on the projection world; its orthogonal sd and E|u|."""
    import numpy as np
    import torch

    from levelsets.inference.sampler import sample_level_set
    from levelsets.workflows.sample import SampleJob

    overrides = {} if particles is None else {"particles": particles, "samples": min(100, particles)}
    job = SampleJob(world="shapes", target=f"{P0},{1 - P0}", relaxation="dirichlet", alpha=ALPHA, moves=moves,
                    out="unused", progress=False, **overrides)
    settings = job.sampler_settings(seed=d + modes, device="cpu")
    w, classifier = world(d, modes)
    prior = torch.distributions.Independent(torch.distributions.Normal(torch.zeros(d, dtype=torch.float64), 1.0), 1)
    start = time.perf_counter()
    result = sample_level_set(prior, lambda z: z, classifier, torch.tensor([P0, 1 - P0], dtype=torch.float64), settings)
    seconds = time.perf_counter() - start
    z = result.trace.numpy()  # (N, draws, d)
    basis = np.linalg.qr(np.column_stack([w.numpy(), np.eye(d)[:, : d - 1]]))[0][:, 1:]
    return {"d": d, "modes": modes, "moves": moves, "ran": result.moves, "particles": settings.particles,
            "steps": settings.steps, "burn_in": settings.burn_in, "seed": d + modes,
            "orthogonal_sd": float((z @ basis).reshape(-1).std()), "abs_u": float(np.abs(z @ w.numpy()).mean()),
            "exact_abs_u": exact_abs_u(modes), "burn_in_ancestors": result.burn_in_ancestors, "seconds": seconds}


def markdown(record: dict[str, Any]) -> str:
    """The table: per d and mode count, each move set's orthogonal sd, and MALA's E|u| against the exact one."""
    rows = {(r["d"], r["modes"], r["moves"]): r for r in record["rows"]}
    cases = sorted({(r["modes"], r["d"]) for r in record["rows"]})
    first = record["rows"][0]
    lines = [f"Projection world, Dirichlet α = {ALPHA:g}, target ({P0:g}, {1 - P0:g}), N = {first['particles']:,}, "
             f"{first['steps']} steps ({first['burn_in']} burn-in); run of {record['provenance']['created'][:10]}. "
             "Exact: orthogonal sd 1, E|u| by quadrature.", "",
             "| d, modes | black-box moves: orthogonal sd | MALA (auto): orthogonal sd | MALA: E\\|u\\| vs exact |",
             "|---|---|---|---|"]
    for modes, d in cases:
        box, mala = rows[(d, modes, "black-box")], rows[(d, modes, "auto")]
        lines.append(f"| {d}, {'one' if modes == 1 else 'two'} | {box['orthogonal_sd']:.3f} | {mala['orthogonal_sd']:.3f} "
                     f"| {mala['abs_u']:.3f} / {mala['exact_abs_u']:.3f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="d = 24 and 200 particles (tests)")
    ap.add_argument("--out", type=Path, default=HERE / "results")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(HERE.parent / "src"))
    from results_io import save_results

    from levelsets.artifacts import provenance

    dims, particles = ((24,), 200) if args.quick else ((128, 512), None)
    rows = []
    for modes in (1, 2):
        for d in dims:
            for moves in MOVES:
                rows.append(measure(d, modes, moves, particles))
                print(f"d {d}, modes {modes}, {moves}: orthogonal sd {rows[-1]['orthogonal_sd']:.3f} "
                      f"({rows[-1]['seconds']:.0f} s)", flush=True)
    record = {"benchmark": "mala_projection", "rows": rows,
              "provenance": provenance(settings={"dims": list(dims), "particles": particles or "levelsets sample's",
                                                 "alpha": ALPHA, "target": [P0, 1 - P0], "moves": list(MOVES)},
                                       seed=None, data="projection world (no data)")}
    name = "mala_projection_quick" if args.quick else "mala_projection"
    save_results(args.out, name, record, markdown(record))
    return 0


if __name__ == "__main__":
    sys.exit(main())
