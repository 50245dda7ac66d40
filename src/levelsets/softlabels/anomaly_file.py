"""The anomaly file beside a soft-label file: the published-data anomalies a build accepted.

``levelsets labels build`` also writes ``<stem>.anomalies.json`` (+ its sidecar) beside the
output: every published-data anomaly it accepted (example id, annotator index, annotator id when
known, kind, what was done), see :mod:`levelsets.softlabels.label_construction`.
"""

from __future__ import annotations

from pathlib import Path

from levelsets.softlabels.label_construction import ConstructionSettings, SoftLabelSet
from levelsets.softlabels.responses import ANOMALY_KINDS

ANOMALY_FORMAT = "levelsets-label-anomalies"


def anomalies_path(out: str | Path) -> Path:
    """Where the anomaly list of label file ``out`` goes: ``labels.json`` → ``labels.anomalies.json``."""
    out = Path(out)
    return out.with_name(f"{out.stem}.anomalies.json")


def anomalies_document(labels: SoftLabelSet, *, responses: str, strict: bool, annotators: dict | None) -> dict:
    """The anomaly file's JSON: counts per kind and one row per anomaly."""
    rows = [
        {
            "example": a.example,
            "annotator": a.annotator,
            "worker": annotators[a.example][a.annotator] if annotators else None,
            "kind": a.kind,
            "what": a.what,
        }
        for a in labels.anomalies
    ]
    settings = labels.settings or ConstructionSettings()
    return {
        "format": ANOMALY_FORMAT,
        "format_version": 1,
        "responses": responses,
        "variety": settings.variety,
        "gamma": settings.gamma,
        "strict": strict,
        "total": len(rows),
        "counts": {kind: sum(r["kind"] == kind for r in rows) for kind in ANOMALY_KINDS},
        "columns": ["example", "annotator", "worker", "kind", "what"],
        "anomalies": rows,
    }
