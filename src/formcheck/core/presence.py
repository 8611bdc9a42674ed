"""Is anyone doing a hip thrust or a bridge? The set-up the reps must happen in.

A rise of the hips counts only while a person is *set up* for the exercise: lying back (the
shoulder–knee line within :data:`MAX_BODY_TILT_DEG` of the floor, the trunk within the
profile's ``max_torso_to_floor_deg``) with a knee bent (:data:`KNEE_DEG`), for at least
:data:`MIN_SETUP_S` seconds (gaps up to :data:`MAX_GAP_S` bridged), with a foot planted (its
ankle roaming less than :data:`MAX_FOOT_DRIFT` torso lengths within :data:`FOOT_WINDOW_S`) in
at least :data:`MIN_PLANTED_SHARE` of those frames. Walking,
jumping, a backflip, sitting on the bench, stretching on the floor with the legs out or getting
up are not a set-up, so nothing they do is a rep. Either leg may show the bent knee and the
planted foot (a weight on the hips can put the near leg's landmarks on the plate).

Angles in degrees; times in seconds; positions in image pixels; ``up`` the floor normal.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from formcheck.core.geometry import Geometry, angle_between, three_point_angle
from formcheck.core.track import side_index

#: Lying back: the shoulder–knee line at most this far from the floor line.
MAX_BODY_TILT_DEG = 50.0
#: Knees bent: the hip–knee–ankle angle within this range.
KNEE_DEG = (30.0, 150.0)
#: A planted foot: its ankle roams less than this many torso lengths within FOOT_WINDOW_S.
MAX_FOOT_DRIFT = 0.4
FOOT_WINDOW_S = 1.0
#: A set-up lasts at least this long (s), counting gaps of up to MAX_GAP_S (s) as part of it.
MIN_SETUP_S = 1.5
MAX_GAP_S = 2.0
#: ... with a foot planted in at least this share of its posed frames.
MIN_PLANTED_SHARE = 0.4
NO_SETUP_NOTE = (
    "no hip thrust or bridge found: nobody lying back with the shoulders on a bench or the "
    "floor, knees bent and feet planted, for long enough to be a set"
)


@dataclass(frozen=True)
class SetUp:
    """``frames`` ``(T,)`` bool: inside a set-up (see the module doc); ``posed`` ``(T,)``:
    the frame itself shows the body lying back with a knee bent."""

    frames: np.ndarray
    posed: np.ndarray

    @property
    def found(self) -> bool:
        return bool(self.frames.any())


def posed_frames(
    xy: np.ndarray, geom: Geometry, t_s: np.ndarray, max_torso_to_floor_deg: float
) -> tuple[np.ndarray, np.ndarray]:
    """``(posed, planted)``, each ``(T,)`` bool, from landmarks ``(T, 33, 2)`` px: lying back
    with a knee bent; a foot planted."""
    n = len(xy)
    if geom.side not in ("left", "right") or n == 0:
        return np.zeros(n, bool), np.zeros(n, bool)
    pt = {
        (s, j): xy[:, side_index(s, j)]
        for s in ("left", "right")
        for j in ("shoulder", "hip", "knee", "ankle")
    }
    near = geom.side
    shoulder, hip = pt[near, "shoulder"], pt[near, "hip"]
    floor = np.broadcast_to(geom.floor_dir, shoulder.shape)
    torso_len = np.nanmedian(np.linalg.norm(shoulder - hip, axis=1))
    with np.errstate(invalid="ignore"):
        torso = angle_between(shoulder - hip, floor)
        torso = np.minimum(torso, 180.0 - torso)
        knee_mid = (pt["left", "knee"] + pt["right", "knee"]) / 2
        tilt = angle_between(knee_mid - shoulder, floor)
        tilt = np.minimum(tilt, 180.0 - tilt)
        lying = (torso <= max_torso_to_floor_deg) & (tilt <= MAX_BODY_TILT_DEG)
        bent = np.zeros(n, bool)
        planted = np.zeros(n, bool)
        for s in ("left", "right"):
            knee = three_point_angle(pt[s, "hip"], pt[s, "knee"], pt[s, "ankle"])
            bent |= (knee >= KNEE_DEG[0]) & (knee <= KNEE_DEG[1])
            planted |= _drift(pt[s, "ankle"], t_s) < MAX_FOOT_DRIFT * torso_len
    return lying & bent, planted


def _drift(p: np.ndarray, t_s: np.ndarray) -> np.ndarray:
    """``(T,)`` how far (px) the point ``p`` ``(T, 2)`` roams within :data:`FOOT_WINDOW_S`
    around each frame: the diagonal of the box its positions there span (NaN where none is
    known). A sway back and forth counts, whatever its period."""
    n = len(p)
    if n == 0:
        return np.zeros(0)
    dt = float(np.median(np.diff(t_s))) if n > 1 else 1.0
    half = max(1, int(round(FOOT_WINDOW_S / 2 / dt)))
    padded = np.pad(p.astype(float), ((half, half), (0, 0)), mode="edge")
    win = np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1, axis=0)  # (T, 2, w)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN windows: NaN
        span = np.nanmax(win, axis=2) - np.nanmin(win, axis=2)
    return np.linalg.norm(span, axis=1)


def set_up(
    xy: np.ndarray, geom: Geometry, t_s: np.ndarray, max_torso_to_floor_deg: float = 60.0
) -> SetUp:
    """The frames inside a set-up: runs of posed frames (:func:`posed_frames`) with gaps up
    to :data:`MAX_GAP_S` closed, kept when they last :data:`MIN_SETUP_S` or more and a foot
    is planted in at least :data:`MIN_PLANTED_SHARE` of their frames (the model can lose the
    feet for a moment, under a plate)."""
    posed, planted = posed_frames(xy, geom, t_s, max_torso_to_floor_deg)
    frames = np.zeros(len(posed), bool)
    idx = np.flatnonzero(posed)
    if idx.size == 0:
        return SetUp(frames, posed)
    breaks = np.flatnonzero(np.diff(t_s[idx]) > MAX_GAP_S)
    for a, b in zip(np.r_[0, breaks + 1], np.r_[breaks, idx.size - 1]):
        s, e = idx[a], idx[b]
        long_enough = t_s[e] - t_s[s] >= MIN_SETUP_S
        if long_enough and planted[idx[a : b + 1]].mean() >= MIN_PLANTED_SHARE:
            frames[s : e + 1] = True
    return SetUp(frames, posed)


class SetUpTracker:
    """:func:`set_up` frame by frame, for live use: :meth:`update` says whether the frame just
    seen is inside a set-up, from the frames seen so far only (a set-up starts counting once
    the pose has lasted :data:`MIN_SETUP_S`, so a rep that peaks sooner is not counted)."""

    def __init__(self, geom: Geometry, max_torso_to_floor_deg: float = 60.0) -> None:
        self.geom, self.max_torso = geom, max_torso_to_floor_deg
        self._recent: list[tuple[float, np.ndarray]] = []  # (t, (33, 2) px) of the last window
        self._run_start = self._last_posed = float("nan")
        self._posed = self._planted = 0
        self._qualified = False

    def update(self, t_s: float, xy: np.ndarray | None) -> bool:
        """Add one frame (time s, landmarks ``(33, 2)`` px or None); True inside a set-up."""
        if xy is not None:
            self._recent = [(u, p) for u, p in self._recent if u >= t_s - FOOT_WINDOW_S]
            self._recent.append((t_s, np.asarray(xy, float)))
            pts = np.stack([p for _, p in self._recent])
            times = np.array([u for u, _ in self._recent])
            posed, planted = posed_frames(pts, self.geom, times, self.max_torso)
            if posed[-1]:
                if not t_s - self._last_posed <= MAX_GAP_S:  # a new run (or the first)
                    self._run_start, self._posed, self._planted = t_s, 0, 0
                    self._qualified = False
                self._last_posed = t_s
                self._posed += 1
                self._planted += int(planted[-1])
                self._qualified |= (
                    t_s - self._run_start >= MIN_SETUP_S
                    and self._planted >= MIN_PLANTED_SHARE * self._posed
                )
        return self._qualified and t_s - self._last_posed <= MAX_GAP_S
