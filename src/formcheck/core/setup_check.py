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


@dataclass(frozen=True)
class ExerciseCheck:
    """``looks_like``: ``"hip_thrust"``, ``"glute_bridge"`` or ``None`` (undecided or no
    movements); ``shoulder_rise``: the measure above (thigh lengths; NaN if unknown);
    ``bottoms``: how many bottom frames it used."""

    looks_like: str | None
    shoulder_rise: float
    bottoms: int

    def to_dict(self) -> dict:
        return {
            "looks_like": self.looks_like,
            "shoulder_rise_thighs": (
                round(self.shoulder_rise, 3) if math.isfinite(self.shoulder_rise) else None
            ),
            "bottom_frames": self.bottoms,
            "hip_thrust_min": HIP_THRUST_MIN_RISE,
            "glute_bridge_max": BRIDGE_MAX_RISE,
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


def check_exercise(xy: np.ndarray, side: str, up: np.ndarray, bottoms: np.ndarray) -> ExerciseCheck:
    """Classify the set-up from the movements' bottom frames ``bottoms`` (see module doc)."""
    rise = shoulder_rise(xy, side, up, bottoms)
    looks = None
    if math.isfinite(rise):
        if rise >= HIP_THRUST_MIN_RISE:
            looks = "hip_thrust"
        elif rise <= BRIDGE_MAX_RISE:
            looks = "glute_bridge"
    return ExerciseCheck(looks, rise, int(np.asarray(bottoms).size))


TITLES = {
    "hip_thrust": "hip thrust (shoulders on a bench)",
    "glute_bridge": "glute bridge (shoulders on the floor)",
}


def mismatch_warning(check: ExerciseCheck, analysed_as: str) -> str | None:
    """A one-line warning when the set-up contradicts the exercise it was analysed as."""
    if check.looks_like is None or check.looks_like == analysed_as:
        return None
    return (
        f"this looks like a {TITLES[check.looks_like]} (shoulders "
        f"{check.shoulder_rise:+.2f} thigh lengths above the hips at the bottoms), not a "
        f"{TITLES[analysed_as].split(' (')[0]}: rerun with --exercise {check.looks_like} "
        "or --exercise auto"
    )
