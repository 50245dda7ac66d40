"""The response database file: SQLite (standard library) in WAL mode, its schema and its versions.

Tables (schema version :data:`SCHEMA_VERSION`, recorded in ``schema_version``; a version-1
database is upgraded in place when opened):

``study``
    one row: the study id and the stimulus set as JSON (so an export needs only the database).
``participants``
    ``id`` (as given by the platform or generated), ``batch`` (assigned on first visit, see
    below), ``created``, ``consented``, ``completed`` (Unix seconds, null until it happens);
    ``platform_study_id`` / ``platform_session_id`` (the platform's ``STUDY_ID`` and
    ``SESSION_ID`` of the latest visit); the lease: ``lease_expires`` and ``returned``; and the
    comprehension check: ``comprehension_attempts``, ``comprehension_answers`` (JSON list of the
    option ids given), ``comprehension_passed`` (time, or null).
``platform_sessions``
    every distinct (participant, ``STUDY_ID``, ``SESSION_ID``) seen, with when it was first seen.
``responses``
    one row per trial answer: ``participant``, ``stimulus``, ``trial`` (position in the batch),
    ``kind``, ``answer`` (JSON), ``rt_ms`` (reaction time), ``received``; UNIQUE on
    (participant, stimulus, trial): a retried submission of the same answer is stored once, a
    *different* answer to a stored trial is refused (:class:`~levelsets.elicitation.store.AnswerConflict`).
``server_starts``
    one row per server start (the start also proves the database is writable).

Each write is one ``BEGIN IMMEDIATE`` transaction on its own connection; WAL lets readers run
beside the writer. A commit is on disk before the server answers, so killing the server loses
nothing that was acknowledged.

What the rows mean and how they are written: :class:`levelsets.elicitation.store.ResponseStore`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from levelsets.errors import LevelsetsError

SCHEMA_VERSION = 2

SCHEMA = """
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
    completed REAL,
    platform_study_id TEXT,
    platform_session_id TEXT,
    lease_expires REAL,
    returned REAL,
    comprehension_attempts INTEGER NOT NULL DEFAULT 0,
    comprehension_answers TEXT NOT NULL DEFAULT '[]',
    comprehension_passed REAL
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

PLATFORM_SESSIONS = """CREATE TABLE IF NOT EXISTS platform_sessions (
    participant TEXT NOT NULL REFERENCES participants(id),
    platform_study_id TEXT,
    platform_session_id TEXT,
    first_seen REAL NOT NULL,
    UNIQUE (participant, platform_study_id, platform_session_id)
)"""

SERVER_STARTS = "CREATE TABLE IF NOT EXISTS server_starts (started REAL NOT NULL, settings TEXT NOT NULL)"

SCHEMA = f"{SCHEMA}{PLATFORM_SESSIONS};\n{SERVER_STARTS};\n"

V1_TO_V2 = (
    "ALTER TABLE participants ADD COLUMN platform_study_id TEXT",
    "ALTER TABLE participants ADD COLUMN platform_session_id TEXT",
    "ALTER TABLE participants ADD COLUMN lease_expires REAL",
    "ALTER TABLE participants ADD COLUMN returned REAL",
    "ALTER TABLE participants ADD COLUMN comprehension_attempts INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE participants ADD COLUMN comprehension_answers TEXT NOT NULL DEFAULT '[]'",
    "ALTER TABLE participants ADD COLUMN comprehension_passed REAL",
)


def connect(path: Path) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), 30 s busy timeout, foreign keys on."""
    con = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
    con.execute("PRAGMA busy_timeout=30000")
    con.execute("PRAGMA synchronous=NORMAL")
    con.execute("PRAGMA foreign_keys=ON")
    return con


@contextmanager
def write_transaction(path: Path) -> Iterator[sqlite3.Connection]:
    """One ``BEGIN IMMEDIATE`` transaction on its own connection: committed on exit, rolled back on error."""
    with closing(connect(path)) as con:
        con.execute("BEGIN IMMEDIATE")
        try:
            yield con
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")


@contextmanager
def reading(path: Path) -> Iterator[sqlite3.Connection]:
    """A connection for reads (WAL lets it run beside the writer), closed on exit."""
    with closing(connect(path)) as con:
        yield con


def check_version(con: sqlite3.Connection, path: Path, *, create: bool) -> None:
    """Check (``create``: stamp a new file with) :data:`SCHEMA_VERSION`; upgrade a version-1 file in place.

    Raises
    ------
    LevelsetsError
        When the file has no version table (and ``create`` is False) or another version.
    """
    try:
        row = con.execute("SELECT version FROM schema_version").fetchone()
    except sqlite3.OperationalError:
        row = None
        if not create:
            raise LevelsetsError(f"--db {path} is not a levelsets response database (no schema_version table)") from None
    if row is None and create:
        con.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
    elif row is not None and row[0] == 1:
        upgrade_from_v1(con)
    elif row is None or row[0] != SCHEMA_VERSION:
        found = None if row is None else row[0]
        raise LevelsetsError(
            f"--db {path} has schema version {found}, this levelsets reads {SCHEMA_VERSION}; "
            "use the levelsets version that wrote it or start a new database"
        )


def upgrade_from_v1(con: sqlite3.Connection) -> None:
    """Add the platform, lease and comprehension columns and tables of version 2 (one transaction)."""
    con.execute("BEGIN IMMEDIATE")
    try:
        if con.execute("SELECT version FROM schema_version").fetchone()[0] == 1:
            for statement in V1_TO_V2:
                con.execute(statement)
            con.execute(PLATFORM_SESSIONS)
            con.execute(SERVER_STARTS)
            con.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION,))
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def is_unwritable(exc: sqlite3.Error) -> bool:
    """Whether an SQLite error says the file or its directory cannot be written."""
    text = str(exc).lower()
    return any(s in text for s in ("readonly", "read-only", "unable to open", "disk i/o", "permission"))
