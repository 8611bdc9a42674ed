"""A weight on the hips (barbell plates, a dumbbell, a plate), read from the person mask.

MediaPipe's person mask takes in a weight that rests on the body: a barbell's near plate, a
dumbbell head, a plate on the lap. Seen from the side the body's outline above the
shoulder–knee line (its *up extent*, the distance from the line to the last pixel of
the person, along the normal pointing away from the floor) is a low, gently varying profile:
on the unloaded samples and a rendered test set (31 sets) the median range of it over a set was
0.05–0.146 of the shoulder–knee length from chest to knee (the highest with a camera turned
30°); on 12 loaded clips 0.19–0.57 (those with a sane camera). A weight raises
it locally (a 45 cm plate to about 0.6 of that length at the hips). :func:`detect_load` reads
that profile at the frames given, calls the set loaded when the median range passes
:data:`LOADED_RISE`, and follows the centre of the part raised more than :data:`RAISED` per
frame (the weight's path, image pixels).

What a load changes downstream (:mod:`formcheck.analysis`): the silhouette is no longer the
body's, so the silhouette measures (the bias model's midline term, the lumbar arch) are not
used, and the hip, hidden behind the weight, is less sure: the findings' confidence says so.
Units: pixels (image), fractions of the shoulder–knee length for extents.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from formcheck.core.geometry import Geometry, _unit
from formcheck.core.masks import Masks, has_mask, row_chunks
from formcheck.core.signals import DEFAULT_CUTOFF_HZ, fill_gaps, smooth_track_xy
from formcheck.core.silhouette import _ray_inside
from formcheck.core.track import side_index

#: Stations along the body, as fractions of the shoulder→hip→knee polyline (0.5 = hip).
STATIONS = np.linspace(0.1, 0.9, 17)
#: A set is loaded when the median range (max − min) of its up-extent profile, as a fraction
#: of the shoulder–knee length, passes this (unloaded sets 0.05–0.146, loaded 0.19 and up;
#: chosen between them on those clips, not yet scored blind).
LOADED_RISE = 0.165
#: The confidence of angle findings when a weight hides the hip (times the view's).
LOADED_HIP_CONFIDENCE = 0.5
#: Outline points this far (same units) above the profile's lowest point belong to the weight.
RAISED = 0.13


@dataclass(frozen=True)
class LoadEstimate:
    """The weight on the hips, if any. ``kind``: ``"none"`` or ``"weight"`` (plates, a
    dumbbell or a plate: the mask cannot tell them apart reliably); ``confidence`` 0..1;
    ``rise``: the median profile rise (fraction of the shoulder–knee length);
    ``centre_px`` ``(T, 2)`` and per frame: the raised part's centre in image pixels (NaN where
    not seen)."""

    kind: str
    confidence: float
    rise: float
    centre_px: np.ndarray

    @property
    def loaded(self) -> bool:
        return self.kind != "none"


def _points(xy: np.ndarray, side: str, frames: np.ndarray) -> tuple[np.ndarray, ...]:
    sh, hp, kn = (xy[frames, side_index(side, j)] for j in ("shoulder", "hip", "knee"))
    return sh, hp, kn


def up_profile(
    xy: np.ndarray, masks: Masks, mask_scale: float, geom: Geometry, frames: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The up extent at :data:`STATIONS` for each of ``frames``: ``(extent (n, k)`` as a
    fraction of the shoulder–knee length, ``ends (n, k, 2)`` the outline points in image px)."""
    sh, hp, kn = _points(xy, geom.side, frames)
    length = np.linalg.norm(kn - sh, axis=1)
    reach = int(np.nanmax(length) * mask_scale) + 2 if np.isfinite(length).any() else 2
    ext = np.full((len(frames), len(STATIONS)), np.nan)
    ends = np.full((len(frames), len(STATIONS), 2), np.nan)
    for c in row_chunks(len(frames)):  # a bounded number of frames' rays at a time
        pts = (sh[c], hp[c], kn[c])
        ext[c], ends[c] = _profile_rows(pts, masks, mask_scale, geom, frames[c], reach)
    return ext, ends


