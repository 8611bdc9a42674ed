"""Frames in: opening a camera, file or stream, the reader thread, the raw recording.

The reader grabs frames (a file is played at its own frame rate, as if it were a camera) and
leaves only the newest in a one-slot :class:`Mailbox`: a frame the model had no time for is
dropped, never queued. With a recording path, every frame read is also written on a
:class:`Recorder` thread.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from formcheck.errors import FormcheckError, InputError
from formcheck.fsutil import atomic_path

#: Seconds without a new frame before the source counts as stalled.
DEFAULT_TIMEOUT_S = 5.0
#: Extra grace for the first frame (cameras take a moment to start).
FIRST_FRAME_TIMEOUT_S = 10.0
#: Requested capture size for cameras (the model's cost barely depends on it; decoding does).
CAMERA_SIZE = (640, 480)
#: Frames a camera or stream may claim per second to be believed (else 30 is assumed).
PLAUSIBLE_FPS = (5.0, 240.0)


@dataclass
class Frame:
    """One frame read from the source."""

    index: int  # position on the source's frame grid (every frame read counts)
    t_s: float  # index / fps, s
    image: np.ndarray  # BGR
    t_cap: float  # time.perf_counter() when the frame was read, s


@dataclass
class SourceInfo:
    """What was opened."""

    kind: str  # "camera", "file" or "stream"
    name: str  # what the user gave
    fps: float  # frames per second
    width: int  # px
    height: int  # px
    path: str | None = None  # the file, for files


# ---------------------------------------------------------------------------------- opening
def open_capture(spec: str) -> tuple[cv2.VideoCapture, SourceInfo]:
    """Open ``spec`` (device index, file or URL); InputError with a one-line reason."""
    s = str(spec).strip()
    if s.isdigit():
        return _open_camera(int(s))
    if "://" in s:
        return _open_stream(s)
    return _open_file(s)


def _claimed_fps(cap: cv2.VideoCapture) -> float:
    """The frame rate a camera or stream reports, or 30 when it reports nonsense."""
    fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
    lo, hi = PLAUSIBLE_FPS
    return fps if math.isfinite(fps) and lo <= fps <= hi else 30.0


def _size(cap: cv2.VideoCapture) -> tuple[int, int]:
    return int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))


def _open_camera(idx: int) -> tuple[cv2.VideoCapture, SourceInfo]:
    cap = cv2.VideoCapture(idx)
    if not cap.isOpened():
        cap.release()
        raise InputError(
            f"cannot open camera {idx}: no such camera, or it is in use by another program"
        )
    cap.set(cv2.CAP_PROP_FRAME_WIDTH, CAMERA_SIZE[0])
    cap.set(cv2.CAP_PROP_FRAME_HEIGHT, CAMERA_SIZE[1])
    fps = _claimed_fps(cap)
    return cap, SourceInfo("camera", f"camera {idx}", fps, *_size(cap))


def _open_stream(url: str) -> tuple[cv2.VideoCapture, SourceInfo]:
    cap = cv2.VideoCapture(url, cv2.CAP_FFMPEG)
    if not cap.isOpened():
        cap.release()
        raise InputError(f"cannot open stream {url} (unreachable, or not a video stream)")
    fps = _claimed_fps(cap)
    return cap, SourceInfo("stream", url, fps, *_size(cap))


def _open_file(name: str) -> tuple[cv2.VideoCapture, SourceInfo]:
    from formcheck.pose.video import probe_video

    info = probe_video(name)  # one-line InputError for missing / non-video files
    cap = cv2.VideoCapture(info.path, cv2.CAP_FFMPEG)
    if not cap.isOpened():
        raise InputError(f"{name} cannot be opened as a video")
    cap.set(cv2.CAP_PROP_ORIENTATION_AUTO, 1)
    return cap, SourceInfo("file", name, info.fps, info.width, info.height, info.path)


# ---------------------------------------------------------------------------------- mailbox
class Mailbox:
    """A one-slot mailbox: ``put`` replaces an untaken item (counted as dropped)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item = None
        self.dropped = 0
        self.closed = False

    def put(self, item) -> None:
        with self._cond:
            if self._item is not None:
                self.dropped += 1
            self._item = item
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()

    def take(self, timeout: float):
        """The newest item, waiting up to ``timeout`` s; None on timeout or when closed+empty."""
        with self._cond:
            if self._item is None and not self.closed:
                self._cond.wait(timeout)
            item, self._item = self._item, None
            return item


