"""The worker side: one task function for a local worker process or a Dask worker.

Each worker process imports MediaPipe and loads/validates the pose model once (pool
initializer, or first task on a Dask worker) and keeps one :class:`PoseEstimator` per thread.
Each video gets a fresh ``PoseLandmarker`` built from that model (about 50 ms, measured), so no
tracking state and no timestamp sequence leaks from one video into the next, and results do
not depend on which worker ran a video or in which order.

:func:`analyse_task` never raises for a bad file: it returns a :class:`Result` with the status,
the reason and the result files' bytes, and the client writes them. Workers need no shared
filesystem.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

from formcheck import __version__
from formcheck.batch.task import Result, Summary, Task, failed_result, one_line, worker_name
from formcheck.errors import FormcheckError
from formcheck.fsutil import atomic_write_bytes
from formcheck.hashing import sha256_bytes

_LOCAL = threading.local()
_SETUP_DONE = False
_ALL_ESTIMATORS: list = []
_ALL_LOCK = threading.Lock()


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


def init_worker(
    model_path: str, log_path: str | None = None, client_pid: int | None = None
) -> None:
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


def _close_all() -> None:
    """Close landmarkers before interpreter teardown (their __del__ fails late in shutdown)."""
    for est in _ALL_ESTIMATORS:
        with contextlib.suppress(Exception):
            est.close()


def _model_file(model_bytes: bytes, sha: str) -> str:
    """Cache model bytes sent by the client in this machine's temp dir; return the path."""
    d = Path(tempfile.gettempdir()) / "formcheck-models"
    d.mkdir(parents=True, exist_ok=True)
    p = d / f"{sha}.task"
    if not p.is_file() or p.stat().st_size != len(model_bytes):
        if sha256_bytes(model_bytes) != sha:
            raise RuntimeError("pose model bytes do not match their sha256")
        atomic_write_bytes(p, model_bytes)
    return str(p)


def _analyse(video: Path, task: Task):
    """The :class:`Analysis` of ``video`` under ``task``'s settings (writes nothing)."""
    from formcheck.analysis import analyze_video
    from formcheck.core.rules import load_profile
    from formcheck.pose.models import model_info

    if task.exercise == "auto":  # the candidate profiles, settled per video
        exercise = {ex: load_profile(ex, d) for ex, d in task.profile.items()}
    else:
        exercise = load_profile(task.exercise, task.profile)
    analysis = analyze_video(
        video,
        exercise=exercise,
        estimator=_estimator(task.model_path),
        source_path=task.source,
        rotate=task.rotate,
    )
    mi = model_info(task.model_path)
    model = analysis.session.model
    model.name, model.sha256, model.path = (
        mi["name"],
        mi["sha256"],
        task.model_display or mi["path"],
    )
    return analysis


def _summary(analysis) -> Summary:
    s, tr = analysis.session, analysis.track
    return Summary(
        exercise=s.exercise,
        exercise_source=s.exercise_check.source,
        reps=s.rep_count,
        attempts=len(s.attempts),
        faults=s.fault_counts(),
        view=s.camera.view,
        camera_warning=s.camera.warning,
        warnings=list(s.warnings),
        person=bool(s.person.detected),
        duration_s=round(float(tr.duration_s), 3),
        frames=int(tr.n_frames),
        truncated=bool(s.video.truncated),
    )


def _analyse_into(video: Path, out: Path, task: Task, write_outputs) -> Result:
    """Analyse ``video``, write its result files into ``out`` (with ``write_outputs``, see
    :func:`formcheck.sinks.files.write_outputs`) and return them as bytes."""
    analysis = _analyse(video, task)
    names = write_outputs(
        analysis, out, video_path=video, write_video=task.write_video, stem=task.stem
    )
    files = {k: (name, (out / name).read_bytes()) for k, name in names.items() if k != "json"}
    files["json"] = (names["json"], (out / names["json"]).read_bytes())  # last: marks done
    summary = _summary(analysis)
    status, error = "ok", None
    if summary.truncated:  # the file itself needs fixing first
        status, error = "truncated", analysis.track.meta.get("read_shortfall")
    elif not summary.person:
        status, error = "no_person", "no person detected in the video"
    return Result(
        stem=task.stem,
        status=status,
        error=error,
        files=files,
        summary=summary,
        frames=int(analysis.track.n_frames),
        video_s=float(analysis.track.duration_s),
        worker=worker_name(),
    )


def analyse_task(task: Task) -> Result:
    """Analyse one video; never raises for a bad file (see :class:`Result`)."""
    from formcheck.sinks.files import write_outputs  # outside the try: a broken install is
    # reported by the executor (as an internal error without a worker)

    t0, c0 = time.perf_counter(), time.process_time()
    video = Path(task.path) if task.path else None
    try:
        with tempfile.TemporaryDirectory(prefix="formcheck-batch-") as td:
            tdp = Path(td)
            if video is None:
                video = tdp / ("input" + (task.suffix or ".mp4"))
                video.write_bytes(task.video_bytes)
            res = _analyse_into(video, tdp / "out", task, write_outputs)
    except FormcheckError as exc:
        msg = str(exc)
        if video is not None and task.video_bytes is not None:
            msg = msg.replace(str(video), task.source)  # the client's name, not the copy's
        res = failed_result(task.stem, one_line(msg), worker_name())
    except Exception as exc:  # noqa: BLE001 - one bad file must never stop the batch
        res = failed_result(
            task.stem, one_line(f"internal error: {type(exc).__name__}: {exc}"), worker_name()
        )
    return replace(
        res, elapsed_s=round(time.perf_counter() - t0, 3), cpu_s=round(time.process_time() - c0, 3)
    )  # all threads of this process


def analyse_remote(task: Task, model_bytes: bytes) -> Result:
    """Dask entry point: like :func:`analyse_task`, with the model sent as bytes."""
    _worker_setup()
    try:
        task = replace(task, model_path=_model_file(model_bytes, task.model_sha256))
    except Exception as exc:  # noqa: BLE001
        return failed_result(
            task.stem, one_line(f"worker cannot store the pose model: {exc}"), worker_name()
        )
    return analyse_task(task)


def worker_version() -> str:
    """The formcheck version of this worker (checked against the client's at connect)."""
    return __version__
