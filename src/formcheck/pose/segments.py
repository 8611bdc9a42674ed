"""One video's pose track from two processes: both cores on one video.

The MediaPipe landmarker runs on one core, so a 2-core machine analyses one video at half its
speed. Here the frames are split into consecutive segments; each segment after the first is
run by its own landmarker in a child process (VIDEO mode: the tracker starts afresh there)
from :data:`WARMUP_S` before its first kept frame, so the tracker has settled by the seam; the
first segment runs in the calling process at the same time. The segments' tracks are then
stitched (:func:`stitch`): frame times come from the container in every segment (each reads
the video from its start, decoding only, up to its warm-up), so the track is the same shape
and timing as one run over the whole video. Everything downstream (filters, reps, rules) runs
on the stitched track as usual.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from formcheck.core.masks import MaskStack
from formcheck.core.track import PoseTrack
from formcheck.errors import FormcheckError, InputError
from formcheck.pose.video import VideoInfo, iter_frames

#: Seconds of video each later segment's landmarker sees before its first kept frame.
WARMUP_S = 1.5
#: Shortest video (s) split across processes: a child's start-up (2-4 s on the 2-core build
#: machine: imports, model load, decoding up to its segment) has to be paid back; a 12 s video
#: at 30 fps is ~9 s of model time in one process, ~4.5 s + start-up in two.
MIN_SPLIT_S = 12.0
#: Frames between progress messages from a child.
PROGRESS_EVERY = 30


def auto_workers(info: VideoInfo, cpus: int | None = None) -> int:
    """How many processes to split ``info``'s video across: 2 on a machine with 2 or more
    cores for a video of at least :data:`MIN_SPLIT_S`, else 1."""
    if cpus is None:
        affinity = getattr(os, "sched_getaffinity", None)
        cpus = len(affinity(0)) if affinity else (os.cpu_count() or 1)
    return 2 if cpus >= 2 and info.duration_s >= MIN_SPLIT_S else 1


def plan(n_frames: int, parts: int) -> list[tuple[int, int | None]]:
    """``parts`` consecutive ``(start, stop)`` frame ranges over ``n_frames`` (the declared
    count); the last one open-ended (``stop`` None: to the end, whatever the count said)."""
    parts = max(1, min(int(parts), max(1, n_frames)))
    cuts = [round(k * n_frames / parts) for k in range(parts)]
    return [(c, cuts[k + 1] if k + 1 < parts else None) for k, c in enumerate(cuts)]


def segment_track(est, video, info: VideoInfo, start: int, stop: int | None, step: int, progress):
    """The track of frames ``[0, stop)`` with the model run from ``start`` less the warm-up
    (the frames before are decoded only: empty rows)."""
    from formcheck.pose.estimator import track_from_frames

    warm = max(0, start - int(round(WARMUP_S * info.fps)))
    frames = iter_frames(video, info, step=step, skip_before=warm, stop=stop)
    return track_from_frames(est, frames, info, progress, step)


def stitch(tracks: list[PoseTrack], starts: list[int]) -> PoseTrack:
    """One track of segment ``k``'s rows from ``starts[k]`` to the next start (each segment's
    track numbers its rows from the video's first frame)."""
    ends = [*starts[1:], None]
    keep = [(t, s, e) for t, s, e in zip(tracks, starts, ends, strict=True) if t.n_frames > s]
    if not keep:
        raise InputError(f"{tracks[0].meta.get('source')} has no decodable video frames")

    def cat(name: str) -> np.ndarray:
        return np.concatenate([getattr(t, name)[s:e] for t, s, e in keep])

    first = keep[0][0]
    masks = None
    if all(t.masks is not None for t, _, _ in keep):
        masks = MaskStack(first.masks.hw)
        for t, s, e in keep:
            masks.extend(t.masks.take(np.arange(t.n_frames)[s:e]))
    circles = cat("circles") if all(t.circles is not None for t, _, _ in keep) else None
    n = sum(len(range(t.n_frames)[s:e]) for t, s, e in keep)
    meta = {**first.meta, "frames_decoded": n, "segments": len(keep)}
    return replace(
        first,
        image=cat("image"),
        world=cat("world"),
        visibility=cat("visibility"),
        presence=cat("presence"),
        t_s=cat("t_s"),
        masks=masks,
        meta=meta,
        circles=circles,
    )


