"""Incremental (causal) analysis for ``formcheck live``: one frame in, overlay state and cues out.

:class:`LiveAnalyzer` runs the file pipeline's stages frame by frame on a uniform frame grid
(the source's frame index; frames the model skipped are interpolated):

- causal :class:`~formcheck.core.signals.OneEuro` smoothing of the landmark pixel positions;
- scene geometry (side, floor, view) from the first ``geometry_s`` seconds with a person, then
  fixed (re-estimated on a sliding window while the view is frontal);
- :func:`~formcheck.core.kinematics.joint_angles` per frame, minus the calibrated bias;
- :class:`~formcheck.core.reps.RepCounter` for phase, hold timer and completed reps, each completed
  rep evaluated with the pipeline's own rep code (``pipeline.rep_records`` → ``rules``);
- set-up guidance (view, framing, light) and real-time cues, one per fault per rep
  (:class:`CueThrottler`).

It has no threads, camera or model: feed it ``(frame_index, FramePose | None, luminance)``.
Units: degrees, seconds, pixels (y down), metres for heel lift.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from formcheck.core.bias import BiasModel, load_bias_model
from formcheck.core.kinematics import (LUMBAR_MEASURES, MIN_SEGMENT_SHARE, PLAUSIBLE_SHK_DEG, Angles,
                         Geometry, estimate_geometry, heel_heights, joint_angles, midline_bias,
                         signed_shk_angle, trunk_thickness, view_yaw)
from formcheck.analysis import (arch_baseline, confidence, heel_common_shift, heel_jumps, is_heel_jump,
                       on_the_line, raw_heel_rises, rep_records, top_frames, view_warning)
from formcheck.core.reps import RepCounter
from formcheck.core.rules import Profile, arch_limits
from formcheck.core.session import Rep
from formcheck.core.signals import OneEuro
from formcheck.core.track import N_LANDMARKS, PoseTrack, side_index

#: Mean frame luminance (0-255) below which the set-up asks for more light.
DARK_LUMINANCE = 45.0
#: Landmark visibility below which a joint counts as not seen.
MIN_VISIBILITY = 0.5
#: Margin (fraction of the frame size) inside which a landmark counts as out of frame.
FRAME_MARGIN = 0.01

#: Extra heel rise needed for a "feet flat" cue before any rep has shown the common shift (m).
HEEL_FIRST_MARGIN_M = 0.015

#: Excess over the lumbar-arch limit that cues at once (a smaller one needs 1 s of top).
ARCH_EARLY_MARGIN_DEG = 5.0

#: Cue texts (ASCII: OpenCV's Hershey fonts cannot draw typographic dashes or ellipses).
CUE_TEXT = {
    "sag": "hips up",
    "hyperextension": "ribs down - don't arch",
    "lumbar_arch": "ribs down - don't arch",
    "short_hold": "hold longer at the top",
    "fast_lowering": "lower slowly",
    "heel_lift": "feet flat",
    "hold": "hold...",
}
#: Rules whose cue is a fault (the others are prompts).
FAULT_CUES = ("sag", "hyperextension", "lumbar_arch", "short_hold", "fast_lowering",
              "heel_lift")


@dataclass
class Cue:
    """One cue event. ``time_s`` and ``frame`` on the session's frame grid."""

    time_s: float
    frame: int
    rule: str
    text: str
    kind: str  # "fault" or "prompt"
    movement: int  # 1-based index of the movement (rise) it belongs to
    wall_s: float | None = None  # seconds since the session started (wall clock), if known

    def to_dict(self) -> dict:
        d = {"time_s": round(self.time_s, 4), "frame": self.frame, "rule": self.rule,
             "text": self.text, "kind": self.kind, "movement": self.movement}
        if self.wall_s is not None:
            d["wall_s"] = round(self.wall_s, 4)
        return d


class CueThrottler:
    """One cue per (rule, movement), and no repeat of a rule within ``min_gap_s``.

    ``offer`` returns True when the cue should fire now (and records it). A fault that stays
    present over many frames therefore gives exactly one cue; the same fault in the next rep
    gives a new one once ``min_gap_s`` has passed.
    """

    def __init__(self, min_gap_s: float = 2.0) -> None:
        self.min_gap_s = min_gap_s
        self._fired: set[tuple[str, int]] = set()
        self._last: dict[str, float] = {}

    def offer(self, rule: str, movement: int, t_s: float) -> bool:
        key = (rule, movement)
        if key in self._fired:
            return False
        last = self._last.get(rule)
        if last is not None and t_s - last < self.min_gap_s:
            return False
        self._fired.add(key)
        self._last[rule] = t_s
        return True


