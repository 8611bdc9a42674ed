"""The records that go to a worker and come back: :class:`Task` and :class:`Result`.

Both are frozen dataclasses of plain values, so they pickle to a local worker process and to a
Dask worker alike. A worker never raises for a bad video: it returns a :class:`Result` whose
``status`` says what happened and whose ``files`` hold the result files' bytes.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from formcheck.batch.discover import Job, Settings


def one_line(text: str) -> str:
    """``text`` on one line, cut to 500 characters (for error messages in the index)."""
    text = " ".join(str(text).split())
    return text if len(text) <= 500 else text[:497] + "..."


def worker_name() -> str:
    """``host:pid`` of this process, recorded with each result."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class Task:
    """One video to analyse, with every setting that shapes its result.

    The video is ``path`` (readable where the task runs) or ``video_bytes`` (sent whole, with
    ``suffix``); the model is ``model_path`` on the worker's machine. ``source`` is the
    client's path of the video, for messages and the session; ``profile`` is the effective
    profile data (per candidate exercise when ``exercise`` is ``"auto"``).
    """

    stem: str
    source: str
    suffix: str
    exercise: str
    profile: dict
    write_video: bool
    model_sha256: str
    model_display: str
    path: str | None = None
    video_bytes: bytes | None = None
    model_path: str | None = None
    rotate: str = "auto"

    @classmethod
    def for_job(cls, job: Job, settings: Settings, **where) -> Task:
        """The task for ``job``; ``where``: ``path`` and ``model_path``, or ``video_bytes``."""
        return cls(
            stem=job.stem,
            source=str(job.path),
            suffix=job.path.suffix.lower(),
            exercise=settings.exercise,
            profile=settings.profile,
            write_video=settings.write_video,
            model_sha256=settings.model_sha256,
            model_display=settings.model_path,
            rotate=settings.rotate,
            **where,
        )


@dataclass(frozen=True)
class Summary:
    """What the index shows of one analysed video (durations in s)."""

    exercise: str
    exercise_source: str | None
    reps: int
    attempts: int
    faults: dict
    view: str | None
    camera_warning: str | None
    warnings: list
    person: bool
    duration_s: float
    frames: int
    truncated: bool = False


@dataclass(frozen=True)
class Result:
    """The outcome of one task.

    ``status``: ``"ok"``, ``"truncated"`` (the file was cut short or damaged; the result
    covers what could be read, ``error`` says how much), ``"no_person"`` or ``"failed"`` (with
    ``error``, one line).
    ``files``: ``{kind: (file name, bytes)}``, the session json last. ``frames`` and
    ``video_s`` (s) describe the video; ``elapsed_s`` and ``cpu_s`` the analysis (s; CPU time
    of all the worker's threads). ``worker``: ``host:pid``, or None for a task that never ran.
    """

    stem: str
    status: str = "failed"
    error: str | None = None
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    summary: Summary | None = None
    frames: int = 0
    video_s: float = 0.0
    elapsed_s: float = 0.0
    cpu_s: float | None = None
    worker: str | None = None


def failed_result(stem: str, reason: str, worker: str | None = None) -> Result:
    """A failed :class:`Result` with ``reason``."""
    return Result(stem=stem, status="failed", error=reason, worker=worker)
