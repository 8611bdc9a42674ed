"""What every rule is: the :class:`Rule` base, the :class:`LiveMoment` the live engine judges
a movement by, and the confidence and limit helpers rules share. Degrees, seconds, metres."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from formcheck.core.measures import RepMeasures
from formcheck.core.rules.finding import Finding
from formcheck.core.rules.profile import Profile
from formcheck.core.rules.settings import LumbarArchSettings


@dataclass(frozen=True)
class LiveMoment:
    """What the live engine knows about the movement in progress at one frame.

    Angles are the bias-corrected shoulder–hip–knee angle (degrees, 180 = straight, > 180 hips
    above the line); times in seconds; heights in metres.
    """

    phase: str  # "rise", "top" or "lowering"
    angle_deg: float  # now
    peak_deg: float  # highest so far in this movement
    stalled: bool  # the rise has levelled off (or turned down) near its peak
    near_top: bool  # at (or levelling off at) the top and not yet left it
    is_rep: bool  # by the shared rep decision (reps.is_rep) on the top so far
    left_top: bool  # the angle left the top at this frame
    held_s: float  # time at the top so far (seconds)
    lowering_elapsed_s: float | None  # lowering so far, on the offline scale (None: not begun)
    lowering_done: bool  # the angle is down to the lowering's end level
    lowering_predicted_s: float | None  # the whole lowering at the current speed (None: unknown)
    heel_rise_m: float | None  # heel above its pre-rise level, less the set's common shift
    heel_margin_m: float  # extra allowance before any rep has shown the common shift
    heel_jumped: bool  # the heel landmark jumped to the far foot in this movement
    arch_deg: float | None  # median silhouette measure over the top so far
    arch_top_s: float  # how long the silhouette measure has been read at this top
    arch_frames: int  # how many frames that is
    arch_base_deg: float | None  # the athlete's baseline (measures.arch_baseline)
    arch_set_reps: int  # reps with the hips on the line behind that baseline
    view_confidence: float  # 0..1
    faults: tuple[str, ...]  # faults already cued in this movement


def angle_finding_confidence(
    view_confidence: float | None, margin_deg: float, sd_deg: float | None
) -> float | None:
    """Confidence (0–1) of a peak-angle finding (``sag``, ``hyperextension``).

    The view confidence times the probability that the true angle is past the threshold, for a
    measured angle ``margin_deg`` past it (degrees, ≥ 0) and a normal error of SD ``sd_deg``
    (the bias model's residual between bodies): 0.5 right at the threshold, 0.99 at 2.3 SD
    past it. Without a usable SD, the view confidence alone.
    """
    if view_confidence is None:
        return None
    if sd_deg is None or not math.isfinite(sd_deg) or sd_deg <= 0:
        return view_confidence
    p = 0.5 * (1.0 + math.erf(max(margin_deg, 0.0) / (sd_deg * math.sqrt(2.0))))
    return view_confidence * p


def arch_limits(r: LumbarArchSettings, base: float | None, n_set: int) -> tuple[float, float]:
    """The ``lumbar_arch`` rule's two limits (degrees) for a rep with the hips on the line: the
    absolute one (``max_arch_alone_deg``; inf when it is 0, off) and the athlete's own one, the
    set's baseline ``base`` plus ``min_arch_rise_deg`` (inf without a base or with fewer than
    ``min_set_reps`` reps). A value over the first, or at the second or over, is an arch."""
    alone = r.max_arch_alone_deg or math.inf
    own = base + r.min_arch_rise_deg if base is not None and n_set >= r.min_set_reps else math.inf
    return alone, own


def is_finite(x: float | None) -> bool:
    return x is not None and math.isfinite(x)


class Rule:
    """One rule. Subclasses set the class attributes and override the two decisions."""

    id: ClassVar[str]
    title: ClassVar[str]  # what a lifter reads in a report
    measure: ClassVar[str]  # the RepMeasures field it judges
    unit: ClassVar[str]
    weight: ClassVar[float] = 0.25  # deducted from a rep's form score (advisories: 0)
    live_text: ClassVar[str | None] = None  # short live cue (ASCII); None: not cued live
    live_persist_frames: ClassVar[int] = 1  # frames the live condition must hold

    def severity(self, p: Profile) -> str:
        return "advisory" if getattr(p.settings(self.id), "advisory", False) else "fault"

    def cue(self, p: Profile) -> str:
        return p.settings(self.id).cue

    def finding(
        self,
        p: Profile,
        value: float | None,
        threshold: float | None,
        comparison: str,
        time_s: float | None,
        frame: int | None,
        message: str,
        estimate: str | None = None,
        confidence: float | None = None,
    ) -> Finding:
        return Finding(
            self.id,
            self.severity(p),
            value,
            self.unit,
            threshold,
            comparison,
            time_s,
            frame,
            self.cue(p),
            message,
            estimate,
            confidence,
        )

    def evaluate(self, m: RepMeasures, p: Profile, prior: list[Finding]) -> Finding | None:
        """The finding for a finished rep (``prior``: this rep's findings from earlier rules)."""
        return None

    def live(self, now: LiveMoment, p: Profile) -> bool | None:
        """True while the fault shows during a movement (the engine cues it once after
        ``live_persist_frames`` frames in a row), False while it does not, None when the rule
        cannot judge this frame (the run of frames is neither broken nor extended)."""
        return False
