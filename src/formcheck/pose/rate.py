"""Analysis frame rate: the pose model on every N-th frame, the frames between filled in.

Rep timing needs about 10-15 fps, so a 30 or 60 fps video need not go through the model frame
by frame. The model runs on frames 0, N, 2N …; the landmarks of the frames in between are
interpolated linearly in time (container timestamps), so the track keeps one row per video
frame and everything indexed by video frame (annotated video, report thumbnails) stays aligned.
"""

from __future__ import annotations

import numpy as np

#: Analysis rate (fps) that ``auto`` aims at; videos below :data:`AUTO_MIN_FPS` run at full rate.
AUTO_FPS = 15.0
AUTO_MIN_FPS = 24.0
#: The default (neither ``every`` nor a rate given): every frame of a video up to about this
#: rate (fps), every ``round(fps / DEFAULT_MAX_FPS)``-th frame of a faster one (a 50 or 60 fps
#: video runs at 25 or 30 fps, as a phone's standard video would).
DEFAULT_MAX_FPS = 30.0
#: Largest step accepted (``--every``).
MAX_STEP = 16


def analysis_step(
    fps: float, every: int | None = None, target_fps: float | str | None = None
) -> int:
    """Frames per model run (1 = every frame) for a video at ``fps`` frames/s.

    ``every``: that step as given. ``target_fps``: an analysis rate in frames/s (the step is
    ``round(fps / target_fps)``, at least 1), or ``"auto"``: :data:`AUTO_FPS` for videos at
    :data:`AUTO_MIN_FPS` fps or more, full rate below. Neither: about :data:`DEFAULT_MAX_FPS`
    for a faster video, else 1."""
    if every is not None:
        return max(1, min(MAX_STEP, int(every)))
    if target_fps is None:
        target_fps = DEFAULT_MAX_FPS
    if target_fps == "auto":
        if not fps or fps < AUTO_MIN_FPS:
            return 1
        target_fps = AUTO_FPS
    target = float(target_fps)
    if not (target > 0 and fps > 0):
        return 1
    return max(1, min(MAX_STEP, round(fps / target)))


def fill_skipped(arrays: list[np.ndarray], t_s: np.ndarray, step: int) -> None:
    """Fill, in place, the frames of ``arrays`` (each ``(T, …)``) that the model skipped.

    The model ran on frames ``0, step, 2 step …``; a frame between two of them gets their
    linear interpolation at its time ``t_s`` (s), so NaN (no person) on either side stays NaN;
    frames after the last model frame repeat it."""
    n = len(t_s)
    if step <= 1 or n < 2:
        return
    ran = np.arange(0, n, step)
    a = ran[:-1]
    b = ran[1:]
    for k in range(1, step):
        i = a + k
        w = (t_s[i] - t_s[a]) / (t_s[b] - t_s[a])
        for arr in arrays:
            wk = w.reshape(-1, *([1] * (arr.ndim - 1))).astype(arr.dtype)
            arr[i] = (1 - wk) * arr[a] + wk * arr[b]
    tail = np.arange(ran[-1] + 1, n)
    for arr in arrays:
        arr[tail] = arr[ran[-1]]


def no_person_zeroed(image: np.ndarray, *scores: np.ndarray) -> None:
    """Set ``scores`` (visibility, presence; ``(T, 33)``) to 0 in frames whose ``image``
    landmarks are NaN (no person), as for a frame the model found no one in."""
    none = ~np.isfinite(image[:, :, 0]).any(axis=1)
    for s in scores:
        s[none] = 0.0
