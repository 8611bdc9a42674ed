"""Read a whole video into memory for the benchmarks (OpenCV, sequential, as stored)."""

from __future__ import annotations

from pathlib import Path


def read_frames(path: str | Path, limit: int = 0) -> tuple[list, float]:
    """The BGR frames of ``path`` (the first ``limit`` only, when > 0) and its stored fps."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    fps = float(cap.get(cv2.CAP_PROP_FPS))
    frames = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(f)
        if limit and len(frames) >= limit:
            break
    cap.release()
    return frames, fps
