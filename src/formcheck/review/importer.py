"""Importing the result files under a folder into the review store, and doing it in the
background while the app serves.

Only new or changed files are read (a stored set's path, size and modification time). Each is
validated (:func:`formcheck.resultfile.read_result`) before it is written; one that cannot be
read, or that is a link to a file outside the folder, is skipped with its reason
(:class:`ImportProblem`, listed on the sets page) and read again only when it changes. Files are
read outside any transaction and written in batches (one transaction per
:data:`BATCH_FILES` files, each file in its own savepoint), so a coach's save waits at most for
one batch. A failure of the store itself (:class:`~formcheck.review.writes.StoreError`) stops
the import.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from formcheck.errors import FormcheckError
from formcheck.resultfile import read_result
from formcheck.review.results import (
    FileStamp,
    looks_like_result,
    result_candidates,
    set_record,
)
from formcheck.review.writes import StoreError, write_set

if TYPE_CHECKING:  # pragma: no cover
    from formcheck.review.store import Store

#: Files per write transaction, and the most seconds of reading gathered into one.
BATCH_FILES = 50
BATCH_S = 0.5


@dataclass(frozen=True)
class ImportProblem:
    """A result file that was not imported: where (relative to the folder) and why."""

    path: str
    reason: str
    stamp: FileStamp


@dataclass
class ImportProgress:
    """How far an import is: result files to read (``total``), read so far (``done``), the ids
    of the sets written, and the store's failure if it stopped."""

    total: int = 0
    done: int = 0
    ids: list[int] = field(default_factory=list)
    running: bool = False
    error: str | None = None


def import_results(store: Store, root: Path, progress: ImportProgress | None = None) -> list[int]:
    """Import the new or changed result files under ``root`` into ``store``; the set ids."""
    progress = progress if progress is not None else ImportProgress()
    problems: dict[str, ImportProblem] = {}
    todo = _to_read(store, root, problems)
    progress.total, progress.done = len(todo), 0
    store.import_problems = dict(problems)
    batch: list[tuple] = []
    started = time.monotonic()
    for jp, stamp in todo:
        item = _read(jp, stamp, root, problems)
        progress.done += 1
        if item is not None:
            batch.append(item)
        if batch and (len(batch) >= BATCH_FILES or time.monotonic() - started > BATCH_S):
            progress.ids += _write(store, batch, root, problems)
            store.import_problems = dict(problems)
            batch, started = [], time.monotonic()
    if batch:
        progress.ids += _write(store, batch, root, problems)
    store.import_problems = dict(problems)
    return list(progress.ids)


def _to_read(store: Store, root: Path, problems: dict) -> list[tuple[Path, FileStamp]]:
    """The result files under ``root`` to read now; ``problems`` gets the ones still known to
    be bad (unchanged since) and links that lead outside ``root``."""
    known = store.file_stamps()
    before = store.import_problems
    inside = root.resolve()
    todo = []
    for jp in result_candidates(root):
        try:
            stamp = FileStamp.of(jp)
            real = jp.resolve()
        except (OSError, RuntimeError):  # gone since the listing, or a link loop
            continue
        key, shown = str(real), _shown(jp, root)
        if not real.is_relative_to(inside):
            problems[str(jp)] = ImportProblem(shown, f"links to a file outside {root}", stamp)
        elif known.get(key) == stamp:
            continue
        elif str(jp) in before and before[str(jp)].stamp == stamp:
            problems[str(jp)] = before[str(jp)]
        elif looks_like_result(jp):
            todo.append((jp, stamp))
    return todo


def _read(jp: Path, stamp: FileStamp, root: Path, problems: dict):
    """``(session, record)`` for one file, or None after noting its problem."""
    try:
        session, doc = read_result(jp)
        rec = set_record(session, jp, root, stamp, session_json=json.dumps(doc))
    except FormcheckError as exc:
        problems[str(jp)] = ImportProblem(_shown(jp, root), _reason(str(exc), jp), stamp)
        return None
    except (OSError, ValueError, TypeError, OverflowError) as exc:
        reason = f"{type(exc).__name__}: {exc}"
        problems[str(jp)] = ImportProblem(_shown(jp, root), reason, stamp)
        return None
    return jp, stamp, session, rec


def _write(store: Store, batch: list[tuple], root: Path, problems: dict) -> list[int]:
    """Write a batch in one transaction, each file in its own savepoint; the set ids."""
    ids = []
    with store.transaction(bulk=True) as con:
        for jp, stamp, session, rec in batch:
            con.execute("SAVEPOINT result_file")
            try:
                ids.append(write_set(con, rec, session))
            except (OverflowError, ValueError, TypeError, sqlite3.IntegrityError) as exc:
                con.execute("ROLLBACK TO result_file")
                reason = f"cannot be stored ({type(exc).__name__}: {exc})"
                problems[str(jp)] = ImportProblem(_shown(jp, root), reason, stamp)
            except sqlite3.InterfaceError as exc:
                con.execute("ROLLBACK TO result_file")
                reason = f"cannot be stored ({exc})"
                problems[str(jp)] = ImportProblem(_shown(jp, root), reason, stamp)
            con.execute("RELEASE result_file")
    return ids


def _shown(jp: Path, root: Path) -> str:
    try:
        return jp.relative_to(root).as_posix()
    except ValueError:
        return str(jp)


def _reason(message: str, jp: Path) -> str:
    """An error message without the file's path at its start (the page shows the path)."""
    for prefix in (str(jp), str(jp.resolve())):
        if message.startswith(prefix):
            message = message[len(prefix) :].lstrip(" :")
            break
    return message


class BackgroundImport:
    """:meth:`Store.import_dir` of one folder in a daemon thread, one run at a time, with its
    :class:`ImportProgress` for the sets page."""

    def __init__(self, store: Store, root: str | os.PathLike) -> None:
        self.store = store
        self.root = Path(root)
        self.progress = ImportProgress()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._idle = threading.Event()
        self._idle.set()

    def start(self) -> bool:
        """Start an import unless one is running; whether one was started."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return False
            self.progress = ImportProgress(running=True)
            self._idle.clear()
            self._thread = threading.Thread(
                target=self._run, args=(self.progress,), daemon=True, name="formcheck-import"
            )
            self._thread.start()
            return True

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the running import; whether it has finished."""
        return self._idle.wait(timeout)

    def _run(self, progress: ImportProgress) -> None:
        try:
            self.store.import_dir(self.root, progress)
        except StoreError as exc:
            progress.error = str(exc)
        except Exception as exc:  # noqa: BLE001 - the page says why; the app keeps serving
            progress.error = f"the import stopped ({type(exc).__name__}: {exc})"
        finally:
            progress.running = False
            self._idle.set()
