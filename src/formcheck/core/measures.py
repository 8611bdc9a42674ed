"""Per-rep measures: pure functions of per-frame series and segmented movements, and the typed
:class:`RepMeasures` record the rules judge.

Units: degrees, seconds, metres (heel heights along the floor normal, up positive), frame
indices into the analysed series.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from formcheck.core.geometry import Geometry
from formcheck.core.movement import Movement
from formcheck.core.view import confidence


@dataclass(frozen=True)
class RepMeasures:
    """Everything the rules judge about one finished rep (see :mod:`formcheck.core.rules`)."""

    peak_angle_deg: float  # top level of the corrected angle
    peak_time_s: float
    peak_frame: int
    hold_s: float
    lowering_s: float
    top_start_s: float
    top_start_frame: int
    top_end_s: float
    top_end_frame: int
    complete: bool  # False: the set ended during the lowering
    heel_rise_m: float | None  # beyond the set's common shift; None: not measured
    heel_time_s: float | None
    heel_frame: int | None
    heel_confidence: float
    knee_angle_deg: float | None  # median over the top
    arch_sil_deg: float | None  # silhouette lumbar measure, median over the top
    arch_confidence: float
    angle_confidence: float  # view confidence, 0..1
    arch_set_base_deg: float | None  # the athlete's baseline (:func:`arch_baseline`)
    arch_set_reps: int  # reps behind that baseline
    angle_sd_deg: float = float("nan")  # corrected angle's error SD (bias model residual)
    angle_level_known: bool = True  # False: the hip was lost, the top's angle is not judged


def top_frames(raw_deg: np.ndarray, max_frames: int = 300) -> np.ndarray:
    """Frames near the tops of the set (raw angle in its upper fifth), at most ``max_frames``."""
    ok = np.isfinite(raw_deg)
    if ok.sum() < 3:
        return np.array([], int)
    lo, hi = np.percentile(raw_deg[ok], [5, 98])
    idx = np.flatnonzero(ok & (raw_deg >= hi - 0.2 * (hi - lo)))
    return idx[:: max(1, len(idx) // max_frames)]


#: Largest per-set heel shift (metres) taken as the landmark's own drift and subtracted.
HEEL_COMMON_MAX_M = 0.025


def raw_heel_rises(
    movements: list[Movement], heel_height_m: np.ndarray, fps: float
) -> list[tuple[float | None, int | None]]:
    """Each movement's raw heel rise (metres) and the frame where it peaks: the heel's height
    at the top (90th percentile) minus its median in the 0.6 s before the movement starts.
    ``(None, None)`` where either is unknown."""
    raw: list[tuple[float | None, int | None]] = []
    pre_n = max(1, int(round(0.6 * fps)))
    for mv in movements:
        top = heel_height_m[mv.top_start : mv.top_end + 1]
        pre = heel_height_m[max(0, mv.start - pre_n) : mv.start + 1]
        if not (np.isfinite(top).any() and np.isfinite(pre).any()):
            raw.append((None, None))
            continue
        raw.append(
            (
                float(np.nanpercentile(top, 90) - np.nanmedian(pre)),
                mv.top_start + int(np.nanargmax(top)),
            )
        )
    return raw


def heel_common_shift(
    deltas: list[float], min_reps: int = 3, max_common_m: float = HEEL_COMMON_MAX_M
) -> float | None:
    """The shift every rep's heel landmark shows (metres): the median of the reps' raw rises,
    capped at ``max_common_m``; None with fewer than ``min_reps`` reps."""
    return min(float(np.median(deltas)), max_common_m) if len(deltas) >= min_reps else None


#: A heel landmark that ends a rise at (or above) the far heel's height, when the two were at
#: least this far apart (metres, along the floor normal) before it, jumped to the far foot.
HEEL_JUMP_MIN_SEPARATION_M = 0.10


def heel_jumps(
    movements: list[Movement],
    heel_height_m: np.ndarray,
    far_heel_height_m: np.ndarray | None,
    fps: float,
) -> list[bool]:
    """For each movement, whether the near heel landmark jumped to the far foot at the top.

    MediaPipe sometimes moves the near leg's landmarks onto the far leg in oblique views. Seen
    from above or at an angle, the far heel sits higher in the image than the near one. A jump:
    the two were at least ``HEEL_JUMP_MIN_SEPARATION_M`` apart along the floor normal before the
    rise, and the near heel itself rose by at least 80 % of that (so 8 cm or more) to end within
    20 % of it from the far heel's height. No heel lift with the ball of the foot down rises
    that far onto the other heel's height; a landmark jump does (docs/accuracy.md). In a side
    view (heels one over the other) a jump changes nothing and is not looked for."""
    if far_heel_height_m is None:
        return [False] * len(movements)
    sep = far_heel_height_m - heel_height_m  # metres; > 0: the far heel appears higher
    rises = raw_heel_rises(movements, heel_height_m, fps)
    pre_n = max(1, int(round(0.6 * fps)))
    out = []
    for mv, (rise, _) in zip(movements, rises):
        pre = sep[max(0, mv.start - pre_n) : mv.start + 1]
        top = sep[mv.top_start : mv.top_end + 1]
        if rise is None or not (np.isfinite(pre).any() and np.isfinite(top).any()):
            out.append(False)
            continue
        out.append(is_heel_jump(float(np.nanmedian(pre)), rise, float(np.nanmedian(top))))
    return out


def is_heel_jump(sep_before_m: float, rise_m: float, sep_now_m: float) -> bool:
    """The test of :func:`heel_jumps` for one rise: far-minus-near heel height before it and
    now, and the near heel's rise (metres)."""
    return (
        sep_before_m >= HEEL_JUMP_MIN_SEPARATION_M
        and rise_m >= 0.8 * sep_before_m
        and sep_now_m <= 0.2 * sep_before_m
    )


