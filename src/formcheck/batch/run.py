"""``formcheck batch``: analyse many videos, resumably, on a local process pool or a Dask cluster.

Design (details in ``docs/batch.md``):

* **Identity.** A video's *key* is the sha256 of its content hash plus every setting that shapes
  its result (model sha256, exercise, effective profile incl. ``--config`` values, pose options,
  formcheck version). Its output *stem* is ``<file stem>-<first 10 hex of the content hash>``,
  so two inputs with the same name in different folders never collide and a renamed or moved
  file keeps its results.
* **Done marker.** After a video's result files (``<stem>.json`` last) are in place, the client
  writes ``<stem>.done.json`` holding the key, status and summary. Only a sidecar whose key
  matches counts as done; every file is written to a temporary name and renamed, so a
  ``kill -9`` at any moment leaves nothing half-written that counts as done.
* **One task function** (:func:`analyse_task`) runs in a local worker process or on a Dask
  worker. It never raises for a bad file; it returns the status, the reason and the result
  files' bytes, and the client writes them. Workers need no shared filesystem.
* **Pose model per worker.** Each worker process imports MediaPipe and loads/validates the
  model once (pool initializer, or first task on a Dask worker). Each video gets a fresh
  ``PoseLandmarker`` built from that model (about 50 ms, measured), so no tracking state and no
  timestamp sequence leaks from one video into the next and results do not depend on which
  worker ran a video or in which order.
"""

from __future__ import annotations

import atexit
import concurrent.futures as cf
import csv
import datetime as _dt
import glob
import io
import json
import math
import multiprocessing
import os
import re
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import click

from formcheck import __version__
from formcheck.errors import FormcheckError, InputError
from formcheck.hashing import settings_key, sha256_bytes, sha256_file
from formcheck.core.rules import EXERCISE_CHOICES, EXERCISES, RULE_IDS
from formcheck.pose.video import VIDEO_SUFFIXES

INDEX_JSON = "index.json"
INDEX_CSV = "index.csv"
LOG_FILE = "batch.log.jsonl"
WORKER_LOG = "batch.workers.log"
DONE_SUFFIX = ".done.json"
TMP_SUFFIX = ".batchtmp"
#: Statuses that count as a failure (exit code 1; redone by ``--retry-failed``). A video with
#: no person in it is a result, not a failure: it gets its warning and counts as done.
FAILED_STATUSES = ("failed",)
#: Statuses of a finished analysis whose result files must all be present.
DONE_STATUSES = ("ok", "no_person")
#: Result files of one stem, as written by :func:`formcheck.sinks.files.write_outputs`.
RESULT_SUFFIXES = (".track.npz", ".reps.csv", ".frames.csv", ".annotated.mp4", ".json")
#: Largest video sent to a Dask worker by default (MB); larger ones are refused, not sent.
DEFAULT_MAX_SIZE_MB = 512.0
#: Write the index at most this often while a run is going (seconds); always at the end.
INDEX_INTERVAL_S = 5.0
#: A task in flight when a local worker process dies is retried once, then failed.
MAX_CRASHES = 2

INDEX_COLUMNS = ("path", "status", "exercise", "reps", "attempts", "duration_s", "frames",
                 "analysis_s",
                 *(f"fault_{r}" for r in RULE_IDS), "error", "warnings", "stem", "key",
                 "video_sha256", "this_run", "analysed_utc", "worker", "duplicate_of",
                 "outputs")


# --------------------------------------------------------------------------------------------
# inputs, identity, settings


