"""A weight on the hips (barbell plates, a dumbbell, a plate), read from the person mask, and
a barbell plate's path from the circles in the picture or the mask's rim (:func:`fit_bar`).

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
from dataclasses import dataclass, replace

import numpy as np

from formcheck.core.geometry import Geometry, _unit
from formcheck.core.masks import Masks, has_mask, row_chunks, unpacked
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
#: A fitted rim is a barbell's plate when its rim is seen in this share of directions (median
#: over the set; rendered barbell plates 0.67–0.83; a plate lying on the lap, whose buttocks'
#: curve got fitted, a single 31 cm plate and a dumbbell head 0.62: calibration clips, loadcal)
BAR_COVERAGE = 0.65
#: and its radius is at least this share of the shoulder–knee length (plates 30–45 cm: 0.25 and
#: up; a dumbbell head 0.14).
BAR_RADIUS = 0.2
#: A plate centre farther than this share of the radius from the running median over
#: :data:`JUMP_S` seconds is a misfit, dropped before the path is smoothed.
JUMP = 0.15
JUMP_S = 0.5
#: The plate's centre moves at most this many radii a second (a 45 cm plate: 1.3 m/s, above a
#: fast hip thrust's bar speed); a fit that leaps faster for under RELOCK_S seconds is a misfit.
MAX_SPEED = 6.0
RELOCK_S = 0.5
#: A circle found in the picture (:func:`circle_path`) can be the plate's when its centre is
#: within this share of the shoulder–knee length of the raised outline's centre,
CIRCLE_REACH = 0.5
#: Gaps (s) in the raised outline's centre bridged to look for the plate's circle.
SEED_GAP_S = 2.0
#: Width of the radius bins (natural log: 8 %) in which the plate's circle is looked for,
RADIUS_BIN = 0.08
#: circles whose centres lie within this share of the larger radius are one plate's rims and
#: hub,
CONCENTRIC = 0.15
#: radii found in at least this share of the most frames any radius is found in are steady,
STEADY = 0.8
#: and the circles are taken for the plate when one is found in at least this share of the
#: frames with any circle
CIRCLE_SHARE = 0.5
#: and at least this share of the centres followed are within :data:`JUMP` radii of their
#: running median over 7 searched frames (calibration sets `barcal`, `loadcal`: barbell plates
#: 0.89–1.00; the circles found near a dumbbell 0.76–0.83).
CIRCLE_STEADY = 0.85


@dataclass(frozen=True)
class LoadEstimate:
    """The weight on the hips, if any. ``kind``: ``"none"``, ``"barbell"`` (a big round plate
    seen side-on, its rim fitted: :func:`fit_bar`) or ``"weight"`` (a dumbbell, a plate on the
    lap, or plates whose rim could not be fitted: the mask does not tell them apart reliably);
    ``confidence`` 0..1; ``rise``: the median profile rise (fraction of the shoulder–knee
    length); ``centre_px`` ``(T, 2)``, per frame: the weight's centre in image pixels (the
    plate's centre when its rim was fitted, else the raised part's centre; NaN where not
    seen); ``radius_px``: the fitted plate's radius (NaN without one)."""

    kind: str
    confidence: float
    rise: float
    centre_px: np.ndarray
    radius_px: float = float("nan")

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
    masks, frames = unpacked(masks, frames)  # each station reads the same frames
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


def fit_bar(
    xy: np.ndarray,
    masks: Masks | None,
    mask_scale: float,
    geom: Geometry,
    load: LoadEstimate,
    t_s: np.ndarray,
    fps: float,
    circles: np.ndarray | None = None,
) -> LoadEstimate:
    """``load`` as a barbell when its plate's rim is found: first among the circles found in
    the picture (``circles`` ``(T, k, 3)`` px, :func:`circle_path`), else on the mask
    (:func:`formcheck.core.plate.fit_plate`, seeded by the raised part's centres, with at least
    :data:`BAR_COVERAGE`), with a radius of at least :data:`BAR_RADIUS`. The kind becomes
    ``"barbell"`` and the path the plate's centre, smoothed, with spikes where the fit strayed
    removed (:func:`drop_jumps`, :func:`drop_leaps`). Otherwise ``load`` unchanged. (Following
    a rim fitted less surely, on the calibration sets, made counts worse: sets `barcal`,
    `loadcal`.)"""
    from formcheck.core.plate import fit_plate

    if masks is None or not load.loaded:
        return load
    sh, _, kn = _points(xy, geom.side, np.arange(len(xy)))
    length = float(np.nanmedian(np.linalg.norm(kn - sh, axis=1)))
    found = None
    if circles is not None:
        # where the landmarks were dropped for a moment the plate is still in the picture
        seeds = fill_gaps(load.centre_px, t_s, SEED_GAP_S)
        found = circle_path(circles, seeds, length)
    if found is None or not found[1] >= BAR_RADIUS * length:
        frames = np.flatnonzero(np.isfinite(load.centre_px).all(axis=1))
        fit = fit_plate(masks, mask_scale, load.centre_px, length, frames)
        found = None
        if fit is not None and fit.median_coverage >= BAR_COVERAGE:
            found = fit.centre_px, fit.radius_px
    if found is None or not found[1] >= BAR_RADIUS * length:
        return load
    path, radius = found
    centres = drop_jumps(path, radius * JUMP, max(5, int(round(JUMP_S * fps))))
    centres = drop_leaps(centres, t_s, radius)
    return replace(load, kind="barbell", centre_px=smooth_path(centres, t_s, fps), radius_px=radius)


