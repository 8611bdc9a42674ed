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

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from formcheck.core.session import Session
from formcheck.errors import InputError
from formcheck.review.importer import ImportProblem, ImportProgress, import_results
from formcheck.review.queries import StoreQueries
from formcheck.review.results import FileStamp, set_record, utc_now
from formcheck.review.schema import MIGRATIONS, migrate
from formcheck.review.writes import StoreError, store_error, write_set

__all__ = [
    "DB_NAME",
    "MIGRATIONS",
    "VERDICTS",
    "Store",
    "StoreError",
    "db_path_for",
    "open_store",
    "record_session",
    "utc_now",
]

DB_NAME = "formcheck.sqlite"
VERDICTS = ("agree", "overrule", "unsure")
#: Seconds opening a store waits for another program's write lock before giving up (a running
#: app's writes wait :data:`BUSY_TIMEOUT_S`: two coaches saving at once both land).
OPEN_TIMEOUT_S = 5.0
BUSY_TIMEOUT_S = 30.0


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
    """A handle on one SQLite store. Thread-safe: each operation uses its own connection.

    An SQLite failure of the store itself (locked, corrupt, read-only, disk full) is raised as
    :class:`StoreError` with a one-line reason."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        #: Result files the last import could not read: path -> problem (see import_dir).
        self.import_problems: dict[str, ImportProblem] = {}
        self.import_lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the review store {self.path}: {exc}") from None
        with self.connect(timeout=OPEN_TIMEOUT_S) as con:
            con.execute("PRAGMA journal_mode=WAL")
            migrate(con, self.path, MIGRATIONS)

    @contextmanager
    def connect(self, timeout: float | None = None) -> Iterator[sqlite3.Connection]:
        """A connection (autocommit; ``timeout``: seconds to wait for a lock)."""
        timeout = BUSY_TIMEOUT_S if timeout is None else timeout
        try:
            con = sqlite3.connect(self.path, timeout=timeout, isolation_level=None)
        except sqlite3.Error as exc:
            raise store_error(exc, self.path) or StoreError(
                f"the review store {self.path} cannot be opened ({exc})"
            ) from None
        try:
            con.row_factory = sqlite3.Row
            con.execute("PRAGMA foreign_keys=ON")
            con.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
            yield con
        except sqlite3.Error as exc:
            err = store_error(exc, self.path)
            if err is None:
                raise
            raise err from None
        finally:
            con.close()

    def check(self) -> None:
        """Raise :class:`StoreError` unless the store can be read (``quick_check``) and written
        (a write that is rolled back); for the start of ``formcheck review``."""
        with self.connect(timeout=OPEN_TIMEOUT_S) as con:
            row = con.execute("PRAGMA quick_check(1)").fetchone()
            if row is None or row[0] != "ok":
                raise StoreError(f"the review store {self.path} is corrupt ({row and row[0]})")
            con.execute("BEGIN IMMEDIATE")
            try:
                version = con.execute("PRAGMA user_version").fetchone()[0]
                con.execute(f"PRAGMA user_version={int(version)}")
            finally:
                con.execute("ROLLBACK")

    @contextmanager
    def transaction(self, bulk: bool = False) -> Iterator[sqlite3.Connection]:
        """A write transaction (``BEGIN IMMEDIATE``): committed on success, rolled back on error.
        ``bulk``: for imports, which the result files can redo: ``synchronous=NORMAL`` (WAL
        stays consistent; a power cut may lose the last commits)."""
        with self.connect() as con:
            if bulk:
                con.execute("PRAGMA synchronous=NORMAL")
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
            return write_set(con, rec, session)

    def import_dir(
        self, root: str | os.PathLike, progress: ImportProgress | None = None
    ) -> list[int]:
        """Import every result json under ``root`` that is new or changed (size or modification
        time) since it was stored; the ids of the sets imported.

        Each file is validated (:func:`formcheck.resultfile.read_result`); one that cannot be
        read, or that links outside ``root``, is skipped and listed in :attr:`import_problems`
        with its reason (and read again only when it changes). ``progress`` is updated as the
        import goes on (:mod:`formcheck.review.importer`)."""
        with self.import_lock:
            return import_results(self, Path(root), progress)

    def file_stamps(self) -> dict[str, FileStamp]:
        """``{key: stamp}`` of the stored sets (the result file's size and mtime when read)."""
        return {
            r["key"]: FileStamp(r["json_mtime_ns"], r["json_size"])
            for r in self._rows("SELECT key, json_mtime_ns, json_size FROM sets")
        }

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
