r"""Crowdsourcing aggregates of annotator responses with crowd-kit: Dawid-Skene and GLAD.

The soft-label mean (:mod:`levelsets.softlabels.label_construction`) treats every annotator
alike. The field's standard aggregates instead estimate each annotator's reliability from the
agreement pattern and weight them by it. They read hard labels, so each response becomes one
row of crowd-kit's table ``(task, worker, label)``: the example id, the annotator's id, and the
response's "Most Probable Class" (the class name as in ``class_names``).

Models (crowd-kit's implementations, fitted by EM)
--------------------------------------------------
* **Dawid-Skene**: worker :math:`w` answers :math:`k` for true class :math:`c` with probability
  :math:`e^w_{kc}` (a confusion matrix per worker), classes have prior :math:`\pi`. Reliability
  is the worker's estimated accuracy :math:`a_w = \sum_c \pi_c\, e^w_{cc}`.
* **GLAD**: worker :math:`w` is right on task :math:`j` with probability
  :math:`\sigma(\alpha_w \beta_j)` (ability :math:`\alpha_w \in \mathbb{R}`, inverse difficulty
  :math:`\beta_j > 0`), wrong answers uniform over the other classes. Reliability is
  :math:`a_w = \operatorname{mean}_{j \in T_w} \sigma(\alpha_w \beta_j)` over the worker's tasks.

Both give per-task class posteriors (``predict_proba``), which become the examples' soft labels.
A worker is *unreliable* when :math:`a_w` is below a threshold, by default 0.5 -- estimated to be
wrong more often than right (for GLAD at 0.5 this is exactly :math:`\alpha_w < 0`). crowd-kit
knows only the classes some annotator named most probable; the others get posterior 0.

References
----------
Dawid & Skene (1979), Maximum likelihood estimation of observer error-rates using the EM
algorithm, *JRSS C* 28(1). Whitehill et al. (2009), Whose vote should count more, *NeurIPS*.
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from levelsets.errors import LevelsetsError
from levelsets.softlabels.responses import parse_responses

AGGREGATES = ("mean", "dawid-skene", "glad")
CROWD_AGGREGATES = ("dawid-skene", "glad")
DEFAULT_UNRELIABLE_BELOW = 0.5
TABLE_COLUMNS = ("task", "worker", "label")


def load_annotator_ids(path: str | Path, responses: Mapping[str, Sequence[object]]) -> dict[str, list[str]]:
    """Read which annotator gave each response, checked against the responses.

    Parameters
    ----------
    path:
        JSON file: the details file written by ``levelsets elicit export`` (its ``"annotators"``
        entry) or a plain ``{example id: [annotator id, ...]}``, in the responses' order.
    responses:
        The raw responses ``{example id: [response, ...]}``.

    Returns
    -------
    dict
        ``{example id: [annotator id, ...]}`` (ids as strings).

    Raises
    ------
    LevelsetsError
        Unreadable file, or an example missing or with another number of ids than responses.
        (An annotator may answer an example twice -- the published CIFAR-10S data repeat trials;
        :func:`crowd_table` keeps their first answer.)
    """
    path = Path(path)
    if not path.is_file():
        raise LevelsetsError(f"--annotators {path} does not exist; give the responses.details.json of `levelsets elicit export`")
    try:
        document = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise LevelsetsError(f"--annotators {path} is not valid JSON ({exc})") from None
    if isinstance(document, Mapping) and isinstance(document.get("annotators"), Mapping):
        document = document["annotators"]
    if not isinstance(document, Mapping):
        raise LevelsetsError(f"--annotators {path} must map example ids to lists of annotator ids")
    out: dict[str, list[str]] = {}
    for example_id, answers in responses.items():
        ids = document.get(str(example_id))
        n = len(answers) if isinstance(answers, (list, tuple)) else 0
        if not isinstance(ids, (list, tuple)) or len(ids) != n:
            got = "none" if ids is None else (len(ids) if isinstance(ids, (list, tuple)) else repr(ids))
            raise LevelsetsError(
                f"--annotators {path}: example {str(example_id)!r} has {n} responses but {got} annotator ids; "
                "give the annotator file exported with these responses"
            )
        out[str(example_id)] = [str(i) for i in ids]
    return out


def crowd_table(
    raw_responses: Mapping[str, Sequence[object]], class_names: Sequence[str], annotators: Mapping[str, Sequence[str]]
) -> pd.DataFrame:
    """The responses as crowd-kit's table: one row per (task, worker), label = the most probable class.

    An annotator who answered a task more than once (a repeated trial) keeps their first answer
    only: the models assume one independent answer per annotator and task.

    Parameters
    ----------
    raw_responses:
        ``{example id: [response, ...]}`` (CIFAR-10S format; the published anomalies are accepted,
        they do not affect the most probable class).
    class_names:
        The K class names; labels are written as these names.
    annotators:
        ``{example id: [annotator id, ...]}`` in the responses' order (:func:`load_annotator_ids`).

    Returns
    -------
    pandas.DataFrame
        Columns ``task``, ``worker``, ``label`` (strings), rows in file order;
        ``table.attrs["repeats_dropped"]`` counts the later answers left out.
    """
    parsed = parse_responses(raw_responses, class_names, strict=False)
    rows = [
        (example_id, str(annotators[example_id][m]), str(class_names[response.top1]))
        for example_id, responses in parsed.items()
        for m, response in enumerate(responses)
    ]
    table = pd.DataFrame(rows, columns=list(TABLE_COLUMNS), dtype=str)
    repeated = table.duplicated(["task", "worker"], keep="first")
    table = table[~repeated].reset_index(drop=True)
    table.attrs["repeats_dropped"] = int(repeated.sum())
    return table


def write_table(path: str | Path, table: pd.DataFrame) -> Path:
    """Write the table as CSV atomically (a temporary sibling, then a rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", newline="") as fh:
            table.to_csv(fh, index=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


@dataclass(frozen=True)
class CrowdAggregate:
    """Result of :func:`aggregate_crowd`.

    Attributes
    ----------
    method:
        ``dawid-skene`` or ``glad``.
    posteriors:
        ``{task: (K,)}`` class posteriors in ``class_names`` order, rows summing to 1.
    workers:
        ``{worker: {"responses": n, "reliability": a_w, "unreliable": bool[, "alpha": α_w]}}``.
    unreliable_below:
        The threshold on :math:`a_w`.
    repeats_dropped:
        Repeated answers (same annotator and task) left out of the table.
    """

    method: str
    posteriors: dict[str, np.ndarray]
    workers: dict[str, dict]
    unreliable_below: float
    repeats_dropped: int = 0

    @property
    def unreliable(self) -> list[str]:
        """Workers with reliability below the threshold, least reliable first."""
        flagged = [w for w, info in self.workers.items() if info["unreliable"]]
        return sorted(flagged, key=lambda w: (self.workers[w]["reliability"], w))

    def summary(self) -> dict:
        """JSON-ready description (method, threshold, rule, workers, unreliable list)."""
        rule = {
            "dawid-skene": "reliability = sum_c prior_c * confusion[c, c] (estimated accuracy)",
            "glad": "reliability = mean over the worker's tasks of sigmoid(alpha * beta) (estimated accuracy)",
        }[self.method]
        return {
            "method": self.method,
            "reliability": rule,
            "unreliable_below": self.unreliable_below,
            "unreliable_workers": self.unreliable,
            "repeats_dropped": self.repeats_dropped,
            "workers": self.workers,
        }


def _proba_matrix(probas: pd.DataFrame, tasks: Sequence[str], class_names: Sequence[str]) -> dict[str, np.ndarray]:
    frame = probas.reindex(index=list(tasks), columns=list(class_names)).fillna(0.0)
    values = frame.to_numpy(dtype=np.float64, copy=True)
    values /= values.sum(axis=1, keepdims=True)
    return {task: values[i] for i, task in enumerate(tasks)}


def aggregate_crowd(
    table: pd.DataFrame,
    class_names: Sequence[str],
    method: str,
    *,
    unreliable_below: float = DEFAULT_UNRELIABLE_BELOW,
) -> CrowdAggregate:
    """Fit Dawid-Skene or GLAD (crowd-kit) to the table; posteriors and worker reliability.

    Parameters
    ----------
    table:
        ``(task, worker, label)`` as from :func:`crowd_table`.
    class_names:
        The K class names (posterior columns, in this order).
    method:
        ``dawid-skene`` or ``glad``.
    unreliable_below:
        A worker whose reliability :math:`a_w` (module docstring) is below this is flagged.

    Returns
    -------
    CrowdAggregate

    Raises
    ------
    LevelsetsError
        Unknown method, a threshold outside [0, 1], or answers naming fewer than two classes.
    """
    if method not in CROWD_AGGREGATES:
        raise LevelsetsError(f"unknown crowd aggregate {method!r}; choose one of {', '.join(CROWD_AGGREGATES)}")
    if not 0.0 <= float(unreliable_below) <= 1.0:
        raise LevelsetsError(f"--unreliable-below must be an accuracy in [0, 1], got {unreliable_below!r}")
    if table["label"].nunique() < 2:
        raise LevelsetsError(
            f"--aggregate {method} needs answers naming at least two classes (all name "
            f"{table['label'].iloc[0]!r}); use --aggregate mean"
        )
    from crowdkit.aggregation import GLAD, DawidSkene

    tasks = list(dict.fromkeys(table["task"]))
    counts = table.groupby("worker", sort=False).size()
    with warnings.catch_warnings():
        # crowd-kit 1.4 calls pandas APIs that pandas 3 deprecates (inplace=...); not ours to fix.
        warnings.simplefilter("ignore", category=DeprecationWarning)
        warnings.simplefilter("ignore", category=FutureWarning)
        model = (DawidSkene(n_iter=100) if method == "dawid-skene" else GLAD()).fit(table)
    if method == "dawid-skene":
        diag = {c: model.errors_[c].xs(c, level="label") for c in model.priors_.index}
        reliability = sum(
            model.priors_[c] * diag[c].reindex(counts.index).fillna(0.0) for c in model.priors_.index
        )
        extra: dict[str, dict] = {w: {} for w in counts.index}
    else:
        alpha = model.alphas_.reindex(table["worker"]).to_numpy()
        beta = np.exp(model.betas_.reindex(table["task"]).to_numpy())  # crowd-kit stores log beta
        correct = pd.Series(1.0 / (1.0 + np.exp(-alpha * beta)), index=table["worker"].to_numpy())
        reliability = correct.groupby(level=0, sort=False).mean()
        extra = {w: {"alpha": float(model.alphas_[w])} for w in counts.index}
    workers = {
        str(w): {
            "responses": int(counts[w]),
            "reliability": float(reliability[w]),
            "unreliable": bool(float(reliability[w]) < unreliable_below),
            **extra[w],
        }
        for w in counts.index
    }
    return CrowdAggregate(
        method=method,
        posteriors=_proba_matrix(model.probas_, tasks, class_names),
        workers=workers,
        unreliable_below=float(unreliable_below),
        repeats_dropped=int(table.attrs.get("repeats_dropped", 0)),
    )

