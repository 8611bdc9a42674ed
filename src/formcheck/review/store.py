"""The review store: analysed sets, their reps and findings, and the coaches' reviews.

SQLite (stdlib ``sqlite3``) in WAL mode. ``open_store(DIR)`` means ``DIR/formcheck.sqlite``;
``open_store("sqlite:///path/to/file.sqlite")`` names the file. The database is created on first
use and brought up to date by the ordered :data:`MIGRATIONS` (``PRAGMA user_version`` holds how
many have run).

Reviews are append-only: every save is a new row (finding, verdict, note, reviewer, time) and the
latest row per finding is the current verdict, so two coaches saving at once lose nothing and the
history stays. Every write runs in its own ``BEGIN IMMEDIATE`` transaction on its own connection.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from formcheck.errors import InputError
from formcheck.core.session import Session

DB_NAME = "formcheck.sqlite"
VERDICTS = ("agree", "overrule", "unsure")
#: Sidecar files naming the athlete of a set: ``<stem>.athlete.txt`` or ``athlete.txt`` beside it.
ATHLETE_SIDECARS = ("{stem}.athlete.txt", "athlete.txt")
UNASSIGNED = "unassigned"
#: Source-video folder names that do not name an athlete.
GENERIC_FOLDERS = {"samples", "sample", "videos", "video", "clips", "input", "inputs", "data",
                   "raw", "uploads", "tmp", "temp", "downloads", "movies", "camera", "dcim",
                   "runs", "results", "out", "output"}

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
]


def utc_now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds")


def db_path_for(dir_or_url: str | os.PathLike) -> Path:
    """The database file: ``sqlite:///path`` -> path; a folder, or a path without a
    .sqlite/.sqlite3/.db suffix, -> ``DIR/formcheck.sqlite``."""
    s = os.fspath(dir_or_url)
    if s.startswith("sqlite:///"):  # as SQLAlchemy: sqlite:///rel/path, sqlite:////abs/path
        rest = s[len("sqlite:///"):]
        if not rest:
            raise InputError(f"database URL '{s}' names no file")
        return Path(rest)
    if "://" in s:
        raise InputError(f"unsupported database URL '{s}' (use sqlite:///path or a folder)")
    p = Path(s)
    if p.is_dir() or p.suffix.lower() not in (".sqlite", ".sqlite3", ".db"):
        return p / DB_NAME
    return p


class Store:
    """A handle on one SQLite store. Thread-safe: each operation uses its own connection."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.connect() as con:
            con.execute("PRAGMA journal_mode=WAL")
            self._migrate(con)

    # -- connections and migrations -------------------------------------------------------
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

    def _migrate(self, con: sqlite3.Connection) -> None:
        con.execute("BEGIN IMMEDIATE")
        try:
            version = con.execute("PRAGMA user_version").fetchone()[0]
            if version > len(MIGRATIONS):
                raise InputError(f"{self.path} was written by a newer formcheck (schema "
                                 f"{version}, this one knows {len(MIGRATIONS)})")
            for i in range(version, len(MIGRATIONS)):
                for stmt in _statements(MIGRATIONS[i]):
                    con.execute(stmt)
                con.execute(f"PRAGMA user_version={i + 1}")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise

    @property
    def schema_version(self) -> int:
        with self.connect() as con:
            return con.execute("PRAGMA user_version").fetchone()[0]

    # -- sets ------------------------------------------------------------------------------
    def record_session(self, session: Session, json_path: str | os.PathLike,
                       root: str | os.PathLike | None = None) -> int:
        """Insert or update the set stored in ``json_path`` (its reps and findings); its id.

        Reviews survive a re-import: findings are matched on (rep, rule), and findings that are
        gone are kept with ``present = 0`` when they have reviews.
        """
        jp = Path(json_path).resolve()
        base = jp.parent
        stem = jp.name[:-5] if jp.name.endswith(".json") else jp.stem
        video_path = _video_path(session, base)
        athlete, source = derive_athlete(jp, root if root is not None else self.path.parent,
                                         video_path)
        set_date = _set_date(session, video_path, jp)
        counts = session.fault_counts()
        row = dict(key=str(jp), json_path=str(jp), base_dir=str(base), stem=stem,
                   video_name=str(session.video.get("name") or
                                  Path(str(session.video.get("path") or stem)).name),
                   video_path=str(video_path or ""), athlete=athlete, athlete_source=source,
                   set_date=set_date, exercise=session.exercise, rep_count=session.rep_count,
                   attempt_count=len(session.attempts), fault_counts=json.dumps(counts),
                   camera_view=str(session.camera.get("view") or ""),
                   camera_warning=session.camera.get("warning"),
                   created_utc=session.created_utc or "", imported_utc=utc_now(),
                   session_json=session.to_json(indent=None))
        with self.transaction() as con:
            old = con.execute("SELECT id, athlete_source FROM sets WHERE key=?",
                              (row["key"],)).fetchone()
            if old is None:
                cols = ", ".join(row)
                cur = con.execute(f"INSERT INTO sets ({cols}) VALUES "
                                  f"({', '.join('?' for _ in row)})", tuple(row.values()))
                set_id = cur.lastrowid
            else:
                set_id = old["id"]
                if old["athlete_source"] == "edited":  # a coach's edit wins over derivation
                    row.pop("athlete")
                    row.pop("athlete_source")
                sets = ", ".join(f"{k}=?" for k in row)
                con.execute(f"UPDATE sets SET {sets} WHERE id=?", (*row.values(), set_id))
            con.execute("DELETE FROM reps WHERE set_id=?", (set_id,))
            for r in session.reps:
                con.execute(
                    "INSERT INTO reps (set_id, idx, start_s, top_start_s, top_end_s, end_s, "
                    "start_frame, top_start_frame, top_end_frame, end_frame, peak_angle_deg, "
                    "hold_s, lowering_s, faults) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (set_id, r.index, r.start_s, r.top_start_s, r.top_end_s, r.end_s,
                     r.start_frame, r.top_start_frame, r.top_end_frame, r.end_frame,
                     _num(r.peak_angle_deg), _num(r.hold_s), _num(r.lowering_s),
                     ";".join(r.faults)))
            keep = set()
            pairs = [(r.index, f) for r in session.reps for f in r.findings]
            pairs += [(0, f) for f in session.set_findings]
            for rep_idx, f in pairs:
                cur = con.execute(
                    "INSERT INTO findings (set_id, rep_idx, rule, severity, value, unit, "
                    "threshold, comparison, time_s, frame, cue, message, present) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,1) "
                    "ON CONFLICT (set_id, rep_idx, rule) DO UPDATE SET severity=excluded.severity,"
                    " value=excluded.value, unit=excluded.unit, threshold=excluded.threshold, "
                    "comparison=excluded.comparison, time_s=excluded.time_s, "
                    "frame=excluded.frame, cue=excluded.cue, message=excluded.message, present=1 "
                    "RETURNING id",
                    (set_id, rep_idx, f.rule, f.severity, _num(f.value), f.unit,
                     _num(f.threshold), f.comparison, _num(f.time_s), f.frame, f.cue,
                     f.message))
                keep.add(cur.fetchone()[0])
            for (fid,) in con.execute("SELECT id FROM findings WHERE set_id=?",
                                      (set_id,)).fetchall():
                if fid in keep:
                    continue
                if con.execute("SELECT 1 FROM reviews WHERE finding_id=? LIMIT 1",
                               (fid,)).fetchone():
                    con.execute("UPDATE findings SET present=0 WHERE id=?", (fid,))
                else:
                    con.execute("DELETE FROM findings WHERE id=?", (fid,))
        return set_id

    def import_dir(self, root: str | os.PathLike) -> list[int]:
        """Import every result json under ``root`` that is new or changed since it was stored."""
        root = Path(root)
        known = {r["key"]: r["imported_utc"] for r in self._rows(
            "SELECT key, imported_utc FROM sets")}
        ids = []
        for jp in sorted(root.rglob("*.json")):
            if jp.name.startswith(".") or not _looks_like_result(jp):
                continue
            key = str(jp.resolve())
            if key in known:
                mtime = _dt.datetime.fromtimestamp(jp.stat().st_mtime, _dt.timezone.utc)
                if mtime.isoformat(timespec="milliseconds") <= known[key]:
                    continue
            try:
                session = Session.load(jp)
            except InputError:
                continue
            ids.append(self.record_session(session, jp, root=root))
        return ids

    def _rows(self, sql: str, args: tuple = ()) -> list[sqlite3.Row]:
        with self.connect() as con:
            return con.execute(sql, args).fetchall()

    def list_sets(self, athlete: str | None = None, date: str | None = None,
                  date_from: str | None = None, date_to: str | None = None,
                  exercise: str | None = None, fault: str | None = None) -> list[dict]:
        """Sets, newest first, filtered by athlete, date (prefix, e.g. 2026-11), exercise, fault."""
        where, args = [], []
        if athlete:
            where.append("s.athlete = ?")
            args.append(athlete)
        if date:
            where.append("s.set_date LIKE ?")
            args.append(date.replace("%", "") + "%")
        if date_from:
            where.append("s.set_date >= ?")
            args.append(date_from)
        if date_to:
            where.append("s.set_date <= ?")
            args.append(date_to)
        if exercise:
            where.append("s.exercise = ?")
            args.append(exercise)
        if fault:
            where.append("EXISTS (SELECT 1 FROM findings f WHERE f.set_id = s.id AND "
                         "f.rule = ? AND f.present = 1)")
            args.append(fault)
        sql = ("SELECT s.id, s.stem, s.video_name, s.athlete, s.set_date, s.exercise, "
               "s.rep_count, s.attempt_count, s.fault_counts, s.camera_view, s.camera_warning, "
               "s.base_dir, "
               "(SELECT COUNT(*) FROM findings f WHERE f.set_id = s.id AND f.present = 1) "
               "AS n_findings, "
               "(SELECT COUNT(DISTINCT r.finding_id) FROM reviews r JOIN findings f ON "
               "f.id = r.finding_id WHERE f.set_id = s.id AND f.present = 1) AS n_reviewed "
               "FROM sets s")
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY s.set_date DESC, s.athlete, s.stem"
        out = []
        for r in self._rows(sql, tuple(args)):
            d = dict(r)
            d["fault_counts"] = json.loads(d["fault_counts"])
            out.append(d)
        return out

    def facets(self) -> dict[str, list[str]]:
        """Distinct athletes, dates, exercises and fault rules (for filter menus)."""
        return {
            "athletes": [r[0] for r in self._rows(
                "SELECT DISTINCT athlete FROM sets ORDER BY athlete")],
            "dates": [r[0] for r in self._rows(
                "SELECT DISTINCT set_date FROM sets ORDER BY set_date DESC")],
            "exercises": [r[0] for r in self._rows(
                "SELECT DISTINCT exercise FROM sets ORDER BY exercise")],
            "faults": [r[0] for r in self._rows(
                "SELECT DISTINCT rule FROM findings WHERE present=1 ORDER BY rule")],
        }

    def get_set(self, set_id: int) -> dict | None:
        rows = self._rows("SELECT * FROM sets WHERE id=?", (set_id,))
        if not rows:
            return None
        d = dict(rows[0])
        d["fault_counts"] = json.loads(d["fault_counts"])
        return d

    def set_id_for(self, json_path: str | os.PathLike) -> int | None:
        """The id of the set stored from ``json_path``, or None."""
        rows = self._rows("SELECT id FROM sets WHERE key=?", (str(Path(json_path).resolve()),))
        return rows[0]["id"] if rows else None

    def session(self, set_id: int) -> Session:
        s = self.get_set(set_id)
        if s is None:
            raise KeyError(set_id)
        return Session.from_dict(json.loads(s["session_json"]))

    def reps(self, set_id: int) -> list[dict]:
        return [dict(r) for r in self._rows(
            "SELECT * FROM reps WHERE set_id=? ORDER BY idx", (set_id,))]

    def findings(self, set_id: int, include_gone: bool = False) -> list[dict]:
        """Findings of a set with their current (latest) review, if any."""
        sql = ("SELECT f.*, r.verdict, r.note, r.reviewer, r.created_utc AS reviewed_utc, "
               "r.id AS review_id FROM findings f LEFT JOIN reviews r ON r.id = "
               "(SELECT MAX(id) FROM reviews WHERE finding_id = f.id) WHERE f.set_id=?")
        if not include_gone:
            sql += " AND f.present=1"
        sql += " ORDER BY CASE f.rep_idx WHEN 0 THEN 1000000 ELSE f.rep_idx END, f.id"
        return [dict(r) for r in self._rows(sql, (set_id,))]

    def finding(self, finding_id: int) -> dict | None:
        rows = self._rows("SELECT * FROM findings WHERE id=?", (finding_id,))
        return dict(rows[0]) if rows else None

    def set_athlete(self, set_id: int, athlete: str) -> None:
        athlete = " ".join(str(athlete).split())[:200]
        if not athlete:
            raise ValueError("athlete name is empty")
        with self.transaction() as con:
            cur = con.execute("UPDATE sets SET athlete=?, athlete_source='edited' WHERE id=?",
                              (athlete, set_id))
            if cur.rowcount == 0:
                raise KeyError(set_id)

    # -- reviews ---------------------------------------------------------------------------
    def add_review(self, finding_id: int, verdict: str, note: str = "", reviewer: str = "",
                   when: str | None = None) -> dict:
        """Append a review row (the latest row per finding is its verdict); the saved row."""
        if verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {', '.join(VERDICTS)}")
        note = str(note or "")[:10000]
        reviewer = " ".join(str(reviewer or "").split())[:200]
        with self.transaction() as con:
            if con.execute("SELECT 1 FROM findings WHERE id=?", (finding_id,)).fetchone() is None:
                raise KeyError(finding_id)
            cur = con.execute("INSERT INTO reviews (finding_id, verdict, note, reviewer, "
                              "created_utc) VALUES (?,?,?,?,?) RETURNING *",
                              (finding_id, verdict, note, reviewer, when or utc_now()))
            return dict(cur.fetchone())

    def review_history(self, set_id: int) -> list[dict]:
        return [dict(r) for r in self._rows(
            "SELECT r.*, f.rep_idx, f.rule FROM reviews r JOIN findings f ON f.id = "
            "r.finding_id WHERE f.set_id=? ORDER BY r.id", (set_id,))]

    def reviews_for_report(self, set_id: int) -> dict[tuple[int, str], dict]:
        """``{(rep index (0: set-level), rule): latest review}`` for :func:`report.write_report`."""
        return {(f["rep_idx"], f["rule"]): {"verdict": f["verdict"], "note": f["note"],
                                            "reviewer": f["reviewer"],
                                            "time": f["reviewed_utc"]}
                for f in self.findings(set_id) if f["verdict"]}


