"""``lumbar_arch``: the lower back arched with the hips on the line, from the silhouette
measure against the athlete's own baseline (degrees)."""

from __future__ import annotations

from formcheck.core.rules.base import Rule, arch_limits, is_finite
from formcheck.core.rules.profile import LUMBAR_MEASURE_NAMES

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
        if (
            not is_finite(arch)
            or conf < r.min_view_confidence
            or any(f.rule in self.off_line for f in prior)
        ):
            return None
        alone, own = arch_limits(r, m.arch_set_base_deg, m.arch_set_reps or 0)
        what = LUMBAR_MEASURE_NAMES[r.measure]
        t, f = m.peak_time_s, m.peak_frame
        if arch > alone:
            return self.finding(
                p,
                arch,
                alone,
                ">",
                t,
                f,
                f"lower back arched ({what} {arch:.0f} deg, limit {alone:.0f} deg)",
                "silhouette",
                conf,
            )
        if arch >= own:
            return self.finding(
                p,
                arch,
                own,
                ">",
                t,
                f,
                f"lower back arched ({what} "
                f"{arch:.0f} deg, {arch - m.arch_set_base_deg:.0f} deg over "
                "your own baseline)",
                "silhouette",
                conf,
            )
        return None

    def live(self, now, p):
        r = p.rules.lumbar_arch
        if (
            now.phase != "top"
            or not is_finite(now.arch_deg)
            or now.view_confidence < r.min_view_confidence
            or any(f in self.off_line for f in now.faults)
        ):
            return False
        alone, own = arch_limits(r, now.arch_base_deg, now.arch_set_reps)
        return (now.arch_frames >= 3 and now.arch_deg > alone + ARCH_EARLY_MARGIN_DEG) or (
            now.arch_top_s >= 1.0 and (now.arch_deg > alone or now.arch_deg >= own)
        )
