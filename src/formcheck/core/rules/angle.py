"""The top of the rep against the straight shoulder–hip–knee line: ``sag`` and
``hyperextension`` (degrees, 180 = straight, > 180 hips above the line); and the knee angle
at the top (advisory)."""

from __future__ import annotations

from formcheck.core.rules.base import Rule, angle_finding_confidence, is_finite


class Sag(Rule):
    id, title, measure, unit = "sag", "Hips short of straight", "peak_angle_deg", "deg"
    weight, live_text = 0.5, "hips up"

    def evaluate(self, m, p, prior):
        thr = p.rules.sag.min_peak_deg
        if not m.angle_level_known or not m.peak_angle_deg < thr:
            return None
        return self.finding(
            p,
            m.peak_angle_deg,
            thr,
            "<",
            m.peak_time_s,
            m.peak_frame,
            f"top of the rep at {m.peak_angle_deg:.0f} deg, short of a straight "
            f"line ({thr:.0f} deg)",
            "angle",
            angle_finding_confidence(m.angle_confidence, thr - m.peak_angle_deg, m.angle_sd_deg),
        )

    def live(self, now, p):
        # the rise levelled off (or turned down) short of a straight line
        return now.peak_deg < p.rules.sag.min_peak_deg and (now.stalled or now.phase == "lowering")


class Hyperextension(Rule):
    id, title, measure, unit = (
        "hyperextension",
        "Hips pushed past straight",
        "peak_angle_deg",
        "deg",
    )
    weight, live_text, live_persist_frames = 0.5, "ribs down - don't arch", 2

    def evaluate(self, m, p, prior):
        thr = p.rules.hyperextension.max_peak_deg
        if not m.angle_level_known or not m.peak_angle_deg > thr:
            return None
        return self.finding(
            p,
            m.peak_angle_deg,
            thr,
            ">",
            m.peak_time_s,
            m.peak_frame,
            f"hips pushed {m.peak_angle_deg - 180:.0f} deg past a straight line "
            f"(limit {thr:.0f} deg)",
            "angle",
            angle_finding_confidence(m.angle_confidence, m.peak_angle_deg - thr, m.angle_sd_deg),
        )

    def live(self, now, p):  # as soon as the angle passes the limit
        return now.angle_deg > p.rules.hyperextension.max_peak_deg


class KneeAngle(Rule):
    id, title, measure, unit = "knee_angle", "Knee angle", "knee_angle_deg", "deg"
    weight = 0.0

    def evaluate(self, m, p, prior):
        r = p.rules.knee_angle
        k = m.knee_angle_deg
        if not is_finite(k) or r.min_knee_deg <= k <= r.max_knee_deg:
            return None
        low = k < r.min_knee_deg
        return self.finding(
            p,
            k,
            r.min_knee_deg if low else r.max_knee_deg,
            "<" if low else ">",
            m.peak_time_s,
            m.peak_frame,
            f"knee angle {k:.0f} deg at the top (aim for "
            f"{r.min_knee_deg:.0f}-{r.max_knee_deg:.0f} deg)",
            "angle",
            m.angle_confidence,
        )
