"""Which exercise a set looks like: shoulders on a bench (hip thrust) or on the floor (bridge).

The two profiles differ in their angle-bias models (``calibration.toml``), so a bridge analysed
as a hip thrust reads its angles several degrees off. The tell is the set-up at the bottom of
each movement: on a bench the shoulders rest well above the hips, on the floor level with them.

Measure (``shoulder_rise``, in **thigh lengths**, dimensionless): at the first and last frame
of every rep and attempt (the bottoms), the near-side shoulder's height above the near-side hip
along the floor normal, over the median image thigh length; the median over those frames.
On the 195 rendered clips of seven synthetic sets (bench 0.40–0.45 m, camera 0.35–1.40 m high,
up to 20° of yaw) hip thrusts read 0.25–0.87 and bridges −0.26–0.10. A camera above the body
foreshortens the rise (by about the cosine of its elevation) but cannot change its sign.

Under a weight on the hips the hip landmark follows the weight, not the hip (issue 17), so the
set-up is then read without it (``measure = "shoulder_over_heel"``): the near shoulder's
height above the near heel (the floor) at the bottoms, in **shin lengths** (knee to ankle).
A shoulder on a bench stands about a shin above the floor, one on the floor a fifth of that:
on the 17 calibration clips (``loadcal`` and the barbell sample) hip thrusts read 0.72–1.43,
bridges −0.19–0.49; the thresholds lie in that gap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from formcheck.core.track import side_index

#: A set-up whose shoulders rise at least this far above the hips at the bottoms (thigh lengths)
#: looks like a hip thrust; at most BRIDGE_MAX_RISE like a bridge; in between: undecided.
HIP_THRUST_MIN_RISE = 0.22
BRIDGE_MAX_RISE = 0.12
#: The same with the hip hidden: shoulder over heel, shin lengths.
HIP_THRUST_MIN_FLOOR = 0.62
BRIDGE_MAX_FLOOR = 0.55


@dataclass(frozen=True)
class ExerciseCheck:
    """``looks_like``: ``"hip_thrust"``, ``"glute_bridge"`` or ``None`` (undecided or no
    movements); ``shoulder_rise``: the measure above (thigh lengths over the hip, or shin
    lengths over the heel: ``measure``; NaN if unknown); ``bottoms``: how many bottom frames
    it used."""

    looks_like: str | None
    shoulder_rise: float
    bottoms: int
    measure: str = "shoulder_over_hip"

    @property
    def limits(self) -> tuple[float, float]:
        """``(hip thrust at least, bridge at most)`` for the measure used."""
        if self.measure == "shoulder_over_heel":
            return HIP_THRUST_MIN_FLOOR, BRIDGE_MAX_FLOOR
        return HIP_THRUST_MIN_RISE, BRIDGE_MAX_RISE

    def to_dict(self) -> dict:
        return {
            "looks_like": self.looks_like,
            "shoulder_rise_thighs": (
                round(self.shoulder_rise, 3) if math.isfinite(self.shoulder_rise) else None
            ),
            "bottom_frames": self.bottoms,
            "hip_thrust_min": self.limits[0],
            "glute_bridge_max": self.limits[1],
            "measure": self.measure,
        }


def shoulder_rise(xy: np.ndarray, side: str, up: np.ndarray, frames: np.ndarray) -> float:
    """Median near-side shoulder height above the hip along ``up`` (``(2,)``, image floor
    normal) at ``frames``, in thigh lengths, from ``(T, 33, 2)`` pixel positions. NaN if
    unknown."""
    frames = np.asarray(frames, int)
    if side not in ("left", "right") or frames.size == 0:
        return float("nan")
    sh, hip, knee = (xy[:, side_index(side, j)] for j in ("shoulder", "hip", "knee"))
    thigh = np.linalg.norm(hip - knee, axis=-1)
    if not np.isfinite(thigh).any():
        return float("nan")
    rise = ((sh[frames] - hip[frames]) @ up) / np.nanmedian(thigh)
    return float(np.nanmedian(rise)) if np.isfinite(rise).any() else float("nan")


def shoulder_over_floor(xy: np.ndarray, side: str, up: np.ndarray, frames: np.ndarray) -> float:
    """Median near-side shoulder height above the near heel along ``up`` at ``frames``, in
    shin (knee–ankle) lengths, from ``(T, 33, 2)`` pixel positions. NaN if unknown."""
    frames = np.asarray(frames, int)
    if side not in ("left", "right") or frames.size == 0:
        return float("nan")
    sh, heel, knee, ankle = (
        xy[:, side_index(side, j)] for j in ("shoulder", "heel", "knee", "ankle")
    )
    shin = np.linalg.norm(knee - ankle, axis=-1)
    if not np.isfinite(shin).any():
        return float("nan")
    rise = ((sh[frames] - heel[frames]) @ up) / np.nanmedian(shin)
    return float(np.nanmedian(rise)) if np.isfinite(rise).any() else float("nan")


def check_exercise(
    xy: np.ndarray, side: str, up: np.ndarray, bottoms: np.ndarray, hip_hidden: bool = False
) -> ExerciseCheck:
    """Classify the set-up from the movements' bottom frames ``bottoms`` (see module doc);
    ``hip_hidden``: a weight covers the hip, so read the shoulder against the floor."""
    measure = "shoulder_over_heel" if hip_hidden else "shoulder_over_hip"
    rise = (shoulder_over_floor if hip_hidden else shoulder_rise)(xy, side, up, bottoms)
    check = ExerciseCheck(None, rise, int(np.asarray(bottoms).size), measure)
    if not math.isfinite(rise):
        return check
    hip_thrust_min, bridge_max = check.limits
    looks = "hip_thrust" if rise >= hip_thrust_min else None
    looks = "glute_bridge" if rise <= bridge_max else looks
    return ExerciseCheck(looks, rise, check.bottoms, measure)


TITLES = {
    "hip_thrust": "hip thrust (shoulders on a bench)",
    "glute_bridge": "glute bridge (shoulders on the floor)",
}


def mismatch_warning(check: ExerciseCheck, analysed_as: str) -> str | None:
    """A one-line warning when the set-up contradicts the exercise it was analysed as."""
    if check.looks_like is None or check.looks_like == analysed_as:
        return None
    where = (
        "shin lengths above the heels"
        if check.measure == "shoulder_over_heel"
        else "thigh lengths above the hips"
    )
    return (
        f"this looks like a {TITLES[check.looks_like]} (shoulders "
        f"{check.shoulder_rise:+.2f} {where} at the bottoms), not a "
        f"{TITLES[analysed_as].split(' (')[0]}: rerun with --exercise {check.looks_like} "
        "or --exercise auto"
    )