def _one_line(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= 500 else text[:497] + "..."


def _is_within(p: Path, root: Path | None) -> bool:
    if root is None:
        return False
    try:
        p.relative_to(root)
        return True
    except ValueError:
        return False


def _videos_under(folder: Path, exclude: Path | None) -> list[Path]:
    out = []
    for q in folder.rglob("*"):
        if q.suffix.lower() in VIDEO_SUFFIXES and q.is_file() and \
                not _is_within(q.resolve(), exclude):
            out.append(q)
    return sorted(out)


def discover_inputs(inputs: Iterable[str | os.PathLike],
                    exclude: str | os.PathLike | None = None) -> list[Path]:
    """Videos named by ``inputs``: files (taken as given, whatever their suffix), folders
    (searched recursively for :data:`VIDEO_SUFFIXES`) and glob patterns (``**`` allowed).

    Files under ``exclude`` (the output folder) are skipped when searching. Raises
    :class:`InputError` for an input that does not exist or when no video is found.
    """
    excl = Path(exclude).expanduser().resolve() if exclude is not None else None
    found: list[Path] = []
    seen: set[Path] = set()
    inputs = [str(i) for i in inputs]
    if not inputs:
        raise InputError("give at least one INPUT (a video file, a folder or a glob)")
    for raw in inputs:
        p = Path(raw).expanduser()
        if p.is_dir():
            items = _videos_under(p, excl)
        elif p.exists():
            items = [p]
        elif any(c in raw for c in "*?["):
            matches = sorted(glob.glob(os.path.expanduser(raw), recursive=True))
            if not matches:
                raise InputError(f"no files match {raw!r}")
            items = []
            for m in map(Path, matches):
                if m.is_dir():
                    items += _videos_under(m, excl)
                elif m.is_file() and m.suffix.lower() in VIDEO_SUFFIXES and \
                        not _is_within(m.resolve(), excl):
                    items.append(m)
        else:
            raise InputError(f"input not found: {raw}")
        for q in items:
            r = q.resolve()
            if r not in seen:
                seen.add(r)
                found.append(r)
    if not found:
        raise InputError(f"no videos ({', '.join(VIDEO_SUFFIXES)}) found in "
                         f"{', '.join(inputs)}")
    return found


def safe_stem(name: str, limit: int = 60) -> str:
    s = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "video"
    return s[:limit]


def output_stem(path: Path, video_sha256: str) -> str:
    """``<file stem>-<10 hex of the content hash>``: unique per content, stable across runs."""
    return f"{safe_stem(path.stem)}-{video_sha256[:10]}"


@dataclass
class Settings:
    """Everything that shapes a result, resolved and validated on the client."""

    exercise: str
    model_spec: str
    model_path: str
    model_sha256: str
    profile: dict
    config: str | None
    write_video: bool

    def identity(self) -> dict:
        """The part of the settings that goes into every video's key."""
        from formcheck.pose.estimator import PoseOptions
        from formcheck.core.track import TRACK_FORMAT_VERSION
        return {"formcheck_version": __version__, "exercise": self.exercise,
                "model_sha256": self.model_sha256, "profile": self.profile,
                "pose_options": asdict(PoseOptions()), "track_format": TRACK_FORMAT_VERSION}


def resolve_settings(exercise: str, model: str, config: str | os.PathLike | None,
                     write_video: bool = True) -> Settings:
    """Validate exercise, config and model before any video work (user errors: exit 2)."""
    from formcheck.pose.models import model_info, resolve_model
    from formcheck.core.rules import load_profile, resolve_exercise

    exercise = resolve_exercise(exercise, config)
    if exercise == "auto":  # candidates, each with the config applied
        profile = {ex: load_profile(ex, config).to_dict() for ex in EXERCISES}
    else:
        profile = load_profile(exercise, config).to_dict()
    mpath = resolve_model(model)
    info = model_info(mpath)
    return Settings(exercise=exercise, model_spec=str(model), model_path=str(mpath),
                    model_sha256=info["sha256"], profile=profile,
                    config=None if config is None else str(config), write_video=write_video)


@dataclass
class Job:
    path: Path
    display: str
    size: int = 0
    mtime_ns: int = 0
    video_sha256: str = ""
    stem: str = ""
    key: str = ""
    error: str | None = None  # failed before analysis (cannot read the file)
    crashes: int = 0
    duplicates: list = field(default_factory=list)


def _display(p: Path) -> str:
    try:
        return str(p.relative_to(Path.cwd()))
    except ValueError:
        return str(p)


# --------------------------------------------------------------------------------------------
# worker side (local process or Dask worker)

_LOCAL = threading.local()
_SETUP_DONE = False


def _worker_setup(log_path: str | None = None) -> None:
    """Quieten native logging, keep OpenCV single-threaded (one video per core)."""
    global _SETUP_DONE
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if log_path and os.environ.get("FORMCHECK_NATIVE_LOG") != "1":
        # MediaPipe/LiteRT print to fd 2 from C++: send it to a log, not over the progress bar
        try:
            fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            os.dup2(fd, 2)
            os.close(fd)
        except OSError:
            pass
    if not _SETUP_DONE:
        import cv2
        cv2.setNumThreads(1)
        _SETUP_DONE = True


def _exit_when_gone(pid: int, interval_s: float = 1.0) -> None:
    """End this worker when the client process ``pid`` is gone (e.g. killed with SIGKILL):
    its results could not be delivered, and an orphan would keep a core busy."""
    def watch() -> None:
        while True:
            time.sleep(interval_s)
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                os._exit(3)
            except OSError:
                pass

    threading.Thread(target=watch, name="formcheck-parent-watch", daemon=True).start()


def init_worker(model_path: str, log_path: str | None = None,
                client_pid: int | None = None) -> None:
    """Process-pool initializer: import MediaPipe and load the model once for this worker."""
    _worker_setup(log_path)
    if client_pid:
        _exit_when_gone(client_pid)
    _estimator(model_path)


def _estimator(model_path: str):
    """This thread's :class:`PoseEstimator` for ``model_path`` (created once)."""
    cached = getattr(_LOCAL, "est", None)
    if cached is not None and cached[0] == model_path:
        return cached[1]
    from formcheck.pose.estimator import PoseEstimator
    if cached is not None:
        cached[1].close()
        with _ALL_LOCK:
            _ALL_ESTIMATORS.remove(cached[1])
    est = PoseEstimator(model_path)
    _LOCAL.est = (model_path, est)
    with _ALL_LOCK:
        if not _ALL_ESTIMATORS:
            atexit.register(_close_all)
        _ALL_ESTIMATORS.append(est)
    return est


_ALL_ESTIMATORS: list = []
_ALL_LOCK = threading.Lock()


def _close_all() -> None:
    """Close landmarkers before interpreter teardown (their __del__ fails late in shutdown)."""
    for est in _ALL_ESTIMATORS:
        try:
            est.close()
        except Exception:  # noqa: BLE001
            pass


def _model_file(model_bytes: bytes, sha: str) -> str:
    """Cache model bytes sent by the client in this machine's temp dir; return the path."""
    d = Path(tempfile.gettempdir()) / "formcheck-models"
    d.mkdir(parents=True, exist_ok=True)
    p = d / f"{sha}.task"
    if not p.is_file() or p.stat().st_size != len(model_bytes):
        if sha256_bytes(model_bytes) != sha:
            raise RuntimeError("pose model bytes do not match their sha256")
        tmp = d / f".{sha}.{os.getpid()}.{threading.get_ident()}.tmp"
        tmp.write_bytes(model_bytes)
        os.replace(tmp, p)
    return str(p)


def _analyse(video: Path, model_path: str, task: dict):
    from formcheck.pose.models import model_info
    from formcheck.analysis import analyze_video
    from formcheck.core.rules import load_profile

    if task["exercise"] == "auto":  # the candidate profiles, settled per video
        exercise = {ex: load_profile(ex, d) for ex, d in task["profile"].items()}
    else:
        exercise = load_profile(task["exercise"], task["profile"])
    analysis = analyze_video(video, exercise=exercise,
                             estimator=_estimator(model_path), source_path=task["source"])
    mi = model_info(model_path)
    analysis.session.model.update({"name": mi["name"], "sha256": mi["sha256"],
                                   "path": task.get("model_display") or mi["path"]})
    return analysis


def analyse_task(task: dict) -> dict:
    """Analyse one video; never raises for a bad file.

    ``task``: ``stem``, ``source`` (the client's path, for messages and the session),
    ``path`` (readable here) or ``video_bytes`` + ``suffix``, ``model_path``, ``exercise``,
    ``profile`` (effective profile data), ``write_video``. Returns ``status`` ("ok",
    "no_person", "failed"), ``error``, ``files`` (``{kind: [filename, bytes]}``, json last),
    ``summary``, ``frames``, ``video_s``, ``elapsed_s``, ``worker``.
    """
    from formcheck.sinks.files import write_outputs

    t0, c0 = time.perf_counter(), time.process_time()
    stem, source = task["stem"], task["source"]
    res = {"stem": stem, "status": "failed", "error": None, "files": {}, "summary": {},
           "frames": 0, "video_s": 0.0, "elapsed_s": 0.0,
           "worker": f"{socket.gethostname()}:{os.getpid()}"}
    video = Path(task["path"]) if task.get("path") else None
    try:
        with tempfile.TemporaryDirectory(prefix="formcheck-batch-") as td:
            tdp = Path(td)
            if video is None:
                video = tdp / ("input" + (task.get("suffix") or ".mp4"))
                video.write_bytes(task["video_bytes"])
            analysis = _analyse(video, task["model_path"], task)
            files = write_outputs(analysis, tdp / "out", video_path=video,
                                  write_video=task["write_video"], stem=stem)
            res["files"] = {k: [name, (tdp / "out" / name).read_bytes()]
                            for k, name in files.items() if k != "json"}
            res["files"]["json"] = [files["json"], (tdp / "out" / files["json"]).read_bytes()]
            s, tr = analysis.session, analysis.track
            res["frames"], res["video_s"] = int(tr.n_frames), float(tr.duration_s)
            res["summary"] = {
                "exercise": s.exercise, "exercise_source": s.exercise_check.get("source"),
                "reps": s.rep_count, "attempts": len(s.attempts), "faults": s.fault_counts(),
                "view": s.camera.get("view"), "camera_warning": s.camera.get("warning"),
                "warnings": list(s.warnings), "person": bool(s.person.get("detected")),
                "duration_s": round(float(tr.duration_s), 3), "frames": int(tr.n_frames)}
            if not s.person.get("detected"):
                res["status"] = "no_person"
                res["error"] = "no person detected in the video"
            else:
                res["status"] = "ok"
    except FormcheckError as exc:
        msg = str(exc)
        if video is not None and task.get("video_bytes") is not None:
            msg = msg.replace(str(video), source)
        res["error"] = _one_line(msg)
    except Exception as exc:  # noqa: BLE001 - one bad file must never stop the batch
        res["error"] = _one_line(f"internal error: {type(exc).__name__}: {exc}")
    res["elapsed_s"] = round(time.perf_counter() - t0, 3)
    res["cpu_s"] = round(time.process_time() - c0, 3)  # all threads of this worker process
    return res


def analyse_remote(task: dict, model_bytes: bytes) -> dict:
    """Dask entry point: like :func:`analyse_task`, with the model sent as bytes."""
    _worker_setup()
    try:
        task = dict(task, model_path=_model_file(model_bytes, task["model_sha256"]))
    except Exception as exc:  # noqa: BLE001
        return {"stem": task["stem"], "status": "failed", "files": {}, "summary": {},
                "error": _one_line(f"worker cannot store the pose model: {exc}"), "frames": 0,
                "video_s": 0.0, "elapsed_s": 0.0,
                "worker": f"{socket.gethostname()}:{os.getpid()}"}
    return analyse_task(task)


def worker_version() -> str:
    return __version__


# --------------------------------------------------------------------------------------------
# client side: files, sidecars, index


def atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}{TMP_SUFFIX}")
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def read_json(path: Path) -> dict | None:
    try:
        d = json.loads(path.read_text("utf-8"))
        return d if isinstance(d, dict) else None
    except (OSError, ValueError, UnicodeDecodeError):
        return None


