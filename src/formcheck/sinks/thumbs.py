"""Rep thumbnails that show the person: a portrait video's frame (a phone held upright, the
lifter lying across it) is cropped to a landscape band around the body instead of shrinking
the whole tall frame, which is mostly floor and wall. Image pixels throughout."""

from __future__ import annotations

import os

import numpy as np

#: Width over height of the band cut from a portrait frame.
BAND_ASPECT = 4 / 3
#: Space kept around the body's landmarks, as a share of their extent.
PAD = 0.25


def person_box(
    track_path: str | os.PathLike | None, frame: int
) -> tuple[float, float, float, float] | None:
    """``(x0, y0, x1, y1)`` px of the landmarks in ``frame`` of a saved track (``.track.npz``,
    the picture as analysed and annotated), or None without a track or a person there."""
    if track_path is None:
        return None
    try:
        with np.load(track_path, allow_pickle=False) as z:
            image = z["image"]
            if not 0 <= frame < len(image):
                return None
            xy = np.asarray(image[frame, :, :2], float)
    except (OSError, KeyError, ValueError):
        return None
    xy = xy[np.isfinite(xy).all(axis=1)]
    if len(xy) < 4:
        return None
    (x0, y0), (x1, y1) = xy.min(axis=0), xy.max(axis=0)
    return float(x0), float(y0), float(x1), float(y1)


def portrait_band(
    width: int, height: int, box: tuple[float, float, float, float] | None
) -> tuple[int, int, int, int] | None:
    """The rows to keep of a portrait ``width`` × ``height`` frame, as ``(x0, y0, x1, y1)``:
    the full width and ``width / BAND_ASPECT`` rows (more if the padded body is taller)
    centred on the body ``box``; None for a landscape frame or with no box."""
    if box is None or height <= width:
        return None
    x0, y0, x1, y1 = box
    pad = PAD * max(x1 - x0, y1 - y0)
    rows = int(round(min(height, max(width / BAND_ASPECT, (y1 - y0) + 2 * pad))))
    top = int(round((y0 + y1) / 2 - rows / 2))
    top = min(max(0, top), height - rows)
    return 0, top, width, top + rows
