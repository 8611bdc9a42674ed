"""Vectorised joint angles over all frames of a pose track.

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

from dataclasses import dataclass, field

import numpy as np

from formcheck.core.track import LM, PoseTrack, side_index

#: Beyond this estimated yaw the view is called oblique, beyond FRONTAL_DEG frontal.
OBLIQUE_DEG = 30.0
FRONTAL_DEG = 55.0
#: Foot-based floor estimates further than this from image horizontal are not trusted.
MAX_FLOOR_TILT_DEG = 30.0


@dataclass(frozen=True)
class Geometry:
    """Set-level scene geometry, estimated once per track.

    ``floor_dir``/``up``: unit 2-D vectors in image pixels (y down); ``up`` points away from the
    floor. ``m_per_px``: metres per image pixel near the body. ``side``: body side facing the
    camera (``"left"``/``"right"``/``"unknown"``). ``view``: ``"side"``, ``"oblique"``,
    ``"frontal"`` or ``"no_person"``.
    """

    side: str
    floor_dir: np.ndarray
    up: np.ndarray
    floor_source: str
    m_per_px: float
    yaw_deg: float
    view: str
    detected_share: float
    side_confidence: float = 0.0
    notes: tuple[str, ...] = field(default_factory=tuple)


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return v / n


def angle_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Unsigned angle between 2-D vectors ``a`` and ``b`` (``(..., 2)``), degrees in [0, 180]."""
    cross = a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]
    dot = np.sum(a * b, axis=-1)
    return np.degrees(np.abs(np.arctan2(cross, dot)))


def signed_shk_angle(shoulder: np.ndarray, hip: np.ndarray, knee: np.ndarray,
                     up: np.ndarray) -> np.ndarray:
    """Signed shoulder–hip–knee angle (degrees; >180 = hip above the shoulder–knee line).

    Inputs are ``(T, 2)`` pixel positions and the floor normal ``up`` ``(2,)``.
    """
    theta = angle_between(shoulder - hip, knee - hip)
    u = _unit(knee - shoulder)
    rel = hip - shoulder
    offset = rel - np.sum(rel * u, axis=-1, keepdims=True) * u
    above = offset @ up > 0
    return np.where(above, 360.0 - theta, theta)