def _child(conn, model_path, options, video, info, start, stop, step) -> None:
    """A later segment in a child process: sends ``("n", frames)`` now and then, then
    ``("track", PoseTrack)`` or ``("error", message)``."""
    from formcheck.pose.estimator import PoseEstimator

    done = [0]

    def progress(k: int) -> None:
        done[0] += k
        if done[0] >= PROGRESS_EVERY:
            conn.send(("n", done[0]))
            done[0] = 0

    try:
        with PoseEstimator(model_path, options) as est:
            track = segment_track(est, video, info, start, stop, step, progress)
        conn.send(("track", track))
    except FormcheckError as exc:
        conn.send(("error", str(exc)))
    except Exception as exc:  # noqa: BLE001 - reported to the parent as one line
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


def parallel_track(
    est,
    video: str | os.PathLike,
    info: VideoInfo,
    workers: int = 2,
    progress: Callable[[int], None] | None = None,
    step: int = 1,
) -> PoseTrack:
    """The video's track with its frames split across ``workers`` processes: the first
    segment on ``est`` here, each later one in a child (spawned: a fresh interpreter with its
    own landmarker of the same model and options). A child that cannot start or dies without
    a result (killed, out of memory) has its segment redone here."""
    segments = plan(info.frame_count, workers)
    kids = _Children(progress)
    try:
        for start, stop in segments[1:]:
            kids.start(est, video, info, start, stop, step)

        def forward(k: int) -> None:  # our frames and the children's, into one progress
            if progress is not None:
                progress(k)
                kids.poll()

        start, stop = segments[0]
        tracks = [segment_track(est, video, info, start, stop, step, forward)]
        for k, (start, stop) in enumerate(segments[1:]):
            track = kids.collect(k)
            if track is None:
                est.reset()
                track = segment_track(est, video, info, start, stop, step, None)
            tracks.append(track)
    finally:
        kids.stop()
    return stitch(tracks, [s for s, _ in segments])


class _Children:
    """The child processes of one video, their pipes, progress and results."""

    def __init__(self, progress: Callable[[int], None] | None) -> None:
        self.progress = progress
        self.procs: list = []  # a Process, or None when it could not start
        self.pipes: list = []
        self.results: dict[int, tuple[str, object]] = {}  # child -> ("track"|"error", value)
        self.ctx = mp.get_context("spawn")

    def start(self, est, video, info: VideoInfo, start: int, stop: int | None, step: int) -> None:
        recv, send = self.ctx.Pipe(duplex=False)
        args = (send, str(est.model_path), est.options, str(video), info, start, stop, step)
        proc = self.ctx.Process(target=_child, args=args, daemon=True, name="formcheck-segment")
        try:
            proc.start()
        except OSError:  # no processes to be had here: the segment runs in this one
            proc = None
        send.close()
        self.procs.append(proc)
        self.pipes.append(recv)

    def _read(self, k: int) -> bool:
        """One message from child ``k`` (False: it ended without a result)."""
        try:
            kind, value = self.pipes[k].recv()
        except (EOFError, OSError):
            self.results[k] = ("failed", None)
            return False
        if kind == "n":
            if self.progress is not None:
                self.progress(value)
        else:
            self.results[k] = (kind, value)
        return True

    def poll(self) -> None:
        """Forward what the children have said so far (never waits)."""
        for k, pipe in enumerate(self.pipes):
            while k not in self.results and self.procs[k] is not None and pipe.poll():
                self._read(k)

    def collect(self, k: int) -> PoseTrack | None:
        """Child ``k``'s track, waiting for it; None if it has to be redone here; InputError if
        its segment failed (a bad video)."""
        if self.procs[k] is None:
            return None
        while k not in self.results:
            self._read(k)
        kind, value = self.results[k]
        if kind == "error":
            raise InputError(str(value))
        return value if kind == "track" else None  # type: ignore[return-value]

    def stop(self) -> None:
        for proc, pipe in zip(self.procs, self.pipes, strict=True):
            pipe.close()
            if proc is not None:
                if proc.is_alive():
                    proc.terminate()
                proc.join(5)