@dataclass
class LiveState:
    """What the overlay needs after one frame (see :class:`formcheck.sinks.annotate.OverlayState`)."""

    frame: int
    time_s: float
    xy: np.ndarray | None
    side: str
    angle_deg: float | None
    phase: str
    rep_count: int
    hold_s: float | None
    notices: list[str]
    faults: list[str]
    message: str | None
    message_bad: bool
    cues: list[Cue] = field(default_factory=list)  # cues that fired at this frame
    completed: list[Rep] = field(default_factory=list)  # reps completed at this frame
    setup_ok: bool = False


def _predict(model: BiasModel, yaw: float, thickness: float, midline: float | None) -> float:
    return model.predict(yaw, thickness, midline)


def _evaluate(movements: list, s: "_Series", fps: float, to_raw, geom: Geometry,
              profile: Profile, angle_sd_deg: float = float("nan"),
              jumped: list[bool] | None = None) -> tuple[list[Rep], list[Rep]]:
    """Rep and attempt records of ``movements``, with the pipeline's own code
    (``pipeline.rep_records`` → ``rules.evaluate_rep``), from the live per-frame series."""
    t = np.arange(s.n) / fps
    ang = Angles(s["shk_raw"], s["knee"], s["shin"], s["torso"], s["heel_h"], s["vis"],
                 far_heel_height_m=s["heel_far"])
    return rep_records(movements, t, s["shk"], to_raw, ang, s["arch"], geom, profile, fps,
                       angle_sd_deg, jumped)


def _pack(mask: np.ndarray | None) -> tuple | None:
    """A bool mask bit-packed (8x smaller), as ``(bits, shape)``."""
    if mask is None or isinstance(mask, tuple):
        return mask
    return np.packbits(np.asarray(mask, bool).ravel()), tuple(mask.shape)


def _unpack(packed: tuple) -> np.ndarray:
    bits, shape = packed
    return np.unpackbits(bits, count=int(np.prod(shape))).reshape(shape).astype(bool)


class _Series:
    """Growable per-frame float arrays (one row per grid frame)."""

    def __init__(self, names: tuple[str, ...], cap: int = 1024) -> None:
        self.n = 0
        self.data = {k: np.full(cap, np.nan) for k in names}

    def append(self, **vals: float) -> None:
        if self.n == len(next(iter(self.data.values()))):
            for k, v in self.data.items():
                self.data[k] = np.concatenate([v, np.full(len(v), np.nan)])
        for k, v in vals.items():
            self.data[k][self.n] = v
        self.n += 1

    def __getitem__(self, k: str) -> np.ndarray:
        return self.data[k][:self.n]