def sidecar_path(out_dir: Path, stem: str) -> Path:
    return out_dir / f"{stem}{DONE_SUFFIX}"


def done_state(out_dir: Path, job: Job, write_video: bool) -> tuple[str, dict | None]:
    """``("ok"|"failed"|"no_person", sidecar)`` when ``job`` is done with its key, else
    ``("pending", sidecar_or_None)``."""
    sc = read_json(sidecar_path(out_dir, job.stem)) if job.stem else None
    if not sc or sc.get("key") != job.key:
        return "pending", sc
    status = sc.get("status")
    if status in DONE_STATUSES:
        files = sc.get("outputs") or {}
        if "json" not in files or not all((out_dir / n).is_file() for n in files.values()):
            return "pending", sc
        if write_video and "annotated_video" not in files:
            return "pending", sc
    elif status not in FAILED_STATUSES:
        return "pending", sc
    return status, sc


def _cleanup_tmp(out_dir: Path) -> None:
    for p in out_dir.glob(f".*{TMP_SUFFIX}"):
        try:
            p.unlink()
        except OSError:
            pass


class Recorder:
    """Writes results, sidecars, the log, the store and the index for one run."""

    def __init__(self, out_dir: Path, settings: Settings) -> None:
        self.out = out_dir
        self.settings = settings
        try:
            from formcheck.review.store import record_session
        except ModuleNotFoundError:
            record_session = None
        self.record_session = record_session

    def commit(self, job: Job, res: dict) -> dict:
        """Put one finished task's results in place; return the sidecar written."""
        out = self.out
        old = read_json(sidecar_path(out, job.stem)) or {}
        written: dict[str, str] = {}
        warnings = list(res.get("summary", {}).get("warnings", []))
        for kind, (name, data) in res.get("files", {}).items():  # json comes last
            atomic_write_bytes(out / name, data)
            written[kind] = name
        # a redo (new settings) or a failure: remove result files that are not current
        keep = set(written.values())
        stale = {f"{job.stem}{s}" for s in RESULT_SUFFIXES} | set((old.get("outputs") or {})
                                                                   .values())
        for name in stale - keep:
            try:
                (out / name).unlink()
            except FileNotFoundError:
                pass
        if "json" in written and self.record_session is not None:
            try:
                from formcheck.core.session import Session
                jp = out / written["json"]
                self.record_session(out, Session.load(jp), jp)
            except Exception as exc:  # noqa: BLE001 - the store must not cost a result
                warnings.append(_one_line(f"not recorded in the store: {exc}"))
        now = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        sc = {"key": job.key, "stem": job.stem, "status": res["status"],
              "error": res.get("error"), "source": str(job.path), "video_sha256":
              job.video_sha256, "size": job.size, "outputs": written,
              "summary": {**res.get("summary", {}), "warnings": warnings},
              "frames": res.get("frames", 0), "video_s": res.get("video_s", 0.0),
              "analysis_s": res.get("elapsed_s"), "cpu_s": res.get("cpu_s"),
              "worker": res.get("worker"),
              "analysed_utc": now, "formcheck_version": __version__,
              "settings": {"exercise": self.settings.exercise,
                           "model_sha256": self.settings.model_sha256,
                           "config": self.settings.config}}
        atomic_write_text(sidecar_path(out, job.stem), json.dumps(sc, indent=2))
        self.log({"event": "analysed", "stem": job.stem, "path": str(job.path),
                  "status": res["status"], "key": job.key, "worker": res.get("worker"),
                  "analysis_s": res.get("elapsed_s"), "error": res.get("error")})
        return sc

    def log(self, entry: dict) -> None:
        entry = {"time_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                 **entry}
        line = (json.dumps(entry) + "\n").encode()
        fd = os.open(self.out / LOG_FILE, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)


def _row(job: Job, status: str, sc: dict | None, this_run: str) -> dict:
    sc = sc or {}
    summ = sc.get("summary") or {}
    faults = summ.get("faults") or {}
    return {
        "path": job.display, "abs_path": str(job.path), "status": status,
        "exercise": summ.get("exercise"), "reps": summ.get("reps"),
        "attempts": summ.get("attempts"),
        "duration_s": summ.get("duration_s"),
        "frames": summ.get("frames"), "analysis_s": sc.get("analysis_s"),
        "cpu_s": sc.get("cpu_s"),
        "faults": {r: int(faults.get(r, 0)) for r in RULE_IDS} if summ else {},
        "view": summ.get("view"),
        "error": job.error if job.error else sc.get("error"),
        "warnings": summ.get("warnings", []), "stem": job.stem, "key": job.key,
        "video_sha256": job.video_sha256, "size": job.size, "mtime_ns": job.mtime_ns,
        "this_run": this_run, "analysed_utc": sc.get("analysed_utc"),
        "worker": sc.get("worker"), "duplicate_of": None,
        "outputs": sc.get("outputs") or {},
    }


def write_index(out_dir: Path, rows: list[dict], carried: list[dict], meta: dict) -> None:
    """``index.json`` (rows + run metadata) and ``index.csv`` (one flat row per video)."""
    all_rows = rows + carried
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    doc = {"formcheck_version": __version__,
           "updated_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
           **meta, "counts": counts, "videos": all_rows}
    atomic_write_text(out_dir / INDEX_JSON, json.dumps(doc, indent=2))
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(INDEX_COLUMNS)
    for r in all_rows:
        faults = r.get("faults") or {}
        flat = {**r, **{f"fault_{k}": faults.get(k, "") if faults else "" for k in RULE_IDS},
                "warnings": "; ".join(r.get("warnings") or []),
                "outputs": ";".join((r.get("outputs") or {}).values())}
        w.writerow(["" if flat.get(c) is None else flat.get(c) for c in INDEX_COLUMNS])
    atomic_write_text(out_dir / INDEX_CSV, buf.getvalue())


# --------------------------------------------------------------------------------------------
# executors


def _failed(job: Job, reason: str) -> dict:
    return {"stem": job.stem, "status": "failed", "error": reason, "files": {}, "summary": {},
            "frames": 0, "video_s": 0.0, "elapsed_s": 0.0, "worker": None}


def _crashed(job: Job, queue: list) -> dict | None:
    """Count a worker crash against ``job``: requeue it (None) or, after MAX_CRASHES, fail it."""
    job.crashes += 1
    if job.crashes >= MAX_CRASHES:
        return _failed(job, "the worker process died while analysing this file "
                            f"({job.crashes} times)")
    queue.insert(0, job)
    return None


def _base_task(job: Job, s: Settings) -> dict:
    return {"stem": job.stem, "source": str(job.path), "suffix": job.path.suffix.lower(),
            "exercise": s.exercise, "profile": s.profile, "write_video": s.write_video,
            "model_sha256": s.model_sha256, "model_display": s.model_path}


def _mp_context():
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def run_local(jobs: list[Job], s: Settings, workers: int,
              log_path: str | None) -> Iterator[tuple[Job, dict]]:
    """Run ``jobs`` on a process pool; yield ``(job, result)`` as each finishes.

    At most ``workers`` tasks are in flight, so each is running; if a worker process dies,
    the tasks in flight are retried on a new pool, and a task caught in :data:`MAX_CRASHES`
    crashes is failed.
    """
    from concurrent.futures.process import BrokenProcessPool

    queue = list(jobs)
    ctx = _mp_context()
    while queue:
        ex = cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx,
                                    initializer=init_worker,
                                    initargs=(s.model_path, log_path, os.getpid()))
        in_flight: dict[cf.Future, Job] = {}
        broken = False
        try:
            while (queue or in_flight) and not broken:
                while queue and len(in_flight) < workers:
                    job = queue.pop(0)
                    task = dict(_base_task(job, s), path=str(job.path),
                                model_path=s.model_path)
                    try:
                        in_flight[ex.submit(analyse_task, task)] = job
                    except BrokenProcessPool:
                        queue.insert(0, job)
                        broken = True
                        break
                if not in_flight:
                    break
                done, _ = cf.wait(in_flight, return_when=cf.FIRST_COMPLETED)
                for fut in done:
                    job = in_flight.pop(fut)
                    try:
                        res = fut.result()
                    except BrokenProcessPool:
                        broken = True
                        failed = _crashed(job, queue)
                        if failed is not None:
                            yield job, failed
                        continue
                    except Exception as exc:  # noqa: BLE001
                        res = _failed(job, _one_line(f"internal error: {exc!r}"))
                    yield job, res
            if broken:
                for fut, job in in_flight.items():
                    if fut.done() and not fut.cancelled() and fut.exception() is None:
                        yield job, fut.result()  # finished just before the pool broke
                        continue
                    failed = _crashed(job, queue)
                    if failed is not None:
                        yield job, failed
                in_flight.clear()
        finally:
            clean = not broken and not in_flight
            if not clean:  # interrupted or broken: do not wait for videos still running
                for proc in list((getattr(ex, "_processes", None) or {}).values()):
                    try:
                        proc.terminate()
                    except Exception:  # noqa: BLE001
                        pass
            ex.shutdown(wait=clean, cancel_futures=True)


