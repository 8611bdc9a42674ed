"""Exact-geometry synthetic pose tracks, for tests and examples (no model, no video).

``make_track`` lays out a side view of a person doing hip thrusts: shoulders fixed (on a bench),
knees fixed above the ankles, feet flat on a horizontal floor, and the hip placed so that the
signed shoulder–hip–knee angle follows a prescribed curve exactly. Angles in degrees, times in
seconds, positions in pixels (y down).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from formcheck.core.track import LANDMARK_NAMES, LM, N_LANDMARKS, PoseTrack


@dataclass
class SynthRep:
    """One rise: bottom → ``peak_deg``, rising ``rise_s``, holding ``hold_s``, lowering
    ``lower_s``, then resting ``rest_s`` at the bottom. ``heel_lift_px`` lifts the heel at the
    top."""

    peak_deg: float = 180.0
    rise_s: float = 1.0
    hold_s: float = 2.0
    lower_s: float = 2.0
    rest_s: float = 0.8
    heel_lift_px: float = 0.0


@dataclass
class SynthSpec:
    reps: list[SynthRep] = field(default_factory=lambda: [SynthRep() for _ in range(3)])
    bottom_deg: float = 115.0
    lead_in_s: float = 1.5
    lead_out_s: float = 1.5
    fps: float = 30.0
    width: int = 1280
    height: int = 720
    facing: str = "left"  # body side facing the camera
    head_on_left: bool = True
    noise_px: float = 0.0
    seed: int = 0
    #: How far the landmark angle reads above the true angle, as MediaPipe's surface landmarks
    #: do. None: the shipped bias model's value, so the analysed (corrected) angle is the true
    #: one; 0: landmarks exactly at the joints.
    landmark_bias_deg: float | None = None
    #: How rises and lowerings move (:data:`EASINGS`).
    easing: str = "cosine"


#: Labelled clips call "the top" the time within this many degrees of the peak.
TOP_BAND_DEG = 3.0


#: 0→1 easings of a rise or a lowering over its duration (x: share of the duration).
EASINGS = {
    "cosine": lambda x: 0.5 - 0.5 * np.cos(np.pi * x),
    "min_jerk": lambda x: x**3 * (10 - 15 * x + 6 * x**2),
    "linear": lambda x: x,
    "late": lambda x: x**2,  # slow start, then a drop (a lowering that gives way)
    "early": lambda x: 1 - (1 - x) ** 2,  # fast start, slow finish
}


def _ease(x: np.ndarray, easing: str = "cosine") -> np.ndarray:
    """Smooth 0→1 easing (:data:`EASINGS`)."""
    return EASINGS[easing](np.clip(x, 0, 1))


def angle_curve(spec: SynthSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict]]:
    """``(t_s, angle_deg, heel_lift_px, truth)``: the true phase times of every rep, both as
    planned (``top_start_s``, ``hold_s``…) and as labelled (``band_*``: within 3° of the peak)."""
    dt = 1.0 / spec.fps
    parts_a, parts_h, truth = [], [], []
    t0 = 0.0

    def seg(duration, a0, a1, h0=0.0, h1=0.0):
        nonlocal t0
        n = max(1, int(round(duration * spec.fps)))
        x = _ease((np.arange(n) + 1) / n, spec.easing)
        parts_a.append(a0 + (a1 - a0) * x)
        parts_h.append(h0 + (h1 - h0) * x)
        t0 += n * dt

    seg(spec.lead_in_s, spec.bottom_deg, spec.bottom_deg)
    for r in spec.reps:
        start = t0
        seg(r.rise_s, spec.bottom_deg, r.peak_deg, 0, r.heel_lift_px)
        top_start = t0
        seg(r.hold_s, r.peak_deg, r.peak_deg, r.heel_lift_px, r.heel_lift_px)
        top_end = t0
        seg(r.lower_s, r.peak_deg, spec.bottom_deg, r.heel_lift_px, 0)
        end = t0
        seg(r.rest_s, spec.bottom_deg, spec.bottom_deg)
        truth.append(
            dict(
                start_s=start,
                top_start_s=top_start,
                top_end_s=top_end,
                end_s=end,
                peak_deg=r.peak_deg,
                hold_s=r.hold_s,
                lower_s=r.lower_s,
            )
        )
    seg(spec.lead_out_s, spec.bottom_deg, spec.bottom_deg)
    a = np.concatenate(parts_a)
    h = np.concatenate(parts_h)
    t = np.arange(len(a)) / spec.fps
    for tr in truth:  # the top as labelled clips define it: within TOP_BAND_DEG of the peak
        m = (t >= tr["start_s"] - 1e-9) & (t <= tr["end_s"] + 1e-9)
        top = t[m][a[m] >= tr["peak_deg"] - TOP_BAND_DEG]
        tr["band_top_start_s"], tr["band_top_end_s"] = float(top[0]), float(top[-1])
        tr["band_hold_s"] = tr["band_top_end_s"] - tr["band_top_start_s"]
        tr["band_lower_s"] = tr["end_s"] - tr["band_top_end_s"]
    return t, a, h, truth


def hip_position(
    shoulder: np.ndarray, knee: np.ndarray, angle_deg: np.ndarray, up: np.ndarray
) -> np.ndarray:
    """Hip positions making the signed shoulder–hip–knee angle exactly ``angle_deg``."""
    mid = (shoulder + knee) / 2
    half = np.linalg.norm(knee - shoulder) / 2
    u = (knee - shoulder) / (2 * half)
    normal = np.array([-u[1], u[0]])
    if normal @ up < 0:
        normal = -normal
    theta = np.radians(np.where(angle_deg > 180, 360 - angle_deg, angle_deg))
    d = half / np.tan(theta / 2)
    sign = np.where(angle_deg > 180, 1.0, -1.0)
    return mid + (sign * d)[:, None] * normal


def make_track(spec: SynthSpec | None = None) -> tuple[PoseTrack, list[dict]]:
    """A :class:`PoseTrack` following ``spec`` and the list of true rep timings.

    The landmark angle is the true angle plus ``spec.landmark_bias_deg`` (by default the
    shipped hip-thrust bias for this track's view, so that analysis with the shipped
    calibration recovers the true angle)."""
    spec = spec or SynthSpec()
    if spec.landmark_bias_deg is not None:
        return _build_track(spec, spec.landmark_bias_deg)
    from formcheck.core.bias import load_bias_model
    from formcheck.core.geometry import estimate_geometry

    track, _ = _build_track(spec, 0.0)  # the view (and so the bias) does not depend on it
    yaw = estimate_geometry(track).yaw_deg
    return _build_track(spec, load_bias_model("hip_thrust").predict(yaw, None, None))


def _build_track(spec: SynthSpec, bias: float) -> tuple[PoseTrack, list[dict]]:
    """:func:`make_track` with the landmark angle ``bias`` degrees above the true angle."""
    t, ang, heel, truth = angle_curve(spec)
    n = len(t)
    w, h = spec.width, spec.height
    s = h / 720.0
    sign = 1.0 if spec.head_on_left else -1.0  # +x from head to feet
    cx = w / 2
    floor_y = 0.78 * h
    up = np.array([0.0, -1.0])
    knee = np.array([cx + sign * 170 * s, floor_y - 190 * s])
    ankle = np.array([knee[0] + sign * 5 * s, floor_y - 25 * s])
    shoulder = np.array([cx - sign * 260 * s, floor_y - 160 * s])
    hip = hip_position(shoulder, knee, ang + bias, up)
    pts = np.full((n, N_LANDMARKS, 2), np.nan)
    near, far = spec.facing, ("right" if spec.facing == "left" else "left")
    heel_pt = np.array([ankle[0] - sign * 20 * s, floor_y - 5 * s])
    toe_pt = np.array([ankle[0] + sign * 150 * s, floor_y - 5 * s])
    for side, off in ((near, 0.0), (far, -6.0 * s)):
        o = np.array([0.0, off])
        pts[:, LM[f"{side}_shoulder"]] = shoulder + o
        pts[:, LM[f"{side}_hip"]] = hip + o
        pts[:, LM[f"{side}_knee"]] = knee + o
        pts[:, LM[f"{side}_ankle"]] = ankle + o
        pts[:, LM[f"{side}_heel"]] = heel_pt + o + np.outer(heel, up)
        pts[:, LM[f"{side}_foot_index"]] = toe_pt + o
        pts[:, LM[f"{side}_elbow"]] = (shoulder + hip) / 2 + o + [0, -30 * s]
        pts[:, LM[f"{side}_wrist"]] = hip + o + [0, -40 * s]
    head = shoulder - [sign * 110 * s, 10 * s]
    for name in LANDMARK_HEAD:
        pts[:, LM[name]] = head
    for name in (
        "left_pinky",
        "right_pinky",
        "left_index",
        "right_index",
        "left_thumb",
        "right_thumb",
    ):
        side = name.split("_")[0]
        pts[:, LM[name]] = pts[:, LM[f"{side}_wrist"]]
    if spec.noise_px > 0:
        rng = np.random.default_rng(spec.seed)
        pts = pts + rng.normal(0, spec.noise_px, pts.shape)
    z = np.zeros((n, N_LANDMARKS, 1))
    vis = np.full((n, N_LANDMARKS), 0.95, np.float32)
    for j in range(N_LANDMARKS):
        name = list(LM)[j]
        if name.startswith(far):
            z[:, j] = 40.0 * s
            vis[:, j] = 0.45
        elif name.startswith(near):
            z[:, j] = -40.0 * s
    image = np.concatenate([pts, z], axis=2).astype(np.float32)
    m_per_px = 0.0022 / s
    mid_hip = (pts[:, LM["left_hip"]] + pts[:, LM["right_hip"]]) / 2
    world = np.zeros((n, N_LANDMARKS, 3), np.float32)
    world[..., :2] = (pts - mid_hip[:, None, :]) * m_per_px
    # the hips and shoulders are a body-width apart in depth (a true side view)
    for j in range(N_LANDMARKS):
        name = list(LM)[j]
        world[:, j, 2] = -0.1 if name.startswith(near) else (0.1 if name.startswith(far) else 0)
    track = PoseTrack(
        image=image,
        world=world,
        visibility=vis,
        presence=vis.copy(),
        t_s=t,
        width=w,
        height=h,
        fps=spec.fps,
        meta={"source": "synthetic"},
    )
    return track, truth


#: The head landmarks (nose to mouth), placed near the shoulder.
LANDMARK_HEAD = LANDMARK_NAMES[:11]
