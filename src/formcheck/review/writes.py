"""Writing the review store: one set's rows (set, reps, findings) inside a transaction, and
what a failing SQLite store becomes (:class:`StoreError`, one line for the user).

The writers here take an open connection; :class:`formcheck.review.store.Store` owns the
connections and transactions.
"""

from __future__ import annotations

import dataclasses
import os
import sqlite3
from typing import Any

from formcheck.core.session import Session
from formcheck.errors import FormcheckError
from formcheck.review.results import SetRecord


class StoreError(FormcheckError):
    """The review store cannot be used: locked by another program, corrupt, read-only, or its
    disk is full (the CLI prints it as one line and exits with 2; the app answers 503)."""


#: SQLite messages -> what they mean for the user.
_KINDS = (
    ("locked", "is locked by another program"),
    ("busy", "is locked by another program"),
    ("readonly", "is read-only"),
    ("read-only", "is read-only"),
    ("not a database", "is corrupt"),
    ("malformed", "is corrupt"),
    ("disk i/o", "cannot be read or written (disk I/O error)"),
    ("full", "is on a full disk"),
    ("unable to open", "cannot be opened"),
)


def store_error(exc: BaseException, path: str | os.PathLike) -> StoreError | None:
    """The :class:`StoreError` for an SQLite failure of the store itself (locked, read-only,
    corrupt, I/O, full; not an SQL or data error), or None."""
    if not isinstance(exc, sqlite3.OperationalError) and type(exc) is not sqlite3.DatabaseError:
        return None
    text = str(exc)
    low = text.lower().replace("_", " ")
    what = next((kind for word, kind in _KINDS if word in low), None)
    if what is None:  # e.g. an SQL error: a bug, not the store's state
        if type(exc) is not sqlite3.DatabaseError:
            return None
        what = "cannot be used"
    return StoreError(f"the review store {path} {what} ({text})")


def write_set(con: sqlite3.Connection, rec: SetRecord, session: Session) -> int:
    """Insert or update one set with its reps and findings (in the caller's transaction)."""
    set_id = _upsert_set(con, rec)
    _replace_reps(con, set_id, session)
    _upsert_findings(con, set_id, session)
    return set_id


# -- writing one set -------------------------------------------------------------------------
def _upsert_set(con: sqlite3.Connection, rec: SetRecord) -> int:
    """Insert or update the set's row; a coach's athlete edit is kept. The set's id."""
    row = dataclasses.asdict(rec)
    old = con.execute("SELECT id, athlete_source FROM sets WHERE key=?", (rec.key,)).fetchone()
    if old is None:
        cur = con.execute(
            f"INSERT INTO sets ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})",
            tuple(row.values()),
        )
        assert cur.lastrowid is not None
        return cur.lastrowid
    if old["athlete_source"] == "edited":  # a coach's edit wins over derivation
        row.pop("athlete")
        row.pop("athlete_source")
    sets = ", ".join(f"{k}=?" for k in row)
    con.execute(f"UPDATE sets SET {sets} WHERE id=?", (*row.values(), old["id"]))
    return int(old["id"])


def _replace_reps(con: sqlite3.Connection, set_id: int, session: Session) -> None:
    con.execute("DELETE FROM reps WHERE set_id=?", (set_id,))
    for r in session.reps:
        con.execute(
            "INSERT INTO reps (set_id, idx, start_s, top_start_s, top_end_s, end_s, "
            "start_frame, top_start_frame, top_end_frame, end_frame, peak_angle_deg, "
            "hold_s, lowering_s, faults) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                set_id,
                r.index,
                r.start_s,
                r.top_start_s,
                r.top_end_s,
                r.end_s,
                r.start_frame,
                r.top_start_frame,
                r.top_end_frame,
                r.end_frame,
                _num(r.peak_angle_deg),
                _num(r.hold_s),
                _num(r.lowering_s),
                ";".join(r.faults),
            ),
        )


_UPSERT_FINDING = (
    "INSERT INTO findings (set_id, rep_idx, rule, severity, value, unit, "
    "threshold, comparison, time_s, frame, cue, message, present) "
    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,1) "
    "ON CONFLICT (set_id, rep_idx, rule) DO UPDATE SET severity=excluded.severity,"
    " value=excluded.value, unit=excluded.unit, threshold=excluded.threshold, "
    "comparison=excluded.comparison, time_s=excluded.time_s, "
    "frame=excluded.frame, cue=excluded.cue, message=excluded.message, present=1 "
    "RETURNING id"
)


def _upsert_findings(con: sqlite3.Connection, set_id: int, session: Session) -> None:
    """Findings matched on (rep, rule); ones no longer reported are deleted, or marked gone
    (``present = 0``) when they have reviews."""
    pairs = [(r.index, f) for r in session.reps for f in r.findings]
    pairs += [(0, f) for f in session.set_findings]
    keep = set()
    for rep_idx, f in pairs:
        cur = con.execute(
            _UPSERT_FINDING,
            (
                set_id,
                rep_idx,
                f.rule,
                f.severity,
                _num(f.value),
                f.unit,
                _num(f.threshold),
                f.comparison,
                _num(f.time_s),
                f.frame,
                f.cue,
                f.message,
            ),
        )
        keep.add(cur.fetchone()[0])
    for (fid,) in con.execute("SELECT id FROM findings WHERE set_id=?", (set_id,)).fetchall():
        if fid in keep:
            continue
        if con.execute("SELECT 1 FROM reviews WHERE finding_id=? LIMIT 1", (fid,)).fetchone():
            con.execute("UPDATE findings SET present=0 WHERE id=?", (fid,))
        else:
            con.execute("DELETE FROM findings WHERE id=?", (fid,))


def _num(v: Any) -> float | None:
    """A finite float, or None (SQLite has no NaN/inf)."""
    if v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if f == f and f not in (float("inf"), float("-inf")) else None
