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

from dataclasses import dataclass, field, replace

import numpy as np

from formcheck.core.movement import Movement, RepParams, measure_movement, top_level


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
        self,
        t_s: float,
        angle_deg: float,
        torso_to_floor_deg: float = 0.0,
        in_setup: bool = True,
    ) -> Movement | None:
        """Add one frame (time s, corrected angle deg, trunk to floor deg, inside a set-up:
        :mod:`formcheck.core.presence`); returns the movement finalised at this frame, if any.
        A movement whose peak is outside a set-up or with the trunk steeper than
        ``max_torso_to_floor_deg`` is not kept."""
        i = len(self._angles)
        self._angles.append(float(angle_deg))
        self._times.append(float(t_s))
        self._gate.append(
            bool(
                in_setup
                and np.isfinite(torso_to_floor_deg)
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
    setup: np.ndarray | None = None,
) -> list[Movement]:
    """Run :class:`RepCounter` over a whole series; returns every accepted movement in order.
    ``setup`` ``(T,)`` bool: the frames inside a set-up (default: all)."""
    rc = RepCounter(params, fps)
    inside = np.ones(len(t_s), bool) if setup is None else np.asarray(setup, bool)
    for t, a, g, u in zip(
        t_s.tolist(), angle_deg.tolist(), torso_to_floor_deg.tolist(), inside.tolist()
    ):
        rc.update(t, a, g, u)
    rc.finish()
    return rc.movements


#: Where the angle follows the weight (its level unsure or unknown, its changes read from the
#: plate's or the outline's centre: see :func:`formcheck.core.corrected.follow_bar`) a rise is
#: a rep when it climbs at least this share of the set's median rise. On the calibration sets'
#: labels (loadcal, barcal: 110 reps, 14 attempts) reps climbed 0.62–1.38 of their set's median
#: rise, attempts 0.01–0.66.
RELATIVE_REP_SHARE = 0.6


def relative_reps(movements: list[Movement], share: float = RELATIVE_REP_SHARE) -> list[Movement]:
    """``movements`` with the rep/attempt decision made against each other instead of against
    the rep line: a rep is a rise (top minus the lower of its two bottoms, degrees) of at least
    ``share`` times the set's median rise (``by_rise``). For a set whose angle level is
    unknown but whose rises are measured well: the lifter's reps are what most rises are."""
    if not movements:
        return movements
    rise = [m.peak_angle_deg - min(m.bottom_before_deg, m.bottom_after_deg) for m in movements]
    ref = float(np.median(rise))
    return [
        replace(m, is_rep=bool(r >= share * ref), by_hold=False, by_rise=True)
        for m, r in zip(movements, rise)
    ]