def connect_dask(scheduler: str, timeout_s: float = 20.0):
    """A ``distributed.Client`` for ``scheduler`` with formcheck importable on its workers."""
    try:
        from distributed import Client
    except ModuleNotFoundError:
        raise FormcheckError("--scheduler needs Dask distributed: pip install "
                             "'formcheck[cluster]'") from None
    try:
        client = Client(scheduler, timeout=f"{timeout_s}s", set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise FormcheckError(f"cannot connect to the Dask scheduler {scheduler}: "
                             f"{_one_line(str(exc)) or type(exc).__name__}") from None
    try:
        client.wait_for_workers(1, timeout=timeout_s)
    except (TimeoutError, OSError):
        client.close()
        raise FormcheckError(f"the Dask scheduler {scheduler} has no workers (waited "
                             f"{timeout_s:.0f} s); start some with 'dask worker {scheduler}'") \
            from None
    try:
        versions = client.run(worker_version)
    except Exception as exc:  # noqa: BLE001
        client.close()
        raise FormcheckError(f"Dask workers at {scheduler} cannot run formcheck "
                             f"({_one_line(str(exc))}); install formcheck on every worker") \
            from None
    bad = {w: v for w, v in versions.items() if v != __version__}
    if bad:
        client.close()
        w, v = next(iter(bad.items()))
        raise FormcheckError(f"Dask worker {w} has formcheck {v}, this client {__version__}; "
                             "install the same version everywhere")
    return client


def run_dask(jobs: list[Job], s: Settings, client,
             max_bytes: int) -> Iterator[tuple[Job, dict]]:
    """Run ``jobs`` on a Dask cluster; video and model bytes go to the workers, result bytes
    come back. A bounded number of tasks is in flight, so client memory stays bounded."""
    from distributed import as_completed

    model_bytes = Path(s.model_path).read_bytes()
    model_future = client.scatter(model_bytes, broadcast=True, hash=False)
    window = max(2, 2 * sum(client.nthreads().values()))
    queue = list(jobs)
    pending: dict[str, Job] = {}
    ac = as_completed(loop=client.loop)

    def submit_next() -> Iterator[tuple[Job, dict]]:
        while queue and len(pending) < window:
            job = queue.pop(0)
            if job.size > max_bytes:
                yield job, _failed(job, f"{job.size / 1e6:.0f} MB is over the cluster size "
                                   f"limit of {max_bytes / 1e6:.0f} MB (--max-size-mb)")
                continue
            try:
                data = job.path.read_bytes()
            except OSError as exc:
                yield job, _failed(job, _one_line(f"cannot read {job.display}: {exc}"))
                continue
            task = dict(_base_task(job, s), video_bytes=data)
            fut = client.submit(analyse_remote, task, model_future, pure=False,
                                key=f"formcheck-{job.stem}-{os.urandom(4).hex()}")
            pending[fut.key] = job
            ac.add(fut)

    try:
        yield from submit_next()
        while pending:
            fut = next(ac)
            job = pending.pop(fut.key)
            try:
                res = fut.result()
            except Exception as exc:  # noqa: BLE001 - e.g. KilledWorker
                res = _failed(job, _one_line(f"cluster task failed: {type(exc).__name__}: "
                                             f"{exc}"))
            fut.release()
            yield job, res
            yield from submit_next()
    finally:
        for f in list(ac.futures):
            f.cancel()


# --------------------------------------------------------------------------------------------
# the run


@dataclass
class BatchResult:
    rows: list[dict]
    analysed: int
    skipped: int
    failed: int
    out_dir: Path

    @property
    def counts(self) -> dict[str, int]:
        c: dict[str, int] = {}
        for r in self.rows:
            c[r["status"]] = c.get(r["status"], 0) + 1
        return c


def _hash_jobs(paths: list[Path], previous: dict[str, dict],
               progress: Callable[[int], None] | None) -> list[Job]:
    jobs = []
    for p in paths:
        job = Job(path=p, display=_display(p))
        try:
            st = p.stat()
            job.size, job.mtime_ns = st.st_size, st.st_mtime_ns
            prev = previous.get(str(p))
            if prev and prev.get("video_sha256") and prev.get("size") == st.st_size and \
                    prev.get("mtime_ns") == st.st_mtime_ns:
                job.video_sha256 = prev["video_sha256"]  # unchanged file: no need to re-read
            else:
                job.video_sha256 = sha256_file(p)
        except OSError as exc:
            job.error = _one_line(f"cannot read {job.display}: "
                                  f"{exc.strerror or type(exc).__name__}")
        if progress:
            progress(1)
        jobs.append(job)
    return jobs


def run_batch(inputs: Iterable[str | os.PathLike], out_dir: str | os.PathLike, *,
              workers: int | None = None, exercise: str = "hip_thrust", model: str = "full",
              config: str | os.PathLike | None = None, scheduler: str | None = None,
              retry_failed: bool = False, write_video: bool = True,
              max_size_mb: float = DEFAULT_MAX_SIZE_MB, quiet: bool = True,
              echo: Callable[[str], None] | None = None) -> BatchResult:
    """Analyse every video named by ``inputs`` into ``out_dir``; see the module docstring.

    Raises :class:`FormcheckError` for bad user input before any video is analysed.
    """
    from tqdm import tqdm

    if workers is not None and workers < 1:
        raise FormcheckError(f"--workers must be at least 1, got {workers}")
    if not math.isfinite(max_size_mb) or max_size_mb <= 0:
        raise FormcheckError(f"--max-size-mb must be a positive number, got {max_size_mb}")
    if exercise not in EXERCISE_CHOICES:
        raise FormcheckError(f"unknown exercise '{exercise}' (choose from "
                             f"{', '.join(EXERCISE_CHOICES)})")
    echo = echo or (lambda m: None)
    out = Path(out_dir).expanduser()
    if out.exists() and not out.is_dir():
        raise FormcheckError(f"--out {out} exists and is not a directory")
    settings = resolve_settings(exercise, model, config, write_video)
    paths = discover_inputs(inputs, exclude=out)
    if workers is None:
        workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") \
            else (os.cpu_count() or 1)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FormcheckError(f"cannot create --out {out}: {exc.strerror}") from None
    _cleanup_tmp(out)
    old_index = read_json(out / INDEX_JSON) or {}
    previous = {r.get("abs_path"): r for r in old_index.get("videos", [])
                if isinstance(r, dict) and r.get("abs_path")}

    identity = settings.identity()
    with tqdm(total=len(paths), desc="hashing", unit="file", disable=quiet, leave=False,
              file=sys.stderr) as bar:
        jobs = _hash_jobs(paths, previous, bar.update)
    for j in jobs:
        if not j.error:
            j.stem = output_stem(j.path, j.video_sha256)
            j.key = settings_key(j.video_sha256, identity)

    # one analysis per stem (same name and content in two folders: analysed once)
    primary: dict[str, Job] = {}
    for j in jobs:
        if j.stem and j.stem in primary:
            primary[j.stem].duplicates.append(j)
        elif j.stem:
            primary[j.stem] = j
    todo: list[Job] = []
    rows: dict[int, dict] = {}
    for j in jobs:
        if j.error:
            rows[id(j)] = _row(j, "failed", None, "failed")
            continue
        if primary[j.stem] is not j:
            continue
        state, sc = done_state(out, j, write_video)
        if state in DONE_STATUSES or (state in FAILED_STATUSES and not retry_failed):
            rows[id(j)] = _row(j, state, sc, "skipped")
        else:
            rows[id(j)] = _row(j, "pending", None, "pending")
            todo.append(j)

    # largest first: long videos do not end up alone at the tail of the run
    todo.sort(key=lambda j: -j.size)
    rec = Recorder(out, settings)
    named = {str(j.path) for j in jobs}
    carried = [r for k, r in previous.items() if k not in named]
    meta = {"out_dir": str(out), "settings": {"exercise": settings.exercise,
                                              "model": settings.model_spec,
                                              "model_sha256": settings.model_sha256,
                                              "config": settings.config,
                                              "write_video": write_video,
                                              "scheduler": scheduler,
                                              "workers": None if scheduler else workers}}

    def all_rows() -> list[dict]:
        result = []
        for j in jobs:
            if id(j) in rows:
                result.append(rows[id(j)])
            else:  # a duplicate: same result as its primary
                r = dict(rows[id(primary[j.stem])], path=j.display, abs_path=str(j.path),
                         mtime_ns=j.mtime_ns, duplicate_of=primary[j.stem].display)
                result.append(r)
        return result

    rec.log({"event": "start", "inputs": [str(i) for i in inputs], "videos": len(jobs),
             "to_analyse": len(todo), "scheduler": scheduler, "workers": workers,
             "key_settings": {"exercise": settings.exercise,
                              "model_sha256": settings.model_sha256}})
    write_index(out, all_rows(), carried, meta)
    n_skipped = sum(1 for r in rows.values() if r["this_run"] == "skipped")
    if todo:
        echo(f"{len(jobs)} videos: {len(todo)} to analyse, {n_skipped} already done"
             + (f" on {scheduler}" if scheduler else f" with {workers} worker(s)"))
    analysed = 0
    failed_now = 0
    interrupted = False
    client = connect_dask(scheduler) if scheduler and todo else None
    results = None
    frames_done = 0
    t_start = time.monotonic()
    bar = tqdm(total=len(todo), desc="batch", unit="video", disable=quiet or not todo,
               dynamic_ncols=True, file=sys.stderr, smoothing=0.05)
    try:
        if todo:
            if client is not None:
                results = run_dask(todo, settings, client, int(max_size_mb * 1e6))
            else:
                results = run_local(todo, settings, min(workers, len(todo)),
                                    str(out / WORKER_LOG))
            last = time.monotonic()
            for job, res in results:
                sc = rec.commit(job, res)
                analysed += 1
                frames_done += int(res.get("frames") or 0)
                rows[id(job)] = _row(job, res["status"], sc, "analysed")
                if res["status"] in FAILED_STATUSES:
                    failed_now += 1
                if res["status"] != "ok":
                    bar.write(f"{res['status']}: {job.display}: {res.get('error')}",
                              file=sys.stderr)
                fps = frames_done / max(time.monotonic() - t_start, 1e-6)
                bar.set_postfix_str(f"{fps:.0f} frames/s, failed {failed_now}", refresh=False)
                bar.update(1)
                if time.monotonic() - last > INDEX_INTERVAL_S:
                    write_index(out, all_rows(), carried, meta)
                    last = time.monotonic()
    except KeyboardInterrupt:
        interrupted = True
        raise
    finally:
        bar.close()
        if results is not None:
            results.close()  # stops the pool / cancels cluster tasks still in flight
        if client is not None:
            client.close()
        write_index(out, all_rows(), carried, meta)
        rec.log({"event": "interrupted" if interrupted else "end", "analysed": analysed})
    final = all_rows()
    n_failed = sum(1 for r in final if r["status"] in FAILED_STATUSES)
    return BatchResult(rows=final, analysed=analysed, skipped=n_skipped, failed=n_failed,
                       out_dir=out)


# --------------------------------------------------------------------------------------------
# CLI


def summary_lines(result: BatchResult, max_rows: int = 50) -> list[str]:
    """A table (every video when there are at most ``max_rows``, else the failures only)."""
    rows = result.rows
    shown = rows if len(rows) <= max_rows else [r for r in rows if r["status"] != "ok"]
    head = ["video", "status", "exercise", "reps", "faults", "note"]
    body = []
    for r in shown:
        faults = ", ".join(f"{k} x{v}" for k, v in (r.get("faults") or {}).items() if v)
        if r["status"] == "ok":
            note = "; ".join(r.get("warnings") or [])
        else:
            note = r.get("error") or ""
        if r.get("duplicate_of"):
            note = f"same file as {r['duplicate_of']}" + (f"; {note}" if note else "")
        body.append([r["path"], r["status"], r.get("exercise") or "-",
                     "-" if r.get("reps") is None else str(r["reps"]),
                     faults or ("none" if r["status"] == "ok" else ""), note])
    if not body:
        return []
    widths = [max(len(head[i]), *(len(b[i]) for b in body)) for i in range(len(head) - 1)]

    def fmt(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths)) + "  " + cells[-1]

    out = [fmt(head).rstrip(), "  ".join("-" * w for w in widths) + "  ----"]
    out += [fmt(b).rstrip() for b in body]
    if len(shown) < len(rows):
        out.append(f"({len(rows) - len(shown)} ok videos not listed; see index.csv)")
    return out


