"""What a batch run leaves in ``--out``: result files, done markers, the index and the log.

After a video's result files (``<stem>.json`` last) are in place, the client writes
``<stem>.done.json`` holding the key, status and summary. Only a sidecar whose key matches
counts as done; every file is written to a temporary name and renamed
(:mod:`formcheck.fsutil`), so a ``kill -9`` at any moment leaves nothing half-written that
counts as done. The sidecars are the source of truth; ``index.json`` / ``index.csv`` are
rebuilt from them on every run.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as _dt
import io
import json
import os
from dataclasses import asdict
from pathlib import Path

from formcheck import __version__
from formcheck.batch.dask import INFRA_NAMES
from formcheck.batch.discover import Job, Settings
from formcheck.batch.task import Result
from formcheck.core.rules import RULE_IDS
from formcheck.core.session import Session
from formcheck.errors import OutputError
from formcheck.fsutil import TMP_MARK, atomic_write_bytes, atomic_write_text, os_reason

INDEX_JSON = "index.json"
INDEX_CSV = "index.csv"
LOG_FILE = "batch.log.jsonl"
WORKER_LOG = "batch.workers.log"
#: Held (``flock``) by the batch running on the folder: a second one refuses to start.
LOCK_FILE = "batch.lock"
DONE_SUFFIX = ".done.json"
#: Temporary files of earlier formcheck versions; today's carry :data:`fsutil.TMP_MARK`.
TMP_SUFFIX = ".batchtmp"
#: Statuses that count as a failure (exit code 1; redone by ``--retry-failed``). A video with
#: no person in it is a result, not a failure: it gets its warning and counts as done.
#: ``lost``: the cluster lost the task (workers died); never recorded, so any rerun redoes it.
FAILED_STATUSES = ("failed", "lost")
LOST_STATUSES = ("lost",)
#: Statuses of a finished analysis whose result files must all be present ("truncated": a
#: result of the part of a cut or damaged file that could be read).
DONE_STATUSES = ("ok", "truncated", "no_person")
#: Result files of one stem, as written by :func:`formcheck.sinks.files.write_outputs`.
RESULT_SUFFIXES = (".track.npz", ".reps.csv", ".frames.csv", ".annotated.mp4", ".json")

INDEX_COLUMNS = (
    "path",
    "status",
    "exercise",
    "exercise_source",
    "view",
    "reps",
    "attempts",
    "duration_s",
    "frames",
    "analysis_s",
    *(f"fault_{r}" for r in RULE_IDS),
    "error",
    "warnings",
    "stem",
    "key",
    "video_sha256",
    "this_run",
    "analysed_utc",
    "worker",
    "duplicate_of",
    "outputs",
)


def _now_utc() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def read_json(path: Path) -> dict | None:
    """The JSON object in ``path``, or None when it is missing, unreadable or not an object."""
    try:
        d = json.loads(path.read_text("utf-8"))
        return d if isinstance(d, dict) else None
    except (OSError, ValueError, UnicodeDecodeError):
        return None


def previous_rows(out_dir: Path) -> dict[str, dict]:
    """The rows of the last run's ``index.json``, by absolute path."""
    old_index = read_json(out_dir / INDEX_JSON) or {}
    return {
        r.get("abs_path"): r
        for r in old_index.get("videos", [])
        if isinstance(r, dict) and r.get("abs_path")
    }


def sidecar_path(out_dir: Path, stem: str) -> Path:
    return out_dir / f"{stem}{DONE_SUFFIX}"


def _nonempty(p: Path) -> bool:
    try:
        return p.is_file() and p.stat().st_size > 0
    except OSError:
        return False


def _outputs_present(out_dir: Path, sc: dict, write_video: bool) -> bool:
    """The result files the sidecar lists are there, non-empty, and its JSON is a valid
    result whose own file list is there too (a result emptied or damaged after it was written
    is redone, never trusted)."""
    files = sc.get("outputs") or {}
    if "json" not in files or (write_video and "annotated_video" not in files):
        return False
    if not all(_nonempty(out_dir / str(n)) for n in files.values()):
        return False
    try:
        session = Session.load(out_dir / str(files["json"]))
    except Exception:  # noqa: BLE001 - any damage means: not done
        return False
    return all(_nonempty(out_dir / str(n)) for n in session.files.values())


def done_state(out_dir: Path, job: Job, write_video: bool) -> tuple[str, dict | None]:
    """``(status, sidecar)`` when ``job`` is done with its key (a status of
    :data:`DONE_STATUSES` only with its result files whole), else
    ``("pending", sidecar_or_None)``."""
    sc = read_json(sidecar_path(out_dir, job.stem)) if job.stem else None
    if not sc or sc.get("key") != job.key or _lost_by_cluster(sc):
        return "pending", sc
    status = sc.get("status")
    if status in DONE_STATUSES:
        if not _outputs_present(out_dir, sc, write_video):
            return "pending", sc
    elif status not in FAILED_STATUSES:
        return "pending", sc
    return status, sc


def _lost_by_cluster(sc: dict) -> bool:
    """A failure an earlier version recorded for a task the cluster lost (not the video's)."""
    err = sc.get("error")
    return (
        sc.get("status") == "failed"
        and isinstance(err, str)
        and err.startswith("cluster task failed: ")
        and any(name in err for name in INFRA_NAMES)
    )


def cleanup_tmp(out_dir: Path) -> None:
    """Remove temporary files left in ``out_dir`` by an interrupted run (this version's and
    earlier versions')."""
    for pattern in (f".*{TMP_SUFFIX}", f".*{TMP_MARK}*"):
        for p in out_dir.glob(pattern):
            with contextlib.suppress(OSError):
                p.unlink()


