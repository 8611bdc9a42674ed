"""The rows of a rep card in the report and the review app: each measure's value against its
limit, and the same in plain words for the lifter (``plain``, ``plain_target``), the numbers
kept for a details section. Angles in degrees, times in seconds, heel rise in centimetres.
"""

from __future__ import annotations

import math
from typing import Any

from formcheck.core.rules.settings import LumbarArchSettings
from formcheck.core.session import Rep, Session
from formcheck.sinks.plots import band

__all__ = ["HEEL_FLAT_M", "clean_summary", "heel_words", "rep_measures"]


def _fmt(v: Any, nd: int = 1) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    if isinstance(v, (int, float)):
        return f"{v:.{nd}f}"
    return str(v)


def rep_measures(rep: Rep, session: Session) -> list[dict]:
    """Rows of measured value vs threshold for a rep card."""
    rules = session.profile.rules
    lo, hi = band(session)
    rows = [
        dict(
            name="Peak shoulder–hip–knee",
            value=f"{_fmt(rep.peak_angle_deg)}°",
            target=f"{lo:.0f}–{hi:.0f}°",
            bad=any(f in rep.faults for f in ("sag", "hyperextension")),
        )
    ]
    rows[0]["plain"] = rows[0]["value"]
    if session.load_info.angle_follows == "bar":  # the level is the set's typical top
        rows[0].update(
            target=f"{lo:.0f}–{hi:.0f}° (your typical top taken as straight)",
            plain_target=f"{lo:.0f}–{hi:.0f}°, the set's typical top taken as straight",
        )
    if session.load_info.angle_follows == "outline":  # the hip was lost behind the weight
        rows[0].update(
            value="not measured",
            target="the hip is hidden behind the weight",
            plain="not measured: the hip is hidden behind the weight",
            plain_target="",
        )
    rows.append(
        dict(
            name="Hold at the top",
            value=f"{_fmt(rep.hold_s)} s",
            target=f"≥ {rules.short_hold.min_hold_s:.1f} s",
            bad="short_hold" in rep.faults,
        )
    )
    rows.append(
        dict(
            name="Lowering",
            value=f"{_fmt(rep.lowering_s)} s",
            target=f"≥ {rules.fast_lowering.min_lowering_s:.1f} s",
            bad="fast_lowering" in rep.faults,
        )
    )
    if rep.knee_angle_deg is not None:
        k = rules.knee_angle
        rows.append(
            dict(
                name="Knee angle at the top",
                value=f"{_fmt(rep.knee_angle_deg)}°",
                target=f"{k.min_knee_deg:.0f}–{k.max_knee_deg:.0f}°",
                bad=any(f.rule == "knee_angle" for f in rep.findings),
            )
        )
    if rep.heel_rise_m is not None:
        rows.append(
            dict(
                name="Heel rise",
                value=f"{_fmt(rep.heel_rise_m * 100)} cm",
                target=f"≤ {rules.heel_lift.max_heel_rise_m * 100:.1f} cm",
                bad="heel_lift" in rep.faults,
                plain=heel_words(rep.heel_rise_m),
            )
        )
    lum = rep.lumbar
    arch = lum.silhouette_deg
    if arch is not None:
        base = lum.silhouette_set_baseline_deg
        base = lum.silhouette_set_min_deg if base is None else base
        value = f"{_fmt(arch)}°" + (
            f" ({_fmt(arch - base)}° over your own baseline)" if base is not None else ""
        )
        name = (
            "Belly-to-thigh crease (outline)"
            if lum.silhouette_measure == "front_crease"
            else "Lower-back bend (outline)"
        )
        rows.append(
            dict(
                name=name,
                value=value,
                target=_arch_target(rules.lumbar_arch),
                bad="lumbar_arch" in rep.faults,
                plain="more arched than usual for you"
                if "lumbar_arch" in rep.faults
                else "as usual for you",
                plain_target="",
            )
        )
    if rep.counted_by == "hold":
        rp = session.profile.reps
        rows.append(
            dict(
                name="Counted as a rep",
                value=f"held {_fmt(rep.hold_s)} s",
                target=f"≥ {rp.boundary_hold_s:.1f} s: the top was within "
                f"{rp.boundary_band_deg:.0f}° of the "
                f"{rp.min_peak_deg:.0f}° rep line",
                bad=False,
            )
        )
    if rep.counted_by == "rise":
        rows.append(
            dict(
                name="Counted as a rep",
                value="rose as far as the set's other reps",
                target="the weight's rise, not the angle: the hip is hidden behind it",
                plain="rose as far as the set's other reps (read from the weight)",
                plain_target="",
                bad=False,
            )
        )
    for row in rows:  # the lifter-facing words; the numbers stay in ``value``/``target``
        row.setdefault("plain", row["value"])
        row.setdefault("plain_target", row["target"])
    return rows


#: A heel rise up to this (metres) reads "flat" to the lifter (tracking noise, or a negative
#: "rise" when the heel settles).
HEEL_FLAT_M = 0.005


def heel_words(rise_m: float | None) -> str:
    """The heel rise in plain words: "flat" up to :data:`HEEL_FLAT_M`, else "up N cm"."""
    if rise_m is None or not math.isfinite(rise_m):
        return "–"
    return "flat" if rise_m <= HEEL_FLAT_M else f"up {rise_m * 100:.1f} cm"


def clean_summary(indices: list[int]) -> str:
    """One line for the clean reps, runs joined: ``[1, 2, 3, 5]`` -> "Reps 1–3, 5: clean"."""
    if not indices:
        return ""
    runs: list[list[int]] = []
    for i in sorted(indices):
        if runs and i == runs[-1][1] + 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    parts = [f"{a}" if a == b else f"{a}–{b}" for a, b in runs]
    label = "Rep" if len(indices) == 1 else "Reps"
    return f"{label} {', '.join(parts)}: clean"


def _arch_target(la: LumbarArchSettings) -> str:
    """The lumbar_arch rule's limit in words, for the rep table."""
    if not la.enabled:
        return "not checked (off)"
    text = f"< {la.min_arch_rise_deg:.1f}° over your own baseline"
    alone = la.max_arch_alone_deg  # 0: no absolute limit
    return text + (f", ≤ {alone:.0f}°" if alone > 0 else "")
