"""Live cues: which rule's fault shows during the movement in progress, decided by the rules.

:class:`CueEngine` follows one movement at a time on the live frame grid: the top so far, how
long it has been held, the lowering's speed, the heel's rise and the silhouette at the top. Each
frame it packs that into a :class:`~formcheck.core.rules.LiveMoment` and asks every live rule of
the registry (:meth:`Rule.live`) whether its fault shows; whether the rise is a rep at all is
the shared :func:`~formcheck.core.movement.rep_decision`. It compares no threshold of its own.
A fault cues once per movement (:class:`CueThrottler`). Degrees, seconds, metres.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from formcheck.core.judge import on_the_line
from formcheck.core.measures import arch_baseline, heel_common_shift, is_heel_jump
from formcheck.core.movement import rep_decision
from formcheck.core.rules import LiveMoment, rule
from formcheck.core.view import confidence

if TYPE_CHECKING:
    from formcheck.live.engine import LiveAnalyzer

#: Extra heel rise needed for a "feet flat" cue before any rep has shown the common shift (m).
HEEL_FIRST_MARGIN_M = 0.015
#: The "hold" prompt's text (a prompt, not a fault: no rule behind it).
HOLD_TEXT = "hold..."
#: Order in which cues that fire on the same frame are given: an angle fault before the prompt
#: to hold, the prompt before the faults judged at the top.
LIVE_ORDER = (
    "hyperextension",
    "sag",
    "hold",
    "lumbar_arch",
    "heel_lift",
    "short_hold",
    "fast_lowering",
)


def cue_text(rule_id: str) -> str:
    """The short live text of a rule's cue (or of the hold prompt)."""
    return HOLD_TEXT if rule_id == "hold" else str(rule(rule_id).live_text)


@dataclass
class Cue:
    """One cue event. ``time_s`` and ``frame`` on the session's frame grid."""

    time_s: float
    frame: int
    rule: str
    text: str
    kind: str  # "fault" or "prompt"
    movement: int  # 1-based index of the movement (rise) it belongs to
    wall_s: float | None = None  # seconds since the session started (wall clock), if known

    def to_dict(self) -> dict:
        d = {
            "time_s": round(self.time_s, 4),
            "frame": self.frame,
            "rule": self.rule,
            "text": self.text,
            "kind": self.kind,
            "movement": self.movement,
        }
        if self.wall_s is not None:
            d["wall_s"] = round(self.wall_s, 4)
        return d


class CueThrottler:
    """One cue per (rule, movement), and no repeat of a rule within ``min_gap_s``.

    ``offer`` returns True when the cue should fire now (and records it). A fault that stays
    present over many frames therefore gives exactly one cue; the same fault in the next rep
    gives a new one once ``min_gap_s`` has passed.
    """

    def __init__(self, min_gap_s: float = 2.0) -> None:
        self.min_gap_s = min_gap_s
        self._fired: set[tuple[str, int]] = set()
        self._last: dict[str, float] = {}

    def offer(self, rule: str, movement: int, t_s: float) -> bool:
        key = (rule, movement)
        if key in self._fired:
            return False
        last = self._last.get(rule)
        if last is not None and t_s - last < self.min_gap_s:
            return False
        self._fired.add(key)
        self._last[rule] = t_s
        return True


@dataclass
class _Movement:
    """What the cue engine tracks of the movement in progress."""

    index: int = 0
    faults: tuple[str, ...] = ()
    heel_pre: float | None = None  # heel height before the rise (m)
    heel_sep_pre: float = float("nan")  # far minus near heel height before it (m)
    heel_jumped: bool = False
    vmax: float = 0.0  # fastest rise so far (deg/s)
    top_t: float | None = None  # when the top began (s)
    top_vals: list[float] | None = None  # angles at the top so far
    top_arch: list[float] | None = None  # silhouette measures at the top so far
    left_top: bool = False
    held_s: float = 0.0  # time at the top, frozen when the angle leaves it
    lowering_from: float | None = None
    l90_t: float | None = None  # when the lowering passed 90 % of the amplitude


