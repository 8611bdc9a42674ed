"""Silhouette measures from MediaPipe's person mask: the lumbar arch (back-outline bend, front
crease), the trunk's thickness and the midline bias of the hip landmark. Degrees; mask pixels
are image pixels times ``mask_scale``. Conventions: :mod:`formcheck.core.kinematics`.
"""

from __future__ import annotations

import numpy as np

from formcheck.core.geometry import Geometry, _nanmedian, _unit, signed_shk_angle
from formcheck.core.masks import Masks, gather, has_mask, row_chunks
from formcheck.core.track import side_index


def _masked_near_side(
    xy: np.ndarray, masks: Masks | None, mask_scale: float, geom: Geometry
) -> tuple[np.ndarray, ...] | None:
    """The frames with a mask and all three near-side landmarks, and those landmarks in mask
    pixels: ``(idx, shoulder, hip, knee)`` (``(n,)`` and three ``(n, 2)``), or None if none."""
    if masks is None or masks.shape[0] != xy.shape[0] or geom.side not in ("left", "right"):
        return None
    sh = xy[:, side_index(geom.side, "shoulder")] * mask_scale
    hp = xy[:, side_index(geom.side, "hip")] * mask_scale
    kn = xy[:, side_index(geom.side, "knee")] * mask_scale
    ok = (
        np.all(np.isfinite(sh), axis=1)
        & np.all(np.isfinite(hp), axis=1)
        & np.all(np.isfinite(kn), axis=1)
        & has_mask(masks)
    )
    if not ok.any():
        return None
    idx = np.flatnonzero(ok)
    return idx, sh[idx], hp[idx], kn[idx]


def silhouette_arch(
    xy: np.ndarray,
    masks: Masks,
    mask_scale: float,
    geom: Geometry,
    stations: int = 13,
    lo: float = 0.15,
    past_hip: float = 0.25,
    past_stations: int = 4,
) -> np.ndarray:
    """Bend of the back outline from the upper back to the buttocks, from the silhouette (deg).

    For each frame, ``stations`` points are placed on the near-side shoulder→hip segment
    (fractions ``lo``..1) and ``past_stations`` more past the hip towards the knee (up to
    ``past_hip`` of the hip→knee segment), so the profile spans the lumbar curve and the
    buttocks below it. From each point a ray is cast towards the floor (``-up``); the back
    surface is where the ray first leaves the person after entering it (so an arm lying on
    the floor below the body is not taken for the back). The profile's largest rise above the
    straight line joining its two end points is the sagitta ``s``; with chord ``c`` (the
    distance between the end points along the body) the bend angle of a circular arc through
    them is ``4 * atan(2 s / c)``. + = the back bows up, away from the floor (an arched lower
    back); 0 = a straight back. Normal anatomy (shoulder blades, buttocks) reads well above 0,
    so the rule's threshold is calibrated per exercise. NaN without a usable mask.
    """
    out = np.full(xy.shape[0], np.nan)
    if (pts := _masked_near_side(xy, masks, mask_scale, geom)) is None:
        return out
    idx, sh, hp, kn = pts
    max_d = int(np.ceil(np.nanmax(np.linalg.norm(hp - sh, axis=1)) * 0.9)) + 2
    fr = np.linspace(lo, 1.0, stations)
    fk = np.linspace(0.0, past_hip, past_stations + 1)[1:]
    for c in row_chunks(len(idx)):  # a bounded number of frames' rays at a time
        bend, valid = _arch_rows(idx[c], sh[c], hp[c], kn[c], masks, geom, fr, fk, max_d)
        out[idx[c][valid]] = bend[valid]
    return out


