"""Round outlines in a frame: the candidates for a weight plate seen side-on.

The person mask takes in only part of a plate whose colour is close to the background's (a
dark plate before a dark wall), so a rim fitted to the mask's outline can settle on the body's.
The plate's rim and hub are sharp circles in the picture itself: OpenCV's gradient Hough
transform (``HOUGH_GRADIENT_ALT``) finds them on a small grey copy of the frame (11–13 ms a
frame on this 2-core machine). Which circle is the plate is decided later, from the whole set
(:func:`formcheck.core.load.circle_path`).
"""

from __future__ import annotations

import os
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor

import cv2
import numpy as np

from formcheck.pose.video import VideoInfo, iter_frames

#: Frames a search may fall behind the reader before it waits.
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


def search_circles(
    video: str | os.PathLike,
    info: VideoInfo,
    detected: np.ndarray,
    every: int,
    step: int = 1,
    threads: int = 2,
) -> np.ndarray:
    """The circles of every ``every``-th frame the model ran on (every ``step``-th frame) where
    it found a person (``detected`` ``(T,)`` bool), read again from ``video``:
    ``(T, MAX_CIRCLES, 3)``, NaN rows for the frames not searched. A second pass, made only for
    a set with a weight on the hips: the frames are decoded again (the search on ``threads``
    threads; OpenCV releases the GIL), so an unloaded video costs nothing."""
    n = len(detected)
    out = np.full((n, MAX_CIRCLES, 3), np.nan, np.float32)
    every = max(1, int(every)) * max(1, int(step))
    jobs: deque[tuple[int, Future]] = deque()
    with ThreadPoolExecutor(max(1, threads), thread_name_prefix="circles") as pool:
        for i, _, frame in iter_frames(video, info, step=every, stop=n):
            if frame is None or not detected[i]:
                continue
            jobs.append((i, pool.submit(find_circles, frame)))
            while len(jobs) > PENDING:
                i0, job = jobs.popleft()
                out[i0] = job.result()
        for i0, job in jobs:
            out[i0] = job.result()
    return out
