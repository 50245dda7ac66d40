"""The response database: SQLite (standard library) in WAL mode.

Tables (schema version :data:`SCHEMA_VERSION`, recorded in ``schema_version``):

``study``
    one row: the study id and the stimulus set as JSON (so an export needs only the database).
``participants``
    ``id`` (as given by the platform or generated), ``batch`` (assigned round-robin on first
    visit), ``created``, ``consented``, ``completed`` (Unix seconds, null until it happens).
``responses``
    one row per trial answer: ``participant``, ``stimulus``, ``trial`` (position in the batch),
    ``kind``, ``answer`` (JSON), ``rt_ms`` (reaction time), ``received``; UNIQUE on
    (participant, stimulus, trial), so a retried submission is stored once.

Each write is one ``BEGIN IMMEDIATE`` transaction on its own connection; WAL lets readers run
beside the writer. A commit is on disk before the server answers, so killing the server loses
nothing that was acknowledged.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from levelsets.elicitation.manifest import StimulusSet
from levelsets.errors import LevelsetsError

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS study (
    study_id TEXT PRIMARY KEY,
    stimulus_set TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS participants (
    id TEXT PRIMARY KEY,
    batch INTEGER NOT NULL,
    ordinal INTEGER NOT NULL UNIQUE,
    created REAL NOT NULL,
    consented REAL,
    completed REAL
);
CREATE TABLE IF NOT EXISTS responses (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    participant TEXT NOT NULL REFERENCES participants(id),
    stimulus TEXT NOT NULL,
    trial INTEGER NOT NULL,
    kind TEXT NOT NULL,
    answer TEXT NOT NULL,
    rt_ms REAL NOT NULL,
    received REAL NOT NULL,
    UNIQUE (participant, stimulus, trial)
);
"""


@dataclass(frozen=True)
class Participant:
    """A participant row: id, assigned batch, and consent / completion times (or None)."""

    id: str
    batch: int
    consented: float | None
    completed: float | None