def _statements(script: str) -> list[str]:
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


def _num(v: Any) -> float | None:
    if v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if f == f and f not in (float("inf"), float("-inf")) else None


def _looks_like_result(p: Path) -> bool:
    name = p.name
    if name.endswith((".label.json", ".review.json", ".schema.json", ".done.json")):
        return False
    try:
        with p.open("rb") as f:
            head = f.read(4096)
    except OSError:
        return False
    return b'"formcheck.session"' in head


def derive_athlete(json_path: Path, root: str | os.PathLike | None,
                   video: str | os.PathLike | None = None) -> tuple[str, str]:
    """The athlete of a set and where the name came from.

    A sidecar (``<stem>.athlete.txt`` or ``athlete.txt`` beside the result) wins; otherwise the
    first folder below ``root`` that holds the result (``runs/alice/set1.json`` -> ``alice``);
    otherwise the folder of the source video (``videos/alice/set1.mp4`` -> ``alice``) unless it
    is a generic name (:data:`GENERIC_FOLDERS`); otherwise ``unassigned``. Coaches can edit it
    in the review app.
    """
    stem = json_path.name[:-5] if json_path.name.endswith(".json") else json_path.stem
    for pat in ATHLETE_SIDECARS:
        p = json_path.parent / pat.format(stem=stem)
        if p.is_file():
            try:
                name = " ".join(p.read_text("utf-8").split())[:200]
            except (OSError, UnicodeDecodeError):
                name = ""
            if name:
                return name, "sidecar"
    if root is not None:
        try:
            rel = json_path.parent.resolve().relative_to(Path(root).resolve())
        except ValueError:
            rel = None
        if rel is not None and rel.parts:
            return rel.parts[0], "folder"
    if video is not None:
        folder = Path(video).parent.name
        if folder and folder.lower() not in GENERIC_FOLDERS:
            return folder, "video-folder"
    return UNASSIGNED, "default"


def _video_path(session: Session, base: Path) -> Path | None:
    p = session.video.get("path")
    if not p or p == "synthetic":
        return None
    cand = [Path(p)] if Path(p).is_absolute() else [Path(p), base / p, base / Path(p).name]
    for c in cand:
        if c.is_file():
            return c.resolve()
    return None


def _set_date(session: Session, video: Path | None, json_path: Path) -> str:
    if video is not None:
        try:
            return _dt.datetime.fromtimestamp(video.stat().st_mtime).date().isoformat()
        except OSError:
            pass
    if session.created_utc:
        return session.created_utc[:10]
    return _dt.datetime.fromtimestamp(json_path.stat().st_mtime).date().isoformat()


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


def record_session(out_dir: str | os.PathLike, session: Session,
                   json_path: str | os.PathLike) -> int:
    """Record an analysed set in ``out_dir``'s store (called by ``formcheck analyze``)."""
    return open_store(out_dir).record_session(session, json_path, root=out_dir)
