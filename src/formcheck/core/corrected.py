"""The set's corrected shoulder–hip–knee angle and the weight on the hips.

The weight is looked for first (:mod:`formcheck.core.load`, with the barbell's plate rim fitted
for its path: :func:`formcheck.core.load.fit_bar`). The landmark angle is fused with the
world-landmark angle and the exercise's bias model subtracted (:mod:`formcheck.core.bias`); with
a weight in the mask its silhouette terms are dropped, since the silhouette is no longer the
body's. Under a barbell whose plate rim was fitted the angle then follows the bar
(:func:`follow_bar`), each rep judged against the set's typical top; under any other weight
whose landmarks the model has lost (:func:`landmarks_lost`) it follows the weight's raised
outline instead, and its level is not known. Degrees throughout.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from formcheck.core.bias import BiasModel
from formcheck.core.geometry import Geometry
from formcheck.core.kinematics import Angles
from formcheck.core.load import LoadEstimate, detect_load, fit_bar
from formcheck.core.measures import top_frames
from formcheck.core.signals import fill_gaps, lowpass, signal_to_noise
from formcheck.core.silhouette import midline_bias, trunk_thickness
from formcheck.core.track import PoseTrack, side_index

#: Every how many detected frames the load check looks at the mask.
LOAD_EVERY = 3
#: Under a weight, the landmarks are taken as lost when the angle's signal-to-noise ratio
#: (:func:`~formcheck.core.signals.signal_to_noise`) is under this. Calibration sets (barcal,
#: loadcal, the 17 sets with a weight and no fitted rim): 15–24 on the four whose landmark
#: angle barely followed the lift (0–1 reps counted for 2–4), 45–105 on the other 13; the
#: geometric middle of the gap.
LOST_SNR = 33.0
#: Low-pass (Hz) of the raised outline's centre when the angle follows it: the outline's
#: centre jitters by several pixels; a rise of one second keeps its shape.
OUTLINE_CUTOFF_HZ = 1.0
#: Gaps (s) in a fitted bar's path bridged by interpolation (the landmarks dropped for a
#: moment mid-rep while the plate stays in sight).
BAR_GAP_S = 1.5
#: Under a barbell the angle at the set's typical top is taken to be this (degrees: the
#: straight shoulder–knee line). The near plate stands 0.7 m or more nearer the camera than
#: the hip, so its centre is no guide to the hip's level: on the calibration sets the plate's
#: centre sat from 0.26 shank lengths below the hip to 0.55 above it at straight tops, with
#: the camera's height and turn; and the hip landmark behind it read the tops 72° low to 35°
#: high. Each rep is judged against the set's own typical top instead.
SET_TOP_DEG = 180.0


@dataclass(frozen=True)
class SetAngles:
    """The angles a set is judged on. ``shk_deg`` ``(T,)``: the corrected angle;
    ``bias_model`` and ``bias_deg``: the correction used; ``thickness`` and ``midline_deg``:
    its silhouette terms (NaN with a weight); ``load``: the weight on the hips; ``follows``:
    where the angle's changes come from, None (the landmarks), ``"bar"`` (the fitted plate's
    centre, :func:`follow_bar`; the set's typical top taken as :data:`SET_TOP_DEG`) or
    ``"outline"`` (the raised outline's centre, the landmarks being lost; the level not
    known)."""

    shk_deg: np.ndarray
    load: LoadEstimate
    bias_model: BiasModel
    bias_deg: float
    thickness: float
    midline_deg: float
    follows: str | None = None

    @property
    def follows_load(self) -> bool:
        """The angle's changes come from the weight's path: reps are told by their rise."""
        return self.follows is not None

    @property
    def level_known(self) -> bool:
        """False where the landmarks were lost: the top's angle (sag, hips too high) is not
        measured."""
        return self.follows != "outline"


def set_angles(
    track: PoseTrack,
    xy: np.ndarray,
    geom: Geometry,
    ang: Angles,
    set_frames: np.ndarray,
    bias_model: BiasModel,
) -> SetAngles:
    """The set's angles from the smoothed landmarks ``xy`` ``(T, 33, 2)`` px and their
    kinematics ``ang``; ``set_frames`` ``(T,)`` bool: the frames inside the set-up, where the
    weight is looked for."""
    t = track.t_s
    frames = np.flatnonzero(track.detected & set_frames)[::LOAD_EVERY]
    load = detect_load(xy, track.masks, track.mask_scale, geom, frames, t, track.fps)
    if load.loaded:  # the mask holds the weight too: no silhouette measure is the body's
        thickness = midline = float("nan")
        load = fit_bar(xy, track.masks, track.mask_scale, geom, load, t, track.fps, track.circles)
    else:
        thickness = trunk_thickness(xy, track.masks, track.mask_scale, geom)
        midline = midline_bias(xy, track.masks, track.mask_scale, geom, top_frames(ang.shk_raw_deg))
    bias = bias_model.predict(geom.yaw_deg, thickness, midline)
    raw = bias_model.fuse(ang.shk_raw_deg, ang.shk_world_deg)  # image + world landmarks
    shk = bias_model.correct(raw, bias, geom.yaw_deg)
    if load.kind == "barbell":  # the hip is hidden, the plate rim's centre is sure
        path = fill_gaps(load.centre_px, t, BAR_GAP_S)
        shk = follow_bar(shk, xy, path, geom, level_deg=SET_TOP_DEG)
        return SetAngles(shk, load, bias_model, bias, thickness, midline, "bar")
    if load.loaded and landmarks_lost(shk, t, track.fps):
        path = lowpass(fill_gaps(load.centre_px, t, 1.0), track.fps, OUTLINE_CUTOFF_HZ)
        shk = follow_bar(shk, xy, path, geom)
        return SetAngles(shk, load, bias_model, bias, thickness, midline, "outline")
    return SetAngles(shk, load, bias_model, bias, thickness, midline)


def landmarks_lost(shk_deg: np.ndarray, t_s: np.ndarray, fps: float) -> bool:
    """True when the angle ``shk_deg`` ``(T,)`` moves too unevenly to be the lift's: its
    signal-to-noise ratio is under :data:`LOST_SNR` (the model lost the joints behind the
    weight and guesses them frame by frame)."""
    return bool(signal_to_noise(shk_deg, t_s, fps) < LOST_SNR)


def follow_bar(
    shk_deg: np.ndarray,
    xy: np.ndarray,
    bar_px: np.ndarray,
    geom: Geometry,
    level_deg: float | None = None,
) -> np.ndarray:
    """The angle ``shk_deg`` ``(T,)`` (degrees) with the hip carried by the bar.

    Under a barbell the hip landmark is a guess that wanders from frame to frame (and the knee
    with it, the thigh being hidden too), while the bar rides the hip crease and its plate's rim
    is fitted to a few pixels (``bar_px`` ``(T, 2)``). So the hip is taken to rise and fall as
    the bar does, with the shoulder and the knee where they are at the tops: near the
    shoulder–knee line, a hip ``dh`` pixels higher opens the angle by ``dh (1/a + 1/b)``
    radians (``a``, ``b``: the bar's distances to the shoulder and the knee at the tops,
    pixels). The angle at the set's tops (the frames with the bar in the top quarter of its
    travel) is ``level_deg``, or, when None, ``shk_deg``'s median there; the changes come from
    the bar, also in frames where ``shk_deg`` is NaN. Frames without a bar keep ``shk_deg``,
    moved by the same amount as its tops were.
    Where the model lost the hip, ``bar_px`` is the raised outline's centre instead, and the
    level is then not a measurement (:data:`SetAngles.follows` ``"outline"``)."""
    side = geom.near_side
    sh, kn = (xy[:, side_index(side, j)] for j in ("shoulder", "knee"))
    height = bar_px @ geom.up
    ok = np.isfinite(height)
    both = ok & np.isfinite(shk_deg)
    if both.sum() < 20:
        return shk_deg
    top = both & (height >= np.nanpercentile(height[both], 75))
    a = float(np.nanmedian(np.linalg.norm(sh - bar_px, axis=1)[top]))
    b = float(np.nanmedian(np.linalg.norm(kn - bar_px, axis=1)[top]))
    if not (a > 0 and b > 0):
        return shk_deg
    rel = height - float(np.median(height[top]))
    landmarks = float(np.median(shk_deg[top]))
    level = landmarks if level_deg is None else float(level_deg)
    out = level + np.degrees(rel * (1.0 / a + 1.0 / b))
    return np.where(ok, out, shk_deg + (level - landmarks))
