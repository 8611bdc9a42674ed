"""The rule registry: one :class:`Rule` object per finding, read by every consumer.

A rule carries its id, title, the measure it reads, its unit, its weight in the form score,
the short cue spoken/shown live, and two decisions on the thresholds of a :class:`Profile`:

- :meth:`Rule.evaluate` — offline (and live, once a rep is complete): a finished rep's
  :class:`~formcheck.core.measures.RepMeasures` → a :class:`Finding` or None;
- :meth:`Rule.live` — during a movement: is the fault showing now, from a :class:`LiveMoment`.

Offline analysis, the live cue engine, the report and the review app all read rules from
:data:`RULES`; none of them compares a threshold of its own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from formcheck.core.measures import RepMeasures
from formcheck.core.rules.finding import Finding
from formcheck.core.rules.profile import LUMBAR_MEASURE_NAMES, LumbarArchSettings, Profile


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


def angle_finding_confidence(view_confidence: float | None, margin_deg: float,
                             sd_deg: float | None) -> float | None:
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
    own = base + r.min_arch_rise_deg if base is not None and n_set >= r.min_set_reps \
        else math.inf
    return alone, own


def _finite(x: float | None) -> bool:
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

    def finding(self, p: Profile, value: float | None, threshold: float | None,
                comparison: str, time_s: float | None, frame: int | None, message: str,
                estimate: str | None = None, confidence: float | None = None) -> Finding:
        return Finding(self.id, self.severity(p), value, self.unit, threshold, comparison,
                       time_s, frame, self.cue(p), message, estimate, confidence)

    def evaluate(self, m: RepMeasures, p: Profile, prior: list[Finding]) -> Finding | None:
        """The finding for a finished rep (``prior``: this rep's findings from earlier rules)."""
        return None

    def live(self, now: LiveMoment, p: Profile) -> bool:
        """True while the fault shows during a movement (the engine cues it once)."""
        return False


class Sag(Rule):
    id, title, measure, unit = "sag", "Hips short of straight", "peak_angle_deg", "deg"
    weight, live_text = 0.5, "hips up"

    def evaluate(self, m, p, prior):
        thr = p.rules.sag.min_peak_deg
        if not m.peak_angle_deg < thr:
            return None
        return self.finding(p, m.peak_angle_deg, thr, "<", m.peak_time_s, m.peak_frame,
                            f"top of the rep at {m.peak_angle_deg:.0f} deg, short of a straight "
                            f"line ({thr:.0f} deg)", "angle", angle_finding_confidence(
                                m.angle_confidence, thr - m.peak_angle_deg, m.angle_sd_deg))

    def live(self, now, p):
        # the rise levelled off (or turned down) short of a straight line
        return now.peak_deg < p.rules.sag.min_peak_deg and (now.stalled or
                                                             now.phase == "lowering")


class Hyperextension(Rule):
    id, title, measure, unit = ("hyperextension", "Hips pushed past straight",
                                "peak_angle_deg", "deg")
    weight, live_text, live_persist_frames = 0.5, "ribs down - don't arch", 2

    def evaluate(self, m, p, prior):
        thr = p.rules.hyperextension.max_peak_deg
        if not m.peak_angle_deg > thr:
            return None
        return self.finding(p, m.peak_angle_deg, thr, ">", m.peak_time_s, m.peak_frame,
                            f"hips pushed {m.peak_angle_deg - 180:.0f} deg past a straight line "
                            f"(limit {thr:.0f} deg)", "angle", angle_finding_confidence(
                                m.angle_confidence, m.peak_angle_deg - thr, m.angle_sd_deg))

    def live(self, now, p):  # as soon as the angle passes the limit
        return now.angle_deg > p.rules.hyperextension.max_peak_deg


#: Excess (degrees) over the absolute lumbar limit that cues at once live (a smaller one, or
#: one over the athlete's own limit, needs 1 s of top: the silhouette estimate is noisy).
ARCH_EARLY_MARGIN_DEG = 5.0


class LumbarArch(Rule):
    id, title, measure, unit = "lumbar_arch", "Lower back arched", "arch_sil_deg", "deg"
    weight, live_text = 0.5, "ribs down - don't arch"
    #: only with the hips on the line: a sag bends the outline at the hip by itself, and a
    #: hyperextension already says "don't arch"
    off_line = ("sag", "hyperextension")

    def evaluate(self, m, p, prior):
        r = p.rules.lumbar_arch
        arch, conf = m.arch_sil_deg, m.arch_confidence or 0.0
        if not _finite(arch) or conf < r.min_view_confidence or \
                any(f.rule in self.off_line for f in prior):
            return None
        alone, own = arch_limits(r, m.arch_set_base_deg, m.arch_set_reps or 0)
        what = LUMBAR_MEASURE_NAMES[r.measure]
        t, f = m.peak_time_s, m.peak_frame
        if arch > alone:
            return self.finding(p, arch, alone, ">", t, f, f"lower back arched ({what} "
                                f"{arch:.0f} deg, limit {alone:.0f} deg)", "silhouette", conf)
        if arch >= own:
            return self.finding(p, arch, own, ">", t, f, f"lower back arched ({what} "
                                f"{arch:.0f} deg, {arch - m.arch_set_base_deg:.0f} deg over "
                                "your own baseline)", "silhouette", conf)
        return None

    def live(self, now, p):
        r = p.rules.lumbar_arch
        if not now.phase == "top" or not _finite(now.arch_deg) or \
                now.view_confidence < r.min_view_confidence or \
                any(f in self.off_line for f in now.faults):
            return False
        alone, own = arch_limits(r, now.arch_base_deg, now.arch_set_reps)
        return (now.arch_frames >= 3 and now.arch_deg > alone + ARCH_EARLY_MARGIN_DEG) or \
            (now.arch_top_s >= 1.0 and (now.arch_deg > alone or now.arch_deg >= own))


class ShortHold(Rule):
    id, title, measure, unit = "short_hold", "Short hold at the top", "hold_s", "s"
    live_text = "hold longer at the top"

    def evaluate(self, m, p, prior):
        thr = p.rules.short_hold.min_hold_s
        if not m.hold_s < thr:
            return None
        return self.finding(p, m.hold_s, thr, "<", m.top_start_s, m.top_start_frame,
                            f"held the top {m.hold_s:.1f} s (aim for {thr:.1f} s)", "angle",
                            m.angle_confidence)

    def live(self, now, p):  # judged as the angle leaves the top
        return now.left_top and now.is_rep and now.held_s < p.rules.short_hold.min_hold_s


class FastLowering(Rule):
    id, title, measure, unit = "fast_lowering", "Fast lowering", "lowering_s", "s"
    live_text = "lower slowly"

    def evaluate(self, m, p, prior):
        thr = p.rules.fast_lowering.min_lowering_s
        if not m.complete or not m.lowering_s < thr:
            return None
        return self.finding(p, m.lowering_s, thr, "<", m.top_end_s, m.top_end_frame,
                            f"lowered in {m.lowering_s:.1f} s (aim for {thr:.1f} s or more)",
                            "angle", m.angle_confidence)

    def live(self, now, p):
        # known once the angle is down at the end level; before that, predicted at the current
        # speed, with a margin while the lowering is still speeding up
        thr = p.rules.fast_lowering.min_lowering_s
        if now.phase != "lowering" or not now.is_rep or now.lowering_elapsed_s is None or \
                now.lowering_elapsed_s >= thr:
            return False
        return now.lowering_done or (now.lowering_predicted_s is not None and
                                     now.lowering_predicted_s < 0.75 * thr)


class HeelLift(Rule):
    id, title, measure, unit = "heel_lift", "Heel lift", "heel_rise_m", "m"
    weight, live_text, live_persist_frames = 0.3, "feet flat", 3

    def evaluate(self, m, p, prior):
        thr = p.rules.heel_lift.max_heel_rise_m
        rise = m.heel_rise_m
        if not _finite(rise) or not rise > thr:
            return None
        return self.finding(p, rise, thr, ">", m.heel_time_s, m.heel_frame,
                            f"heel lifted {rise * 100:.1f} cm (limit {thr * 100:.1f} cm)",
                            "landmarks", m.heel_confidence)

    def live(self, now, p):
        # not when the heel landmark has jumped onto the far foot (measures.heel_jumps)
        return now.near_top and now.is_rep and not now.heel_jumped and \
            _finite(now.heel_rise_m) and \
            now.heel_rise_m > p.rules.heel_lift.max_heel_rise_m + now.heel_margin_m


class KneeAngle(Rule):
    id, title, measure, unit = "knee_angle", "Knee angle", "knee_angle_deg", "deg"
    weight = 0.0

    def evaluate(self, m, p, prior):
        r = p.rules.knee_angle
        k = m.knee_angle_deg
        if not _finite(k) or r.min_knee_deg <= k <= r.max_knee_deg:
            return None
        low = k < r.min_knee_deg
        return self.finding(p, k, r.min_knee_deg if low else r.max_knee_deg, "<" if low else ">",
                            m.peak_time_s, m.peak_frame,
                            f"knee angle {k:.0f} deg at the top (aim for "
                            f"{r.min_knee_deg:.0f}-{r.max_knee_deg:.0f} deg)", "angle",
                            m.angle_confidence)


class RepCount(Rule):
    """A set-level rule: judged by :func:`evaluate_set`, not per rep."""

    id, title, measure, unit = "rep_count", "Rep count", "rep_count", "reps"
    weight = 0.0

    def evaluate_set(self, rep_count: int, p: Profile) -> Finding | None:
        lo, hi = p.set.min_reps, p.set.max_reps
        if lo <= rep_count <= hi:
            return None
        return self.finding(p, float(rep_count), float(lo if rep_count < lo else hi),
                            "<" if rep_count < lo else ">", None, None,
                            f"{rep_count} reps in the set (target {lo}-{hi})")


#: Every rule, in the order findings are reported.
RULES: tuple[Rule, ...] = (Sag(), Hyperextension(), LumbarArch(), ShortHold(), FastLowering(),
                           HeelLift(), KneeAngle(), RepCount())
RULE_IDS = tuple(r.id for r in RULES)
_BY_ID = {r.id: r for r in RULES}
#: Rules that judge a rep while it happens (their :meth:`Rule.live` is meaningful).
LIVE_RULES = tuple(r for r in RULES if r.live_text is not None)


def rule(rule_id: str) -> Rule:
    """The rule with id ``rule_id`` (KeyError for an unknown one)."""
    return _BY_ID[rule_id]


def title(rule_id: str) -> str:
    """A rule's title, or a readable form of an unknown id (e.g. from a newer result)."""
    r = _BY_ID.get(rule_id)
    return r.title if r is not None else rule_id.replace("_", " ")


def evaluate_rep(m: RepMeasures, p: Profile) -> list[Finding]:
    """Findings for one finished rep, each enabled rule in :data:`RULES` order."""
    out: list[Finding] = []
    for r in RULES:
        if p.enabled(r.id):
            f = r.evaluate(m, p, out)
            if f is not None:
                out.append(f)
    return out


def evaluate_set(rep_count: int, p: Profile) -> list[Finding]:
    """Set-level findings (``rep_count``)."""
    rc = _BY_ID["rep_count"]
    if not p.enabled("rep_count"):
        return []
    f = rc.evaluate_set(rep_count, p)  # type: ignore[attr-defined]
    return [] if f is None else [f]
