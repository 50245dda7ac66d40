"""Progress bars for long loops (training epochs, sampler steps, stimulus export).

One place decides how bars look: a live bar on a terminal; in a log file or CI (stderr not a
TTY) at most one line every 15 seconds, so logs stay readable.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

from tqdm.auto import tqdm

#: Seconds between redraws when stderr is not a terminal.
LOG_INTERVAL = 15.0


def progress_bar(iterable: Iterable[Any] | None = None, *, total: int | None = None, desc: str = "",
                 unit: str = "it", enabled: bool = True, leave: bool = False, **kwargs: Any) -> tqdm:
    """A :class:`tqdm.tqdm` bar over ``iterable`` (or ``total`` manual updates).

    ``enabled=False`` gives a silent bar with the same interface.
    """
    interactive = sys.stderr.isatty()
    kwargs.setdefault("mininterval", 0.1 if interactive else LOG_INTERVAL)
    kwargs.setdefault("maxinterval", 10.0 if interactive else 4 * LOG_INTERVAL)
    return tqdm(iterable, total=total, desc=desc, unit=unit, disable=not enabled, leave=leave, **kwargs)
