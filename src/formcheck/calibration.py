"""Bias correction from raw landmark angles to the estimated true joint angle.

MediaPipe's hip and shoulder landmarks sit on the body's surface, not at the joint centres, so
the raw shoulder–hip–knee angle at a rep's top reads several degrees above the true angle, by
an amount that depends on the body. First the image-plane angle is fused with the angle from
MediaPipe's 3-D world landmarks (:meth:`BiasModel.fuse`: ``raw = image + world_weight *
(world - image)``; the two err partly independently), then a linear bias is subtracted,

    bias_deg = intercept_deg + yaw_coef * |yaw_deg| + thickness_coef * (thickness - thickness_ref)
               + midline_coef * midline_deg

where ``yaw_deg`` is the estimated camera yaw, ``thickness`` the body's depth at mid-trunk
over the shoulder–hip length, and ``midline_deg`` the per-set bias measured on the athlete's
own silhouette (:func:`formcheck.kinematics.midline_bias`), all read off the same track.
Without masks, ``midline_deg`` is replaced by ``midline_fallback_deg`` (its calibration mean).
The coefficients are fitted by ``benchmarks/calibrate.py`` on the calibration half of the
synthetic set and shipped in ``calibration.toml``; the true angle is ``raw - bias``.
``world_weight`` is fitted with them (as the coefficient of ``world - image`` at rep tops).
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from importlib import resources

import numpy as np


@dataclass(frozen=True)
class BiasModel:
    intercept_deg: float = 7.0
    yaw_coef: float = 0.0
    thickness_coef: float = 0.0
    thickness_ref: float = 0.0
    midline_coef: float = 0.0
    midline_fallback_deg: float = 0.0
    world_weight: float = 0.0
    max_abs_deg: float = 25.0
    fitted_on: str = ""
    residual_sd_deg: float = float("nan")
    source: str = "default"

    def fuse(self, image_deg: np.ndarray, world_deg: np.ndarray | None) -> np.ndarray:
        """The landmark angle before bias correction (degrees): the image-plane angle moved
        ``world_weight`` of the way towards the world-landmark angle, where that is known."""
        image_deg = np.asarray(image_deg, float)
        if world_deg is None or not self.world_weight:
            return image_deg.copy()
        world_deg = np.asarray(world_deg, float)
        return np.where(np.isfinite(world_deg),
                        image_deg + self.world_weight * (world_deg - image_deg), image_deg)

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