class CueEngine:
    """Cue decisions for one set, frame by frame (see the module docstring)."""

    def __init__(self, an: LiveAnalyzer, cue_gap_s: float = 2.0) -> None:
        self.an = an
        self.throttle = CueThrottler(cue_gap_s)
        self.cues: list[Cue] = []
        self.last: Cue | None = None
        self.heel_raw: list[float] = []  # raw heel rise of each completed rep (m)
        self.first_top_refreshed = False  # bias re-read at the first top
        self.mv = _Movement(top_vals=[], top_arch=[])
        self._prev_phase = "bottom"
        self._over: dict[str, int] = {}  # consecutive frames a condition held, per name
        self._heel_now = float("nan")  # heel height of the frame being judged (m)
        self._left_now = False  # the angle left the top at the frame being judged

    @property
    def movement(self) -> int:
        return self.mv.index

    @property
    def faults(self) -> list[str]:
        """Faults cued in the movement in progress."""
        return list(self.mv.faults)

    def _persist(self, name: str, cond: bool, frames: int) -> bool:
        self._over[name] = self._over.get(name, 0) + 1 if cond else 0
        return self._over[name] >= frames

    def _offer(self, rule_id: str, i: int, t: float, out: list[Cue], wall_s) -> None:
        if not self.throttle.offer(rule_id, self.mv.index, t):
            return
        kind = "prompt" if rule_id == "hold" else "fault"
        cue = Cue(t, i, rule_id, cue_text(rule_id), kind, self.mv.index, wall_s)
        self.cues.append(cue)
        out.append(cue)
        self.last = cue
        if kind == "fault" and rule_id not in self.mv.faults:
            self.mv.faults += (rule_id,)

    def _begin(self, i: int) -> None:
        s, fps = self.an.s, self.an.fps
        pre_i = max(0, i - int(round(0.6 * fps)))
        pre = s["heel_h"][pre_i : i + 1]
        heel_pre = float(np.nanmedian(pre)) if np.isfinite(pre).any() else None
        sep = s["heel_far"][pre_i : i + 1] - pre
        self.mv = _Movement(
            index=self.mv.index + 1,
            heel_pre=heel_pre,
            heel_sep_pre=float(np.nanmedian(sep)) if np.isfinite(sep).any() else float("nan"),
            top_vals=[],
            top_arch=[],
        )
        self._over.clear()

    def step(self, i: int, t: float, a: float, out: list[Cue], wall_s) -> None:
        """Judge grid frame ``i`` (time ``t``, corrected angle ``a``); new cues go to ``out``."""
        an = self.an
        phase, prev = an.counter.phase, self._prev_phase
        self._prev_phase = phase
        if prev == "bottom" and phase == "rise":
            self._begin(i)
        if phase == "bottom" or not np.isfinite(a):
            return
        # the heel's height as the frame came in (the first-top re-read below rescales the
        # floor; the feet are judged on the frame as it arrived)
        self._heel_now = float(an.s["heel_h"][i])
        mv, fps, tol = self.mv, an.fps, an.profile.reps.top_tolerance_deg
        k = max(1, int(round(0.1 * fps)))
        v = (a - float(an.s["shk"][i - k])) * fps / k if i >= k else float("nan")
        if phase == "rise" and np.isfinite(v):
            mv.vmax = max(mv.vmax, v)
        stalled = (
            phase != "rise" or (np.isfinite(v) and mv.vmax > 30.0 and v < 0.25 * mv.vmax)
        ) and a >= an.counter.peak_deg - tol
        if stalled and not an.reps and not self.first_top_refreshed:
            # the first top: until now the bias came from the set-up alone (lying at the
            # bottom: the yaw read high, no silhouette midline), which put the first rep of
            # some sets 5-8 deg low ("hips up" on a straight rep); re-read it with the top
            # frames in view before judging this rep
            self.first_top_refreshed = True
            if an.refresh_bias():
                an.replay()
                a = float(an.s["shk"][i])
        # at the top (or levelling off there) and not yet left it, as of the previous frame
        near_top = (phase == "top" or stalled) and not mv.left_top
        hold_prompt = phase == "top" and prev != "top" and not mv.left_top and self._on_line(a)
        self._follow_top(i, t, a, v, phase, prev, stalled)
        self._judge(i, t, a, phase, stalled, near_top, hold_prompt, out, wall_s)

    def _follow_top(
        self, i: int, t: float, a: float, v: float, phase: str, prev: str, stalled: bool
    ) -> None:
        """The top: from the rise levelling off (or the counter's top) until the angle falls
        more than ``top_tolerance_deg`` below its level, the median of the top so far (not its
        maximum: a landmark flicker lifts the maximum and would end a steady hold)."""
        an, mv = self.an, self.mv
        rc, tol = an.counter, an.profile.reps.top_tolerance_deg
        if phase == "top":
            arch = float("nan") if an.loaded else float(an.s["arch"][i])  # plate in the mask
            if np.isfinite(arch):
                mv.top_arch.append(arch)
        if mv.top_t is None and (stalled or phase == "top"):
            mv.top_t = t
        if mv.top_t is not None and not mv.left_top:
            mv.top_vals.append(a)
        level = min(rc.peak_deg, float(np.median(mv.top_vals))) if mv.top_vals else rc.peak_deg
        falling = np.isfinite(v) and v < -15.0  # deg/s: on the way down, not a wobble
        left = self._persist("left_top", a < level - tol or (falling and a < level - 0.5 * tol), 2)
        self._left_now = left and not mv.left_top
        if self._left_now:
            mv.left_top = True
            mv.held_s = 0.0 if mv.top_t is None else t - 2.0 / an.fps - mv.top_t
        elif not left and mv.left_top and a >= level - tol:
            mv.left_top = False  # back up to the top (a wobble): keep the hold going
        if phase == "lowering" and prev in ("top", "rise"):
            mv.lowering_from = t - 1.0 / an.fps  # the last frame at the top

    def _judge(
        self,
        i: int,
        t: float,
        a: float,
        phase: str,
        stalled: bool,
        near_top: bool,
        hold_prompt: bool,
        out: list[Cue],
        wall_s,
    ) -> None:
        an, mv, p = self.an, self.mv, self.an.profile
        # time at the top so far; once the angle has left the top, how long it was held
        held = mv.held_s if mv.left_top else 0.0 if mv.top_t is None else t - mv.top_t
        top = an.counter.top_level_deg()
        is_rep = rep_decision(top, held, p.reps)[0] if np.isfinite(top) else False
        heel_rise, margin = self._heel(i, near_top, is_rep)
        lowering = self._lowering(i, t, a, phase, is_rep)
        base, n_set = self._arch_base()
        now = LiveMoment(
            phase=phase,
            angle_deg=a,
            peak_deg=an.counter.peak_deg,
            stalled=stalled,
            near_top=near_top,
            is_rep=is_rep,
            left_top=self._left_now,
            held_s=held,
            lowering_elapsed_s=lowering[0],
            lowering_done=lowering[1],
            lowering_predicted_s=lowering[2],
            heel_rise_m=heel_rise,
            heel_margin_m=margin,
            heel_jumped=mv.heel_jumped,
            arch_deg=float(np.median(mv.top_arch)) if mv.top_arch else None,
            arch_top_s=len(mv.top_arch) / an.fps,
            arch_frames=len(mv.top_arch),
            arch_base_deg=base,
            arch_set_reps=n_set,
            view_confidence=confidence(an.geom),
            faults=mv.faults,
        )
        for rid in LIVE_ORDER:
            if rid == "hold":  # top reached on the line (the hold timer starts): hold
                if hold_prompt:
                    self._offer("hold", i, t, out, wall_s)
                continue
            if not p.enabled(rid):
                continue
            r = rule(rid)
            showing = r.live(_with_faults(now, mv.faults), p)
            if showing is not None and self._persist(rid, showing, r.live_persist_frames):
                self._offer(rid, i, t, out, wall_s)

    def _on_line(self, a: float) -> bool:
        """The top is one to hold: the angle ``a`` (deg) between the sag and hyperextension
        limits and no fault of the top's position (hips, arch) cued in this movement, so
        "hold" never follows "hips up" or "ribs down"."""
        r = self.an.profile.rules
        on = r.sag.min_peak_deg <= a <= r.hyperextension.max_peak_deg
        return on and not set(self.mv.faults) & {"sag", "hyperextension", "lumbar_arch"}

    def _heel(self, i: int, near_top: bool, is_rep: bool) -> tuple[float | None, float]:
        """The heel's rise now (m) above where it was before the rise, less the shift every
        rep shows (the heel landmark moves with the shin; learned from the completed reps as
        measures.heel_rises does; a margin stands in for it at first)."""
        an, mv = self.an, self.mv
        heel = self._heel_now
        if not (np.isfinite(heel) and mv.heel_pre is not None and near_top and is_rep):
            return None, 0.0
        common = heel_common_shift(self.heel_raw, min_reps=1)
        margin = 0.0 if common is not None else HEEL_FIRST_MARGIN_M
        # once the heel landmark is seen on the far foot in a movement it is not trusted for
        # the rest of it (the far heel's own landmark wanders too)
        mv.heel_jumped = mv.heel_jumped or is_heel_jump(
            mv.heel_sep_pre, heel - mv.heel_pre, float(an.s["heel_far"][i]) - heel
        )
        return heel - mv.heel_pre - (common or 0.0), margin

    def _lowering(
        self, i: int, t: float, a: float, phase: str, is_rep: bool
    ) -> tuple[float | None, bool, float | None]:
        """``(elapsed, done, predicted)`` of the lowering in progress, in seconds on the
        offline scale (:func:`formcheck.core.movement.measure_movement`: the 90 % → 10 %
        amplitude crossing time stretched by ``1 + 2 * ease_extension``). ``done``: the angle
        is below the 10 % level; ``predicted``: the whole lowering at the current downward
        speed (None while unknown)."""
        an, mv = self.an, self.mv
        if phase != "lowering" or mv.lowering_from is None or not is_rep:
            return None, False, None
        rc = an.counter
        stretch = 1.0 + 2.0 * float(an.profile.reps.ease_extension)
        bottom = rc.low
        amp = rc.peak_deg - bottom
        if not np.isfinite(amp) or amp <= 0:
            return None, False, None
        hi_level, lo_level = bottom + 0.9 * amp, bottom + 0.1 * amp
        if mv.l90_t is None:
            if a > hi_level:
                return None, False, None
            mv.l90_t = t
        tau = t - mv.l90_t
        done = bool(a <= lo_level)
        k = max(1, int(round(0.067 * an.fps)))
        if done or i < k or tau < 1.5 / an.fps:
            return stretch * tau, done, None
        v = (an.s["shk"][i - k] - a) * an.fps / k  # deg/s downwards
        if not np.isfinite(v) or v <= 0:
            return stretch * tau, done, None
        return stretch * tau, done, stretch * (tau + (a - lo_level) / v)

    def _arch_base(self) -> tuple[float | None, int]:
        """The athlete's lumbar baseline from the completed reps with the hips on the line and
        the top so far (as :func:`formcheck.core.judge.rep_records` does once a rep is done)."""
        an, mv = self.an, self.mv
        r = an.profile.rules.lumbar_arch
        n_top = len(mv.top_arch)
        med = float(np.median(mv.top_arch)) if n_top else None
        base, n_set, _ = arch_baseline(
            [
                (p.lumbar.silhouette_deg, p.lumbar.silhouette_confidence or 0.0)
                for p in an.reps
                if on_the_line(p.peak_angle_deg, an.profile)
            ]
            + [(med, confidence(an.geom))],
            r.min_view_confidence,
            r.baseline,
        )
        return base, n_set


def _with_faults(now: LiveMoment, faults: tuple[str, ...]) -> LiveMoment:
    """``now`` with the faults cued so far this movement (cues earlier in the frame count)."""
    if now.faults == faults:
        return now
    from dataclasses import replace

    return replace(now, faults=faults)
