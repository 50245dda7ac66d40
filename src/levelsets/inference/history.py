"""Per-step scalars of a sampler run, kept on the device and read back once.

Reading a CUDA scalar with ``float()`` waits for the GPU (a host sync). The samplers record their
per-step figures (mean acceptance, level, step size, ancestors) here as 0-d tensors and convert
them all at the end of the run, so the hot loop issues no sync per step; :meth:`StepHistory.last`
reads one value back only when the progress bar shows it.
"""

from __future__ import annotations

import torch


class StepHistory:
    """Named series of per-step scalars (floats or 0-d tensors on any device)."""

    def __init__(self, *names: str) -> None:
        self._series: dict[str, list[torch.Tensor | float]] = {name: [] for name in names}

    def append(self, **values: torch.Tensor | float) -> None:
        """Record one step's values, one per series (every series must be given)."""
        if values.keys() != self._series.keys():
            raise ValueError(f"expected values for {sorted(self._series)}, got {sorted(values)}")
        for name, value in values.items():
            self._series[name].append(value.detach() if isinstance(value, torch.Tensor) else float(value))

    def last(self, name: str) -> float:
        """The latest value of ``name`` as a float (one host sync)."""
        return float(self._series[name][-1])

    def to_dict(self) -> dict[str, list[float]]:
        """Every series as a list of floats (one device-to-host copy per series)."""
        out: dict[str, list[float]] = {}
        for name, values in self._series.items():
            tensors = [v for v in values if isinstance(v, torch.Tensor)]
            if not tensors:
                out[name] = [float(v) for v in values]
                continue
            device = tensors[0].device
            stacked = torch.stack([
                v.to(torch.float64).reshape(()) if isinstance(v, torch.Tensor)
                else torch.tensor(v, dtype=torch.float64, device=device)
                for v in values
            ])
            out[name] = stacked.cpu().tolist()
        return out
