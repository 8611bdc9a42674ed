"""Measured movements → typed rep records with the rules' verdicts (offline and live alike)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from formcheck.core.geometry import Geometry
from formcheck.core.kinematics import Angles
from formcheck.core.measures import RepMeasures, arch_baseline, heel_jumps, heel_rises, top_arch
from formcheck.core.movement import Movement
from formcheck.core.rules import Profile, evaluate_rep
from formcheck.core.session import Lumbar, Rep
from formcheck.core.view import confidence


def on_the_line(peak_deg: float, profile: Profile) -> bool:
    """True if a top at ``peak_deg`` (corrected) is neither a sag nor a hyperextension."""
    return profile.rules.sag.min_peak_deg <= peak_deg <= profile.rules.hyperextension.max_peak_deg


def _rep_record(
    i: int,
    mv: Movement,
    t: np.ndarray,
    to_raw: Callable[[float], float],
    ang: Angles,
    heel_rise: tuple,
    rep_arch: tuple[float | None, float],
    geom: Geometry,
    profile: Profile,
    with_findings: bool,
    arch_set: tuple[float | None, int, float | None] = (None, 0, None),
    angle_sd_deg: float = float("nan"),
    hip_confidence: float = 1.0,
    level_known: bool = True,
) -> Rep:
    top = slice(mv.top_start, mv.top_end + 1)
    knee = float(np.nanmedian(ang.knee_deg[top])) if np.isfinite(ang.knee_deg[top]).any() else None
    heel, heel_frame = heel_rise
    arch_deg, arch_conf = rep_arch  # top_arch(mv, ...)
    conf = confidence(geom)
    lumbar = Lumbar(
        angle_estimate_deg=max(0.0, mv.peak_angle_deg - 180.0),
        silhouette_measure=profile.rules.lumbar_arch.measure,
        silhouette_deg=arch_deg,
        silhouette_confidence=round(arch_conf, 3),
        silhouette_set_baseline_deg=arch_set[0],
        silhouette_set_min_deg=arch_set[2],
        silhouette_set_reps=arch_set[1],
        angle_confidence=round(conf, 3),
        used="silhouette" if arch_deg is not None else "angle",
    )

    def ts(f: float) -> float:  # fractional frame -> seconds, between the frames' own times
        return float(np.interp(f, np.arange(len(t)), t)) if len(t) > 1 else float(f)

    m = RepMeasures(
        peak_angle_deg=mv.peak_angle_deg,
        peak_time_s=float(t[mv.peak_frame]),
        peak_frame=mv.peak_frame,
        hold_s=ts(mv.top_end_f) - ts(mv.top_start_f),
        lowering_s=ts(mv.end_f) - ts(mv.top_end_f),
        top_start_s=ts(mv.top_start_f),
        top_start_frame=mv.top_start,
        top_end_s=ts(mv.top_end_f),
        top_end_frame=mv.top_end,
        complete=mv.complete,
        heel_rise_m=heel,
        heel_time_s=None if heel_frame is None else float(t[heel_frame]),
        heel_frame=heel_frame,
        heel_confidence=conf,
        knee_angle_deg=knee,
        arch_sil_deg=arch_deg,
        arch_confidence=arch_conf,
        arch_set_base_deg=arch_set[0],
        arch_set_reps=arch_set[1],
        angle_sd_deg=angle_sd_deg,
        angle_confidence=conf * hip_confidence,
        angle_level_known=level_known,
    )
    findings = evaluate_rep(m, profile) if with_findings else []
    return Rep(
        index=i,
        start_s=ts(mv.start_f),
        top_start_s=m.top_start_s,
        top_end_s=m.top_end_s,
        end_s=ts(mv.end_f),
        start_frame=mv.start,
        top_start_frame=mv.top_start,
        top_end_frame=mv.top_end,
        end_frame=mv.end,
        peak_angle_deg=mv.peak_angle_deg,
        peak_angle_raw_deg=to_raw(mv.peak_angle_deg),
        hold_s=m.hold_s,
        lowering_s=m.lowering_s,
        rising_s=ts(mv.top_start_f) - ts(mv.start_f),
        knee_angle_deg=knee,
        heel_rise_m=heel,
        lumbar=lumbar,
        complete=mv.complete,
        counted_by="rise" if mv.by_rise else "hold" if mv.by_hold else "peak",
        faults=[f.rule for f in findings if f.severity == "fault"],
        findings=findings,
    )


def rep_records(
    movements: list[Movement],
    t: np.ndarray,
    to_raw: Callable[[float], float],
    ang: Angles,
    arch: np.ndarray,
    geom: Geometry,
    profile: Profile,
    fps: float,
    angle_sd_deg: float = float("nan"),
    jumped: list[bool] | None = None,
    hip_confidence: float = 1.0,
    level_known: bool = True,
) -> tuple[list[Rep], list[Rep]]:
    """Rep and attempt records (with findings for reps) for segmented ``movements``.

    ``t``, ``arch`` and the fields of ``ang`` are per-frame ``(T,)`` series; shared by offline
    analysis and the live engine. ``to_raw`` maps a corrected angle back to the landmark angle
    (degrees; for ``peak_angle_raw_deg``). ``angle_sd_deg``: the corrected angle's error SD
    between bodies (the bias model's residual), which sets how sure an angle finding near its
    threshold is. ``jumped``: :func:`~formcheck.core.measures.heel_jumps` of ``movements`` if
    the caller has it (else computed here). ``hip_confidence`` (0..1) scales the confidence of
    the angle findings, e.g. when a weight hides the hip (:mod:`formcheck.core.load`);
    ``level_known`` False (the hip was lost behind a weight) leaves the top's angle unjudged.
    """
    if jumped is None:
        jumped = heel_jumps(movements, ang.heel_height_m, ang.far_heel_height_m, fps)
    heel = dict(
        zip(map(id, movements), heel_rises(movements, ang.heel_height_m, fps, jumped=jumped))
    )
    tops = {id(m): top_arch(m, arch, geom) for m in movements}
    reps = [m for m in movements if m.is_rep]
    attempts = [m for m in movements if not m.is_rep]
    la = profile.rules.lumbar_arch
    arch_set = arch_baseline(
        [tops[id(m)] for m in reps if on_the_line(m.peak_angle_deg, profile)],
        la.min_view_confidence,
        la.baseline,
    )
    return (
        [
            _rep_record(
                i + 1,
                m,
                t,
                to_raw,
                ang,
                heel[id(m)],
                tops[id(m)],
                geom,
                profile,
                True,
                arch_set,
                angle_sd_deg,
                hip_confidence,
                level_known,
            )
            for i, m in enumerate(reps)
        ],
        [
            _rep_record(i + 1, m, t, to_raw, ang, heel[id(m)], tops[id(m)], geom, profile, False)
            for i, m in enumerate(attempts)
        ],
    )
