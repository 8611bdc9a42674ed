"""Vectorised joint angles over all frames of a pose track (scene geometry:
:mod:`formcheck.core.geometry`; silhouette measures: :mod:`formcheck.core.silhouette`).

Conventions
-----------
- All angles are in **degrees**; times in seconds; image positions in **pixels** (y down).
- **Signed shoulder–hip–knee angle** (``shk``): 180° is a straight shoulder–hip–knee line.
  Above 180° the hip lies *above* the shoulder–knee line (further from the floor:
  hyperextension); below 180° it lies below (sagging / not fully extended). "Above" is measured
  along the floor normal, estimated from the feet (heel → toe line) or, failing that, from the
  frame (image horizontal). The value is ``360 - θ`` when the hip is above the line, else ``θ``,
  where ``θ ∈ [0, 180]`` is the unsigned angle between hip→shoulder and hip→knee.
- **World angle** (``shk_world``): the same angle from MediaPipe's metric 3-D world landmarks
  (mid-shoulder, mid-hip, mid-knee), signed along the floor normal in the world frame; see
  :func:`world_shk_angle`.
- **Knee angle**: unsigned hip–knee–ankle angle (90° = shins vertical with thighs horizontal).
- **Shin to vertical**: unsigned angle between knee→ankle and the floor normal.
- **Torso to floor**: angle between hip→shoulder and the floor line, in [0, 90].
- **Heel height** (``heel_height_m``): the heel landmark's position along the floor normal, in
  metres (scaled by MediaPipe's metric world thigh length), from an arbitrary origin: only its
  changes mean something (a rise of the heel off a fixed floor). It is *not* measured against
  the toe landmark: MediaPipe moves the whole foot together, so heel-minus-toe barely changes
  when a heel really lifts (measured on the synthetic set: AUC 0.54 vs 0.98).
- **Silhouette arch** (``arch_sil``): bend of the body's back outline from the upper back to
  the buttocks, from the segmentation mask (see :func:`silhouette_arch`), in degrees; + = back
  bowed up.
- **Front crease** (``front_crease``): how far the front outline of the lower belly stands above
  the front outline of the thigh, as an angle seen along the body (see :func:`front_crease`),
  in degrees; + = belly above the thigh line (pelvis tipped forward, lower back arched).
- **Camera yaw** (``yaw_deg``): 0° = a true side view, 90° = frontal; estimated from how far
  apart the left and right hips and shoulders appear, relative to their metric distance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from formcheck.core.geometry import (
    Geometry,
    _unit,
    angle_between,
    signed_shk_angle,
    three_point_angle,
)
from formcheck.core.track import side_index


@dataclass(frozen=True)
class Angles:
    """Per-frame kinematics, all ``(T,)`` arrays (NaN where unknown). Units in field names."""

    shk_raw_deg: np.ndarray
    knee_deg: np.ndarray
    shin_to_vertical_deg: np.ndarray
    torso_to_floor_deg: np.ndarray
    heel_height_m: np.ndarray
    visibility: np.ndarray  # mean visibility of the near-side shoulder, hip, knee, ankle
    shk_world_deg: np.ndarray | None = None  # from MediaPipe's metric 3-D world landmarks
    far_heel_height_m: np.ndarray | None = None  # the far heel's, like heel_height_m


def world_shk_angle(world: np.ndarray, up: np.ndarray) -> np.ndarray:
    """Signed shoulder–hip–knee angle from MediaPipe's world landmarks ``(T, 33, 3)`` (degrees).

    The 3-D angle at the mid-hip between mid-shoulder and mid-knee (each the mean of the left
    and right landmark), so it does not depend on the camera's view; MediaPipe estimates these
    metric landmarks with a separate output of the model, whose errors only partly follow the
    image landmarks'. Signed like :func:`signed_shk_angle` (> 180° = hip above the
    shoulder–knee line), with the side read in the world frame itself, not from the image
    angle (which put sags of up to ~15° on the wrong side for bodies whose image hip landmark
    reads that far above the joint). MediaPipe's world axes follow the image's (x right, y
    down; checked on the synthetic clips to about 1°), so the floor normal ``up`` (``(2,)``,
    image pixels) lifts to ``(up_x, up_y, 0)``. The mid-hip's offset from the 3-D
    shoulder–knee line counts only by its share along that normal: the angle is
    ``180 + (180 - θ) * cos φ``, with ``θ`` the unsigned 3-D angle and ``φ`` the angle between
    the offset and ``up``. An offset in depth (mostly the world landmarks' depth noise, which
    flipped a plain sign from frame to frame) so reads as straight, and the value is
    continuous through 180°. NaN where unknown.
    """
    mid = {
        j: (world[:, side_index("left", j)] + world[:, side_index("right", j)]) / 2
        for j in ("shoulder", "hip", "knee")
    }
    a, b = mid["shoulder"] - mid["hip"], mid["knee"] - mid["hip"]
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = np.sum(a * b, axis=-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))
    theta = np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
    u = _unit(mid["knee"] - mid["shoulder"])
    rel = mid["hip"] - mid["shoulder"]
    offset = rel - np.sum(rel * u, axis=-1, keepdims=True) * u
    norm = np.linalg.norm(offset, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cos_phi = np.where(norm > 0, (offset @ np.array([up[0], up[1], 0.0])) / norm, 0.0)
    return 180.0 + (180.0 - theta) * cos_phi


def heel_heights(xy: np.ndarray, geom: Geometry) -> tuple[np.ndarray, np.ndarray]:
    """``(T,)`` heights (metres, along the floor normal, arbitrary origin) of the near and the
    far heel landmark, from ``(T, 33, 2)`` pixel positions and the set's :class:`Geometry`."""
    side = geom.near_side
    far = "right" if side == "left" else "left"
    return tuple(xy[:, side_index(s, "heel")] @ geom.up * geom.m_per_px for s in (side, far))


def joint_angles(
    xy: np.ndarray, visibility: np.ndarray, geom: Geometry, world: np.ndarray | None = None
) -> Angles:
    """Per-frame angles from ``(T, 33, 2)`` pixel positions and the set's :class:`Geometry`
    (and, given ``world`` ``(T, 33, 3)`` metres, the world-landmark angle too)."""
    side = geom.near_side
    j = {
        name: xy[:, side_index(side, name)]
        for name in ("shoulder", "hip", "knee", "ankle", "heel", "foot_index")
    }
    shk = signed_shk_angle(j["shoulder"], j["hip"], j["knee"], geom.up)
    knee = three_point_angle(j["hip"], j["knee"], j["ankle"])
    shin = angle_between(j["knee"] - j["ankle"], np.broadcast_to(geom.up, j["knee"].shape))
    torso = angle_between(j["shoulder"] - j["hip"], np.broadcast_to(geom.floor_dir, j["hip"].shape))
    torso = np.minimum(torso, 180.0 - torso)
    heel_h, far_heel_h = heel_heights(xy, geom)
    vis = visibility[:, [side_index(side, n) for n in ("shoulder", "hip", "knee", "ankle")]]
    shk_world = world_shk_angle(world, geom.up) if world is not None else None
    return Angles(shk, knee, shin, torso, heel_h, vis.mean(axis=1), shk_world, far_heel_h)