def three_point_angle(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Unsigned angle a–b–c at ``b`` (degrees), for ``(T, 2)`` arrays."""
    return angle_between(a - b, c - b)


def _nanmedian(x: np.ndarray, axis=None):
    with np.errstate(all="ignore"):
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.nanmedian(x, axis=axis)


def choose_side(track: PoseTrack) -> tuple[str, float]:
    """Body side facing the camera and a confidence in [0, 1].

    Votes by landmark visibility (the far side is partly hidden) and MediaPipe depth (the near
    side has the smaller z), over shoulders, hips, knees and ankles of all detected frames.
    """
    det = track.detected
    if not det.any():
        return "unknown", 0.0
    joints = ("shoulder", "hip", "knee", "ankle")
    li = [side_index("left", j) for j in joints]
    ri = [side_index("right", j) for j in joints]
    vis_diff = float(np.mean(track.visibility[det][:, li] - track.visibility[det][:, ri]))
    z_diff = float(_nanmedian(track.image[det][:, ri, 2] - track.image[det][:, li, 2]))
    scale = float(_nanmedian(np.linalg.norm(
        track.image[det][:, LM["left_shoulder"], :2] - track.image[det][:, LM["left_hip"], :2],
        axis=-1))) or 1.0
    vote = np.tanh(vis_diff / 0.1) + np.tanh(z_diff / (0.15 * scale))
    side = "left" if vote > 0 else "right"
    return side, float(min(1.0, abs(vote) / 2))


def estimate_geometry(track: PoseTrack, xy: np.ndarray | None = None) -> Geometry:
    """Side, floor direction, scale and camera view of a track (``xy``: smoothed positions)."""
    xy = track.image[..., :2] if xy is None else xy
    det = track.detected & np.all(np.isfinite(xy[:, :, 0]), axis=1)
    share = float(det.mean()) if det.size else 0.0
    horizontal = np.array([1.0, 0.0])
    if det.sum() < 3:
        return Geometry("unknown", horizontal, np.array([0.0, -1.0]), "frame", float("nan"),
                        float("nan"), "no_person", share)
    side, side_conf = choose_side(track)
    d = xy[det]
    vis = track.visibility[det]
    notes: list[str] = []

    # Floor: the near foot's heel -> toe line, where visible and plausibly flat.
    heel, toe = side_index(side, "heel"), side_index(side, "foot_index")
    good = (vis[:, heel] > 0.5) & (vis[:, toe] > 0.5)
    floor_dir, source = horizontal, "frame"
    if good.sum() >= 3:
        f = _nanmedian(_unit(d[good, toe] - d[good, heel]), axis=0)
        f = f / (np.linalg.norm(f) or 1.0)
        tilt = np.degrees(np.arctan2(abs(f[1]), abs(f[0])))
        if np.all(np.isfinite(f)) and tilt <= MAX_FLOOR_TILT_DEG:
            floor_dir, source = (f if f[0] >= 0 else -f), "feet"
        else:
            notes.append(f"foot line tilted {tilt:.0f} deg from horizontal; using the frame")
    up = np.array([floor_dir[1], -floor_dir[0]])
    if up[1] > 0:
        up = -up

    # Scale: MediaPipe's metric world thigh length over its image length.
    hip, knee = side_index(side, "hip"), side_index(side, "knee")
    thigh_m = _nanmedian(np.linalg.norm(track.world[det][:, hip] - track.world[det][:, knee],
                                        axis=-1))
    thigh_px = _nanmedian(np.linalg.norm(d[:, hip] - d[:, knee], axis=-1))
    m_per_px = float(thigh_m / thigh_px) if thigh_px and np.isfinite(thigh_m) else float("nan")

    yaw = view_yaw(track.world[det], d, m_per_px)
    view = "side" if yaw < OBLIQUE_DEG else ("oblique" if yaw < FRONTAL_DEG else "frontal")
    return Geometry(side, floor_dir, up, source, m_per_px, yaw, view, share, side_conf,
                    tuple(notes))


#: Shoulder–hip–knee angles a body can take in these exercises, with a wide margin (degrees):
#: the deepest bottom reads about 90°, the most arched top about 215°.
PLAUSIBLE_SHK_DEG = (45.0, 250.0)
#: A frame whose near-side torso or thigh looks shorter than this share of its median length
#: over the set is a failed detection, not a pose.
MIN_SEGMENT_SHARE = 0.5


def implausible_frames(xy: np.ndarray, detected: np.ndarray, side: str,
                       up: np.ndarray) -> np.ndarray:
    """``(T,)`` bool: detected frames whose landmarks cannot be this body in these exercises.

    ``xy``: ``(T, 33, 2)`` raw pixel positions. A frame fails when the near-side torso
    (shoulder–hip) or thigh (hip–knee) is under ``MIN_SEGMENT_SHARE`` of its median image
    length over the detected frames, or when the signed shoulder–hip–knee angle (``up``:
    floor normal) is outside ``PLAUSIBLE_SHK_DEG``. MediaPipe produces such frames when much of
    the body is out of the picture (a head cut off at the bottom of the set put both shoulder
    landmarks on the hips and read 340–350°); each is treated as a frame without a person.
    """
    out = np.zeros(len(xy), bool)
    if side not in ("left", "right") or detected.sum() < 3:
        return out
    s, h, k = (xy[:, side_index(side, j)] for j in ("shoulder", "hip", "knee"))
    torso = np.linalg.norm(s - h, axis=-1)
    thigh = np.linalg.norm(h - k, axis=-1)
    with np.errstate(invalid="ignore"):
        short = (torso < MIN_SEGMENT_SHARE * _nanmedian(torso[detected])) | \
            (thigh < MIN_SEGMENT_SHARE * _nanmedian(thigh[detected]))
        shk = signed_shk_angle(s, h, k, up)
        odd = (shk < PLAUSIBLE_SHK_DEG[0]) | (shk > PLAUSIBLE_SHK_DEG[1])
    return detected & (short | odd)


def view_yaw(world: np.ndarray, xy: np.ndarray, m_per_px: float) -> float:
    """How far the camera looks away from a pure side view (degrees; 0 = side-on, 90 =
    frontal or from above), over frames ``(n, 33, 3)`` world landmarks (metres) and ``(n, 33,
    2)`` pixels: the median, over the frames and the hips and shoulders, of
    ``asin(apparent left-right separation / metric width)``. It grows with the camera's yaw and
    with its height (a camera above the body sees across it too). NaN if unknown."""
    yaws = []
    for joint in ("hip", "shoulder"):
        li, ri = side_index("left", joint), side_index("right", joint)
        width_m = np.linalg.norm(world[:, li] - world[:, ri], axis=-1)
        sep_m = np.linalg.norm(xy[:, li] - xy[:, ri], axis=-1) * m_per_px
        with np.errstate(invalid="ignore"):
            ratio = np.clip(sep_m / np.maximum(width_m, 1e-3), 0.0, 1.0)
        yaws.append(np.degrees(np.arcsin(ratio)))
    return float(_nanmedian(np.concatenate(yaws))) if len(xy) else float("nan")


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
    mid = {j: (world[:, side_index("left", j)] + world[:, side_index("right", j)]) / 2
           for j in ("shoulder", "hip", "knee")}
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
    side = geom.side if geom.side in ("left", "right") else "left"
    far = "right" if side == "left" else "left"
    return tuple(xy[:, side_index(s, "heel")] @ geom.up * geom.m_per_px for s in (side, far))


def joint_angles(xy: np.ndarray, visibility: np.ndarray, geom: Geometry,
                 world: np.ndarray | None = None) -> Angles:
    """Per-frame angles from ``(T, 33, 2)`` pixel positions and the set's :class:`Geometry`
    (and, given ``world`` ``(T, 33, 3)`` metres, the world-landmark angle too)."""
    side = geom.side if geom.side in ("left", "right") else "left"
    j = {name: xy[:, side_index(side, name)] for name in
         ("shoulder", "hip", "knee", "ankle", "heel", "foot_index")}
    shk = signed_shk_angle(j["shoulder"], j["hip"], j["knee"], geom.up)
    knee = three_point_angle(j["hip"], j["knee"], j["ankle"])
    shin = angle_between(j["knee"] - j["ankle"], np.broadcast_to(geom.up, j["knee"].shape))
    torso = angle_between(j["shoulder"] - j["hip"],
                          np.broadcast_to(geom.floor_dir, j["hip"].shape))
    torso = np.minimum(torso, 180.0 - torso)
    heel_h, far_heel_h = heel_heights(xy, geom)
    vis = visibility[:, [side_index(side, n) for n in ("shoulder", "hip", "knee", "ankle")]]
    shk_world = world_shk_angle(world, geom.up) if world is not None else None
    return Angles(shk, knee, shin, torso, heel_h, vis.mean(axis=1), shk_world, far_heel_h)


def _masked_near_side(xy: np.ndarray, masks: np.ndarray | None, mask_scale: float,
                      geom: Geometry) -> tuple[np.ndarray, ...] | None:
    """The frames with a mask and all three near-side landmarks, and those landmarks in mask
    pixels: ``(idx, shoulder, hip, knee)`` (``(n,)`` and three ``(n, 2)``), or None if none."""
    if masks is None or masks.shape[0] != xy.shape[0] or geom.side not in ("left", "right"):
        return None
    sh = xy[:, side_index(geom.side, "shoulder")] * mask_scale
    hp = xy[:, side_index(geom.side, "hip")] * mask_scale
    kn = xy[:, side_index(geom.side, "knee")] * mask_scale
    ok = np.all(np.isfinite(sh), axis=1) & np.all(np.isfinite(hp), axis=1) \
        & np.all(np.isfinite(kn), axis=1) & masks.any(axis=(1, 2))
    if not ok.any():
        return None
    idx = np.flatnonzero(ok)
    return idx, sh[idx], hp[idx], kn[idx]


def silhouette_arch(xy: np.ndarray, masks: np.ndarray, mask_scale: float, geom: Geometry,
                    stations: int = 13, lo: float = 0.15, past_hip: float = 0.25,
                    past_stations: int = 4) -> np.ndarray:
    """Bend of the back outline from the upper back to the buttocks, from the silhouette (deg).

    For each frame, ``stations`` points are placed on the near-side shoulder→hip segment
    (fractions ``lo``..1) and ``past_stations`` more past the hip towards the knee (up to
    ``past_hip`` of the hip→knee segment), so the profile spans the lumbar curve and the
    buttocks below it. From each point a ray is cast towards the floor (``-up``); the back
    surface is where the ray first leaves the person after entering it (so an arm lying on
    the floor below the body is not taken for the back). The profile's largest rise above the
    straight line joining its two end points is the sagitta ``s``; with chord ``c`` (the
    distance between the end points along the body) the bend angle of a circular arc through
    them is ``4 * atan(2 s / c)``. + = the back bows up, away from the floor (an arched lower
    back); 0 = a straight back. Normal anatomy (shoulder blades, buttocks) reads well above 0,
    so the rule's threshold is calibrated per exercise. NaN without a usable mask.
    """
    out = np.full(xy.shape[0], np.nan)
    if (pts := _masked_near_side(xy, masks, mask_scale, geom)) is None:
        return out
    idx, sh, hp, kn = pts
    n = len(idx)
    seg = hp - sh
    seg_len = np.linalg.norm(seg, axis=1)  # (n,) mask px
    fr = np.linspace(lo, 1.0, stations)
    fk = np.linspace(0.0, past_hip, past_stations + 1)[1:]
    base = np.concatenate([sh[:, None, :] + fr[None, :, None] * seg[:, None, :],
                           hp[:, None, :] + fk[None, :, None] * (kn - hp)[:, None, :]],
                          axis=1)  # (n, K, 2)
    k = base.shape[1]
    max_d = int(np.ceil(np.nanmax(seg_len) * 0.9)) + 2
    steps = np.arange(max_d)
    inside = _ray_inside(base.reshape(-1, 2), np.repeat(idx, k), masks, -geom.up,
                         max_d).reshape(n, k, max_d)
    # first pixel inside (the point may sit just outside the outline), then the first pixel
    # outside after it: the back surface of the body part under the point
    enter = np.argmax(inside, axis=2)  # (n, K)
    after = ~inside & (steps[None, None, :] > enter[..., None])
    d = np.argmax(after, axis=2).astype(float)
    bad = ~inside.any(axis=2) | ~after.any(axis=2) | (enter > 0.3 * seg_len[:, None])
    d[bad] = np.nan
    # position of each point along the body (mask px), for the chord
    axis = seg / np.maximum(seg_len, 1e-9)[:, None]
    pos = np.sum((base - sh[:, None, :]) * axis[:, None, :], axis=2)  # (n, K)
    span = pos[:, -1] - pos[:, 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = (pos - pos[:, :1]) / span[:, None]
        chord_line = d[:, :1] + (d[:, -1:] - d[:, :1]) * frac
        rise = chord_line - d  # + = surface above the chord (bowed up)
    inner = rise[:, 1:-1]
    s = np.full(n, np.nan)
    has = np.isfinite(inner).any(axis=1)
    s[has] = np.nanmax(inner[has], axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        bend = np.degrees(4 * np.arctan2(2 * s, span))
    valid = np.isfinite(d[:, 0]) & np.isfinite(d[:, -1]) & (np.isfinite(d).sum(axis=1) >= 0.7 * k) \
        & (span > 1.0)
    out[idx[valid]] = bend[valid]
    return out


def front_crease(xy: np.ndarray, masks: np.ndarray | None, mask_scale: float, geom: Geometry,
                 trunk: tuple[float, float] = (0.65, 0.85),
                 thigh: tuple[float, float] = (0.05, 0.30),
                 trunk_stations: int = 5, thigh_stations: int = 6) -> np.ndarray:
    """Step of the front (belly-side) outline at the hip crease, from the silhouette (deg).

    For each frame, ``trunk_stations`` points are placed on the near-side shoulder→hip segment
    (fractions ``trunk`` of it, the lower belly) and ``thigh_stations`` on the hip→knee segment
    (fractions ``thigh``, the front of the thigh). From each point a ray is cast along the
    normal to its own segment, away from the floor; the front outline is where the ray first
    leaves the person after entering it (so a hand or object above the body, past a gap, is
    not taken for it). ``h_b`` is the mean height of the belly
    outline above the shoulder–hip line and ``h_t`` that of the thigh outline above the
    hip–knee line (mask px; at least 3 usable points each); ``d`` is the distance along the
    body between the two groups' mean stations. The value is ``atan2(h_b - h_t, d)``: + = the
    lower belly stands above the thigh's front line. An arched lower back with the hips kept
    on the line tips the pelvis forward and the trunk back, which raises it; body shape sets a
    different value for each person, so the ``lumbar_arch`` rule compares reps of one set. NaN
    without a usable mask.
    """
    out = np.full(xy.shape[0], np.nan)
    if (pts := _masked_near_side(xy, masks, mask_scale, geom)) is None:
        return out
    idx, sh, hp, kn = pts
    n = len(idx)

    def up_normal(seg: np.ndarray) -> np.ndarray:
        u = _unit(seg)
        nrm = np.stack([u[:, 1], -u[:, 0]], axis=1)
        return nrm * np.where(nrm @ geom.up < 0, -1.0, 1.0)[:, None]

    trunk_len = np.linalg.norm(hp - sh, axis=1)
    thigh_len = np.linalg.norm(kn - hp, axis=1)
    reach = int(np.ceil(np.nanmax(trunk_len) * 0.8)) + 2  # longest ray, mask px
    steps = np.arange(reach)
    heights = []
    for a, b, fr in ((sh, hp, np.linspace(*trunk, trunk_stations)),
                     (hp, kn, np.linspace(*thigh, thigh_stations))):
        nrm = up_normal(b - a)
        k = len(fr)
        base = a[:, None, :] + fr[None, :, None] * (b - a)[:, None, :]  # (n, k, 2)
        inside = _ray_inside(base.reshape(-1, 2), np.repeat(idx, k), masks,
                             np.repeat(nrm, k, axis=0), reach).reshape(n, k, reach)
        enter = np.argmax(inside, axis=2)
        after = ~inside & (steps[None, None, :] > enter[..., None])
        h = np.argmax(after, axis=2).astype(float)  # mask px above the segment
        h[~inside.any(axis=2) | ~after.any(axis=2)
          | (enter > 0.3 * trunk_len[:, None])] = np.nan
        cnt = np.isfinite(h).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_h = np.where(np.isfinite(h), h, 0.0).sum(axis=1) / cnt
        heights.append(np.where(cnt >= 3, mean_h, np.nan))
    d = (1.0 - np.mean(trunk)) * trunk_len + np.mean(thigh) * thigh_len
    with np.errstate(invalid="ignore"):
        val = np.degrees(np.arctan2(heights[0] - heights[1], d))
    valid = np.isfinite(val) & (trunk_len > 1.0) & (thigh_len > 1.0)
    out[idx[valid]] = val[valid]
    return out


#: The silhouette measures of the lumbar arch, by the name a profile's
#: ``rules.lumbar_arch.measure`` gives: ``(xy, masks, mask_scale, geom) -> (T,)`` degrees.
LUMBAR_MEASURES = {"back_bend": silhouette_arch, "front_crease": front_crease}


def trunk_thickness(xy: np.ndarray, masks: np.ndarray | None, mask_scale: float,
                    geom: Geometry) -> float:
    """Body depth at mid-trunk over shoulder–hip length (median over frames), or NaN.

    Depth is measured on the silhouette along the floor normal through the midpoint of the
    near-side shoulder–hip segment; a heavier body gives a larger ratio.
    """
    if masks is None or geom.side not in ("left", "right") or masks.shape[0] != xy.shape[0]:
        return float("nan")
    sh = xy[:, side_index(geom.side, "shoulder")] * mask_scale
    hp = xy[:, side_index(geom.side, "hip")] * mask_scale
    ok = np.all(np.isfinite(sh), 1) & np.all(np.isfinite(hp), 1) & masks.any(axis=(1, 2))
    idx = np.flatnonzero(ok)[:: max(1, int(ok.sum() // 200))]  # up to ~200 frames suffice
    if idx.size == 0:
        return float("nan")
    mid = (sh[idx] + hp[idx]) / 2
    length = np.linalg.norm(hp[idx] - sh[idx], axis=1)
    h, w = masks.shape[1:]
    steps = np.arange(int(np.nanmax(length)) + 2)
    total = np.zeros(len(idx))
    for direction in (geom.up, -geom.up):
        pts = mid[:, None, :] + steps[None, :, None] * direction
        xi = np.clip(np.round(pts[..., 0]).astype(int), 0, w - 1)
        yi = np.clip(np.round(pts[..., 1]).astype(int), 0, h - 1)
        inside = masks[idx[:, None], yi, xi]
        total += np.where(inside.all(1), np.nan, np.argmax(~inside, axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(_nanmedian(total / length))


def _ray_inside(points: np.ndarray, frames: np.ndarray, masks: np.ndarray,
                direction: np.ndarray, max_len: int) -> np.ndarray:
    """Whether each of ``max_len`` one-pixel steps from ``points`` ``(n, 2)`` (mask px) along
    ``direction`` (``(2,)`` or one per point, ``(n, 2)``, unit length) lies inside the person
    mask ``masks[frames]``: ``(n, max_len)`` bool, False outside the image."""
    h, w = masks.shape[1:]
    steps = np.arange(max_len)
    direction = np.asarray(direction, float)
    if direction.ndim == 2:
        direction = direction[:, None, :]
    pts = points[:, None, :] + steps[None, :, None] * direction
    xi = np.round(pts[..., 0]).astype(int)
    yi = np.round(pts[..., 1]).astype(int)
    inb = (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)
    return masks[frames[:, None], np.clip(yi, 0, h - 1), np.clip(xi, 0, w - 1)] & inb


def _ray_extent(points: np.ndarray, frames: np.ndarray, masks: np.ndarray,
                direction: np.ndarray, max_len: int) -> np.ndarray:
    """Distance (mask px) from ``points`` ``(n, 2)`` along ``direction`` (``(2,)`` or one per
    point, ``(n, 2)``, unit length) to the first pixel outside the person. NaN where the ray
    starts outside or never leaves the mask.
    """
    inside = _ray_inside(points, frames, masks, direction, max_len)
    d = np.argmax(~inside, axis=1).astype(float)
    d[~inside[:, 0] | inside[:, -1]] = np.nan
    return d


def midline_bias(xy: np.ndarray, masks: np.ndarray | None, mask_scale: float, geom: Geometry,
                 frames: np.ndarray, hip_fraction: float = 0.5,
                 shoulder_fraction: float = 0.5) -> float:
    """Per-set bias of the raw shoulder–hip–knee angle from the body's own silhouette (deg).

    MediaPipe's hip and shoulder landmarks sit near the body surface. In each of ``frames``
    the silhouette is cut through the near-side hip and shoulder landmarks along the normal to
    the shoulder–knee line (across the body, whatever its slope), from the landmark to the
    first pixel outside the person on either side (so an arm lying on the floor below the body
    is not taken for the back). The joint centres are placed at ``*_fraction`` of the body's
    depth from the back (floor-side) surface. The bias is the median, over the frames, of the
    raw angle minus the angle through those centres (the knee landmark is kept); + = the
    landmarks read the angle high. NaN without usable masks.
    """
    if masks is None or geom.side not in ("left", "right") or len(frames) == 0:
        return float("nan")
    frames = np.asarray(frames)
    sh = xy[frames, side_index(geom.side, "shoulder")]
    hp = xy[frames, side_index(geom.side, "hip")]
    kn = xy[frames, side_index(geom.side, "knee")]
    ok = np.all(np.isfinite(sh), 1) & np.all(np.isfinite(hp), 1) & np.all(np.isfinite(kn), 1)
    ok &= np.linalg.norm(kn - sh, axis=1) > 1e-6
    frames, sh, hp, kn = frames[ok], sh[ok], hp[ok], kn[ok]
    if len(frames) == 0:
        return float("nan")
    # unit normal to the shoulder-knee line, on the side of "up" (away from the floor)
    along = _unit(kn - sh)
    normal = np.stack([along[:, 1], -along[:, 0]], axis=1)
    normal *= np.where(normal @ geom.up < 0, -1.0, 1.0)[:, None]
    max_len = int(np.nanmax(np.linalg.norm(hp - sh, axis=1)) * mask_scale) + 2
    centres = []
    for pt, frac in ((sh, shoulder_fraction), (hp, hip_fraction)):
        p = pt * mask_scale
        up_d = _ray_extent(p, frames, masks, normal, max_len)
        dn_d = _ray_extent(p, frames, masks, -normal, max_len)
        # back surface is dn_d below; the centre lies frac of the depth above it
        offset = -dn_d + frac * (up_d + dn_d)  # along the normal, mask px
        centres.append(pt + (offset / mask_scale)[:, None] * normal)
    mid_sh, mid_hp = centres
    raw = signed_shk_angle(sh, hp, kn, geom.up)
    mid = signed_shk_angle(mid_sh, mid_hp, kn, geom.up)
    diff = raw - mid
    return float(_nanmedian(diff)) if np.isfinite(diff).any() else float("nan")
