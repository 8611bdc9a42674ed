"""Bias correction from raw landmark angles to the estimated true joint angle.

MediaPipe's hip and shoulder landmarks sit on the body's surface, not at the joint centres, so
the raw shoulder–hip–knee angle at a rep's top reads several degrees above the true angle; more
for thicker bodies and yawed cameras. The correction is a linear model,

    bias_deg = intercept_deg + yaw_coef * |yaw_deg| + thickness_coef * (thickness - thickness_ref)
               + midline_coef * midline_deg

where ``yaw_deg`` is the estimated camera yaw, ``thickness`` the body's depth at mid-trunk
over the shoulder–hip length, and ``midline_deg`` the per-set bias measured on the athlete's
own silhouette (:func:`formcheck.kinematics.midline_bias`), all read off the same track.
Without masks, ``midline_deg`` is replaced by ``midline_fallback_deg`` (its calibration mean).
The coefficients are fitted by ``benchmarks/calibrate.py`` on the calibration half of the
synthetic set and shipped in ``calibration.toml``; the true angle is ``raw - bias``.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from importlib import resources


@dataclass(frozen=True)
class BiasModel:
    intercept_deg: float = 7.0
    yaw_coef: float = 0.0
    thickness_coef: float = 0.0
    thickness_ref: float = 0.0
    midline_coef: float = 0.0
    midline_fallback_deg: float = 0.0
    max_abs_deg: float = 25.0
    fitted_on: str = ""
    residual_sd_deg: float = float("nan")
    source: str = "default"

    def predict(self, yaw_deg: float | None, thickness: float | None,
                midline_deg: float | None = None) -> float:
        """Bias in degrees to subtract from raw angles (clamped to ``±max_abs_deg``)."""
        b = self.intercept_deg
        if yaw_deg is not None and math.isfinite(yaw_deg):
            b += self.yaw_coef * abs(yaw_deg)
        m = midline_deg if midline_deg is not None and math.isfinite(midline_deg) \
            else self.midline_fallback_deg
        b += self.midline_coef * m
        if thickness is not None and math.isfinite(thickness):
            b += self.thickness_coef * (thickness - self.thickness_ref)
        return float(max(-self.max_abs_deg, min(self.max_abs_deg, b)))


def load_bias_model() -> BiasModel:
    """The shipped bias model (``formcheck/calibration.toml``)."""
    text = resources.files("formcheck").joinpath("calibration.toml").read_text("utf-8")
    d = tomllib.loads(text).get("bias", {})
    return BiasModel(**d)
