"""The review store's schema: the ordered migrations and how they run.

``PRAGMA user_version`` holds how many migrations have run; :func:`migrate` runs the missing ones
in one ``BEGIN IMMEDIATE`` transaction and refuses a database written by a newer formcheck.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

from formcheck.errors import InputError

#: Ordered schema migrations; migration ``i`` (0-based) brings ``user_version`` from i to i+1.
MIGRATIONS: list[str] = [
    # 1: sets, reps, findings, append-only reviews
    """
    CREATE TABLE sets (
        id INTEGER PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,            -- resolved path of the result json
        json_path TEXT NOT NULL,
        base_dir TEXT NOT NULL,              -- folder holding the result files
        stem TEXT NOT NULL,
        video_name TEXT NOT NULL DEFAULT '',
        video_path TEXT NOT NULL DEFAULT '',
        athlete TEXT NOT NULL DEFAULT 'unassigned',
        athlete_source TEXT NOT NULL DEFAULT 'default',  -- see derive_athlete; 'edited'
        set_date TEXT NOT NULL DEFAULT '',   -- YYYY-MM-DD
        exercise TEXT NOT NULL,
        rep_count INTEGER NOT NULL,
        attempt_count INTEGER NOT NULL,
        fault_counts TEXT NOT NULL,          -- json {rule: n}
        camera_view TEXT NOT NULL DEFAULT '',
        camera_warning TEXT,
        created_utc TEXT NOT NULL DEFAULT '',
        imported_utc TEXT NOT NULL,
        session_json TEXT NOT NULL
    );
    CREATE TABLE reps (
        id INTEGER PRIMARY KEY,
        set_id INTEGER NOT NULL REFERENCES sets(id) ON DELETE CASCADE,
        idx INTEGER NOT NULL,
        start_s REAL, top_start_s REAL, top_end_s REAL, end_s REAL,
        start_frame INTEGER, top_start_frame INTEGER, top_end_frame INTEGER, end_frame INTEGER,
        peak_angle_deg REAL, hold_s REAL, lowering_s REAL,
        faults TEXT NOT NULL DEFAULT '',     -- ';'-joined fault ids
        UNIQUE (set_id, idx)
    );
    CREATE TABLE findings (
        id INTEGER PRIMARY KEY,
        set_id INTEGER NOT NULL REFERENCES sets(id) ON DELETE CASCADE,
        rep_idx INTEGER NOT NULL,            -- 0 for set-level findings
        rule TEXT NOT NULL,
        severity TEXT NOT NULL,
        value REAL, unit TEXT, threshold REAL, comparison TEXT,
        time_s REAL, frame INTEGER,
        cue TEXT NOT NULL DEFAULT '', message TEXT NOT NULL DEFAULT '',
        present INTEGER NOT NULL DEFAULT 1,  -- 0: gone after a re-analysis (kept for reviews)
        UNIQUE (set_id, rep_idx, rule)
    );
    CREATE TABLE reviews (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        finding_id INTEGER NOT NULL REFERENCES findings(id) ON DELETE CASCADE,
        verdict TEXT NOT NULL CHECK (verdict IN ('agree', 'overrule', 'unsure')),
        note TEXT NOT NULL DEFAULT '',
        reviewer TEXT NOT NULL DEFAULT '',
        created_utc TEXT NOT NULL
    );
    CREATE INDEX reviews_finding ON reviews(finding_id, id);
    CREATE INDEX findings_set ON findings(set_id);
    CREATE INDEX reps_set ON reps(set_id);
    """,
    # 2: the result file's modification time (ns) and size when it was imported, so a rescan
    #    re-reads only new or changed files (NULL: imported before; read once more)
    """
    ALTER TABLE sets ADD COLUMN json_mtime_ns INTEGER;
    ALTER TABLE sets ADD COLUMN json_size INTEGER;
    """,
]


def migrate(con: sqlite3.Connection, path: Path, migrations: Sequence[str]) -> None:
    """Run the ``migrations`` this database has not run yet, all in one transaction."""
    con.execute("BEGIN IMMEDIATE")
    try:
        version = con.execute("PRAGMA user_version").fetchone()[0]
        if version > len(migrations):
            raise InputError(
                f"{path} was written by a newer formcheck (schema "
                f"{version}, this one knows {len(migrations)})"
            )
        for i in range(version, len(migrations)):
            for stmt in statements(migrations[i]):
                con.execute(stmt)
            con.execute(f"PRAGMA user_version={i + 1}")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def statements(script: str) -> list[str]:
    """Split an SQL script into statements (``;`` inside strings or comments is kept)."""
    out, buf = [], ""
    parts = script.split(";")
    for k, part in enumerate(parts):
        buf += part + (";" if k < len(parts) - 1 else "")
        if sqlite3.complete_statement(buf):
            if _strip_sql_comments(buf).strip(" \n\t;"):
                out.append(buf.strip())
            buf = ""
    if _strip_sql_comments(buf).strip():
        out.append(buf.strip())
    return out


def _strip_sql_comments(sql: str) -> str:
    return "\n".join(line.split("--", 1)[0] for line in sql.splitlines())