def circle_path(
    circles: np.ndarray, seeds: np.ndarray, length: float
) -> tuple[np.ndarray, float] | None:
    """The plate's centre per frame ``(T, 2)`` px and its radius (px), from the circles found
    in the picture (``circles`` ``(T, k, 3)`` ``x, y, r`` px,
    :func:`formcheck.pose.circles.find_circles`), or None when they do not show a plate.

    The circles considered lie within :data:`CIRCLE_REACH` ``length`` (the shoulder–knee
    length, px) of the raised outline's centre (``seeds`` ``(T, 2)`` px). A plate shows the same
    circle (its outer rim, an inner rim or its hub) frame after frame, so of the radii found
    in the most frames (bins of :data:`RADIUS_BIN`, within :data:`STEADY` of the most) the
    largest is the one followed; in each frame the circle of about that radius nearest the
    seed is the plate's centre. The plate's radius is the
    median of the largest circle sharing that centre (:data:`CONCENTRIC`). None when fewer than
    :data:`CIRCLE_SHARE` of the frames with any circle have one, or when the centres followed
    jump about (:data:`CIRCLE_STEADY`)."""
    n = len(seeds)
    if circles.shape[0] != n or not np.isfinite(length) or length <= 0:
        return None
    anything = np.isfinite(circles[:, :, 2]).any(axis=1)
    x, y, r = (circles[:, :, j].astype(np.float64) for j in range(3))
    with np.errstate(invalid="ignore"):
        dist = np.hypot(x - seeds[:, :1], y - seeds[:, 1:])
        near = (dist < CIRCLE_REACH * length) & (r > 0)
    if near.sum() < 5:
        return None
    logr = np.log(np.where(near, r, 1.0))
    bins = np.floor(logr / RADIUS_BIN).astype(int)
    # frames per radius bin, each frame counted once per bin (also in the next bin up, so a
    # radius on a bin's edge is not split)
    votes: dict[int, set[int]] = {}
    for f, k in zip(*np.nonzero(near)):
        for b in (bins[f, k], bins[f, k] - 1):
            votes.setdefault(int(b), set()).add(int(f))
    # the plate's rims and hub are all steady: of the steadiest radii, the largest (the near
    # plate's outer rim; the far plate is smaller and half hidden)
    most = max(len(v) for v in votes.values())
    best = max(b for b, v in votes.items() if len(v) >= STEADY * most)
    lo, hi = best * RADIUS_BIN, (best + 2) * RADIUS_BIN
    ok = near & (logr >= lo) & (logr < hi)
    d = np.where(ok, dist, np.inf)
    pick = np.argmin(d, axis=1)
    rows = np.flatnonzero(np.isfinite(d[np.arange(n), pick]))
    if rows.size < 5 or rows.size < CIRCLE_SHARE * anything.sum():
        return None
    from scipy.ndimage import median_filter

    out = np.full((n, 2), np.nan)
    out[rows, 0], out[rows, 1] = x[rows, pick[rows]], y[rows, pick[rows]]
    with np.errstate(invalid="ignore"):
        apart = np.hypot(x[rows] - out[rows, :1], y[rows] - out[rows, 1:])
        same = apart <= CONCENTRIC * np.fmax(r[rows], r[rows, pick[rows]][:, None])
    radius = float(np.median(np.nanmax(np.where(same, r[rows], np.nan), axis=1)))
    # a plate's centre moves smoothly; circles the picture happens to hold (a knee, a belly, a
    # plate lying flat seen as an ellipse) are found here one frame, there the next
    run = np.stack([median_filter(out[rows, c], size=7, mode="nearest") for c in (0, 1)], 1)
    steady = np.mean(np.linalg.norm(out[rows] - run, axis=1) < JUMP * radius)
    if steady < CIRCLE_STEADY:
        return None
    return out, radius


def drop_jumps(centres: np.ndarray, limit_px: float, window: int) -> np.ndarray:
    """``centres`` ``(T, 2)`` px with the frames farther than ``limit_px`` from the running
    median over ``window`` frames set to NaN: a rim fit that latched onto something else for a
    few frames (the body's outline, an arm) where the plate cannot have gone."""
    from scipy.ndimage import median_filter

    out = centres.copy()
    seen = np.isfinite(centres).all(axis=1)
    if seen.sum() < window:
        return out
    med = np.stack([median_filter(centres[seen, c], size=window, mode="nearest") for c in (0, 1)])
    far = np.linalg.norm(centres[seen] - med.T, axis=1) > limit_px
    out[np.flatnonzero(seen)[far]] = np.nan
    return out


def drop_leaps(
    centres: np.ndarray, t_s: np.ndarray, radius_px: float, speed: float = MAX_SPEED
) -> np.ndarray:
    """``centres`` ``(T, 2)`` px with the short stretches the fit spent elsewhere set to NaN.

    Between two frames with a centre the plate moves at most :data:`JUMP` radii plus
    ``speed`` radii a second; a farther move is a leap. A stretch between two leaps lasting
    under :data:`RELOCK_S` seconds is a rim fit that latched onto the body's outline (or the
    mask lost the plate) for a few frames, e.g. mid-rise, when the running median of
    :func:`drop_jumps` moves too: it leaves a spike no plate makes. A stretch that lasts is
    where the plate is."""
    seen = np.flatnonzero(np.isfinite(centres).all(axis=1))
    out = centres.copy()
    if seen.size < 2:
        return out
    step = np.linalg.norm(np.diff(centres[seen], axis=0), axis=1)
    reach = radius_px * (JUMP + speed * np.diff(t_s[seen]))
    stretch = np.concatenate([[0], np.cumsum(step > reach)])  # a new stretch after each leap
    if stretch[-1] == 0:
        return out
    for k in range(stretch[-1] + 1):
        idx = seen[stretch == k]
        if t_s[idx[-1]] - t_s[idx[0]] < RELOCK_S:
            out[idx] = np.nan
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