def _profile_rows(
    pts: tuple[np.ndarray, ...],
    masks: Masks,
    mask_scale: float,
    geom: Geometry,
    frames: np.ndarray,
    reach: int,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`up_profile` for the frames ``frames`` with the shoulder, hip and knee ``pts``."""
    sh, hp, kn = pts
    along = _unit(kn - sh)
    normal = np.stack([along[:, 1], -along[:, 0]], axis=1)
    normal *= np.where(normal @ geom.up < 0, -1.0, 1.0)[:, None]
    length = np.linalg.norm(kn - sh, axis=1)
    ext = np.full((len(frames), len(STATIONS)), np.nan)
    ends = np.full((len(frames), len(STATIONS), 2), np.nan)
    for j, s in enumerate(STATIONS):
        pt = sh + (hp - sh) * (s / 0.5) if s <= 0.5 else hp + (kn - hp) * ((s - 0.5) / 0.5)
        ok = np.all(np.isfinite(pt), axis=1) & np.isfinite(length)
        if not ok.any():
            continue
        d = np.full(len(frames), np.nan)
        d[ok] = _ray_outer(pt[ok] * mask_scale, frames[ok], masks, normal[ok], reach)
        d /= mask_scale
        ext[:, j] = d / length
        ends[:, j] = pt + d[:, None] * normal
    return ext, ends


def _ray_outer(
    points: np.ndarray, frames: np.ndarray, masks: Masks, normal: np.ndarray, reach: int
) -> np.ndarray:
    """Distance (mask px) from ``points`` along ``normal`` to the last pixel of the person: the
    outer envelope (a plate's hub, a gap between the arms and the body, are spanned). NaN where
    the ray starts outside the person."""
    inside = _ray_inside(points, frames, masks, normal, reach)
    last = reach - 1 - np.argmax(inside[:, ::-1], axis=1)
    d = (last + 1).astype(float)
    d[~inside[:, 0]] = np.nan
    return d


def detect_load(
    xy: np.ndarray,
    masks: Masks | None,
    mask_scale: float,
    geom: Geometry,
    frames: np.ndarray,
    t_s: np.ndarray | None = None,
    fps: float | None = None,
) -> LoadEstimate:
    """Whether a weight rests on the hips, read at ``frames`` (indices into ``xy`` ``(T, 33,
    2)`` px), and its centre in every frame with a mask (see the module docstring), smoothed
    over time (:func:`smooth_path`) when the frame times ``t_s`` (s) and ``fps`` are given."""
    n = xy.shape[0]
    none = LoadEstimate("none", 0.0, float("nan"), np.full((n, 2), np.nan))
    if masks is None or masks.shape[0] != n or geom.side not in ("left", "right"):
        return none
    frames = np.asarray(frames, int)
    frames = frames[has_mask(masks)[frames]] if frames.size else frames
    if frames.size < 3:
        return none
    ext, _ = up_profile(xy, masks, mask_scale, geom, frames)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # frames with no outline: NaN
        rise = np.nanmax(ext, axis=1) - np.nanmin(ext, axis=1)
    rise = rise[np.isfinite(rise)]
    if rise.size < 3:
        return none
    share = float(np.mean(rise > LOADED_RISE))  # frames that agree with a weight
    med = float(np.median(rise))
    if med <= LOADED_RISE:
        return LoadEstimate("none", 1.0 - share, med, np.full((n, 2), np.nan))
    centres = load_centres(xy, masks, mask_scale, geom)
    if t_s is not None and fps:
        centres = smooth_path(centres, t_s, fps)
    return LoadEstimate("weight", share, med, centres)


def load_centres(xy: np.ndarray, masks: Masks, mask_scale: float, geom: Geometry) -> np.ndarray:
    """Per frame, the centre (image px) of the part of the outline raised above the body's
    own profile: the mean of the outline points higher than the profile's lowest point by more
    than :data:`RAISED`, placed half their rise back towards the body line. ``(T, 2)``,
    NaN where the frame has no mask, no landmarks or nothing raised."""
    n = xy.shape[0]
    out = np.full((n, 2), np.nan)
    have = np.flatnonzero(has_mask(masks))
    if have.size == 0:
        return out
    ext, ends = up_profile(xy, masks, mask_scale, geom, have)
    sh, hp, kn = _points(xy, geom.side, have)
    length = np.linalg.norm(kn - sh, axis=1)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # frames with no outline: NaN
        low = np.nanmin(ext, axis=1)
        raised = ext > (low + RAISED)[:, None]
    for r, k in enumerate(have):
        sel = raised[r] & np.all(np.isfinite(ends[r]), axis=1)
        if not sel.any() or not np.isfinite(length[r]):
            continue
        top = ends[r, sel]
        # the raised outline is the weight's top: its centre lies about half its rise lower
        depth = 0.5 * (ext[r, sel] - low[r]) * length[r]
        along = _unit(kn[r] - sh[r])
        normal = np.array([along[1], -along[0]])
        normal = normal if normal @ geom.up >= 0 else -normal
        out[k] = np.nanmean(top - depth[:, None] * normal, axis=0)
    return out


def smooth_path(centres: np.ndarray, t_s: np.ndarray, fps: float) -> np.ndarray:
    """The weight's path ``(T, 2)`` px with single-frame misreads removed (a running median
    over 5 frames) and gaps up to the default filled, then low-passed as the landmarks are
    (:func:`formcheck.core.signals.smooth_track_xy`); frames never seen stay NaN."""
    from scipy.ndimage import median_filter

    seen = np.isfinite(centres).all(axis=1)
    if seen.sum() < 5:
        return centres
    med = centres.copy()
    for c in range(2):
        filled = fill_gaps(centres[:, c], t_s)
        ok = np.isfinite(filled)
        med[ok, c] = median_filter(filled[ok], size=5, mode="nearest")
        med[~ok, c] = np.nan
    return smooth_track_xy(med[:, None, :], t_s, fps, DEFAULT_CUTOFF_HZ)[:, 0, :]
