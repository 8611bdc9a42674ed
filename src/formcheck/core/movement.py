"""One movement of the shoulder–hip–knee angle, measured: its settings (:class:`RepParams`),
its boundaries and top (:class:`Movement`, :func:`measure_movement`), and whether it is a rep
(:func:`rep_decision`, the one decision offline segmentation and live cues share).
Angles in degrees, times in seconds; frame indices into the analysed series.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class RepParams:
    """Segmentation settings (degrees, seconds)."""

    enter_delta_deg: float = 15.0
    exit_delta_deg: float = 8.0
    min_peak_deg: float = 150.0
    boundary_band_deg: float = 0.0
    boundary_hold_s: float = 1.5
    top_tolerance_deg: float = 4.0
    top_band_deg: float = 3.0
    top_dip_deg: float = 6.0
    ease_extension: float = 0.42
    min_duration_s: float = 0.5
    max_torso_to_floor_deg: float = 60.0
    max_invalid_s: float = 1.0


@dataclass
class Movement:
    """One rise-and-return. Frame indices into the analysed series; angles in degrees.

    ``*_f`` fields are the same boundaries in fractional frames (sub-frame interpolation);
    the integer fields are them rounded.
    """

    start: int
    top_start: int
    top_end: int
    end: int
    peak_frame: int
    peak_angle_deg: float
    max_angle_deg: float
    bottom_before_deg: float
    bottom_after_deg: float
    is_rep: bool
    complete: bool = True
    by_hold: bool = False  # within boundary_band_deg of min_peak_deg: is_rep came from the hold
    by_rise: bool = False  # the angle follows the weight: is_rep came from the rise vs the others
    start_f: float = 0.0
    top_start_f: float = 0.0
    top_end_f: float = 0.0
    end_f: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


def _crossing(
    seg: np.ndarray, level: float, lo: int, hi: int, rising: bool, last: bool
) -> float | None:
    """Fractional index in ``[lo, hi]`` where ``seg`` crosses ``level`` upwards (``rising``)
    or downwards; the last such crossing if ``last`` else the first. None if there is none."""
    x = seg[lo : hi + 1]
    a, b = x[:-1], x[1:]
    ok = np.isfinite(a) & np.isfinite(b)
    hit = ok & ((a < level) & (b >= level) if rising else (a > level) & (b <= level))
    k = np.flatnonzero(hit)
    if k.size == 0:
        return None
    j = int(k[-1] if last else k[0])
    frac = (level - a[j]) / (b[j] - a[j]) if b[j] != a[j] else 0.0
    return lo + j + float(frac)


#: A rise or lowering has ended where its speed falls under this share of its peak speed ...
SETTLE_SHARE = 0.03
#: ... and under this speed (deg/s), whatever the peak.
SETTLE_MIN_DEG_S = 0.5
#: ... for at least this long (s): a dip in speed mid-movement is not its end.
SETTLE_FOR_S = 0.25


def _speed_dies(v: np.ndarray, t: np.ndarray, i0: int, stop: int, step: int, ref: int) -> float:
    """From frame ``i0`` stepping by ``step`` (towards ``stop``, exclusive), the first frame
    from which the speed ``v`` (deg/s, positive in the movement's direction; times ``t`` s)
    stays under :data:`SETTLE_SHARE` of its peak between ``ref`` and ``i0`` (and under
    :data:`SETTLE_MIN_DEG_S`, at least) for :data:`SETTLE_FOR_S`; the segment's far end if
    it never does, so the caller's own estimate stands."""
    far = float(stop - step) if step > 0 else 0.0
    lo, hi = sorted((ref, i0))
    span = v[lo : hi + 1]
    if not np.isfinite(span).any():
        return far
    thr = max(SETTLE_SHARE * float(np.nanmax(span)), SETTLE_MIN_DEG_S)
    first = None
    for i in range(i0, stop, step):
        if np.isfinite(v[i]) and v[i] < thr:
            first = i if first is None else first
            if abs(t[i] - t[first]) >= SETTLE_FOR_S:
                return float(first)
        else:
            first = None
    return far


def top_level(seg: np.ndarray, tolerance_deg: float) -> tuple[int, int, int, float]:
    """The top of a movement's angle samples ``seg`` (degrees): ``(k_peak, ts, te, level)``,
    the index of the maximum, the contiguous stretch around it within ``tolerance_deg`` of it
    (gaps bridged) and the top level, the 75th percentile of that stretch. Offline
    segmentation and the live engine read a movement's top with this one function."""
    finite = np.isfinite(seg)
    n = len(seg)
    mx = float(np.nanmax(seg))
    k_peak = int(np.nanargmax(seg))
    in_top = finite & (seg >= mx - tolerance_deg)
    ts = k_peak
    while ts > 0 and (in_top[ts - 1] or not finite[ts - 1]):
        ts -= 1
    te = k_peak
    while te < n - 1 and (in_top[te + 1] or not finite[te + 1]):
        te += 1
    return k_peak, ts, te, float(np.nanpercentile(seg[ts : te + 1], 75))


def rep_decision(top_deg: float, held_s: float | None, params: RepParams) -> tuple[bool, bool]:
    """Is a rise a rep? ``(is_rep, by_hold)`` for a top level ``top_deg`` (degrees) held
    ``held_s`` seconds (None: unknown, the top alone decides).

    The one decision offline segmentation and live cues share: the top reaches
    ``min_peak_deg``; within ``boundary_band_deg`` of that line (where the angle cannot tell),
    the top is held at least ``boundary_hold_s`` instead."""
    if held_s is not None and abs(top_deg - params.min_peak_deg) < params.boundary_band_deg:
        return held_s >= params.boundary_hold_s, True
    return top_deg >= params.min_peak_deg, False


def measure_movement(
    a: np.ndarray,
    s: int,
    e: int,
    bottom_before: float,
    params: RepParams,
    complete: bool = True,
    fps: float | None = None,
    t_s: np.ndarray | None = None,
) -> Movement:
    """Phase boundaries and peak of the movement spanning frames ``[s, e]`` of angle ``a``.

    The top level (``peak_angle_deg``) is the 75th percentile of the samples within
    ``top_tolerance_deg`` of the maximum. The top (hold) runs from first reaching to last
    leaving the band ``top_band_deg`` below that level, within the stretch around the peak that
    never drops ``top_dip_deg`` below it. The start of the rise and the end of the lowering are
    where the movement leaves / reaches the bottom: found from the 10 % and 90 % amplitude
    crossings (robust to noise at the bottom) extended beyond the 10 % crossing by
    ``ease_extension`` times the 10–90 % duration, because a smooth movement approaches its
    ends slowly (0.35 for a cosine ease, 0.49 for minimum jerk). Crossings are interpolated
    between frames. With the frame times ``t_s`` (s, aligned with ``a``) durations and the
    extension are measured in time, so frames dropped or unevenly spaced (a variable frame
    rate) do not stretch them; without, frames are ``1 / fps`` apart.

    ``is_rep``: the top level reaches ``min_peak_deg``; within ``boundary_band_deg`` of it
    (given ``fps``), the top is held at least ``boundary_hold_s`` instead.
    """
    seg = a[s : e + 1]
    n = len(seg)
    frames = np.arange(n, dtype=float)
    seg_t = frames / (fps or 1.0) if t_s is None else np.asarray(t_s[s : e + 1], float)
    to_t = lambda f: float(np.interp(f, frames, seg_t))  # noqa: E731 - fractional frame -> s
    to_f = lambda x: float(np.interp(x, seg_t, frames))  # noqa: E731 - s -> fractional frame
    mx = float(np.nanmax(seg))
    k_peak, ts, te, peak = top_level(seg, params.top_tolerance_deg)
    after = seg[te:]
    bottom_after = float(np.nanmin(after)) if np.isfinite(after).any() else bottom_before
    amp_b = max(peak - bottom_before, 1e-6)
    amp_a = max(peak - bottom_after, 1e-6)
    c = params.ease_extension
    # rise: last upward 10 % crossing before the top, then first 90 % crossing after it
    r10 = _crossing(seg, bottom_before + 0.1 * amp_b, 0, k_peak, True, last=True)
    r10 = 0.0 if r10 is None else r10
    r90 = _crossing(seg, bottom_before + 0.9 * amp_b, int(r10), k_peak, True, last=False)
    r90 = float(ts) if r90 is None else r90
    # lowering: first downward 10 % crossing after the top, the last 90 % crossing before it
    l10 = _crossing(seg, bottom_after + 0.1 * amp_a, k_peak, n - 1, False, last=False)
    l10 = float(n - 1) if l10 is None else l10
    l90 = _crossing(seg, bottom_after + 0.9 * amp_a, k_peak, int(np.ceil(l10)), False, last=True)
    l90 = float(te) if l90 is None else l90
    rise_d, low_d = to_t(r90) - to_t(r10), to_t(l10) - to_t(l90)
    start_f = max(0.0, to_f(to_t(r10) - c * rise_d))
    end_f = min(float(n - 1), to_f(to_t(l10) + c * low_d))
    # a movement that runs into its end at speed (a linear or dropping lowering) stops where
    # its speed dies, before the extension: take that when it comes first
    speed = np.gradient(seg, seg_t) if n > 1 else np.zeros(n)
    end_f = min(end_f, _speed_dies(-speed, seg_t, int(np.ceil(l10)), n, 1, int(l90)))
    start_f = max(start_f, _speed_dies(speed, seg_t, int(r10), -1, -1, int(np.ceil(r90))))
    # the top: from first reaching to last leaving the band top_band_deg under the top level,
    # within the stretch around the peak that stays above top_dip_deg under it (a landmark
    # flicker that lifts the peak leaves the plateau hovering at the band's edge; a real drop
    # from the top ends the hold)
    band = peak - params.top_band_deg
    i10, j10 = int(r10), int(np.ceil(l10))
    deep = seg < peak - params.top_dip_deg  # NaN is not deep (a gap does not split the top)
    before = np.flatnonzero(deep[i10:k_peak])
    after = np.flatnonzero(deep[k_peak + 1 : j10 + 1])
    lo = i10 + int(before[-1]) if before.size else i10
    hi = k_peak + 1 + int(after[0]) if after.size else j10
    ts_f = _crossing(seg, band, lo, k_peak, True, last=False)
    te_f = _crossing(seg, band, k_peak, hi, False, last=True)
    top_start_f = float(ts) if ts_f is None else ts_f
    top_end_f = float(te) if te_f is None else te_f
    top_start_f = min(max(top_start_f, start_f), end_f)
    top_end_f = min(max(top_end_f, top_start_f), end_f)
    held = to_t(top_end_f) - to_t(top_start_f) if (fps or t_s is not None) else None
    is_rep, by_hold = rep_decision(peak, held, params)
    r = lambda x: int(round(x))  # noqa: E731
    return Movement(
        start=s + r(start_f),
        top_start=s + r(top_start_f),
        top_end=s + r(top_end_f),
        end=s + r(end_f),
        peak_frame=s + k_peak,
        peak_angle_deg=peak,
        max_angle_deg=mx,
        bottom_before_deg=float(bottom_before),
        bottom_after_deg=bottom_after,
        is_rep=is_rep,
        complete=complete,
        by_hold=by_hold,
        start_f=s + start_f,
        top_start_f=s + top_start_f,
        top_end_f=s + top_end_f,
        end_f=s + end_f,
    )
