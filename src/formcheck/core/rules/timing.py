"""The tempo rules: ``short_hold`` (hold the top) and ``fast_lowering`` (lower slowly), in
seconds."""

from __future__ import annotations

from formcheck.core.rules.base import Rule


class ShortHold(Rule):
    id, title, measure, unit = "short_hold", "Short hold at the top", "hold_s", "s"
    live_text = "hold longer at the top"

    def evaluate(self, m, p, prior):
        thr = p.rules.short_hold.min_hold_s
        if not m.hold_s < thr:
            return None
        return self.finding(
            p,
            m.hold_s,
            thr,
            "<",
            m.top_start_s,
            m.top_start_frame,
            f"held the top {m.hold_s:.1f} s (aim for {thr:.1f} s)",
            "angle",
            m.angle_confidence,
        )

    def live(self, now, p):  # judged as the angle leaves the top
        return now.left_top and now.is_rep and now.held_s < p.rules.short_hold.min_hold_s


class FastLowering(Rule):
    id, title, measure, unit = "fast_lowering", "Fast lowering", "lowering_s", "s"
    live_text = "lower slowly"

    def evaluate(self, m, p, prior):
        thr = p.rules.fast_lowering.min_lowering_s
        if not m.complete or not m.lowering_s < thr:
            return None
        return self.finding(
            p,
            m.lowering_s,
            thr,
            "<",
            m.top_end_s,
            m.top_end_frame,
            f"lowered in {m.lowering_s:.1f} s (aim for {thr:.1f} s or more)",
            "angle",
            m.angle_confidence,
        )

    def live(self, now, p):
        # known once the angle is down at the end level; before that, predicted at the current
        # speed, with a margin while the lowering is still speeding up
        thr = p.rules.fast_lowering.min_lowering_s
        if (
            now.phase != "lowering"
            or not now.is_rep
            or now.lowering_elapsed_s is None
            or now.lowering_elapsed_s >= thr
        ):
            return False
        return now.lowering_done or (
            now.lowering_predicted_s is not None and now.lowering_predicted_s < 0.75 * thr
        )