# ---------------------------------------------------------------------------------- recording
class Recorder:
    """Writes every frame read to ``path`` (MPEG-4) on its own thread, on the source's frame
    grid (a gap repeats the next frame). At most :attr:`MAX_WAITING` frames wait; later ones
    are dropped (counted in :attr:`dropped`). The file appears whole when the recording ends.
    """

    MAX_WAITING = 240

    def __init__(self, path: Path, fps: float) -> None:
        self.path, self.fps = path, fps
        self.recorded = 0  # frames written
        self.dropped = 0
        self.error: str | None = None
        self._q: deque = deque()
        self._cond = threading.Condition()
        self._thread = threading.Thread(
            target=self._run, daemon=True, name="formcheck-live-recorder"
        )

    def start(self) -> None:
        self._thread.start()

    def put(self, index: int, image: np.ndarray) -> None:
        with self._cond:
            if len(self._q) < self.MAX_WAITING:
                self._q.append((index, image))
            else:
                self.dropped += 1
            self._cond.notify_all()

    def close(self, timeout_s: float = 30.0) -> None:
        """Write what is waiting, finish the file, wait up to ``timeout_s`` s for it."""
        with self._cond:
            self._q.append(None)
            self._cond.notify_all()
        self._thread.join(timeout=timeout_s)

    def _next(self):
        with self._cond:
            while not self._q:
                self._cond.wait(0.5)
            return self._q.popleft()

    def _run(self) -> None:
        from formcheck.sinks.annotate import check_encoded

        first = self._next()
        if first is None:  # nothing was read: no file
            return
        try:
            with atomic_path(self.path) as tmp:
                self._write(tmp, first)
                check_encoded(tmp, self.path, self.recorded)
        except FormcheckError as exc:  # e.g. a full disk: the set is still analysed
            self.error = str(exc)

    def _write(self, tmp: Path, item) -> None:
        h, w = item[1].shape[:2]
        writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), self.fps, (w, h))
        try:
            if not writer.isOpened():
                raise InputError(f"cannot write the recording {self.path}")
            last = -1
            while item is not None:
                i, img = item
                while last < i - 1:  # keep the recording on the frame grid
                    writer.write(img)
                    last += 1
                writer.write(img)
                last = i
                self.recorded = last + 1
                item = self._next()
        finally:
            writer.release()


# ---------------------------------------------------------------------------------- reader
class FrameReader:
    """Reads frames on a thread into a :class:`Mailbox`; records every frame if asked."""

    def __init__(
        self,
        cap: cv2.VideoCapture,
        info: SourceInfo,
        mailbox: Mailbox,
        *,
        realtime: bool = True,
        mirror: bool = False,
        record_path: Path | None = None,
    ) -> None:
        self.cap, self.info, self.box = cap, info, mailbox
        self.realtime = realtime and info.kind == "file"
        self.mirror = mirror
        self.record_path = record_path
        self.recorder = Recorder(record_path, info.fps) if record_path is not None else None
        self.count = 0  # frames read
        self.eof = False
        self.read_error: str | None = None
        self.last_frame_at = time.perf_counter()
        self.t0 = time.perf_counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="formcheck-live-reader", daemon=True)

    @property
    def error(self) -> str | None:
        """Why reading (or recording) failed, or None."""
        return self.read_error or (self.recorder.error if self.recorder else None)

    def start(self) -> None:
        self.t0 = self.last_frame_at = time.perf_counter()
        if self.recorder is not None:
            self.recorder.start()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2.0)
        if self.recorder is not None:
            self.recorder.close()
        with contextlib.suppress(Exception):  # a driver error on release is not the user's
            self.cap.release()

    def stalled(self, now: float, timeout_s: float) -> str | None:
        """Why the source counts as stalled at ``now`` (perf_counter s), or None."""
        waited = now - self.last_frame_at
        limit = timeout_s if self.count else max(timeout_s, FIRST_FRAME_TIMEOUT_S)
        if self.eof or waited <= limit:
            return None
        why = (
            "it may be in use by another program or disconnected"
            if self.count == 0 and self.info.kind == "camera"
            else "the source stopped sending"
        )
        return f"no frames from {self.info.name} for {waited:.0f} s ({why})"

    def _pace(self) -> None:
        """Play a file at its own frame rate."""
        due = self.t0 + self.count / self.info.fps
        wait = due - time.perf_counter()
        if wait > 0:
            time.sleep(wait)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                if self.realtime:
                    self._pace()
                ok, img = self.cap.read()
                if ok and img is not None:
                    self._deliver(img)
                elif self.info.kind == "file":
                    self.eof = True
                    break
                else:
                    time.sleep(0.005)  # a camera that stopped: the watchdog decides
        except Exception as exc:  # pragma: no cover - driver failures
            self.read_error = f"{self.info.name}: reading frames failed ({exc})"
        finally:
            self.box.close()

    def _deliver(self, img: np.ndarray) -> None:
        now = time.perf_counter()
        if self.mirror:
            img = cv2.flip(img, 1)
        i = self.count
        self.count += 1
        self.last_frame_at = now
        if self.recorder is not None:
            self.recorder.put(i, img)
        self.box.put(Frame(i, i / self.info.fps, img, now))
