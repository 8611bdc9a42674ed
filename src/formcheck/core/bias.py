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
own silhouette (:func:`formcheck.core.silhouette.midline_bias`), all read off the same track.
Without masks, ``midline_deg`` is replaced by ``midline_fallback_deg`` (its calibration mean).
``yaw_deg`` is the view's departure from a pure side view as read from the apparent hip and
shoulder width (:func:`formcheck.core.geometry.view_yaw`), so it grows with the camera's height
as well as its yaw. Each exercise has its own model (the landmarks sit differently on a body
propped on a bench and one lying on the floor), fitted by ``benchmarks/calibrate.py`` on
labelled synthetic clips and shipped in ``calibration.toml`` as ``[bias.<exercise>]``; the true
angle is ``raw - bias`` at a rep's top. A model may also carry a gain, for a landmark angle
that shows only part of a departure from 180° (a camera above the body sees the hip's rise
foreshortened): then the true angle is ``180 + (raw - bias - 180) / gain`` with
``gain = 1 + gain_slope + gain_yaw_coef * |yaw|`` (:meth:`BiasModel.correct`). The calibration
offers it as a candidate at the rep and attempt peaks; the shipped models do not use it
(``gain_slope = gain_yaw_coef = 0``). ``world_weight`` is fitted with the bias (as the
coefficient of ``world - image`` at rep tops).
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
    gain_slope: float = 0.0
    gain_yaw_coef: float = 0.0
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
        return np.where(
            np.isfinite(world_deg),
            image_deg + self.world_weight * (world_deg - image_deg),
            image_deg,
        )

    def gain(self, yaw_deg: float | None) -> float:
        """How much of a true departure from 180 deg the landmark angle shows (1 = all of it;
        0.85 = a true 150 deg reads 154.5 deg, after the bias): ``1 + gain_slope +
        gain_yaw_coef * |yaw|``, kept within [0.5, 1.5]. A camera above the body sees the
        hip's rise foreshortened."""
        g = 1.0 + self.gain_slope
        if yaw_deg is not None and math.isfinite(yaw_deg):
            g += self.gain_yaw_coef * abs(yaw_deg)
        return float(min(1.5, max(0.5, g)))

    def correct(self, raw_deg, bias_deg: float, yaw_deg: float | None):
        """The estimated true angle (degrees) from the fused landmark angle ``raw_deg`` (array
        or float): ``180 + (raw - bias - 180) / gain``."""
        return 180.0 + (np.asarray(raw_deg, float) - bias_deg - 180.0) / self.gain(yaw_deg)

    def uncorrect(self, true_deg: float, bias_deg: float, yaw_deg: float | None) -> float:
        """The landmark angle that :meth:`correct` maps to ``true_deg`` (degrees)."""
        return float(180.0 + (true_deg - 180.0) * self.gain(yaw_deg) + bias_deg)

    def predict(
        self, yaw_deg: float | None, thickness: float | None, midline_deg: float | None = None
    ) -> float:
        """Bias in degrees to subtract from raw angles (clamped to ``±max_abs_deg``)."""
        b = self.intercept_deg
        if yaw_deg is not None and math.isfinite(yaw_deg):
            b += self.yaw_coef * abs(yaw_deg)
        m = (
            midline_deg
            if midline_deg is not None and math.isfinite(midline_deg)
            else self.midline_fallback_deg
        )
        b += self.midline_coef * m
        if thickness is not None and math.isfinite(thickness):
            b += self.thickness_coef * (thickness - self.thickness_ref)
        return float(max(-self.max_abs_deg, min(self.max_abs_deg, b)))


def load_bias_model(exercise: str) -> BiasModel:
    """The shipped bias model for ``exercise`` (``[bias.<exercise>]`` in
    ``formcheck/calibration.toml``); the uncalibrated default if it has none."""
    text = resources.files("formcheck").joinpath("calibration.toml").read_text("utf-8")
    d = tomllib.loads(text).get("bias", {}).get(exercise)
    return BiasModel(**d) if d else BiasModel()