class LiveAnalyzer:
    """Causal, frame-by-frame analysis of one set (see the module docstring).

    ``fps`` is the frame rate of the grid that ``update``'s ``frame_index`` counts in.
    """

    def __init__(self, profile: Profile, fps: float, width: int, height: int, *,
                 bias_model: BiasModel | None = None, geometry_s: float = 1.5,
                 mask_scale: float = 1.0, one_euro: OneEuro | None = None,
                 cue_gap_s: float = 2.0) -> None:
        self.profile = profile
        #: the profile's silhouette measure of the lumbar arch, called once per frame
        self._lumbar_measure = LUMBAR_MEASURES[profile.rule("lumbar_arch")["measure"]]
        self.fps = float(fps)
        self.width, self.height = int(width), int(height)
        self.bias_model = bias_model or load_bias_model(profile.name)
        self.geometry_s = geometry_s
        self.mask_scale = mask_scale
        self.filter = one_euro or OneEuro()
        self.throttle = CueThrottler(cue_gap_s)
        self.counter = RepCounter(profile.reps, self.fps)
        self.geom: Geometry | None = None
        self.bias = float("nan")
        self.thickness = float("nan")
        self.reps: list[Rep] = []
        self.attempts: list[Rep] = []
        self.cues: list[Cue] = []
        r = profile.data["rules"]
        self.hold_target_s = float(r["short_hold"]["min_hold_s"])
        self.target = (int(profile.data["set"]["min_reps"]), int(profile.data["set"]["max_reps"]))
        # per grid frame
        self.s = _Series(("shk", "shk_raw", "knee", "shin", "torso", "heel_h", "heel_far", "arch",
                          "vis", "blocked"))
        self._xy: list[np.ndarray | None] = []  # smoothed (33, 2) or None
        self._raw: list[tuple | None] = []  # (image, world, vis, pres, mask) per grid frame
        self._notices: list[list[str]] = []
        self._frontal: list[bool] = []  # per frame: "turn side-on" was showing
        self._usable: list[int] = []  # frames with a person and no set-up problem
        self._last_idx = -1
        self._fed = 0  # frames given to the rep counter so far
        self._counted: list[bool] = []  # per fed frame: its angle was counted (not blocked)
        self.midline = float("nan")
        self.yaw = float("nan")  # view yaw for the bias, refreshed after each rep (degrees)
        self._movement = 0
        self._prev_phase = "bottom"
        self._over: dict[str, int] = {}  # consecutive frames over a threshold, per rule
        self._move_faults: list[str] = []
        self._last_verdict: tuple[str, bool, list[str]] | None = None
        self._last_cue: Cue | None = None
        self._lowering_from: float | None = None
        self._l90_t: float | None = None
        self._vmax = 0.0
        self._top_t: float | None = None
        self._top_vals: list[float] = []  # angles at the top so far (degrees)
        self._first_top_refreshed = False  # bias re-read at the first top (see _cues)
        self._heel_jumped = False  # the heel landmark jumped to the far foot this movement
        self._left_top = False
        self._top_arch: list[float] = []
        self._heel_pre: float | None = None  # heel height before the current rise
        self._heel_sep_pre = float("nan")  # far minus near heel height before it (m)
        self._heel_raw: list[float] = []  # raw heel rise of each completed rep
        self._next_geom_try = 0
        self._segment_ref: tuple[float, float] | None = None  # torso, thigh (px) at set-up

    # ------------------------------------------------------------------ public
    @property
    def n_frames(self) -> int:
        return len(self._xy)

    def update(self, frame_index: int, fp, luminance: float | None = None,
               wall_s: float | None = None) -> LiveState:
        """Add grid frame ``frame_index`` (FramePose ``fp`` or None when nobody was found).

        Grid frames skipped since the previous call (dropped by the live loop) are filled by
        linear interpolation between the two processed frames (or as not-detected).
        """
        if frame_index <= self._last_idx:
            raise ValueError("frame_index must increase")
        gap = frame_index - self._last_idx - 1
        prev = self._raw[-1] if self._raw else None
        cur = None if fp is None else (fp.image, fp.world, fp.visibility, fp.presence, fp.mask)
        fresh_cues: list[Cue] = []
        done: list[Rep] = []
        for k in range(1, gap + 1):  # dropped frames
            self._add_frame(self._interp(prev, cur, k / (gap + 1)), None, wall_s, fresh_cues,
                            done)
        notices = self._add_frame(cur, luminance, wall_s, fresh_cues, done, real=True)
        self._last_idx = frame_index
        return self._state(notices, fresh_cues, done)

    def finish(self) -> list[Rep]:
        """End of the set: finalise a movement still in progress. Returns reps completed now."""
        done: list[Rep] = []
        if self.geom is not None:
            mv = self.counter.finish()
            if mv is not None:
                self._complete(mv, done, finishing=True)
        return done

    def track(self, meta: dict | None = None) -> PoseTrack:
        """Everything seen so far as a :class:`PoseTrack` on the uniform frame grid."""
        n = len(self._raw)
        img = np.full((n, N_LANDMARKS, 3), np.nan, np.float32)
        world = np.full((n, N_LANDMARKS, 3), np.nan, np.float32)
        vis = np.zeros((n, N_LANDMARKS), np.float32)
        pres = np.zeros((n, N_LANDMARKS), np.float32)
        shape = next((r[4][1] for r in self._raw if r is not None and r[4] is not None), None)
        masks = np.zeros((n, *shape), bool) if shape is not None else None
        for i, r in enumerate(self._raw):
            if r is None:
                continue
            img[i], world[i], vis[i], pres[i] = r[0], r[1], r[2], r[3]
            if masks is not None and r[4] is not None and r[4][1] == shape:
                masks[i] = _unpack(r[4])
        return PoseTrack(image=img, world=world, visibility=vis, presence=pres,
                         t_s=np.arange(n) / self.fps, width=self.width, height=self.height,
                         fps=self.fps, masks=masks, mask_scale=self.mask_scale,
                         meta=dict(meta or {}))

    # ------------------------------------------------------------------ frames
    @staticmethod
    def _interp(a, b, w: float):
        """Interpolated landmarks between two processed frames (None if either is missing)."""
        if a is None or b is None:
            return None
        mask = _pack(a[4] if w < 0.5 else b[4])
        return tuple((1 - w) * np.asarray(x) + w * np.asarray(y) for x, y in
                     zip(a[:4], b[:4])) + (mask,)

    def _add_frame(self, raw, luminance, wall_s, cues=None, done=None, real=False):
        i = len(self._xy)
        t = i / self.fps
        self._raw.append(None if raw is None else
                         tuple(np.asarray(x, np.float32) for x in raw[:4]) + (_pack(raw[4]),))
        if raw is not None:
            xy = self.filter(np.asarray(raw[0][:, :2], np.float64), t)
        else:
            self.filter(np.full((N_LANDMARKS, 2), np.nan), t)
            xy = None
        self._xy.append(xy)
        notices = self._setup_notices(raw, luminance)
        self._notices.append(notices)
        self._frontal.append(self._FRONTAL in notices)
        blocked = any(n not in self._VIEW for n in notices)  # this frame is unusable
        if raw is not None and not blocked:
            self._usable.append(i)
        if self.geom is None:
            self.s.append(blocked=float(blocked))
            self._try_geometry(i)
        else:
            self._measure(i, blocked)
        if self.geom is not None:
            self._feed(cues if cues is not None else [], done if done is not None else [],
                       wall_s)
        return notices

    _CHECKING = "hold still: checking the camera view"
    _FRONTAL = "turn side-on to the camera"
    _SOFT = ("camera oblique or high: side-on, at hip height",)
    _VIEW = (_CHECKING, _FRONTAL) + _SOFT

    def _setup_notices(self, raw, luminance) -> list[str]:
        out: list[str] = []
        if luminance is not None and luminance < DARK_LUMINANCE:
            out.append("too dark: add light")
        if raw is None:
            out.append("step into view, side-on to the camera")
            return out
        img, vis = raw[0], raw[2]
        sides = [self.geom.side] if self.geom is not None and \
            self.geom.side in ("left", "right") else ["left", "right"]
        missing = []
        for joint, label in (("shoulder", "shoulders"), ("knee", "knees"), ("hip", "hips"),
                             ("ankle", "feet")):
            seen = False
            for sd in sides:
                k = side_index(sd, joint)
                x, y = float(img[k, 0]), float(img[k, 1])
                inside = (FRAME_MARGIN * self.width <= x <= (1 - FRAME_MARGIN) * self.width and
                          FRAME_MARGIN * self.height <= y <= (1 - FRAME_MARGIN) * self.height)
                seen |= bool(inside and vis[k] >= MIN_VISIBILITY)
            if not seen:
                missing.append(label)
        if missing:
            out.append(f"move back: {'/'.join(missing)} out of frame")
        elif self._impossible(img, vis):
            out.append(self._IMPOSSIBLE)
        if self.geom is None:
            if self._frontal_seen:
                out.append(self._FRONTAL)
            else:
                out.append(self._CHECKING)
        elif self.geom.view == "oblique":
            out.append(self._SOFT[0])
        return out

    _frontal_seen = False
    _IMPOSSIBLE = "move back: keep your whole body in the picture"

    def _impossible(self, img: np.ndarray, vis: np.ndarray) -> bool:
        """A failed detection (kinematics.implausible_frames, one frame at a time): the
        shoulder–hip–knee angle outside what a body can do here, or, once the geometry is
        known, the torso or thigh shorter than half its length then."""
        if self.geom is not None and self.geom.side in ("left", "right"):
            side, up = self.geom.side, self.geom.up
        else:  # the more visible side, and the image's own "up" until the floor is known
            vl = sum(vis[side_index("left", j)] for j in ("shoulder", "hip", "knee"))
            vr = sum(vis[side_index("right", j)] for j in ("shoulder", "hip", "knee"))
            side, up = ("left" if vl >= vr else "right"), np.array([0.0, -1.0])
        s, h, k = (np.asarray(img[side_index(side, j), :2], float)[None]
                   for j in ("shoulder", "hip", "knee"))
        a = float(signed_shk_angle(s, h, k, up)[0])
        if not PLAUSIBLE_SHK_DEG[0] <= a <= PLAUSIBLE_SHK_DEG[1]:
            return True
        ref = self._segment_ref
        if ref is None:
            return False
        torso, thigh = float(np.linalg.norm(s - h)), float(np.linalg.norm(h - k))
        return torso < MIN_SEGMENT_SHARE * ref[0] or thigh < MIN_SEGMENT_SHARE * ref[1]

    def _try_geometry(self, i: int) -> None:
        need = max(3, int(round(self.geometry_s * self.fps)))
        if i < self._next_geom_try:
            return
        if len(self._usable) < need:
            return
        window = self._usable[-need:]
        sub = self._subtrack(window)
        xy = np.stack([self._xy[k] for k in window])
        geom = estimate_geometry(sub, xy)
        if geom.view in ("frontal", "no_person"):
            self._frontal_seen = geom.view == "frontal"
            if self._frontal_seen:  # the frames judged frontal are not counted later
                for k in window:
                    self._frontal[k] = True
            self._next_geom_try = i + max(1, int(0.5 * self.fps))
            return
        self.geom = geom
        if geom.side in ("left", "right"):
            seg = [np.linalg.norm(xy[:, side_index(geom.side, a)] - xy[:, side_index(geom.side, b)],
                                  axis=-1) for a, b in (("shoulder", "hip"), ("hip", "knee"))]
            self._segment_ref = (float(np.nanmedian(seg[0])), float(np.nanmedian(seg[1])))
        self.thickness = trunk_thickness(xy, sub.masks, self.mask_scale, geom) \
            if sub.masks is not None else float("nan")
        self.yaw = geom.yaw_deg
        self.bias = _predict(self.bias_model, geom.yaw_deg, self.thickness, None)
        # catch up: angles for every frame so far, now that the geometry is known
        blocked = self.s["blocked"].copy()
        self.s = _Series(tuple(self.s.data))
        for k in range(len(self._xy)):  # frames seen in a frontal view are not counted
            self._measure(k, bool(blocked[k]) or self._frontal[k])

    def _subtrack(self, idx: list[int], with_masks: bool = True) -> PoseTrack:
        rows = [self._raw[k] for k in idx]
        masks = None
        if with_masks and all(r[4] is not None for r in rows) and \
                len({r[4][1] for r in rows}) == 1:
            masks = np.stack([_unpack(r[4]) for r in rows])
        return PoseTrack(image=np.stack([r[0] for r in rows]),
                         world=np.stack([r[1] for r in rows]),
                         visibility=np.stack([r[2] for r in rows]),
                         presence=np.stack([r[3] for r in rows]),
                         t_s=np.asarray(idx, float) / self.fps, width=self.width,
                         height=self.height, fps=self.fps, masks=masks,
                         mask_scale=self.mask_scale)

    def _measure(self, i: int, blocked: bool) -> None:
        xy = self._xy[i]
        raw = self._raw[i]
        if xy is None or raw is None:
            self.s.append(blocked=float(blocked))
            return
        # MediaPipe's world landmarks come already smoothed by its own tracking in live mode
        ang = joint_angles(xy[None], raw[2][None], self.geom, raw[1][None].astype(np.float64))
        fused = float(self.bias_model.fuse(ang.shk_raw_deg, ang.shk_world_deg)[0])
        arch = float("nan")
        if raw[4] is not None:
            arch = float(self._lumbar_measure(xy[None], _unpack(raw[4])[None], self.mask_scale,
                                              self.geom)[0])
        self.s.append(shk=float(self.bias_model.correct(fused, self.bias, self.yaw)),
                      shk_raw=fused, knee=float(ang.knee_deg[0]),
                      shin=float(ang.shin_to_vertical_deg[0]),
                      torso=float(ang.torso_to_floor_deg[0]),
                      heel_h=float(ang.heel_height_m[0]),
                      heel_far=float(ang.far_heel_height_m[0]), arch=arch,
                      vis=float(ang.visibility[0]), blocked=float(blocked))

    # ------------------------------------------------------------------ reps and cues
    def _feed(self, cues: list[Cue], done: list[Rep], wall_s) -> None:
        """Give the rep counter every measured frame it has not seen yet."""
        while self._fed < self.s.n:
            i = self._fed
            self._fed += 1
            blocked = self.s["blocked"][i] > 0 and not self.reps
            self._counted.append(not blocked)
            a = float("nan") if blocked else float(self.s["shk"][i])
            torso = float(self.s["torso"][i])
            t = i / self.fps
            # (self.counter, not a local: _complete may replace it)
            mv = self.counter.update(t, a, torso if np.isfinite(torso) else 0.0)
            if mv is not None:
                self._complete(mv, done)
            self._cues(i, t, a, cues, wall_s)

    def _offer(self, rule: str, i: int, t: float, cues: list[Cue], wall_s) -> None:
        if not self.throttle.offer(rule, self._movement, t):
            return
        kind = "fault" if rule in FAULT_CUES else "prompt"
        cue = Cue(t, i, rule, CUE_TEXT[rule], kind, self._movement, wall_s)
        self.cues.append(cue)
        cues.append(cue)
        self._last_cue = cue
        if kind == "fault" and rule not in self._move_faults:
            self._move_faults.append(rule)

    def _persist(self, rule: str, cond: bool, frames: int) -> bool:
        self._over[rule] = self._over.get(rule, 0) + 1 if cond else 0
        return self._over[rule] >= frames

    def _cues(self, i: int, t: float, a: float, cues: list[Cue], wall_s) -> None:
        rc = self.counter
        rules = self.profile.data["rules"]
        phase, prev = rc.phase, self._prev_phase
        self._prev_phase = phase
        heel = float(self.s["heel_h"][i])
        if prev == "bottom" and phase == "rise":
            pre_i = max(0, i - int(round(0.6 * self.fps)))
            pre = self.s["heel_h"][pre_i:i + 1]
            self._heel_pre = float(np.nanmedian(pre)) if np.isfinite(pre).any() else None
            sep = self.s["heel_far"][pre_i:i + 1] - pre
            self._heel_sep_pre = float(np.nanmedian(sep)) if np.isfinite(sep).any() \
                else float("nan")
            self._movement += 1
            self._move_faults = []
            self._over.clear()
            self._lowering_from = None
            self._l90_t = None
            self._vmax = 0.0
            self._top_t = None
            self._top_vals = []
            self._heel_jumped = False
            self._left_top = False
            self._top_arch = []
        if phase == "bottom" or not np.isfinite(a):
            return
        en = self.profile.enabled
        # hyperextension: as soon as the angle passes the limit
        if en("hyperextension") and self._persist(
                "hyperextension", a > rules["hyperextension"]["max_peak_deg"], 2):
            self._offer("hyperextension", i, t, cues, wall_s)
        # the rise levelled off (or turned down) short of a straight line: hips up
        k = max(1, int(round(0.1 * self.fps)))
        v = (a - float(self.s["shk"][i - k])) * self.fps / k if i >= k else float("nan")
        if phase == "rise" and np.isfinite(v):
            self._vmax = max(self._vmax, v)
        stalled = (phase != "rise" or (np.isfinite(v) and self._vmax > 30.0 and
                                       v < 0.25 * self._vmax)) and \
            a >= rc.peak_deg - self.profile.reps.top_tolerance_deg
        if stalled and not self.reps and not self._first_top_refreshed:
            # the first top: until now the bias came from the set-up alone (lying at the
            # bottom: the yaw read high, no silhouette midline), which put the first rep of
            # some sets 5-8 deg low ("hips up" on a straight rep); re-read it with the top
            # frames in view before judging this rep
            self._first_top_refreshed = True
            if self._refresh_bias():
                self._replay()
                rc = self.counter
                a = float(self.s["shk"][i])
        if en("sag") and rc.peak_deg < rules["sag"]["min_peak_deg"] and \
                (stalled or phase == "lowering"):
            self._offer("sag", i, t, cues, wall_s)
        # top reached (the counter's hold timer starts): hold
        if phase == "top" and prev != "top" and "sag" not in self._move_faults and \
                not self._left_top:
            self._offer("hold", i, t, cues, wall_s)
        if phase == "top":
            arch = float(self.s["arch"][i])
            if np.isfinite(arch):
                self._top_arch.append(arch)
            r = rules["lumbar_arch"]
            conf = confidence(self.geom)
            n_top = len(self._top_arch)
            med = float(np.median(self._top_arch)) if n_top else float("nan")
            # the silhouette estimate is noisy: a clear excess over an absolute limit (if one is
            # set) at once, else after 1 s at the top when it exceeds the athlete's own baseline
            # so far (pipeline.arch_baseline) by min_arch_rise_deg (as rules.evaluate_rep does
            # once the rep is done)
            base, n_set, _ = arch_baseline(
                [(p.lumbar.get("silhouette_deg"), p.lumbar.get("silhouette_confidence") or 0.0)
                 for p in self.reps if on_the_line(p.peak_angle_deg, self.profile)]
                + [(med if n_top else None, conf)],
                r["min_view_confidence"], r["baseline"])
            alone, own = arch_limits(r, base, n_set)
            over = (n_top >= 3 and med > alone + ARCH_EARLY_MARGIN_DEG) or \
                (n_top >= self.fps and (med > alone or med >= own))
            if en("lumbar_arch") and over and conf >= r["min_view_confidence"] \
                    and "hyperextension" not in self._move_faults \
                    and "sag" not in self._move_faults:
                self._offer("lumbar_arch", i, t, cues, wall_s)
        # heel lift near the top: the heel's height above where it was before the rise, minus
        # the shift every rep shows (the heel landmark moves with the shin; learned from the
        # completed reps, as pipeline.heel_rises does; a margin stands in for it at first)
        near_top = (phase == "top" or stalled) and not self._left_top
        if en("heel_lift") and np.isfinite(heel) and self._heel_pre is not None and near_top \
                and rc.peak_deg >= self.profile.reps.min_peak_deg:
            common = heel_common_shift(self._heel_raw, min_reps=1)
            limit = rules["heel_lift"]["max_heel_rise_m"] + (0.0 if common is not None
                                                             else HEEL_FIRST_MARGIN_M)
            lift = heel - self._heel_pre - (common or 0.0)
            # not when the heel landmark has jumped onto the far foot (pipeline.heel_jumps):
            # once seen in a movement, its heel is not trusted for the rest of it (the far
            # heel's own landmark wanders too, so frame by frame the test comes and goes)
            self._heel_jumped = self._heel_jumped or is_heel_jump(
                self._heel_sep_pre, heel - self._heel_pre, float(self.s["heel_far"][i]) - heel)
            if self._persist("heel_lift", lift > limit and not self._heel_jumped, 3):
                self._offer("heel_lift", i, t, cues, wall_s)
        # the top: from the rise levelling off (or the counter's top) until the angle falls
        # more than top_tolerance_deg below the peak
        if self._top_t is None and (stalled or phase == "top"):
            self._top_t = t
        if self._top_t is not None and not self._left_top:
            self._top_vals.append(a)
        # measured from the median of the top so far, not its maximum: a brief landmark
        # flicker (a knee landmark jumping between the legs) lifts the maximum and would end
        # a steady hold (offline, reps.measure_movement spans such flickers likewise)
        level = min(rc.peak_deg, float(np.median(self._top_vals))) if self._top_vals \
            else rc.peak_deg
        tol = self.profile.reps.top_tolerance_deg
        falling = np.isfinite(v) and v < -15.0  # deg/s: on the way down, not a wobble
        left = self._persist("left_top", a < level - tol or
                             (falling and a < level - 0.5 * tol), 2)
        if left and not self._left_top:
            self._left_top = True
            held = 0.0 if self._top_t is None else t - 2.0 / self.fps - self._top_t
            if en("short_hold") and rc.peak_deg >= self.profile.reps.min_peak_deg and \
                    held < rules["short_hold"]["min_hold_s"]:
                self._offer("short_hold", i, t, cues, wall_s)
        elif not left and self._left_top and a >= level - tol:
            self._left_top = False  # back up to the top (a wobble): keep the hold going
        if phase == "lowering":
            if prev in ("top", "rise"):
                self._lowering_from = t - 1.0 / self.fps  # the last frame at the top
            if en("fast_lowering") and self._lowering_from is not None and \
                    rc.peak_deg >= self.profile.reps.min_peak_deg and \
                    self._fast_lowering(i, t, a):
                self._offer("fast_lowering", i, t, cues, wall_s)

    def _fast_lowering(self, i: int, t: float, a: float) -> bool:
        """Will this lowering be timed shorter than the rule allows?

        The offline timing (:func:`formcheck.core.reps.measure_movement`) is the 90 % → 10 %
        amplitude crossing time stretched by ``1 + 2 * ease_extension``. Live: once the angle
        is below the 10 % level the time is known; before that, the crossing is predicted at
        the current downward speed (conservative while the lowering is still speeding up).
        """
        rc = self.counter
        thr = self.profile.rule("fast_lowering")["min_lowering_s"]
        stretch = 1.0 + 2.0 * float(getattr(self.profile.reps, "ease_extension", 0.4))
        bottom = rc.low
        amp = rc.peak_deg - bottom
        if not np.isfinite(amp) or amp <= 0:
            return False
        hi_level, lo_level = bottom + 0.9 * amp, bottom + 0.1 * amp
        if self._l90_t is None:
            if a > hi_level:
                return False
            self._l90_t = t
        tau = t - self._l90_t
        if stretch * tau >= thr:
            return False
        if a <= lo_level:
            return True
        k = max(1, int(round(0.067 * self.fps)))
        if i < k or tau < 1.5 / self.fps:
            return False
        v = (self.s["shk"][i - k] - a) * self.fps / k  # deg/s downwards
        if not np.isfinite(v) or v <= 0:
            return False
        return stretch * (tau + (a - lo_level) / v) < 0.75 * thr

    def _complete(self, mv, done: list[Rep], finishing: bool = False) -> None:
        """A movement ended: refresh the bias from the tops seen so far, then evaluate every
        movement with the pipeline's rep code (the newest one is the verdict shown)."""
        if self._refresh_bias():
            self._replay()
            if finishing:
                self.counter.finish()
            if self.counter.movements:
                mv = self.counter.movements[-1]
        movements = list(self.counter.movements)
        jumps = heel_jumps(movements, self.s["heel_h"], self.s["heel_far"], self.fps)
        self._heel_raw = [d for (d, _), m, j in zip(raw_heel_rises(movements, self.s["heel_h"],
                                                                   self.fps), movements, jumps)
                          if d is not None and m.is_rep and not j]
        to_raw = lambda a: self.bias_model.uncorrect(a, self.bias, self.yaw)  # noqa: E731
        reps, attempts = _evaluate(movements, self.s, self.fps, to_raw, self.geom,
                                   self.profile, self.bias_model.residual_sd_deg, jumps)
        new = reps[len(self.reps):] if mv.is_rep else []
        self.reps, self.attempts = reps, attempts
        done.extend(new)
        if mv.is_rep and reps:
            rep = reps[-1]
            bad = [f for f in rep.findings if f.severity == "fault"]
            if bad:
                self._last_verdict = (f"Rep {rep.index}: {bad[0].cue}", True,
                                      [f.rule for f in bad])
            else:
                self._last_verdict = (f"Rep {rep.index}: good", False, [])
        elif not mv.is_rep:
            self._last_verdict = ("Not a full rep: drive your hips all the way up", True, [])

    def _refresh_bias(self) -> bool:
        """Update the bias as ``pipeline.analyze_track`` computes it, from what has been seen
        so far: the view's yaw over all usable frames (the first estimate comes from the
        set-up alone, where the body lies differently) and the silhouette midline at the tops.
        True if the correction changed."""
        n = self.s.n
        yaw = self.yaw
        usable = [k for k in self._usable if k < n and self._raw[k] is not None]
        g = self._refresh_scale(usable)  # its yaw is read over the same frames
        if g is not None or usable:
            seen = g.yaw_deg if g is not None else \
                view_yaw(np.stack([self._raw[k][1] for k in usable]),
                         np.stack([self._xy[k] for k in usable]), self.geom.m_per_px)
            if math.isfinite(seen):
                yaw = seen
        raw = np.where(self.s["blocked"] > 0, np.nan, self.s["shk_raw"])  # usable frames only
        frames = top_frames(raw)
        frames = [int(k) for k in frames if k < n and self._raw[k] is not None and
                  self._raw[k][4] is not None]
        if len(frames) >= 3:
            shape = self._raw[frames[0]][4][1]
            frames = [k for k in frames if self._raw[k][4][1] == shape]
            idx = np.asarray(frames)
            xy = np.full((n, N_LANDMARKS, 2), np.nan)
            for k in frames:
                xy[k] = self._xy[k]
            masks = np.zeros((n, *shape), bool)
            for k in frames:
                masks[k] = _unpack(self._raw[k][4])
            self.midline = midline_bias(xy, masks, self.mask_scale, self.geom, idx)
        bias = _predict(self.bias_model, yaw, self.thickness, self.midline)
        gain = self.bias_model.gain
        if abs(bias - self.bias) < 0.05 and abs(gain(yaw) - gain(self.yaw)) < 0.002:
            return False
        self.bias, self.yaw = bias, yaw
        return True

    def _refresh_scale(self, usable: list[int]) -> Geometry | None:
        """Re-read the floor and the metre scale over every usable frame so far, as
        ``estimate_geometry`` does offline over the whole set, and recompute the heel heights
        with them. From the set-up alone (lying at the bottom) the scale read up to 26 % large
        and the floor 10° off, which made every heel rise read about 1 cm high. Returns that
        geometry (None if it was not taken)."""
        if len(usable) < 3 or self.geom.side not in ("left", "right"):
            return None
        g = estimate_geometry(self._subtrack(usable, with_masks=False),  # (not used there)
                              np.stack([self._xy[k] for k in usable]))
        if g.side != self.geom.side or not math.isfinite(g.m_per_px):
            return None
        self.geom = replace(self.geom, floor_dir=g.floor_dir, up=g.up, m_per_px=g.m_per_px,
                            floor_source=g.floor_source)
        n = self.s.n
        xy = np.full((n, N_LANDMARKS, 2), np.nan)
        for k in range(min(n, len(self._xy))):
            if self._xy[k] is not None:
                xy[k] = self._xy[k]
        self.s.data["heel_h"][:n], self.s.data["heel_far"][:n] = heel_heights(xy, self.geom)
        return g

    def _replay(self) -> None:
        """Re-run the rep counter over every frame so far with the current bias."""
        shk = self.s.data["shk"]
        shk[:self.s.n] = self.bias_model.correct(self.s["shk_raw"], self.bias, self.yaw)
        rc = RepCounter(self.profile.reps, self.fps)
        for i in range(self._fed):
            a = float(shk[i]) if self._counted[i] else float("nan")
            torso = float(self.s["torso"][i])
            rc.update(i / self.fps, a, torso if np.isfinite(torso) else 0.0)
        self.counter = rc

    def _state(self, notices: list[str], cues: list[Cue], done: list[Rep]) -> LiveState:
        i = len(self._xy) - 1
        t = i / self.fps
        rc = self.counter
        phase = rc.phase if self.geom is not None else "set-up"
        if self.geom is not None and phase == "bottom" and not self.reps and \
                self.counter.movements == [] and any(n not in self._SOFT for n in notices):
            phase = "set-up"
        hold = None
        if rc.phase == "top" and np.isfinite(rc.top_since_s):
            hold = max(0.0, t - rc.top_since_s)
        in_move = self.geom is not None and rc.phase != "bottom"
        faults = list(self._move_faults) if in_move else []
        msg, bad = None, False
        if self._last_cue is not None and t - self._last_cue.time_s < 2.0:
            msg, bad = self._last_cue.text, self._last_cue.kind == "fault"
        elif self._last_verdict is not None:
            msg, bad = self._last_verdict[0], self._last_verdict[1]
            if not in_move:
                faults = list(self._last_verdict[2])
        angle = float(self.s["shk"][i]) if self.geom is not None and i < self.s.n else None
        if angle is not None and not math.isfinite(angle):
            angle = None
        show = notices if (not self.reps or any(n not in self._SOFT and n != self._CHECKING
                                                for n in notices)) else []
        return LiveState(frame=i, time_s=t, xy=self._xy[i],
                         side=self.geom.side if self.geom is not None else "unknown",
                         angle_deg=angle, phase=phase, rep_count=len(self.reps), hold_s=hold,
                         notices=show, faults=faults, message=msg, message_bad=bad, cues=cues,
                         completed=done, setup_ok=self.geom is not None and not any(
                             n not in self._SOFT for n in notices))

    def view_warning(self) -> str | None:
        return view_warning(self.geom) if self.geom is not None else None
