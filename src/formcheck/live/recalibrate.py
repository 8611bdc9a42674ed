"""Re-reading the scene as a live set goes on: the floor and metre scale over every usable
frame so far, a weight on the hips, and the silhouette midline at the tops (what offline
analysis reads over the whole set). Pure functions of the live engine's grid frames. Pixels,
metres, degrees."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from formcheck.core.geometry import Geometry, estimate_geometry
from formcheck.core.load import detect_load
from formcheck.core.measures import top_frames
from formcheck.core.rules import Profile
from formcheck.core.setup_check import ExerciseCheck, check_exercise
from formcheck.core.silhouette import midline_bias
from formcheck.core.track import N_LANDMARKS
from formcheck.live.series import RawFrame, raw_subtrack, unpack_mask


def grid_xy(xy: list[np.ndarray | None], n: int) -> np.ndarray:
    """The smoothed landmarks of the first ``n`` grid frames as ``(n, 33, 2)`` (NaN: nobody)."""
    out = np.full((n, N_LANDMARKS, 2), np.nan)
    for k in range(min(n, len(xy))):
        if xy[k] is not None:
            out[k] = xy[k]
    return out


def rescaled_geometry(
    geom: Geometry,
    raw: list[RawFrame],
    xy: list[np.ndarray | None],
    usable: list[int],
    fps: float,
    size: tuple[int, int],
    mask_scale: float,
) -> tuple[Geometry, Geometry] | None:
    """``geom`` with the floor and the metre scale re-read over the ``usable`` frames, as
    ``estimate_geometry`` does offline over the whole set, and the geometry read there (its
    yaw is the view's over the same frames); None if it cannot be read or sees another side.
    From the set-up alone (lying at the bottom) the scale read up to 26 % large and the floor
    10° off, which made every heel rise read about 1 cm high."""
    if len(usable) < 3 or geom.side not in ("left", "right"):
        return None
    sub = raw_subtrack(raw, usable, fps, size[0], size[1], mask_scale, with_masks=False)
    g = estimate_geometry(sub, np.stack([xy[k] for k in usable]))
    if g.side != geom.side or not math.isfinite(g.m_per_px):
        return None
    new = replace(
        geom, floor_dir=g.floor_dir, up=g.up, m_per_px=g.m_per_px, floor_source=g.floor_source
    )
    return new, g


def _masked(raw: list[RawFrame], frames: list[int]) -> list[int] | None:
    """Of ``frames``, those with a mask of the first one's shape (packed masks keep theirs);
    None when fewer than 3 have a mask at all."""
    frames = [k for k in frames if k < len(raw) and raw[k] is not None and raw[k][4] is not None]
    if len(frames) < 3:
        return None
    shape = raw[frames[0]][4][1]
    return [k for k in frames if raw[k][4][1] == shape]


def tops_midline(
    raw: list[RawFrame],
    xy: list[np.ndarray | None],
    shk_raw: np.ndarray,
    blocked: np.ndarray,
    geom: Geometry,
    mask_scale: float,
) -> float | None:
    """The silhouette midline bias (degrees) over the tops seen so far (frames near the top of
    the raw angle, usable and with a mask of one shape); None with fewer than 3 such frames."""
    n = len(shk_raw)
    frames = _masked(raw, [int(k) for k in top_frames(np.where(blocked > 0, np.nan, shk_raw))])
    if frames is None:
        return None
    shape = raw[frames[0]][4][1]
    pts = np.full((n, N_LANDMARKS, 2), np.nan)
    masks = np.zeros((n, *shape), bool)
    for k in frames:
        pts[k] = xy[k]
        masks[k] = unpack_mask(raw[k][4])
    return midline_bias(pts, masks, mask_scale, geom, np.asarray(frames))


def load_seen(
    raw: list[RawFrame],
    xy: list[np.ndarray | None],
    usable: list[int],
    geom: Geometry,
    mask_scale: float,
    every: int = 3,
) -> bool:
    """A weight on the hips in the person masks of the ``usable`` frames so far (every
    ``every``-th, as offline reads the set): :func:`formcheck.core.load.detect_load`. With one
    the mask holds the plate too, so no silhouette measure is the body's."""
    frames = _masked(raw, usable[::every])
    if frames is None:
        return False
    pts = np.stack([xy[k] for k in frames])
    masks = np.stack([unpack_mask(raw[k][4]) for k in frames])
    return detect_load(pts, masks, mask_scale, geom, np.arange(len(frames))).loaded


def pick_profile(
    candidates: dict[str, Profile], xy: np.ndarray, geom: Geometry, hip_hidden: bool = False
) -> tuple[Profile, ExerciseCheck]:
    """``--exercise auto``: the candidate profile the set-up frames ``xy`` ``(n, 33, 2)`` px
    look like (:func:`formcheck.core.setup_check.check_exercise`: shoulders on a bench or on
    the floor, read at the bottom; against the heel when a weight hides the hip), a hip
    thrust when it cannot tell."""
    check = check_exercise(xy, geom.side, geom.up, np.arange(len(xy)), hip_hidden=hip_hidden)
    name = check.looks_like if check.looks_like in candidates else "hip_thrust"
    return candidates.get(name, next(iter(candidates.values()))), check