class ResponseStore:
    """Responses of one study in one SQLite file.

    Parameters
    ----------
    path:
        The database file (created with its schema when missing).
    stimuli:
        The stimulus set being served; the database is tied to its study id. ``None`` opens an
        existing database read-only for exports.
    """

    def __init__(self, path: str | Path, stimuli: StimulusSet | None = None) -> None:
        self.path = Path(path).expanduser()
        if stimuli is None:
            if not self.path.is_file():
                raise LevelsetsError(f"--db {self.path} does not exist; give the database `levelsets elicit serve` wrote")
        else:
            parent = self.path.parent
            if not parent.is_dir():
                raise LevelsetsError(f"--db {self.path}: directory {parent} does not exist; create it or choose another path")
        try:
            with closing(self._connect()) as con:
                if stimuli is not None:
                    con.execute("PRAGMA journal_mode=WAL")
                    con.executescript(_SCHEMA)
                    self._check_version(con, create=True)
                    self._bind_study(con, stimuli)
                else:
                    self._check_version(con, create=False)
                row = con.execute("SELECT stimulus_set FROM study").fetchone()
        except sqlite3.DatabaseError as exc:
            raise LevelsetsError(f"--db {self.path} is not a levelsets response database ({exc})") from None
        if row is None:
            raise LevelsetsError(f"--db {self.path} holds no study; it was not written by `levelsets elicit serve`")
        self.stimuli = stimuli or StimulusSet.from_dict(json.loads(row[0]))

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
        con.execute("PRAGMA busy_timeout=30000")
        con.execute("PRAGMA synchronous=NORMAL")
        con.execute("PRAGMA foreign_keys=ON")
        return con

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with closing(self._connect()) as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with closing(self._connect()) as con:
            yield con

    def _check_version(self, con: sqlite3.Connection, *, create: bool) -> None:
        try:
            row = con.execute("SELECT version FROM schema_version").fetchone()
        except sqlite3.OperationalError:
            row = None
            if not create:
                raise LevelsetsError(f"--db {self.path} is not a levelsets response database (no schema_version table)") from None
        if row is None and create:
            con.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
        elif row is None or row[0] != SCHEMA_VERSION:
            found = None if row is None else row[0]
            raise LevelsetsError(
                f"--db {self.path} has schema version {found}, this levelsets reads {SCHEMA_VERSION}; "
                "use the levelsets version that wrote it or start a new database"
            )

    def _bind_study(self, con: sqlite3.Connection, stimuli: StimulusSet) -> None:
        row = con.execute("SELECT study_id FROM study").fetchone()
        if row is None:
            con.execute(
                "INSERT INTO study (study_id, stimulus_set, created) VALUES (?, ?, ?)",
                (stimuli.study_id, json.dumps(stimuli.to_dict()), time.time()),
            )
        elif row[0] != stimuli.study_id:
            raise LevelsetsError(
                f"--db {self.path} belongs to study {row[0]}, but the stimulus directory is study "
                f"{stimuli.study_id}; use a new --db for a new stimulus set"
            )

    # participants -----------------------------------------------------------------------------
    def participant(self, participant_id: str, *, create: bool = True) -> Participant | None:
        """Return the participant's row, assigning the next batch (round-robin) on first visit."""
        with self._read() as con:
            row = con.execute(
                "SELECT id, batch, consented, completed FROM participants WHERE id = ?", (participant_id,)
            ).fetchone()
        if row is not None or not create:
            return None if row is None else Participant(*row)
        with self._write() as con:
            row = con.execute(
                "SELECT id, batch, consented, completed FROM participants WHERE id = ?", (participant_id,)
            ).fetchone()
            if row is None and create:
                ordinal = con.execute("SELECT COUNT(*) FROM participants").fetchone()[0]
                batch = ordinal % len(self.stimuli.batches)
                con.execute(
                    "INSERT INTO participants (id, batch, ordinal, created) VALUES (?, ?, ?, ?)",
                    (participant_id, batch, ordinal, time.time()),
                )
                row = (participant_id, batch, None, None)
        return None if row is None else Participant(*row)

    def mark(self, participant_id: str, event: str) -> None:
        """Record ``event`` (``"consented"`` or ``"completed"``) once, at the current time."""
        if event not in ("consented", "completed"):
            raise ValueError(event)
        with self._write() as con:
            con.execute(f"UPDATE participants SET {event} = COALESCE({event}, ?) WHERE id = ?", (time.time(), participant_id))

    # responses --------------------------------------------------------------------------------
    def add_response(self, participant_id: str, stimulus: str, trial: int, kind: str, answer: dict,
                     rt_ms: float) -> bool:
        """Store one answer in one transaction; False when this (participant, stimulus, trial) exists."""
        with self._write() as con:
            cur = con.execute(
                "INSERT INTO responses (participant, stimulus, trial, kind, answer, rt_ms, received) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (participant, stimulus, trial) DO NOTHING",
                (participant_id, stimulus, trial, kind, json.dumps(answer, sort_keys=True), float(rt_ms), time.time()),
            )
            return cur.rowcount == 1

    def answered_trials(self, participant_id: str) -> list[int]:
        """Trial positions the participant has answered, ascending."""
        with self._read() as con:
            rows = con.execute("SELECT trial FROM responses WHERE participant = ? ORDER BY trial", (participant_id,)).fetchall()
        return [r[0] for r in rows]

    def responses(self) -> list[dict]:
        """Every stored response, in the order received."""
        with self._read() as con:
            rows = con.execute(
                "SELECT participant, stimulus, trial, kind, answer, rt_ms, received FROM responses ORDER BY id"
            ).fetchall()
        return [
            {"participant": p, "stimulus": s, "trial": t, "kind": k, "answer": json.loads(a), "rt_ms": rt, "received": rec}
            for p, s, t, k, a, rt, rec in rows
        ]

    def participants(self) -> list[dict]:
        """Every participant with batch, times and number of responses, in order of arrival."""
        with self._read() as con:
            rows = con.execute(
                "SELECT p.id, p.batch, p.created, p.consented, p.completed, COUNT(r.id) FROM participants p "
                "LEFT JOIN responses r ON r.participant = p.id GROUP BY p.id ORDER BY p.ordinal"
            ).fetchall()
        return [
            {"id": i, "batch": b, "created": c, "consented": con_, "completed": done, "responses": n}
            for i, b, c, con_, done, n in rows
        ]

    def counts_per_stimulus(self) -> dict[str, int]:
        """Stimulus id → number of stored responses (every stimulus listed, zeros included)."""
        counts = dict.fromkeys(self.stimuli.stimuli, 0)
        with self._read() as con:
            for sid, n in con.execute("SELECT stimulus, COUNT(*) FROM responses GROUP BY stimulus"):
                counts[sid] = n
        return counts