@click.command("batch")
@click.argument("inputs", nargs=-1, metavar="INPUT...")
@click.option("--out", "-o", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              required=True, help="Directory for result files, index.csv and index.json.")
@click.option("--workers", "-j", type=int, default=None,
              help="Local worker processes [default: number of cores].")
@click.option("--exercise", "-e", default="hip_thrust", show_default=True,
              metavar="|".join(EXERCISE_CHOICES),
              help="Exercise profile, or 'auto': read from each video's set-up.")
@click.option("--model", "-m", default="full", show_default=True, metavar="full|lite|heavy|PATH",
              help="Pose model: 'full' is bundled; 'lite'/'heavy' are fetched once; or a .task "
                   "file.")
@click.option("--config", "-c", type=click.Path(path_type=Path), default=None,
              help="TOML file overriding the exercise profile's thresholds.")
@click.option("--scheduler", default=None, metavar="tcp://HOST:PORT",
              help="Run on this Dask cluster instead of local processes (needs "
                   "formcheck[cluster]).")
@click.option("--retry-failed", is_flag=True,
              help="Also redo videos that failed (or had no person) in an earlier run.")
@click.option("--no-video", is_flag=True, help="Skip the annotated videos.")
@click.option("--max-size-mb", type=float, default=DEFAULT_MAX_SIZE_MB, show_default=True,
              help="With --scheduler: refuse videos larger than this (they are sent to the "
                   "workers whole).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def command(inputs, out_dir, workers, exercise, model, config, scheduler, retry_failed,
            no_video, max_size_mb, quiet):
    """Analyse many videos (files, folders, globs) into --out, resumably.

    A rerun skips videos already done with the same settings; a failed video is recorded in
    index.csv / index.json and never stops the run. Exit code 1 if any video failed (a video
    with no person is a result with a warning, not a failure).
    """
    result = run_batch(inputs, out_dir, workers=workers, exercise=exercise, model=model,
                       config=config, scheduler=scheduler, retry_failed=retry_failed,
                       write_video=not no_video, max_size_mb=max_size_mb, quiet=quiet,
                       echo=lambda m: click.echo(m, err=True))
    for line in summary_lines(result):
        click.echo(line)
    c = result.counts
    n = len(result.rows)
    parts = [f"{c.get('ok', 0)} ok", f"{c.get('failed', 0)} failed",
             f"{c.get('no_person', 0)} with no person"]
    click.echo(f"{n} videos: {', '.join(parts)}; analysed {result.analysed} now, "
               f"{result.skipped} already done. Index: {result.out_dir / INDEX_CSV}")
    if c.get("no_person"):
        click.echo(f"warning: {c['no_person']} of {n} videos had no person in frame (their "
                   f"results say so; see {result.out_dir / INDEX_CSV})", err=True)
    if result.failed:
        click.echo(f"error: {result.failed} of {n} videos failed (see "
                   f"{result.out_dir / INDEX_CSV}; rerun with --retry-failed to redo them)",
                   err=True)
        sys.exit(1)
