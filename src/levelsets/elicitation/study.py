r"""A *live study*: a study directory that gains rounds of stimuli while the server runs.

``levelsets loop --labeler elicited --study DIR`` writes one round of stimuli per loop round into
``DIR``; ``levelsets elicit serve DIR`` serves every round so far and picks up new ones without a
restart. A study directory holds

``study.json``
    ``format`` (``"levelsets-study/1"``), ``study_id`` (fixed when the study is created: the
    response database is tied to it), ``class_names`` (K,), and ``rounds``: one record per round
    with ``round`` (1, 2, ...), ``stimuli`` (the round's stimulus directory, relative to ``DIR``),
    ``export_study_id`` (that directory's own content hash) and counts. It is rewritten atomically
    (temporary file, then rename) *after* the round's directory is complete, so a reader sees
    either the old rounds or the old rounds plus a complete new one.
``provenance.json``
    how the study was made (versions, rounds so far), rewritten with each round.
``round_<NNN>/``
    the round's ``sources/`` (the chosen samples as sample runs, which the stimuli's manifest
    points to) and ``stimuli/`` (an ordinary ``levelsets stimuli export`` directory).

**Merged view.** :func:`load_study` returns one :class:`~levelsets.elicitation.manifest.StimulusSet`
over every round: stimulus ids are unique across rounds (the loop names each round's source runs
``r<round>-<target>``, and ids start with the run name), image paths are relative to ``DIR``,
batches are the rounds' batches in round order, renumbered, each tagged with its ``round``.
Rounds are only ever *appended*: a batch index, once given to a participant, keeps meaning the
same trials, so a participant mid-batch is not disturbed when a round is added.

**Assignment.** Newcomers are assigned among the batches of the newest round only (balanced
and leased as before, :mod:`levelsets.elicitation.store`); participants who already hold a batch
of an earlier round keep it and may finish it, and their answers are stored and used.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from levelsets.errors import LevelsetsError

STUDY_FILE = "study.json"
STUDY_FORMAT = "levelsets-study/1"
ROUND_DIR = "round_{:03d}"
RECHECK_SECONDS = 1.0
"""How often (at most) the server looks at ``study.json`` for new rounds."""


def is_study(directory: str | Path) -> bool:
    """True when ``directory`` holds a ``study.json`` (a live study rather than one stimulus export)."""
    return (Path(directory) / STUDY_FILE).is_file()


def read_study(directory: str | Path) -> dict:
    """Read and check ``study.json`` of ``directory``.

    Raises
    ------
    LevelsetsError
        When it is missing, not JSON, of another format, or its rounds are not 1, 2, ... in order.
    """
    path = Path(directory) / STUDY_FILE
    if not path.is_file():
        raise LevelsetsError(f"{directory} has no {STUDY_FILE}; give a study directory written by `levelsets loop --study`")
    try:
        doc = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise LevelsetsError(f"{path} is not valid JSON ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != STUDY_FORMAT:
        raise LevelsetsError(f"{path} is not a {STUDY_FORMAT} file")
    rounds = doc.get("rounds")
    if not isinstance(rounds, list) or [r.get("round") if isinstance(r, dict) else None for r in rounds] != list(range(1, len(rounds) + 1)):
        raise LevelsetsError(f"{path}: rounds must be a list numbered 1, 2, ... in order")
    if not isinstance(doc.get("study_id"), str) or not isinstance(doc.get("class_names"), list):
        raise LevelsetsError(f"{path}: study_id or class_names missing")
    return doc


def load_study(directory: str | Path):
    """Merge every round of a study directory into one stimulus set (module docstring).

    Returns
    -------
    levelsets.elicitation.manifest.StimulusSet
        ``root`` = the study directory; ``study_id`` = the study's; ``runs`` = every round's run
        records (their ``name`` prefixed by nothing: the loop's run names already carry the round).

    Raises
    ------
    LevelsetsError
        A malformed ``study.json``, a round directory that is not a valid stimulus export, classes
        that differ from the study's, or a stimulus id used in two rounds.
    """
    from levelsets.elicitation.manifest import StimulusSet, load_stimuli

    root = Path(directory).expanduser().resolve()
    doc = read_study(root)
    if not doc["rounds"]:
        raise LevelsetsError(f"study {root} has no round yet; `levelsets loop --study {directory}` writes the first one")
    stimuli: dict[str, dict] = {}
    batches: list[dict] = []
    runs: list[dict] = []
    for record in doc["rounds"]:
        sub = (root / str(record["stimuli"])).resolve()
        if not sub.is_relative_to(root):
            raise LevelsetsError(f"{root / STUDY_FILE}: round {record['round']} lies outside the study directory")
        part = load_stimuli(sub)
        if list(part.class_names) != list(doc["class_names"]):
            raise LevelsetsError(f"round {record['round']} of {root} has classes {', '.join(part.class_names)}, "
                                 f"the study {', '.join(doc['class_names'])}")
        prefix = sub.relative_to(root).as_posix()
        for sid, rec in part.stimuli.items():
            if sid in stimuli:
                raise LevelsetsError(f"stimulus id {sid!r} appears in two rounds of {root}; ids must be unique in a study")
            stimuli[sid] = {**rec, "file": f"{prefix}/{rec['file']}", "round": record["round"]}
        for batch in part.batches:
            batches.append({**batch, "batch": len(batches), "round": record["round"]})
        runs += [{**run, "round": record["round"]} for run in part.runs]
    return StimulusSet(root=root, study_id=doc["study_id"], class_names=tuple(doc["class_names"]),
                       stimuli=stimuli, batches=batches, runs=tuple(runs))


def add_round(directory: str | Path, round_number: int, write_round: Callable[[Path], None], *,
              class_names: tuple[str, ...]) -> Path:
    """Append round ``round_number`` to the study in ``directory`` (created when missing or empty).

    Parameters
    ----------
    directory:
        The study directory.
    round_number:
        Must be one more than the study's last round.
    write_round:
        Called with the new (not yet existing) ``round_<NNN>`` directory; must create it and
        write ``sources/`` and ``stimuli/`` there. Only after it returns is ``study.json``
        rewritten (atomically) to list the round.
    class_names:
        The K classes (a new study records them; an existing one must have the same).

    Returns
    -------
    Path
        The round's stimulus directory.
    """
    from levelsets.artifacts import provenance, write_json, write_sidecar
    from levelsets.elicitation.manifest import load_stimuli

    root = Path(directory).expanduser()
    if is_study(root):
        doc = read_study(root)
        if list(doc["class_names"]) != list(class_names):
            raise LevelsetsError(f"--study {root} is a study of {', '.join(doc['class_names'])}, not {', '.join(class_names)}")
    elif root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise LevelsetsError(f"--study {root} exists and is not a levelsets study; give a new or empty directory")
    else:
        root.mkdir(parents=True, exist_ok=True)
        doc = {"format": STUDY_FORMAT, "study_id": None, "class_names": list(class_names), "created": time.time(), "rounds": []}
    if round_number != len(doc["rounds"]) + 1:
        raise LevelsetsError(f"--study {root} holds {len(doc['rounds'])} rounds; cannot add round {round_number}")
    round_dir = root / ROUND_DIR.format(round_number)
    if round_dir.exists():
        raise LevelsetsError(f"{round_dir} exists but {STUDY_FILE} does not list it; remove it or use a new --study")
    write_round(round_dir)
    stimuli = load_stimuli(round_dir / "stimuli")
    if doc["study_id"] is None:
        doc["study_id"] = hashlib.sha256(f"levelsets-study|{stimuli.study_id}".encode()).hexdigest()[:16]
    doc["rounds"].append({
        "round": round_number, "stimuli": f"{round_dir.name}/stimuli", "export_study_id": stimuli.study_id,
        "stimuli_count": len(stimuli.stimuli), "batches": len(stimuli.batches), "added": time.time(),
    })
    write_json(root / STUDY_FILE, doc)
    write_sidecar(root, provenance(artifact="live elicitation study", study_id=doc["study_id"], rounds=len(doc["rounds"]),
                                   data={"rounds": [r["stimuli"] for r in doc["rounds"]]}))
    return round_dir / "stimuli"


class StudyWatcher:
    """Re-read a live study's ``study.json`` when it changes (at most every ``interval`` seconds).

    :meth:`refresh` is cheap when nothing changed (one ``stat`` per ``interval``); when the file
    changed it merges the study again and hands the new set to ``on_change`` (the response store,
    which checks that rounds were only appended and records the new set). Errors while reading a
    study that is being changed are retried at the next check; the old set stays in use.
    """

    def __init__(self, directory: str | Path, on_change: Callable[[object], None], *,
                 interval: float = RECHECK_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self.path = Path(directory).expanduser().resolve() / STUDY_FILE
        self.on_change = on_change
        self.interval = float(interval)
        self.clock = clock
        self._lock = threading.Lock()
        self._checked = clock()
        self._signature = self._stat()
        self.last_error: str | None = None

    def _stat(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def refresh(self, *, force: bool = False) -> bool:
        """Check for new rounds; return True when a new set was taken up."""
        now = self.clock()
        if not force and now - self._checked < self.interval:
            return False
        with self._lock:
            if not force and now - self._checked < self.interval:
                return False
            self._checked = now
            signature = self._stat()
            if signature == self._signature:
                return False
            try:
                merged = load_study(self.path.parent)
                self.on_change(merged)
            except LevelsetsError as exc:
                self.last_error = str(exc)
                return False
            self._signature = signature
            self.last_error = None
            return True
