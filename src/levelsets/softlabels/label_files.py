"""The soft-label JSON file: written by ``levelsets labels build``, read by training and evaluation.

Format (``format_version`` 1)::

    {"format": "levelsets-soft-labels", "format_version": 1,
     "class_names": ["rocket", "house"], "variety": "t2-clamp", "gamma": 0.1,
     "examples": {"<id>": {"annotators": [[p_1, ..., p_K], ...],   # input order kept
                           "aggregate": [p_1, ..., p_K]}, ...},
     "aggregation": {"method": "mean"}}

Ids are the input's example ids (strings). Beside it, ``<file>.json`` is the provenance sidecar.
``aggregation.method`` is ``mean`` (``aggregate`` = the mean of ``annotators``), or
``dawid-skene`` / ``glad`` (``aggregate`` = the model's class posterior; ``aggregation`` then
also lists each annotator's reliability and the unreliable ones, see
:mod:`levelsets.softlabels.crowd`). A file with a non-mean aggregate is *read* as one label per
example, the aggregate, so training and evaluation use the posterior (files without
``aggregation`` are mean files).

``levelsets labels build`` also writes ``<stem>.anomalies.json`` (+ its sidecar) beside the
output: every published-data anomaly it accepted (example id, annotator index, annotator id when
known, kind, what was done), see :mod:`levelsets.softlabels.anomaly_file`.

:func:`load_soft_labels` also accepts two plain forms, convenient for hand-written files:
``{"<id>": [p_1, ..., p_K]}`` (one label per example) and ``{"<id>": [[...], [...]]}`` (several
annotators per example).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from levelsets.artifacts import check_output_file, provenance, write_json, write_sidecar
from levelsets.errors import LevelsetsError
from levelsets.softlabels.anomaly_file import anomalies_document, anomalies_path
from levelsets.softlabels.class_sets import resolve_class_names
from levelsets.softlabels.label_construction import (
    VARIETIES,
    ConstructionSettings,
    SoftLabelSet,
    build_soft_labels,
)
from levelsets.softlabels.label_settings import BuildLabelsJob

FORMAT = "levelsets-soft-labels"
FORMAT_VERSION = 1
SUM_TOLERANCE = 1e-4
"""How far from 1 a label's sum may be (labels are stored as decimal floats)."""


def soft_labels_to_json(labels: SoftLabelSet) -> dict:
    """Return the JSON document of a label set (see the module docstring)."""
    settings = labels.settings
    aggregates = labels.aggregate()
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "class_names": list(labels.class_names),
        "variety": settings.variety if settings else None,
        "gamma": settings.gamma if settings else None,
        "examples": {
            example_id: {
                "annotators": [[float(v) for v in row] for row in per],
                "aggregate": [float(v) for v in aggregates[example_id]],
            }
            for example_id, per in labels.per_annotator.items()
        },
        "aggregation": labels.aggregation or {"method": "mean"},
    }


def save_soft_labels(
    path: str | Path, labels: SoftLabelSet, *, seed: int | None = None, data: object = None, settings: Any = None
) -> Path:
    """Write the label file atomically, then its provenance sidecar ``<path>.json``.

    Parameters
    ----------
    path:
        Output file (``.json``).
    labels:
        The labels to write.
    seed:
        Recorded in the sidecar (construction itself is deterministic).
    data:
        What the labels were built from (e.g. the responses file), recorded in the sidecar.
    settings:
        The resolved settings of the job that made the labels (e.g.
        :class:`~levelsets.softlabels.label_settings.BuildLabelsJob`), recorded in the sidecar;
        default: the construction's ``variety`` and ``gamma`` (and a crowd ``aggregate``).
    """
    path = check_output_file(path, option="-o")
    document = soft_labels_to_json(labels)
    write_json(path, document)
    if settings is None and labels.settings is not None:
        method = (labels.aggregation or {}).get("method", "mean")
        settings = {"variety": labels.settings.variety, "gamma": labels.settings.gamma,
                    **({"aggregate": method} if method != "mean" else {})}
    write_sidecar(
        path,
        provenance(
            settings=settings,
            seed=seed,
            data=data if data is not None else labels.source,
            artifact="soft labels",
            num_examples=len(labels),
            num_annotator_labels=int(sum(len(v) for v in labels.per_annotator.values())),
        ),
    )
    return path


def _as_label_rows(value: object) -> list | None:
    """Normalize one example's entry to a list of rows (or None when it has no recognizable shape)."""
    if isinstance(value, Mapping):
        if "annotators" in value and value["annotators"]:
            return list(value["annotators"])
        if "aggregate" in value:
            return [value["aggregate"]]
        return None
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, (list, tuple)) for v in value):
        return list(value)
    if isinstance(value, (list, tuple)):
        return [list(value)]
    return None


