"""The response database file (levelsets.elicitation.database): WAL, schema version, study binding, upgrade."""

import json
import sqlite3

import pytest

from levelsets.elicitation.app import create_app
from levelsets.elicitation.database import SCHEMA_VERSION
from levelsets.errors import LevelsetsError

from .study_clients import open_client, rows, session


def test_database_schema_wal_and_study_binding(client, db, runs, tmp_path):
    session(client, "hank")
    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert con.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
    finally:
        con.close()
    from levelsets.elicitation.stimuli import StimuliSettings, export_stimuli

    other = export_stimuli(runs, tmp_path / "other", StimuliSettings(size=8, seed=99), progress=False)
    with pytest.raises(LevelsetsError, match="belongs to study"):
        create_app(other, db)
    not_db = tmp_path / "junk.sqlite"
    not_db.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(LevelsetsError, match="not a levelsets response database"):
        create_app(other, not_db)
    with pytest.raises(LevelsetsError, match="does not exist"):
        create_app(other, tmp_path / "missing-dir" / "r.sqlite")


V1_SCHEMA = """
CREATE TABLE schema_version (version INTEGER NOT NULL);
CREATE TABLE study (study_id TEXT PRIMARY KEY, stimulus_set TEXT NOT NULL, created REAL NOT NULL);
CREATE TABLE participants (id TEXT PRIMARY KEY, batch INTEGER NOT NULL, ordinal INTEGER NOT NULL UNIQUE,
    created REAL NOT NULL, consented REAL, completed REAL);
CREATE TABLE responses (id INTEGER PRIMARY KEY AUTOINCREMENT, participant TEXT NOT NULL REFERENCES participants(id),
    stimulus TEXT NOT NULL, trial INTEGER NOT NULL, kind TEXT NOT NULL, answer TEXT NOT NULL, rt_ms REAL NOT NULL,
    received REAL NOT NULL, UNIQUE (participant, stimulus, trial));
"""


def test_version_1_database_is_upgraded(stimuli_dir, tmp_path):
    from levelsets.elicitation.manifest import load_stimuli

    stimuli = load_stimuli(stimuli_dir)
    db = tmp_path / "v1.sqlite"
    con = sqlite3.connect(db)
    con.executescript(V1_SCHEMA)
    con.execute("INSERT INTO schema_version VALUES (1)")
    con.execute("INSERT INTO study VALUES (?, ?, 0)", (stimuli.study_id, json.dumps(stimuli.to_dict())))
    con.execute("INSERT INTO participants VALUES ('old', 0, 0, 0, 1, NULL)")
    con.commit()
    con.close()
    with open_client(stimuli_dir, db) as client:
        assert session(client, "old")["batch"] == 0 and session(client, "new")["batch"] == 1
    assert rows(db, "SELECT version FROM schema_version") == [(2,)]
    assert rows(db, "SELECT id, consented, platform_session_id FROM participants ORDER BY ordinal") == [
        ("old", 1.0, None), ("new", None, None)]


def test_check_version_stamps_new_files_and_refuses_other_versions(tmp_path):
    from levelsets.elicitation.database import SCHEMA, check_version, connect

    new = tmp_path / "new.sqlite"
    con = connect(new)
    con.executescript(SCHEMA)
    check_version(con, new, create=True)
    assert con.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
    check_version(con, new, create=False)  # the current version passes
    con.execute("UPDATE schema_version SET version = 99")
    with pytest.raises(LevelsetsError) as exc:
        check_version(con, new, create=False)
    assert str(exc.value) == (f"--db {new} has schema version 99, this levelsets reads {SCHEMA_VERSION}; "
                              "use the levelsets version that wrote it or start a new database")
    con.close()
    other = tmp_path / "other.sqlite"
    con = connect(other)
    con.execute("CREATE TABLE notes (text TEXT)")
    with pytest.raises(LevelsetsError, match="is not a levelsets response database .no schema_version table."):
        check_version(con, other, create=False)
    con.close()


def test_a_write_transaction_commits_on_exit_and_rolls_back_on_error(tmp_path):
    from levelsets.elicitation.database import connect, reading, write_transaction

    path = tmp_path / "t.sqlite"
    with write_transaction(path) as con:
        con.execute("CREATE TABLE t (x INTEGER)")
        con.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(RuntimeError):
        with write_transaction(path) as con:
            con.execute("INSERT INTO t VALUES (2)")
            raise RuntimeError("mid-transaction failure")
    with reading(path) as con:
        assert con.execute("SELECT x FROM t").fetchall() == [(1,)]
        assert con.execute("PRAGMA foreign_keys").fetchone() == (1,)
        assert con.execute("PRAGMA busy_timeout").fetchone() == (30000,)
    con = connect(path)
    assert con.isolation_level is None  # autocommit: transactions are explicit
    con.close()


def test_unwritable_errors_are_recognized():
    from levelsets.elicitation.database import is_unwritable

    assert is_unwritable(sqlite3.OperationalError("attempt to write a readonly database"))
    assert is_unwritable(sqlite3.OperationalError("unable to open database file"))
    assert is_unwritable(sqlite3.OperationalError("disk I/O error"))
    assert not is_unwritable(sqlite3.OperationalError("no such table: responses"))
    assert not is_unwritable(sqlite3.IntegrityError("UNIQUE constraint failed"))