class Recorder:
    """Writes results, sidecars and the log for one run (the review store is written by
    ``formcheck review``, which imports the results it finds)."""

    def __init__(self, out_dir: Path, settings: Settings) -> None:
        self.out = out_dir
        self.settings = settings

    def commit(self, job: Job, res: Result) -> dict:
        """Put one finished task's results in place; return the sidecar written (for a task
        the cluster lost, nothing is written: the next run redoes it)."""
        if res.status in LOST_STATUSES:
            self.log({"event": "lost", "stem": job.stem, "path": str(job.path), "error": res.error})
            return {"status": res.status, "error": res.error}
        old = read_json(sidecar_path(self.out, job.stem)) or {}
        warnings = list(res.summary.warnings) if res.summary else []
        written = self._write_files(res)
        self._remove_stale(job.stem, old, written)
        sc = self._sidecar(job, res, written, warnings)
        atomic_write_text(sidecar_path(self.out, job.stem), json.dumps(sc, indent=2))
        self.log(
            {
                "event": "analysed",
                "stem": job.stem,
                "path": str(job.path),
                "status": res.status,
                "key": job.key,
                "worker": res.worker,
                "analysis_s": res.elapsed_s,
                "error": res.error,
            }
        )
        return sc

    def _write_files(self, res: Result) -> dict[str, str]:
        written: dict[str, str] = {}
        for kind, (name, data) in res.files.items():  # json comes last
            atomic_write_bytes(self.out / name, data)
            written[kind] = name
        return written

    def _remove_stale(self, stem: str, old: dict, written: dict[str, str]) -> None:
        """A redo (new settings) or a failure: remove result files that are not current."""
        keep = set(written.values())
        stale = {f"{stem}{s}" for s in RESULT_SUFFIXES} | set((old.get("outputs") or {}).values())
        for name in stale - keep:
            with contextlib.suppress(FileNotFoundError):
                (self.out / name).unlink()

    def _sidecar(self, job: Job, res: Result, written: dict[str, str], warnings: list[str]) -> dict:
        summary = asdict(res.summary) if res.summary else {}
        return {
            "key": job.key,
            "stem": job.stem,
            "status": res.status,
            "error": res.error,
            "source": str(job.path),
            "video_sha256": job.video_sha256,
            "size": job.size,
            "outputs": written,
            "summary": {**summary, "warnings": warnings},
            "frames": res.frames,
            "video_s": res.video_s,
            "analysis_s": res.elapsed_s,
            "cpu_s": res.cpu_s,
            "worker": res.worker,
            "analysed_utc": _now_utc(),
            "formcheck_version": __version__,
            "settings": {
                "exercise": self.settings.exercise,
                "model_sha256": self.settings.model_sha256,
                "config": self.settings.config,
            },
        }

    def log(self, entry: dict) -> None:
        """Append one event to ``batch.log.jsonl`` (one ``write``, so lines never interleave)."""
        entry = {"time_utc": _now_utc(), **entry}
        line = (json.dumps(entry) + "\n").encode()
        try:
            fd = os.open(self.out / LOG_FILE, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            try:
                os.write(fd, line)
            finally:
                os.close(fd)
        except OSError as exc:
            raise OutputError(f"cannot write {self.out / LOG_FILE}: {os_reason(exc)}") from None


def index_row(job: Job, status: str, sc: dict | None, this_run: str) -> dict:
    """One video's row in the index, from its job and sidecar (durations in s)."""
    sc = sc or {}
    summ = sc.get("summary") or {}
    faults = summ.get("faults") or {}
    return {
        "path": job.display,
        "abs_path": str(job.path),
        "status": status,
        "exercise": summ.get("exercise"),
        "exercise_source": summ.get("exercise_source"),
        "reps": summ.get("reps"),
        "attempts": summ.get("attempts"),
        "duration_s": summ.get("duration_s"),
        "frames": summ.get("frames"),
        "analysis_s": sc.get("analysis_s"),
        "cpu_s": sc.get("cpu_s"),
        "faults": {r: int(faults.get(r, 0)) for r in RULE_IDS} if summ else {},
        "view": summ.get("view"),
        "error": job.error if job.error else sc.get("error"),
        "warnings": summ.get("warnings", []),
        "stem": job.stem,
        "key": job.key,
        "video_sha256": job.video_sha256,
        "size": job.size,
        "mtime_ns": job.mtime_ns,
        "this_run": this_run,
        "analysed_utc": sc.get("analysed_utc"),
        "worker": sc.get("worker"),
        "duplicate_of": None,
        "outputs": sc.get("outputs") or {},
    }


def _csv_text(rows: list[dict]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(INDEX_COLUMNS)
    for r in rows:
        faults = r.get("faults") or {}
        flat = {
            **r,
            **{f"fault_{k}": faults.get(k, "") if faults else "" for k in RULE_IDS},
            "warnings": "; ".join(r.get("warnings") or []),
            "outputs": ";".join((r.get("outputs") or {}).values()),
        }
        w.writerow(["" if flat.get(c) is None else flat.get(c) for c in INDEX_COLUMNS])
    return buf.getvalue()


def write_index(out_dir: Path, rows: list[dict], carried: list[dict], meta: dict) -> None:
    """``index.json`` (rows + run metadata) and ``index.csv`` (one flat row per video).

    ``carried``: rows of videos not named in this run, kept from the last index.
    """
    all_rows = rows + carried
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    doc = {
        "formcheck_version": __version__,
        "updated_utc": _now_utc(),
        **meta,
        "counts": counts,
        "videos": all_rows,
    }
    atomic_write_text(out_dir / INDEX_JSON, json.dumps(doc, indent=2))
    atomic_write_text(out_dir / INDEX_CSV, _csv_text(all_rows))