def heel_rises(
    movements: list[Movement],
    heel_height_m: np.ndarray,
    fps: float,
    min_reps: int = 3,
    max_common_m: float = HEEL_COMMON_MAX_M,
    jumped: list[bool] | None = None,
) -> list[tuple[float | None, int | None]]:
    """Heel rise of each movement (metres) and the frame where it peaks.

    A movement's raw rise is :func:`raw_heel_rises`. MediaPipe's heel landmark also shifts with
    the shin's rotation, the same way in every rep, so with at least ``min_reps`` reps the set's
    median raw rise, capped at ``max_common_m``, is subtracted: what remains is what this rep's
    heels did differently (and, past the cap, a lift that every rep of the set shows).
    Movements marked in ``jumped`` (:func:`heel_jumps`) get ``(None, None)``: not measured.
    """
    raw = raw_heel_rises(movements, heel_height_m, fps)
    if jumped is not None:
        raw = [(None, None) if j else r for r, j in zip(raw, jumped)]
    deltas = [d for (d, _), mv in zip(raw, movements) if d is not None and mv.is_rep]
    common = heel_common_shift(deltas, min_reps, max_common_m) or 0.0
    return [(None if d is None else d - common, f) for d, f in raw]


def top_arch(mv: Movement, arch: np.ndarray, geom: Geometry) -> tuple[float | None, float]:
    """A movement's silhouette bend (median over its top phase, degrees) and its confidence."""
    a_top = arch[mv.top_start : mv.top_end + 1]
    if not np.isfinite(a_top).any():
        return None, 0.0
    return float(np.nanmedian(a_top)), confidence(geom) * float(np.isfinite(a_top).mean())


def arch_baseline(
    values: list[tuple[float | None, float]], min_confidence: float, kind: str = "least"
) -> tuple[float | None, int, float | None]:
    """The athlete's own lumbar baseline from ``(silhouette measure, confidence)`` pairs of the
    reps with the hips on the line (the caller picks those): ``(baseline, n, least)``, where
    ``n`` counts the reps with a usable estimate and ``least`` is the smallest of them.
    ``kind`` (a profile's ``rules.lumbar_arch.baseline``): ``"least"``, the baseline is that
    smallest value; ``"lower_half"``, the mean of the ``ceil(n / 2)`` smallest (the least of
    1-2 reps), so that rep-to-rep noise does not pull the baseline down as a set grows (the
    least of 12 reps lies about 1.6 SD under their mean)."""
    ok = sorted(a for a, c in values if a is not None and c >= min_confidence)
    if not ok:
        return None, 0, None
    low = ok[: math.ceil(len(ok) / 2)] if kind == "lower_half" else ok[:1]
    return float(sum(low) / len(low)), len(ok), ok[0]
