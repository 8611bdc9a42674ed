"""``heel_lift``: feet flat on the floor (heel rise in metres beyond the set's common shift);
and the set-level ``rep_count`` (a set is 10-12 reps)."""

from __future__ import annotations

from formcheck.core.rules.base import Rule, is_finite
from formcheck.core.rules.finding import Finding
from formcheck.core.rules.profile import Profile


class HeelLift(Rule):
    id, title, measure, unit = "heel_lift", "Heel lift", "heel_rise_m", "m"
    weight, live_text, live_persist_frames = 0.3, "feet flat", 3

    def evaluate(self, m, p, prior):
        thr = p.rules.heel_lift.max_heel_rise_m
        rise = m.heel_rise_m
        if not is_finite(rise) or not rise > thr:
            return None
        return self.finding(
            p,
            rise,
            thr,
            ">",
            m.heel_time_s,
            m.heel_frame,
            f"heel lifted {rise * 100:.1f} cm (limit {thr * 100:.1f} cm)",
            "landmarks",
            m.heel_confidence,
        )

    def live(self, now, p):
        # judged only near the top of a rep with the heel measured (the engine gives no rise
        # otherwise); not when the heel landmark has jumped onto the far foot
        if not (now.near_top and now.is_rep and is_finite(now.heel_rise_m)):
            return None
        return (
            not now.heel_jumped
            and now.heel_rise_m > p.rules.heel_lift.max_heel_rise_m + now.heel_margin_m
        )


class RepCount(Rule):
    """A set-level rule: judged by :func:`evaluate_set`, not per rep."""

    id, title, measure, unit = "rep_count", "Rep count", "rep_count", "reps"
    weight = 0.0

    def evaluate_set(self, rep_count: int, p: Profile) -> Finding | None:
        lo, hi = p.set.min_reps, p.set.max_reps
        if lo <= rep_count <= hi:
            return None
        return self.finding(
            p,
            float(rep_count),
            float(lo if rep_count < lo else hi),
            "<" if rep_count < lo else ">",
            None,
            None,
            f"{rep_count} reps in the set (target {lo}-{hi})",
        )
