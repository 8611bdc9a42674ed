"""Rep segmentation of the shoulder–hip–knee angle into phases, with hysteresis.

One state machine, :class:`RepCounter`, serves both offline analysis (fed every frame of the
zero-phase-filtered signal) and live analysis (fed frames as they arrive, causally filtered).

A *movement* starts when the angle rises ``enter_delta_deg`` above the lowest angle since the
last movement (the bottom), and ends when it falls back within ``exit_delta_deg`` of that bottom
(``exit < enter``: the gap is the hysteresis, so noise around one level never counts twice), or
when a lowering that went at least half-way down turns into a new rise of ``enter_delta_deg``
(touch-and-go reps). A movement whose top (``peak_angle_deg``) reaches ``min_peak_deg`` is a
*rep*; one that stays short of it is an *attempt*. Within ``boundary_band_deg`` of that line the
angle alone cannot tell (the estimated true angle is off by 4.5 deg RMS at rises that
end there), so there a rise held at its top for ``boundary_hold_s`` counts as a rep and one that
is not held as an attempt: a lifter holds what they take for the top, and an abandoned rise
falls straight back. Movements made while the trunk is far from horizontal (standing,
sitting up, getting off the bench) are ignored.

Phases: ``bottom`` → ``rise`` → ``top`` → ``lowering`` → ``bottom``. Live, the phase follows
the incoming angle (``top`` = levelled off within ``top_tolerance_deg`` of the peak). The
reported boundaries are measured from the stored samples once a movement ends
(:func:`measure_movement`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

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


@dataclass
class RepCounter:
    """Incremental hysteresis segmenter. Feed frames with :meth:`update`; call :meth:`finish`.

    ``update`` returns the :class:`Movement` finalised at this frame, if any: a movement is
    finalised once the angle has settled at the bottom (no new low for ``settle_s``), when the
    next movement starts, or at :meth:`finish`. ``phase`` is the current phase for overlays and
    cues; ``peak_deg`` and ``top_since_s`` describe the movement in progress.
    """

    params: RepParams
    fps: float
    settle_s: float = 0.4
    phase: str = "bottom"
    low: float = float("nan")
    low_frame: int = 0
    peak_deg: float = float("nan")
    top_since_s: float = float("nan")
    movements: list = field(default_factory=list)
    _angles: list = field(default_factory=list)
    _times: list = field(default_factory=list)
    _gate: list = field(default_factory=list)
    _move_start: int = -1
    _move_low: float = float("nan")
    _trough: float = float("nan")
    _trough_frame: int = 0
    _invalid_run: int = 0
    _pending: tuple | None = None  # (start, bottom_before) of a movement back at the bottom

    def update(
        self, t_s: float, angle_deg: float, torso_to_floor_deg: float = 0.0
    ) -> Movement | None:
        """Add one frame (time s, corrected angle deg, trunk to floor deg); returns the
        movement finalised at this frame, if any."""
        i = len(self._angles)
        self._angles.append(float(angle_deg))
        self._times.append(float(t_s))
        self._gate.append(
            bool(
                np.isfinite(torso_to_floor_deg)
                and torso_to_floor_deg <= self.params.max_torso_to_floor_deg
            )
        )
        if not np.isfinite(angle_deg):
            self._invalid_run += 1
            if self._move_start >= 0 and self._invalid_run / self.fps > self.params.max_invalid_s:
                self._move_start = -1  # person lost mid-movement: drop it
                self._to_bottom(i, float("nan"))
            return None
        self._invalid_run = 0
        if self._move_start < 0:
            return self._at_bottom(i, float(angle_deg))
        return self._in_movement(i, t_s, float(angle_deg))

    def _at_bottom(self, i: int, a: float) -> Movement | None:
        p = self.params
        done = None
        if not np.isfinite(self.low) or a < self.low:
            self.low, self.low_frame = a, i
        elif self._pending and self._times[i] - self._times[self.low_frame] >= self.settle_s:
            done = self._finalise(self.low_frame)
        if a >= self.low + p.enter_delta_deg:
            if self._pending:
                done = self._finalise(self.low_frame)
            self._start(self.low_frame, self.low, a)
        return done

    def _in_movement(self, i: int, t_s: float, a: float) -> Movement | None:
        p = self.params
        if a > self.peak_deg:
            self.peak_deg = a
        if a >= self.peak_deg - p.top_tolerance_deg:
            if self.phase != "top" and self._levelled(i):
                self.phase, self.top_since_s = "top", t_s
            self._trough = float("nan")
            return None
        if self.phase == "rise" and a >= self.peak_deg - 2 * p.top_tolerance_deg:
            return None
        self.phase = "lowering"
        if not np.isfinite(self._trough) or a < self._trough:
            self._trough, self._trough_frame = a, i
        if a <= self._move_low + p.exit_delta_deg:
            self._pending = (self._move_start, self._move_low)
            self._move_start = -1
            self._to_bottom(i, a)
            return None
        halfway = self._trough <= self.peak_deg - 0.5 * (self.peak_deg - self._move_low)
        if halfway and a >= self._trough + p.enter_delta_deg:  # touch-and-go
            self._pending = (self._move_start, self._move_low)
            done = self._finalise(self._trough_frame)
            self._start(self._trough_frame, self._trough, a)
            return done
        return None

    def top_level_deg(self) -> float:
        """The top level of the movement in progress so far (:func:`top_level`; NaN when
        there is none)."""
        if self._move_start < 0:
            return float("nan")
        seg = np.asarray(self._angles[self._move_start :], float)
        if not np.isfinite(seg).any():
            return float("nan")
        return top_level(seg, self.params.top_tolerance_deg)[3]

    def _start(self, frame: int, low: float, a: float) -> None:
        self._move_start, self._move_low = frame, low
        self.peak_deg, self.phase = a, "rise"
        self._trough, self.top_since_s = float("nan"), float("nan")

    def _to_bottom(self, i: int, a: float) -> None:
        self.phase, self.low, self.low_frame = "bottom", a, i
        self.peak_deg, self._trough, self.top_since_s = float("nan"), float("nan"), float("nan")

    def _levelled(self, i: int) -> bool:
        """True once the angle has stopped climbing (< 15 deg/s over the last ~0.2 s)."""
        k = max(1, int(round(0.2 * self.fps)))
        prev = self._angles[i - k] if i >= k else float("nan")
        if not np.isfinite(prev):
            return True
        return (self._angles[i] - prev) * self.fps / k < 15.0

    def _finalise(self, end_frame: int) -> Movement | None:
        assert self._pending is not None  # only called with a movement back at the bottom
        start, bottom = self._pending
        self._pending = None
        a = np.asarray(self._angles, float)
        t = np.asarray(self._times, float)
        return self._accept(
            measure_movement(a, start, end_frame, bottom, self.params, fps=self.fps, t_s=t)
        )

    def _accept(self, mv: Movement) -> Movement | None:
        dur = self._times[mv.end] - self._times[mv.start]
        if dur < self.params.min_duration_s or not self._gate[mv.peak_frame]:
            return None
        self.movements.append(mv)
        return mv

    def finish(self) -> Movement | None:
        """Finalise what is left at the end of the input. A movement still in progress is kept
        only if it had already come down at least half-way from its top (``complete=False``)."""
        if self._pending:
            return self._finalise(self.low_frame)
        if self._move_start < 0 or not np.isfinite(self._trough):
            return None
        if self._trough > self.peak_deg - 0.5 * (self.peak_deg - self._move_low):
            return None
        a = np.asarray(self._angles, float)
        mv = measure_movement(
            a,
            self._move_start,
            len(a) - 1,
            self._move_low,
            self.params,
            complete=False,
            fps=self.fps,
            t_s=np.asarray(self._times, float),
        )
        self._move_start = -1
        return self._accept(mv)


def segment(
    t_s: np.ndarray,
    angle_deg: np.ndarray,
    torso_to_floor_deg: np.ndarray,
    params: RepParams,
    fps: float,
) -> list[Movement]:
    """Run :class:`RepCounter` over a whole series; returns every accepted movement in order."""
    rc = RepCounter(params, fps)
    for t, a, g in zip(t_s.tolist(), angle_deg.tolist(), torso_to_floor_deg.tolist()):
        rc.update(t, a, g)
    rc.finish()
    return rc.movements