def _row_problem(row: object, k: int) -> str | None:
    if not isinstance(row, (list, tuple)):
        return f"a label is a {type(row).__name__}, not a list of {k} probabilities"
    if len(row) != k:
        return f"a label has {len(row)} entries but there are {k} classes"
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in row):
        return "a label has a non-numeric or non-finite entry"
    if min(row) < 0:
        return "a label has a negative entry"
    total = float(sum(row))
    if abs(total - 1.0) > SUM_TOLERANCE:
        return f"a label sums to {total:.6g}, not 1"
    return None


def validate_label_rows(rows_by_id: Mapping[str, object], num_classes: int, *, source: str) -> dict[str, np.ndarray]:
    """Check every example's labels (length K, non-negative, finite, sum 1) and stack them.

    Raises
    ------
    LevelsetsError
        One line naming the first bad example, what is wrong, and how many others are bad.
    """
    out: dict[str, np.ndarray] = {}
    bad: list[str] = []
    for example_id, value in rows_by_id.items():
        rows = _as_label_rows(value)
        if not rows:
            bad.append(f"example {example_id!r} has no labels")
            continue
        problem = next((p for p in (_row_problem(r, num_classes) for r in rows) if p), None)
        if problem:
            bad.append(f"example {example_id!r}: {problem}")
            continue
        labels = np.asarray(rows, dtype=np.float64)
        out[str(example_id)] = labels / labels.sum(axis=1, keepdims=True)
    if bad:
        more = f" (and {len(bad) - 1} more bad example(s))" if len(bad) > 1 else ""
        raise LevelsetsError(f"{source}: {bad[0]}{more}; each label must list {num_classes} probabilities summing to 1")
    return out


def load_soft_labels(path: str | Path, *, class_names: Sequence[str] | None = None) -> SoftLabelSet:
    """Read a soft-label file (the levelsets format or a plain ``{id: label(s)}`` mapping).

    Parameters
    ----------
    path:
        The JSON file.
    class_names:
        The classes the caller needs. Required for plain files (they carry no class names);
        for levelsets files, the file's class names must equal these.

    Returns
    -------
    SoftLabelSet
        ``per_annotator[id]`` is (M_id, K), rows renormalized to sum exactly 1.

    Raises
    ------
    LevelsetsError
        Missing/unreadable file, wrong class names, labels of the wrong length or not summing to 1.
    """
    path = Path(path)
    if not path.is_file():
        raise LevelsetsError(f"soft-label file {path} does not exist; build one with `levelsets labels build`")
    try:
        document = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise LevelsetsError(f"soft-label file {path} is not valid JSON ({exc})") from None
    if not isinstance(document, Mapping) or not document:
        raise LevelsetsError(f"soft-label file {path} must be a non-empty JSON object mapping example ids to labels")
    settings = None
    if document.get("format") == FORMAT:
        names = tuple(str(c) for c in document.get("class_names", []))
        if class_names is not None and [c.lower() for c in names] != [str(c).lower() for c in class_names]:
            raise LevelsetsError(
                f"{path} has classes {', '.join(names)} but {', '.join(map(str, class_names))} are needed; "
                "rebuild the labels with the right --classes"
            )
        examples = document.get("examples")
        if not isinstance(examples, Mapping) or not examples:
            raise LevelsetsError(f"{path} holds no examples; rebuild it with `levelsets labels build`")
        if document.get("variety") in VARIETIES:
            settings = ConstructionSettings(document["variety"], float(document.get("gamma") or 0.0))
        aggregation = document.get("aggregation") if isinstance(document.get("aggregation"), Mapping) else None
        if aggregation is not None and aggregation.get("method", "mean") != "mean":
            examples = {
                key: {"aggregate": value.get("aggregate")} if isinstance(value, Mapping) else value
                for key, value in examples.items()
            }
            per = validate_label_rows(examples, len(names), source=str(path))
            return SoftLabelSet(
                class_names=names, per_annotator=per, settings=settings, source=str(path),
                aggregated={key: rows[0] for key, rows in per.items()}, aggregation=dict(aggregation),
            )
    else:
        if class_names is None:
            raise LevelsetsError(f"{path} is a plain label file without class names; say which classes it uses")
        names = tuple(str(c) for c in class_names)
        examples = document
    per = validate_label_rows(examples, len(names), source=str(path))
    return SoftLabelSet(class_names=names, per_annotator=per, settings=settings, source=str(path))


@dataclass(frozen=True)
class BuildResult:
    """What :func:`build_label_file` wrote."""

    path: Path
    num_examples: int
    num_labels: int
    variety: str
    gamma: float
    anomalies_path: Path | None = None
    anomaly_counts: dict | None = None
    aggregate: str = "mean"
    unreliable: tuple[str, ...] = ()
    num_workers: int = 0
    unreliable_below: float | None = None
    table_path: Path | None = None
    repeats_dropped: int = 0


def _read_json(path: Path, option: str, what: str) -> object:
    if not path.is_file():
        raise LevelsetsError(f"{option} {path} does not exist; give the JSON file of {what}")
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise LevelsetsError(f"{option} {path} is not valid JSON ({exc})") from None


