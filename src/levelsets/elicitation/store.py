"""The study's responses and participants in the response database (:mod:`levelsets.elicitation.database`).

**Assignment and leases.** A new participant gets the batch held by the fewest participants
(among the newest round's batches in a live study, :mod:`levelsets.elicitation.study`),
where a participant holds their batch when they completed it or their lease is active (not
returned and ``lease_expires`` in the future); ties go to the lowest batch index. Every request of
a participant renews the lease to ``now + lease_seconds``; a participant marked returned, or
silent for longer than the lease, frees the batch for the next newcomer. A participant who comes
back later keeps their batch (their answers are tied to its trial positions) and holds it again.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from levelsets.elicitation.database import (
    SCHEMA,
    check_version,
    connect,
    is_unwritable,
    reading,
    write_transaction,
)
from levelsets.elicitation.manifest import StimulusSet
from levelsets.errors import LevelsetsError

DEFAULT_LEASE_SECONDS = 60 * 60.0
"""How long a participant holds a batch after their last request (``--lease-minutes 60``)."""

_PARTICIPANT_COLUMNS = ("id, batch, consented, completed, platform_study_id, platform_session_id, "
                        "lease_expires, returned, comprehension_passed, comprehension_attempts")


@dataclass(frozen=True)
class Participant:
    """A participant row: id, assigned batch, event times (or None), platform ids and lease."""

    id: str
    batch: int
    consented: float | None
    completed: float | None
    platform_study_id: str | None = None
    platform_session_id: str | None = None
    lease_expires: float | None = None
    returned: float | None = None
    comprehension_passed: float | None = None
    comprehension_attempts: int = 0


@dataclass(frozen=True)
class Stored:
    """Outcome of :meth:`ResponseStore.record_answer` (committed when returned)."""

    stored: bool
    answered: list[int]
    completed: bool


def appended_only(before: StimulusSet, after: StimulusSet) -> str | None:
    """Why ``after`` is not ``before`` plus appended stimuli and batches (None when it is)."""
    if list(before.class_names) != list(after.class_names):
        return "other class names"
    for sid, record in before.stimuli.items():
        if after.stimuli.get(sid) != record:
            return f"stimulus {sid} is gone or different"
    if after.batches[: len(before.batches)] != before.batches:
        return "an existing batch is gone or different"
    return None


class AnswerConflict(Exception):
    """A trial already has a stored answer that differs from the one submitted."""

    def __init__(self, trial: int) -> None:
        super().__init__(f"trial {trial} already has a different stored answer")
        self.trial = trial


class ResponseStore:
    """Responses of one study in one SQLite file.

    Parameters
    ----------
    path:
        The database file (created with its schema when missing).
    stimuli:
        The stimulus set being served; the database is tied to its study id, and opening it
        checks that it can be written. ``None`` opens an existing database for exports.
    lease_seconds:
        How long a participant holds their batch after their last request.
    clock:
        Current time in Unix seconds (tests inject a fake one).
    settings:
        What to record with this start in ``server_starts``.

    Raises
    ------
    LevelsetsError
        When the file is missing (exports), not a levelsets database, of another study, of an
        unknown schema version, or cannot be written (serving).
    """

    def __init__(self, path: str | Path, stimuli: StimulusSet | None = None, *,
                 lease_seconds: float = DEFAULT_LEASE_SECONDS, clock: Callable[[], float] = time.time,
                 settings: dict | None = None) -> None:
        self.path = Path(path).expanduser()
        self.lease_seconds = float(lease_seconds)
        self.clock = clock
        if not self.lease_seconds > 0:
            raise LevelsetsError(f"the lease must be positive, got {lease_seconds} s; give --lease-minutes above 0")
        if stimuli is None:
            if not self.path.is_file():
                raise LevelsetsError(f"--db {self.path} does not exist; give the database `levelsets elicit serve` wrote")
        else:
            parent = self.path.parent
            if not parent.is_dir():
                raise LevelsetsError(f"--db {self.path}: directory {parent} does not exist; create it or choose another path")
        try:
            with closing(connect(self.path)) as con:
                if stimuli is not None:
                    con.execute("PRAGMA journal_mode=WAL")
                    con.executescript(SCHEMA)
                    check_version(con, self.path, create=True)
                    self._bind_study(con, stimuli)
                    con.execute("BEGIN IMMEDIATE")
                    con.execute("INSERT INTO server_starts (started, settings) VALUES (?, ?)",
                                (self.clock(), json.dumps(settings or {}, sort_keys=True)))
                    con.execute("COMMIT")
                else:
                    check_version(con, self.path, create=False)
                row = con.execute("SELECT stimulus_set FROM study").fetchone()
        except sqlite3.DatabaseError as exc:
            if stimuli is not None and is_unwritable(exc):
                raise LevelsetsError(
                    f"--db {self.path} cannot be written ({exc}); make the file and its directory writable "
                    "by this user, or choose another --db"
                ) from None
            raise LevelsetsError(f"--db {self.path} is not a levelsets response database ({exc})") from None
        if row is None:
            raise LevelsetsError(f"--db {self.path} holds no study; it was not written by `levelsets elicit serve`")
        self.stimuli = stimuli or StimulusSet.from_dict(json.loads(row[0]))

    def _bind_study(self, con: sqlite3.Connection, stimuli: StimulusSet) -> None:
        row = con.execute("SELECT study_id, stimulus_set FROM study").fetchone()
        if row is None:
            con.execute(
                "INSERT INTO study (study_id, stimulus_set, created) VALUES (?, ?, ?)",
                (stimuli.study_id, json.dumps(stimuli.to_dict()), self.clock()),
            )
        elif row[0] != stimuli.study_id:
            raise LevelsetsError(
                f"--db {self.path} belongs to study {row[0]}, but the stimulus directory is study "
                f"{stimuli.study_id}; use a new --db for a new stimulus set"
            )
        elif any("round" in batch for batch in stimuli.batches):  # a live study may have gained rounds
            self._take_up(con, StimulusSet.from_dict(json.loads(row[1])), stimuli)

    def _take_up(self, con: sqlite3.Connection, before: StimulusSet, after: StimulusSet) -> None:
        """Record ``after`` in the database when it only appends rounds to ``before`` (else raise)."""
        if before.to_dict() == after.to_dict():
            return
        problem = appended_only(before, after)
        if problem:
            raise LevelsetsError(f"--db {self.path}: the study's stimuli changed ({problem}); rounds may only be added")
        con.execute("UPDATE study SET stimulus_set = ?", (json.dumps(after.to_dict()),))

    def extend(self, stimuli: StimulusSet) -> None:
        """Take up a live study's new rounds (one transaction); the served set becomes ``stimuli``.

        Raises
        ------
        LevelsetsError
            When ``stimuli`` is another study, or does not keep every stimulus and batch already
            recorded unchanged (and in place).
        """
        if stimuli.study_id != self.stimuli.study_id:
            raise LevelsetsError(f"study {stimuli.study_id} is not the served study {self.stimuli.study_id}")
        with write_transaction(self.path) as con:
            (stored,) = con.execute("SELECT stimulus_set FROM study").fetchone()
            self._take_up(con, StimulusSet.from_dict(json.loads(stored)), stimuli)
        self.stimuli = stimuli

    # participants -----------------------------------------------------------------------------
    def participant(self, participant_id: str) -> Participant | None:
        """Return the participant's row, or None for an unknown id (reads only)."""
        with reading(self.path) as con:
            row = con.execute(f"SELECT {_PARTICIPANT_COLUMNS} FROM participants WHERE id = ?", (participant_id,)).fetchone()
        return None if row is None else Participant(*row)

    def _holders(self, con: sqlite3.Connection, now: float) -> list[int]:
        """Per batch: participants who completed it or hold an active lease on it."""
        counts = [0] * len(self.stimuli.batches)
        for batch, n in con.execute(
            "SELECT batch, COUNT(*) FROM participants WHERE completed IS NOT NULL "
            "OR (returned IS NULL AND lease_expires > ?) GROUP BY batch", (now,)
        ):
            counts[batch] = n
        return counts

    def batch_load(self) -> list[dict]:
        """Per batch: ``completed`` and ``leased`` (active, not completed) participants."""
        now = self.clock()
        out = [{"batch": b, "completed": 0, "leased": 0} for b in range(len(self.stimuli.batches))]
        with reading(self.path) as con:
            for batch, completed, leased in con.execute(
                "SELECT batch, SUM(completed IS NOT NULL), "
                "SUM(completed IS NULL AND returned IS NULL AND lease_expires > ?) FROM participants GROUP BY batch",
                (now,),
            ):
                out[batch]["completed"], out[batch]["leased"] = int(completed), int(leased)
        return out

    def _renew(self, con: sqlite3.Connection, participant_id: str, now: float) -> None:
        con.execute("UPDATE participants SET lease_expires = ?, returned = NULL WHERE id = ? AND completed IS NULL",
                    (now + self.lease_seconds, participant_id))

    def open_session(self, participant_id: str, *, platform_study_id: str | None = None,
                     platform_session_id: str | None = None) -> Participant:
        """Return the participant, assigning a batch on the first visit and renewing the lease.

        A new participant gets the batch with the fewest completed + actively leased
        participants (lowest index on ties), among the batches of the newest round of a live
        study (every batch otherwise). The platform's study and session ids, when given,
        are recorded (the latest on the participant, every distinct pair in ``platform_sessions``).
        """
        now = self.clock()
        with write_transaction(self.path) as con:
            exists = con.execute("SELECT 1 FROM participants WHERE id = ?", (participant_id,)).fetchone()
            if exists is None:
                holders = self._holders(con, now)
                batch = min(self.stimuli.assignable, key=lambda b: (holders[b], b))
                ordinal = con.execute("SELECT COUNT(*) FROM participants").fetchone()[0]
                con.execute(
                    "INSERT INTO participants (id, batch, ordinal, created, lease_expires) VALUES (?, ?, ?, ?, ?)",
                    (participant_id, batch, ordinal, now, now + self.lease_seconds),
                )
            else:
                self._renew(con, participant_id, now)
            if platform_study_id is not None or platform_session_id is not None:
                con.execute(
                    "UPDATE participants SET platform_study_id = COALESCE(?, platform_study_id), "
                    "platform_session_id = COALESCE(?, platform_session_id) WHERE id = ?",
                    (platform_study_id, platform_session_id, participant_id),
                )
                con.execute(
                    "INSERT INTO platform_sessions (participant, platform_study_id, platform_session_id, first_seen) "
                    "SELECT ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM platform_sessions WHERE participant = ? "
                    "AND platform_study_id IS ? AND platform_session_id IS ?)",
                    (participant_id, platform_study_id, platform_session_id, now,
                     participant_id, platform_study_id, platform_session_id),
                )
            row = con.execute(f"SELECT {_PARTICIPANT_COLUMNS} FROM participants WHERE id = ?", (participant_id,)).fetchone()
        return Participant(*row)

    def mark(self, participant_id: str, event: str) -> None:
        """Record ``event`` (``"consented"`` or ``"completed"``) once, at the current time; renew the lease."""
        if event not in ("consented", "completed"):
            raise ValueError(event)
        now = self.clock()
        with write_transaction(self.path) as con:
            self._renew(con, participant_id, now)
            con.execute(f"UPDATE participants SET {event} = COALESCE({event}, ?) WHERE id = ?", (now, participant_id))

    def record_comprehension(self, participant_id: str, answer: str, correct: bool) -> int:
        """Store one attempt at the comprehension question; return the number of attempts so far."""
        now = self.clock()
        with write_transaction(self.path) as con:
            self._renew(con, participant_id, now)
            (answers,) = con.execute("SELECT comprehension_answers FROM participants WHERE id = ?", (participant_id,)).fetchone()
            given = [*json.loads(answers), answer]
            con.execute(
                "UPDATE participants SET comprehension_answers = ?, comprehension_attempts = ?, "
                "comprehension_passed = COALESCE(comprehension_passed, ?) WHERE id = ?",
                (json.dumps(given), len(given), now if correct else None, participant_id),
            )
        return len(given)

    def release(self, participant_id: str) -> bool:
        """Mark the participant returned (their batch is free again); False when unknown or completed."""
        now = self.clock()
        with write_transaction(self.path) as con:
            cur = con.execute("UPDATE participants SET returned = ? WHERE id = ? AND completed IS NULL",
                              (now, participant_id))
            return cur.rowcount == 1

    # responses --------------------------------------------------------------------------------
    def record_answer(self, participant_id: str, stimulus: str, trial: int, kind: str, answer: dict,
                      rt_ms: float, *, trials_in_batch: int) -> Stored:
        """Store one answer, renew the lease and mark completion, all in one transaction.

        Returns
        -------
        Stored
            ``stored`` is False when the same answer to this trial was already stored (a retry);
            ``answered`` the trial positions stored; ``completed`` whether the batch is done. The
            transaction is committed when this returns.

        Raises
        ------
        AnswerConflict
            When this trial already holds a different answer (nothing is changed).
        """
        now = self.clock()
        encoded = json.dumps(answer, sort_keys=True)
        with write_transaction(self.path) as con:
            cur = con.execute(
                "INSERT INTO responses (participant, stimulus, trial, kind, answer, rt_ms, received) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (participant, stimulus, trial) DO NOTHING",
                (participant_id, stimulus, trial, kind, encoded, float(rt_ms), now),
            )
            stored = cur.rowcount == 1
            if not stored:
                (before,) = con.execute(
                    "SELECT answer FROM responses WHERE participant = ? AND stimulus = ? AND trial = ?",
                    (participant_id, stimulus, trial),
                ).fetchone()
                if before != encoded:
                    raise AnswerConflict(trial)
            self._renew(con, participant_id, now)
            answered = [r[0] for r in con.execute(
                "SELECT trial FROM responses WHERE participant = ? ORDER BY trial", (participant_id,))]
            completed = len(set(answered)) >= trials_in_batch
            if completed:
                con.execute("UPDATE participants SET completed = COALESCE(completed, ?) WHERE id = ?", (now, participant_id))
        return Stored(stored=stored, answered=answered, completed=completed)

    def answered_trials(self, participant_id: str) -> list[int]:
        """Trial positions the participant has answered, ascending."""
        with reading(self.path) as con:
            rows = con.execute("SELECT trial FROM responses WHERE participant = ? ORDER BY trial", (participant_id,)).fetchall()
        return [r[0] for r in rows]

    def responses(self) -> list[dict]:
        """Every stored response, in the order received."""
        with reading(self.path) as con:
            rows = con.execute(
                "SELECT participant, stimulus, trial, kind, answer, rt_ms, received FROM responses ORDER BY id"
            ).fetchall()
        return [
            {"participant": p, "stimulus": s, "trial": t, "kind": k, "answer": json.loads(a), "rt_ms": rt, "received": rec}
            for p, s, t, k, a, rt, rec in rows
        ]

    def participants(self) -> list[dict]:
        """Every participant in order of arrival: batch, times, platform ids, lease status, checks, responses.

        ``status`` is ``"completed"``, ``"returned"``, ``"active"`` (lease running) or
        ``"expired"``; ``platform_sessions`` lists every (``STUDY_ID``, ``SESSION_ID``) seen.
        """
        now = self.clock()
        with reading(self.path) as con:
            rows = con.execute(
                "SELECT p.id, p.batch, p.created, p.consented, p.completed, p.platform_study_id, p.platform_session_id, "
                "p.lease_expires, p.returned, p.comprehension_attempts, p.comprehension_answers, p.comprehension_passed, "
                "(SELECT COUNT(*) FROM responses r WHERE r.participant = p.id) FROM participants p ORDER BY p.ordinal"
            ).fetchall()
            seen: dict[str, list[dict]] = {}
            for pid, study, session, first in con.execute(
                "SELECT participant, platform_study_id, platform_session_id, first_seen FROM platform_sessions ORDER BY rowid"
            ):
                seen.setdefault(pid, []).append({"study_id": study, "session_id": session, "first_seen": first})
        out = []
        for (pid, batch, created, consented, completed, study, session, expires, returned,
             attempts, answers, passed, n) in rows:
            if completed is not None:
                status = "completed"
            elif returned is not None:
                status = "returned"
            else:
                status = "active" if expires is not None and expires > now else "expired"
            out.append({
                "id": pid, "batch": batch, "created": created, "consented": consented, "completed": completed,
                "responses": n, "platform_study_id": study, "platform_session_id": session,
                "platform_sessions": seen.get(pid, []), "status": status, "lease_expires": expires,
                "returned": returned, "comprehension_attempts": attempts,
                "comprehension_answers": json.loads(answers), "comprehension_passed": passed,
            })
        return out

    def responders_per_stimulus(self) -> dict[str, int]:
        """Stimulus id → number of distinct participants who answered it (repeats count once)."""
        with reading(self.path) as con:
            return {sid: n for sid, n in con.execute(
                "SELECT stimulus, COUNT(DISTINCT participant) FROM responses GROUP BY stimulus")}

    def counts_per_stimulus(self) -> dict[str, int]:
        """Stimulus id → number of stored responses (every stimulus listed, zeros included)."""
        counts = dict.fromkeys(self.stimuli.stimuli, 0)
        with reading(self.path) as con:
            for sid, n in con.execute("SELECT stimulus, COUNT(*) FROM responses GROUP BY stimulus"):
                counts[sid] = n
        return counts