def _arch_rows(
    idx: np.ndarray,
    sh: np.ndarray,
    hp: np.ndarray,
    kn: np.ndarray,
    masks: Masks,
    geom: Geometry,
    fr: np.ndarray,
    fk: np.ndarray,
    max_d: int,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`silhouette_arch` for the frames ``idx``: the bend (deg) and whether it is valid."""
    n = len(idx)
    seg = hp - sh
    seg_len = np.linalg.norm(seg, axis=1)  # (n,) mask px
    base = np.concatenate(
        [
            sh[:, None, :] + fr[None, :, None] * seg[:, None, :],
            hp[:, None, :] + fk[None, :, None] * (kn - hp)[:, None, :],
        ],
        axis=1,
    )  # (n, K, 2)
    k = base.shape[1]
    steps = np.arange(max_d)
    inside = _ray_inside(base.reshape(-1, 2), np.repeat(idx, k), masks, -geom.up, max_d).reshape(
        n, k, max_d
    )
    # first pixel inside (the point may sit just outside the outline), then the first pixel
    # outside after it: the back surface of the body part under the point
    enter = np.argmax(inside, axis=2)  # (n, K)
    after = ~inside & (steps[None, None, :] > enter[..., None])
    d = np.argmax(after, axis=2).astype(float)
    bad = ~inside.any(axis=2) | ~after.any(axis=2) | (enter > 0.3 * seg_len[:, None])
    d[bad] = np.nan
    # position of each point along the body (mask px), for the chord
    axis = seg / np.maximum(seg_len, 1e-9)[:, None]
    pos = np.sum((base - sh[:, None, :]) * axis[:, None, :], axis=2)  # (n, K)
    span = pos[:, -1] - pos[:, 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = (pos - pos[:, :1]) / span[:, None]
        chord_line = d[:, :1] + (d[:, -1:] - d[:, :1]) * frac
        rise = chord_line - d  # + = surface above the chord (bowed up)
    inner = rise[:, 1:-1]
    s = np.full(n, np.nan)
    has = np.isfinite(inner).any(axis=1)
    s[has] = np.nanmax(inner[has], axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        bend = np.degrees(4 * np.arctan2(2 * s, span))
    valid = (
        np.isfinite(d[:, 0])
        & np.isfinite(d[:, -1])
        & (np.isfinite(d).sum(axis=1) >= 0.7 * k)
        & (span > 1.0)
    )
    return bend, valid


def front_crease(
    xy: np.ndarray,
    masks: Masks | None,
    mask_scale: float,
    geom: Geometry,
    trunk: tuple[float, float] = (0.65, 0.85),
    thigh: tuple[float, float] = (0.05, 0.30),
    trunk_stations: int = 5,
    thigh_stations: int = 6,
) -> np.ndarray:
    """Step of the front (belly-side) outline at the hip crease, from the silhouette (deg).

    For each frame, ``trunk_stations`` points are placed on the near-side shoulder→hip segment
    (fractions ``trunk`` of it, the lower belly) and ``thigh_stations`` on the hip→knee segment
    (fractions ``thigh``, the front of the thigh). From each point a ray is cast along the
    normal to its own segment, away from the floor; the front outline is where the ray first
    leaves the person after entering it (so a hand or object above the body, past a gap, is
    not taken for it). ``h_b`` is the mean height of the belly
    outline above the shoulder–hip line and ``h_t`` that of the thigh outline above the
    hip–knee line (mask px; at least 3 usable points each); ``d`` is the distance along the
    body between the two groups' mean stations. The value is ``atan2(h_b - h_t, d)``: + = the
    lower belly stands above the thigh's front line. An arched lower back with the hips kept
    on the line tips the pelvis forward and the trunk back, which raises it; body shape sets a
    different value for each person, so the ``lumbar_arch`` rule compares reps of one set. NaN
    without a usable mask.
    """
    out = np.full(xy.shape[0], np.nan)
    if (pts := _masked_near_side(xy, masks, mask_scale, geom)) is None or masks is None:
        return out
    idx, sh, hp, kn = pts
    reach = int(np.ceil(np.nanmax(np.linalg.norm(hp - sh, axis=1)) * 0.8)) + 2  # longest ray
    for c in row_chunks(len(idx)):  # a bounded number of frames' rays at a time
        stations = (trunk, thigh, trunk_stations, thigh_stations)
        val, valid = _crease_rows(idx[c], sh[c], hp[c], kn[c], masks, geom, stations, reach)
        out[idx[c][valid]] = val[valid]
    return out


def _crease_rows(
    idx: np.ndarray,
    sh: np.ndarray,
    hp: np.ndarray,
    kn: np.ndarray,
    masks: Masks,
    geom: Geometry,
    stations: tuple[tuple[float, float], tuple[float, float], int, int],
    reach: int,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`front_crease` for the frames ``idx``: the step (deg) and whether it is valid."""
    trunk, thigh, trunk_stations, thigh_stations = stations
    n = len(idx)

    def up_normal(seg: np.ndarray) -> np.ndarray:
        u = _unit(seg)
        nrm = np.stack([u[:, 1], -u[:, 0]], axis=1)
        return nrm * np.where(nrm @ geom.up < 0, -1.0, 1.0)[:, None]

    trunk_len = np.linalg.norm(hp - sh, axis=1)
    thigh_len = np.linalg.norm(kn - hp, axis=1)
    steps = np.arange(reach)
    heights = []
    for a, b, fr in (
        (sh, hp, np.linspace(*trunk, trunk_stations)),
        (hp, kn, np.linspace(*thigh, thigh_stations)),
    ):
        nrm = up_normal(b - a)
        k = len(fr)
        base = a[:, None, :] + fr[None, :, None] * (b - a)[:, None, :]  # (n, k, 2)
        inside = _ray_inside(
            base.reshape(-1, 2), np.repeat(idx, k), masks, np.repeat(nrm, k, axis=0), reach
        ).reshape(n, k, reach)
        enter = np.argmax(inside, axis=2)
        after = ~inside & (steps[None, None, :] > enter[..., None])
        h = np.argmax(after, axis=2).astype(float)  # mask px above the segment
        h[~inside.any(axis=2) | ~after.any(axis=2) | (enter > 0.3 * trunk_len[:, None])] = np.nan
        cnt = np.isfinite(h).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_h = np.where(np.isfinite(h), h, 0.0).sum(axis=1) / cnt
        heights.append(np.where(cnt >= 3, mean_h, np.nan))
    d = (1.0 - np.mean(trunk)) * trunk_len + np.mean(thigh) * thigh_len
    with np.errstate(invalid="ignore"):
        val = np.degrees(np.arctan2(heights[0] - heights[1], d))
    valid = np.isfinite(val) & (trunk_len > 1.0) & (thigh_len > 1.0)
    return val, valid


#: The silhouette measures of the lumbar arch, by the name a profile's
#: ``rules.lumbar_arch.measure`` gives: ``(xy, masks, mask_scale, geom) -> (T,)`` degrees.
LUMBAR_MEASURES = {"back_bend": silhouette_arch, "front_crease": front_crease}


def trunk_thickness(
    xy: np.ndarray, masks: Masks | None, mask_scale: float, geom: Geometry
) -> float:
    """Body depth at mid-trunk over shoulder–hip length (median over frames), or NaN.

    Depth is measured on the silhouette along the floor normal through the midpoint of the
    near-side shoulder–hip segment; a heavier body gives a larger ratio.
    """
    if masks is None or geom.side not in ("left", "right") or masks.shape[0] != xy.shape[0]:
        return float("nan")
    sh = xy[:, side_index(geom.side, "shoulder")] * mask_scale
    hp = xy[:, side_index(geom.side, "hip")] * mask_scale
    ok = np.all(np.isfinite(sh), 1) & np.all(np.isfinite(hp), 1) & has_mask(masks)
    idx = np.flatnonzero(ok)[:: max(1, int(ok.sum() // 200))]  # up to ~200 frames suffice
    if idx.size == 0:
        return float("nan")
    mid = (sh[idx] + hp[idx]) / 2
    length = np.linalg.norm(hp[idx] - sh[idx], axis=1)
    h, w = masks.shape[1:]
    steps = np.arange(int(np.nanmax(length)) + 2)
    total = np.zeros(len(idx))
    for direction in (geom.up, -geom.up):
        pts = mid[:, None, :] + steps[None, :, None] * direction
        xi = np.clip(np.round(pts[..., 0]).astype(int), 0, w - 1)
        yi = np.clip(np.round(pts[..., 1]).astype(int), 0, h - 1)
        inside = gather(masks, idx[:, None], yi, xi)
        total += np.where(inside.all(1), np.nan, np.argmax(~inside, axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(_nanmedian(total / length))


def _ray_inside(
    points: np.ndarray, frames: np.ndarray, masks: Masks, direction: np.ndarray, max_len: int
) -> np.ndarray:
    """Whether each of ``max_len`` one-pixel steps from ``points`` ``(n, 2)`` (mask px) along
    ``direction`` (``(2,)`` or one per point, ``(n, 2)``, unit length) lies inside the person
    mask ``masks[frames]``: ``(n, max_len)`` bool, False outside the image."""
    h, w = masks.shape[1:]
    steps = np.arange(max_len)
    direction = np.asarray(direction, float)
    if direction.ndim == 2:
        direction = direction[:, None, :]
    pts = points[:, None, :] + steps[None, :, None] * direction
    xi = np.round(pts[..., 0]).astype(int)
    yi = np.round(pts[..., 1]).astype(int)
    inb = (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)
    return gather(masks, frames[:, None], np.clip(yi, 0, h - 1), np.clip(xi, 0, w - 1)) & inb


def _ray_extent(
    points: np.ndarray, frames: np.ndarray, masks: Masks, direction: np.ndarray, max_len: int
) -> np.ndarray:
    """Distance (mask px) from ``points`` ``(n, 2)`` along ``direction`` (``(2,)`` or one per
    point, ``(n, 2)``, unit length) to the first pixel outside the person. NaN where the ray
    starts outside or never leaves the mask.
    """
    inside = _ray_inside(points, frames, masks, direction, max_len)
    d = np.argmax(~inside, axis=1).astype(float)
    d[~inside[:, 0] | inside[:, -1]] = np.nan
    return d


def midline_bias(
    xy: np.ndarray,
    masks: Masks | None,
    mask_scale: float,
    geom: Geometry,
    frames: np.ndarray,
    hip_fraction: float = 0.5,
    shoulder_fraction: float = 0.5,
) -> float:
    """Per-set bias of the raw shoulder–hip–knee angle from the body's own silhouette (deg).

    MediaPipe's hip and shoulder landmarks sit near the body surface. In each of ``frames``
    the silhouette is cut through the near-side hip and shoulder landmarks along the normal to
    the shoulder–knee line (across the body, whatever its slope), from the landmark to the
    first pixel outside the person on either side (so an arm lying on the floor below the body
    is not taken for the back). The joint centres are placed at ``*_fraction`` of the body's
    depth from the back (floor-side) surface. The bias is the median, over the frames, of the
    raw angle minus the angle through those centres (the knee landmark is kept); + = the
    landmarks read the angle high. NaN without usable masks.
    """
    if masks is None or geom.side not in ("left", "right") or len(frames) == 0:
        return float("nan")
    frames = np.asarray(frames)
    sh = xy[frames, side_index(geom.side, "shoulder")]
    hp = xy[frames, side_index(geom.side, "hip")]
    kn = xy[frames, side_index(geom.side, "knee")]
    ok = np.all(np.isfinite(sh), 1) & np.all(np.isfinite(hp), 1) & np.all(np.isfinite(kn), 1)
    ok &= np.linalg.norm(kn - sh, axis=1) > 1e-6
    frames, sh, hp, kn = frames[ok], sh[ok], hp[ok], kn[ok]
    if len(frames) == 0:
        return float("nan")
    # unit normal to the shoulder-knee line, on the side of "up" (away from the floor)
    along = _unit(kn - sh)
    normal = np.stack([along[:, 1], -along[:, 0]], axis=1)
    normal *= np.where(normal @ geom.up < 0, -1.0, 1.0)[:, None]
    max_len = int(np.nanmax(np.linalg.norm(hp - sh, axis=1)) * mask_scale) + 2
    centres = []
    for pt, frac in ((sh, shoulder_fraction), (hp, hip_fraction)):
        p = pt * mask_scale
        up_d = _ray_extent(p, frames, masks, normal, max_len)
        dn_d = _ray_extent(p, frames, masks, -normal, max_len)
        # back surface is dn_d below; the centre lies frac of the depth above it
        offset = -dn_d + frac * (up_d + dn_d)  # along the normal, mask px
        centres.append(pt + (offset / mask_scale)[:, None] * normal)
    mid_sh, mid_hp = centres
    raw = signed_shk_angle(sh, hp, kn, geom.up)
    mid = signed_shk_angle(mid_sh, mid_hp, kn, geom.up)
    diff = raw - mid
    return float(_nanmedian(diff)) if np.isfinite(diff).any() else float("nan")
