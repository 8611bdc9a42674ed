"""The review store: analysed sets, their reps and findings, and the coaches' reviews.

SQLite (stdlib ``sqlite3``) in WAL mode. ``open_store(DIR)`` means ``DIR/formcheck.sqlite``;
``open_store("sqlite:///path/to/file.sqlite")`` names the file. The database is created on first
use and brought up to date by the ordered :data:`MIGRATIONS` (``PRAGMA user_version`` holds how
many have run; :mod:`formcheck.review.schema`).

Only ``formcheck review DIR`` writes it: it imports the result jsons under DIR that are new or
changed (:meth:`Store.import_dir`, by path, size and modification time) and saves the coaches'
verdicts. Reviews are append-only: every save is a new row (finding, verdict, note, reviewer,
time) and the latest row per finding is the current verdict, so two coaches saving at once lose
nothing and the history stays. Every write runs in its own ``BEGIN IMMEDIATE`` transaction on
its own connection. Reads are in :mod:`formcheck.review.queries`.
"""

from __future__ import annotations

import dataclasses
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from formcheck.core.session import Session
from formcheck.errors import InputError
from formcheck.review.queries import StoreQueries
from formcheck.review.results import (
    FileStamp,
    SetRecord,
    looks_like_result,
    result_candidates,
    set_record,
    utc_now,
)
from formcheck.review.schema import MIGRATIONS, migrate

__all__ = [
    "DB_NAME",
    "MIGRATIONS",
    "VERDICTS",
    "Store",
    "db_path_for",
    "open_store",
    "record_session",
    "utc_now",
]

DB_NAME = "formcheck.sqlite"
VERDICTS = ("agree", "overrule", "unsure")


def db_path_for(dir_or_url: str | os.PathLike) -> Path:
    """The database file: ``sqlite:///path`` -> path; a folder, or a path without a
    .sqlite/.sqlite3/.db suffix, -> ``DIR/formcheck.sqlite``."""
    s = os.fspath(dir_or_url)
    if s.startswith("sqlite:///"):  # as SQLAlchemy: sqlite:///rel/path, sqlite:////abs/path
        rest = s[len("sqlite:///") :]
        if not rest:
            raise InputError(f"database URL '{s}' names no file")
        return Path(rest)
    if "://" in s:
        raise InputError(f"unsupported database URL '{s}' (use sqlite:///path or a folder)")
    p = Path(s)
    if p.is_dir() or p.suffix.lower() not in (".sqlite", ".sqlite3", ".db"):
        return p / DB_NAME
    return p


class Store(StoreQueries):
    """A handle on one SQLite store. Thread-safe: each operation uses its own connection."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.connect() as con:
            con.execute("PRAGMA journal_mode=WAL")
            migrate(con, self.path, MIGRATIONS)

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        con.row_factory = sqlite3.Row
        con.execute("PRAGMA foreign_keys=ON")
        con.execute("PRAGMA busy_timeout=30000")
        try:
            yield con
        finally:
            con.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (``BEGIN IMMEDIATE``): committed on success, rolled back on error."""
        with self.connect() as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    # -- sets ------------------------------------------------------------------------------
    def record_session(
        self,
        session: Session,
        json_path: str | os.PathLike,
        root: str | os.PathLike | None = None,
        stamp: FileStamp | None = None,
    ) -> int:
        """Insert or update the set stored in ``json_path`` (its reps and findings); its id.

        ``root``: the imported folder, whose first level names the athlete (default: the
        store's folder); ``stamp``: the file's size and mtime as read (default: as it is now).
        Reviews survive a re-import: findings are matched on (rep, rule), and findings that are
        gone are kept with ``present = 0`` when they have reviews.
        """
        if stamp is None and os.path.isfile(json_path):
            stamp = FileStamp.of(json_path)
        rec = set_record(session, json_path, root if root is not None else self.path.parent, stamp)
        with self.transaction() as con:
            set_id = _upsert_set(con, rec)
            _replace_reps(con, set_id, session)
            _upsert_findings(con, set_id, session)
        return set_id

    def import_dir(self, root: str | os.PathLike) -> list[int]:
        """Import every result json under ``root`` that is new or changed (size or modification
        time) since it was stored; the ids of the sets imported."""
        root = Path(root)
        known = {
            r["key"]: FileStamp(r["json_mtime_ns"], r["json_size"])
            for r in self._rows("SELECT key, json_mtime_ns, json_size FROM sets")
        }
        ids = []
        for jp in result_candidates(root):
            try:
                stamp = FileStamp.of(jp)
            except OSError:  # gone since the listing
                continue
            if known.get(str(jp.resolve())) == stamp or not looks_like_result(jp):
                continue
            try:
                session = Session.load(jp)
            except InputError:
                continue
            ids.append(self.record_session(session, jp, root=root, stamp=stamp))
        return ids

    def set_athlete(self, set_id: int, athlete: str) -> None:
        """A coach's name for the athlete; it wins over derivation, also on re-import."""
        athlete = " ".join(str(athlete).split())[:200]
        if not athlete:
            raise ValueError("athlete name is empty")
        with self.transaction() as con:
            cur = con.execute(
                "UPDATE sets SET athlete=?, athlete_source='edited' WHERE id=?", (athlete, set_id)
            )
            if cur.rowcount == 0:
                raise KeyError(set_id)

    # -- reviews ---------------------------------------------------------------------------
    def add_review(
        self,
        finding_id: int,
        verdict: str,
        note: str = "",
        reviewer: str = "",
        when: str | None = None,
    ) -> dict:
        """Append a review row (the latest row per finding is its verdict); the saved row."""
        if verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {', '.join(VERDICTS)}")
        note = str(note or "")[:10000]
        reviewer = " ".join(str(reviewer or "").split())[:200]
        with self.transaction() as con:
            if con.execute("SELECT 1 FROM findings WHERE id=?", (finding_id,)).fetchone() is None:
                raise KeyError(finding_id)
            cur = con.execute(
                "INSERT INTO reviews (finding_id, verdict, note, reviewer, "
                "created_utc) VALUES (?,?,?,?,?) RETURNING *",
                (finding_id, verdict, note, reviewer, when or utc_now()),
            )
            return dict(cur.fetchone())


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


# -- handles ---------------------------------------------------------------------------------
_STORES: dict[Path, Store] = {}
_STORES_LOCK = threading.Lock()


def open_store(dir_or_url: str | os.PathLike) -> Store:
    """The store for a folder (``DIR/formcheck.sqlite``) or a ``sqlite:///path`` URL."""
    path = db_path_for(dir_or_url).resolve()
    with _STORES_LOCK:
        st = _STORES.get(path)
        if st is None or not path.exists():
            st = _STORES[path] = Store(path)
        return st


def record_session(
    store_dir: str | os.PathLike, session: Session, json_path: str | os.PathLike
) -> int:
    """Record one analysed set in ``store_dir``'s store (athlete folders under ``store_dir``).

    An explicit write for library users and tests; no command calls it: ``formcheck review DIR``
    imports the results it finds instead."""
    return open_store(store_dir).record_session(session, json_path, root=store_dir)