def build_label_file(responses: str | Path, **settings: Any) -> BuildResult:
    """Read a response file, build the labels, and write them with a sidecar (``labels build``).

    Parameters
    ----------
    responses:
        JSON file ``{example id: [response, ...]}`` (CIFAR-10S format).
    **settings:
        The other fields of :class:`~levelsets.softlabels.label_settings.BuildLabelsJob` (validated
        there): ``classes`` (``cifar10`` / ``mnist`` / ``shapes`` / ``"a,b,c"``, or a sequence of
        class names) and ``out`` (the output file; nothing is written when anything is wrong; the
        anomaly list goes to :func:`anomalies_path`, always written, possibly empty, each with a
        sidecar) are required; ``variety``, ``gamma`` (see
        :class:`~levelsets.softlabels.label_construction.ConstructionSettings`), ``strict``
        (refuse the published data's anomalies instead of reproducing the published construction on
        them), ``aggregate`` (``mean``, ``dawid-skene`` or ``glad``: crowd-kit posteriors over the most
        probable classes, :mod:`levelsets.softlabels.crowd`), ``annotators`` (which annotator gave
        each response; needed by the crowd aggregates; default: the responses'
        ``<stem>.details.json`` if it exists), ``unreliable_below`` (default 0.5) and ``table``
        (crowd-kit's ``(task, worker, label)`` table as CSV) are optional.
    """
    return write_label_file(BuildLabelsJob(responses=Path(responses), **settings))


def write_label_file(job: BuildLabelsJob) -> BuildResult:
    """:func:`build_label_file` for validated settings; the resolved ``job`` is written into the labels' sidecar."""
    from levelsets.softlabels.crowd import DEFAULT_UNRELIABLE_BELOW

    settings = job.construction_settings()
    responses, classes, out, strict, aggregate = job.responses, job.classes, job.out, job.strict, job.aggregate
    annotators, table = job.annotators, job.table
    threshold = DEFAULT_UNRELIABLE_BELOW if job.unreliable_below is None else float(job.unreliable_below)
    class_names = resolve_class_names(classes) if isinstance(classes, str) else tuple(classes)
    out = check_output_file(out, option="-o")
    side = check_output_file(anomalies_path(out), option="the anomaly file")
    if table is not None:
        table = check_output_file(table, option="--table")
        if table.resolve() in (out.resolve(), side.resolve()):
            raise LevelsetsError(f"--table {table} is another output's path; give it a file name of its own")
    raw = _read_json(responses, "--responses", "annotator responses")
    labels = build_soft_labels(raw, class_names, settings, source=str(responses), strict=strict)

    needs_ids = aggregate != "mean" or table is not None
    if annotators is None and needs_ids:
        from levelsets.elicitation.export import details_path

        if details_path(responses).is_file():
            annotators = details_path(responses)
        else:
            need = f"--aggregate {aggregate}" if aggregate != "mean" else "--table"
            raise LevelsetsError(
                f"{need} needs to know which annotator gave each response; give --annotators FILE (the "
                f"{details_path(responses).name} written by `levelsets elicit export`, or {{example id: [annotator id, ...]}})"
            )
    ids = None
    crowd = None
    frame = None
    if annotators is not None:
        from levelsets.softlabels.crowd import aggregate_crowd, crowd_table, load_annotator_ids

        ids = load_annotator_ids(annotators, raw)
        if needs_ids:
            frame = crowd_table(raw, class_names, ids)
        if aggregate != "mean":
            crowd = aggregate_crowd(frame, class_names, aggregate, unreliable_below=threshold)
            labels.aggregated = crowd.posteriors
            labels.aggregation = {**crowd.summary(), "annotators": str(annotators)}

    data = {"responses": str(responses), "class_names": list(class_names), "strict": strict}
    if annotators is not None:
        data["annotators"] = str(annotators)
    save_soft_labels(out, labels, data=data, settings=replace(job, annotators=annotators, table=table))
    document = anomalies_document(labels, responses=str(responses), strict=strict, annotators=ids)
    write_json(side, document)
    write_sidecar(side, provenance(
        settings={"variety": settings.variety, "gamma": settings.gamma, "strict": strict},
        data=data, artifact="label anomalies", labels=out.name, total=document["total"],
    ))
    if table is not None and frame is not None:
        from levelsets.softlabels.crowd import write_table

        write_table(table, frame)
        write_sidecar(table, provenance(
            data=data, artifact="crowd-kit table (task, worker, label = most probable class)", rows=len(frame),
        ))
    return BuildResult(
        path=out,
        num_examples=len(labels),
        num_labels=int(sum(len(v) for v in labels.per_annotator.values())),
        variety=settings.variety,
        gamma=settings.gamma,
        anomalies_path=side,
        anomaly_counts={k: v for k, v in document["counts"].items() if v},
        aggregate=aggregate,
        unreliable=tuple(crowd.unreliable) if crowd else (),
        num_workers=len(crowd.workers) if crowd else 0,
        unreliable_below=threshold if crowd else None,
        table_path=table,
        repeats_dropped=int(frame.attrs.get("repeats_dropped", 0)) if frame is not None else 0,
    )
