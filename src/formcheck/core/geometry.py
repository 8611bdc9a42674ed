"""Scene geometry of a pose track: which side faces the camera, the floor, the metre scale,
the view (side, oblique, frontal) and frames whose landmarks a body cannot make.

Degrees; image positions in pixels (y down); ``up`` points away from the floor. Camera yaw: 0°
is a true side view, 90° frontal, from how far apart the left and right hips and shoulders
appear relative to their metric distance. The signed shoulder–hip–knee angle convention is in
:mod:`formcheck.core.kinematics`.
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

    @property
    def near_side(self) -> str:
        """The side whose landmarks the angles are read from: ``side``, or ``"left"`` when it
        is unknown."""
        return self.side if self.side in ("left", "right") else "left"


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return v / n


def angle_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Unsigned angle between 2-D vectors ``a`` and ``b`` (``(..., 2)``), degrees in [0, 180]."""
    cross = a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]
    dot = np.sum(a * b, axis=-1)
    return np.degrees(np.abs(np.arctan2(cross, dot)))


def signed_shk_angle(
    shoulder: np.ndarray, hip: np.ndarray, knee: np.ndarray, up: np.ndarray
) -> np.ndarray:
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
    scale = (
        float(
            _nanmedian(
                np.linalg.norm(
                    track.image[det][:, LM["left_shoulder"], :2]
                    - track.image[det][:, LM["left_hip"], :2],
                    axis=-1,
                )
            )
        )
        or 1.0
    )
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
        return Geometry(
            "unknown",
            horizontal,
            np.array([0.0, -1.0]),
            "frame",
            float("nan"),
            float("nan"),
            "no_person",
            share,
        )
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
    thigh_m = _nanmedian(
        np.linalg.norm(track.world[det][:, hip] - track.world[det][:, knee], axis=-1)
    )
    thigh_px = _nanmedian(np.linalg.norm(d[:, hip] - d[:, knee], axis=-1))
    m_per_px = float(thigh_m / thigh_px) if thigh_px and np.isfinite(thigh_m) else float("nan")

    yaw = view_yaw(track.world[det], d, m_per_px)
    view = "side" if yaw < OBLIQUE_DEG else ("oblique" if yaw < FRONTAL_DEG else "frontal")
    return Geometry(
        side, floor_dir, up, source, m_per_px, yaw, view, share, side_conf, tuple(notes)
    )


#: Shoulder–hip–knee angles a body can take in these exercises, with a wide margin (degrees):
#: the deepest bottom reads about 90°, the most arched top about 215°.
PLAUSIBLE_SHK_DEG = (45.0, 250.0)
#: A frame whose near-side torso or thigh looks shorter than this share of its median length
#: over the set is a failed detection, not a pose.
MIN_SEGMENT_SHARE = 0.5


def implausible_frames(
    xy: np.ndarray, detected: np.ndarray, side: str, up: np.ndarray
) -> np.ndarray:
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
        short = (torso < MIN_SEGMENT_SHARE * _nanmedian(torso[detected])) | (
            thigh < MIN_SEGMENT_SHARE * _nanmedian(thigh[detected])
        )
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
