"""Round outlines in a frame: the candidates for a weight plate seen side-on.

The person mask takes in only part of a plate whose colour is close to the background's (a
dark plate before a dark wall), so a rim fitted to the mask's outline can settle on the body's.
The plate's rim and hub are sharp circles in the picture itself: OpenCV's gradient Hough
transform (``HOUGH_GRADIENT_ALT``) finds them on a small grey copy of the frame, a few
milliseconds a frame. Which circle is the plate is decided later, from the whole set
(:func:`formcheck.core.load.circle_path`).
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor

import cv2
import numpy as np

#: Frames a search may fall behind the model before the reader waits for it.
PENDING = 8
#: Longer side (px) of the grey copy searched.
CIRCLE_SIDE = 480
#: Most circles kept per frame (the best first).
MAX_CIRCLES = 6
#: Radii searched, as fractions of the frame's shorter side.
MIN_RADIUS, MAX_RADIUS = 0.05, 0.5
#: Accumulator resolution of the Hough transform (pixels of the copy per accumulator cell).
ACCUMULATOR = 1.5
#: Canny's upper threshold and the least circularity (0..1) of ``HOUGH_GRADIENT_ALT``.
EDGE, ROUNDNESS = 150, 0.6


def find_circles(frame_bgr: np.ndarray) -> np.ndarray:
    """The clearest circles in ``frame_bgr``: ``(MAX_CIRCLES, 3)`` float32 rows ``x, y, r`` in
    the frame's pixels, best first, NaN rows where fewer were found."""
    out = np.full((MAX_CIRCLES, 3), np.nan, np.float32)
    h, w = frame_bgr.shape[:2]
    scale = min(1.0, CIRCLE_SIDE / max(h, w))
    grey = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY)
    if scale < 1.0:
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        grey = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
    grey = cv2.GaussianBlur(grey, (5, 5), 1.5)
    short = min(grey.shape)
    found = cv2.HoughCircles(
        grey,
        cv2.HOUGH_GRADIENT_ALT,
        dp=ACCUMULATOR,
        minDist=max(2.0, 0.02 * short),
        param1=EDGE,
        param2=ROUNDNESS,
        minRadius=max(3, int(MIN_RADIUS * short)),
        maxRadius=int(MAX_RADIUS * short),
    )
    if found is None:
        return out
    rows = np.asarray(found, np.float32).reshape(-1, 3)[:MAX_CIRCLES] / scale
    out[: len(rows)] = rows
    return out


class CircleLog:
    """The circles of every ``every``-th frame with a person, as a video is read (``every``
    0: none searched); :meth:`array` gives the ``(T, MAX_CIRCLES, 3)`` block for the track.

    The search runs on a worker thread while the pose model works on the next frames (OpenCV
    releases the GIL, and the model leaves most of a second core idle), at most
    :data:`PENDING` frames behind; the results are those of searching in line. Use as a
    context manager, or call :meth:`close`."""

    def __init__(self, every: int) -> None:
        self.every = int(every)
        self._found: dict[int, np.ndarray] = {}
        self._pending: deque[tuple[int, Future]] = deque()
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="circles") if self.every else None

    def offer(self, index: int, run: int, frame_bgr: np.ndarray) -> None:
        """Frame ``index``, the ``run``-th the model ran on: searched when its turn comes."""
        if self._pool is None or run % self.every:
            return
        self._pending.append((index, self._pool.submit(find_circles, frame_bgr)))
        while len(self._pending) > PENDING:
            self._collect()

    def _collect(self) -> None:
        index, job = self._pending.popleft()
        self._found[index] = job.result()

    def array(self, n_frames: int) -> np.ndarray | None:
        """Waits for the searches still running; None when none were asked for."""
        if self._pool is None:
            return None
        while self._pending:
            self._collect()
        out = np.full((n_frames, MAX_CIRCLES, 3), np.nan, np.float32)
        for i, rows in self._found.items():
            if i < n_frames:
                out[i] = rows
        return out

    def close(self) -> None:
        if self._pool is not None:
            for _, job in self._pending:
                job.cancel()
            self._pool.shutdown(wait=True)

    def __enter__(self) -> CircleLog:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
