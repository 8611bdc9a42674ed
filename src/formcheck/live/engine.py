"""Incremental (causal) analysis for ``formcheck live``: one frame in, overlay state and cues out.

:class:`LiveAnalyzer` runs the offline stages frame by frame on a uniform frame grid (the
source's frame index; frames the model skipped are interpolated):

- causal :class:`~formcheck.core.signals.OneEuro` smoothing of the landmark pixel positions;
- scene geometry (side, floor, view) from the first ``geometry_s`` seconds with a person, then
  fixed (re-estimated on a sliding window while the view is frontal);
- :func:`~formcheck.core.kinematics.joint_angles` per frame, minus the calibrated bias;
- :class:`~formcheck.core.reps.RepCounter` for phase, hold timer and completed reps, each completed
  rep judged with the offline code (:func:`formcheck.core.judge.rep_records` → the rules);
- set-up guidance (:mod:`.guide`) and cues during a movement (:mod:`.cues`, decided by the
  rule registry).

It has no threads, camera or model: feed it ``(frame_index, FramePose | None, luminance)``.
Units: degrees, seconds, pixels (y down), metres for heel lift.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from formcheck.core.bias import BiasModel, load_bias_model
from formcheck.core.judge import rep_records
from formcheck.core.geometry import Geometry, estimate_geometry, view_yaw
from formcheck.core.kinematics import Angles, heel_heights, joint_angles
from formcheck.core.silhouette import LUMBAR_MEASURES, midline_bias, trunk_thickness
from formcheck.core.measures import heel_jumps, raw_heel_rises, top_frames
from formcheck.core.reps import RepCounter
from formcheck.core.rules import Profile
from formcheck.core.session import Rep
from formcheck.core.signals import OneEuro
from formcheck.core.track import N_LANDMARKS, PoseTrack, side_index
from formcheck.core.view import view_warning
from formcheck.live import guide
from formcheck.live.cues import Cue, CueEngine, CueThrottler  # noqa: F401  (re-exported)
from formcheck.live.series import (Series, interp_raw, pack_mask, raw_subtrack, raw_track,
                                   unpack_mask)


@dataclass
class LiveState:
    """What the overlay needs after one frame (:class:`formcheck.sinks.annotate.OverlayState`)."""

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
        self._lumbar_measure = LUMBAR_MEASURES[profile.rules.lumbar_arch.measure]
        self.fps = float(fps)
        self.width, self.height = int(width), int(height)
        self.bias_model = bias_model or load_bias_model(profile.name)
        self.geometry_s = geometry_s
        self.mask_scale = mask_scale
        self.filter = one_euro or OneEuro()
        self.guide = guide.SetupGuide(self.width, self.height)
        self.cue_engine = CueEngine(self, cue_gap_s)
        self.counter = RepCounter(profile.reps, self.fps)
        self.geom: Geometry | None = None
        self.bias = float("nan")
        self.thickness = float("nan")
        self.midline = float("nan")
        self.yaw = float("nan")  # view yaw for the bias, refreshed after each rep (degrees)
        self.reps: list[Rep] = []
        self.attempts: list[Rep] = []
        self.hold_target_s = float(profile.rules.short_hold.min_hold_s)
        self.target = (int(profile.set.min_reps), int(profile.set.max_reps))
        # per grid frame
        self.s = Series(("shk", "shk_raw", "knee", "shin", "torso", "heel_h", "heel_far", "arch",
                         "vis", "blocked"))
        self._xy: list[np.ndarray | None] = []  # smoothed (33, 2) or None
        self._raw: list[tuple | None] = []  # (image, world, vis, pres, packed mask) per frame
        self._frontal: list[bool] = []  # per frame: "turn side-on" was showing
        self._usable: list[int] = []  # frames with a person and no set-up problem
        self._last_idx = -1
        self._fed = 0  # frames given to the rep counter so far
        self._counted: list[bool] = []  # per fed frame: its angle was counted (not blocked)
        self._last_verdict: tuple[str, bool, list[str]] | None = None
        self._next_geom_try = 0

    @property
    def cues(self) -> list[Cue]:
        """Every cue so far."""
        return self.cue_engine.cues

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
            self._add_frame(interp_raw(prev, cur, k / (gap + 1)), None, wall_s, fresh_cues,
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
        return raw_track(self._raw, self.fps, self.width, self.height, self.mask_scale, meta)

    def _subtrack(self, idx: list[int], with_masks: bool = True) -> PoseTrack:
        return raw_subtrack(self._raw, idx, self.fps, self.width, self.height, self.mask_scale,
                            with_masks)

    # ------------------------------------------------------------------ frames
    def _add_frame(self, raw, luminance, wall_s, cues=None, done=None, real=False):
        i = len(self._xy)
        t = i / self.fps
        self._raw.append(None if raw is None else
                         tuple(np.asarray(x, np.float32) for x in raw[:4]) + (pack_mask(raw[4]),))
        if raw is not None:
            xy = self.filter(np.asarray(raw[0][:, :2], np.float64), t)
        else:
            self.filter(np.full((N_LANDMARKS, 2), np.nan), t)
            xy = None
        self._xy.append(xy)
        notices = self.guide.notices(raw, luminance, self.geom)
        self._frontal.append(guide.FRONTAL in notices)
        blocked = any(n not in guide.VIEW for n in notices)  # this frame is unusable
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
            self.guide.frontal_seen = geom.view == "frontal"
            if self.guide.frontal_seen:  # the frames judged frontal are not counted later
                for k in window:
                    self._frontal[k] = True
            self._next_geom_try = i + max(1, int(0.5 * self.fps))
            return
        self.geom = geom
        if geom.side in ("left", "right"):
            seg = [np.linalg.norm(xy[:, side_index(geom.side, a)] - xy[:, side_index(geom.side, b)],
                                  axis=-1) for a, b in (("shoulder", "hip"), ("hip", "knee"))]
            self.guide.segment_ref = (float(np.nanmedian(seg[0])), float(np.nanmedian(seg[1])))
        self.thickness = trunk_thickness(xy, sub.masks, self.mask_scale, geom) \
            if sub.masks is not None else float("nan")
        self.yaw = geom.yaw_deg
        self.bias = self.bias_model.predict(geom.yaw_deg, self.thickness, None)
        # catch up: angles for every frame so far, now that the geometry is known
        blocked = self.s["blocked"].copy()
        self.s = Series(tuple(self.s.data))
        for k in range(len(self._xy)):  # frames seen in a frontal view are not counted
            self._measure(k, bool(blocked[k]) or self._frontal[k])

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
            arch = float(self._lumbar_measure(xy[None], unpack_mask(raw[4])[None], self.mask_scale,
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
        """Give the rep counter and the cue engine every measured frame not seen yet."""
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
            self.cue_engine.step(i, t, a, cues, wall_s)

    def _complete(self, mv, done: list[Rep], finishing: bool = False) -> None:
        """A movement ended: refresh the bias from the tops seen so far, then evaluate every
        movement with the pipeline's rep code (the newest one is the verdict shown)."""
        if self.refresh_bias():
            self.replay()
            if finishing:
                self.counter.finish()
            if self.counter.movements:
                mv = self.counter.movements[-1]
        movements = list(self.counter.movements)
        jumps = heel_jumps(movements, self.s["heel_h"], self.s["heel_far"], self.fps)
        rises = raw_heel_rises(movements, self.s["heel_h"], self.fps)
        self.cue_engine.heel_raw = [d for (d, _), m, j in zip(rises, movements, jumps)
                                    if d is not None and m.is_rep and not j]
        to_raw = lambda a: self.bias_model.uncorrect(a, self.bias, self.yaw)  # noqa: E731
        s = self.s
        ang = Angles(s["shk_raw"], s["knee"], s["shin"], s["torso"], s["heel_h"], s["vis"],
                     far_heel_height_m=s["heel_far"])
        reps, attempts = rep_records(movements, np.arange(s.n) / self.fps, to_raw, ang,
                                     s["arch"], self.geom, self.profile, self.fps,
                                     self.bias_model.residual_sd_deg, jumps)
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

    def refresh_bias(self) -> bool:
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
                masks[k] = unpack_mask(self._raw[k][4])
            self.midline = midline_bias(xy, masks, self.mask_scale, self.geom, idx)
        bias = self.bias_model.predict(yaw, self.thickness, self.midline)
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

    def replay(self) -> None:
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
                self.counter.movements == [] and any(n not in guide.SOFT for n in notices):
            phase = "set-up"
        hold = None
        if rc.phase == "top" and np.isfinite(rc.top_since_s):
            hold = max(0.0, t - rc.top_since_s)
        in_move = self.geom is not None and rc.phase != "bottom"
        faults = self.cue_engine.faults if in_move else []
        msg, bad = None, False
        last = self.cue_engine.last
        if last is not None and t - last.time_s < 2.0:
            msg, bad = last.text, last.kind == "fault"
        elif self._last_verdict is not None:
            msg, bad = self._last_verdict[0], self._last_verdict[1]
            if not in_move:
                faults = list(self._last_verdict[2])
        angle = float(self.s["shk"][i]) if self.geom is not None and i < self.s.n else None
        if angle is not None and not math.isfinite(angle):
            angle = None
        show = notices if (not self.reps or any(n not in guide.SOFT and n != guide.CHECKING
                                                for n in notices)) else []
        return LiveState(frame=i, time_s=t, xy=self._xy[i],
                         side=self.geom.side if self.geom is not None else "unknown",
                         angle_deg=angle, phase=phase, rep_count=len(self.reps), hold_s=hold,
                         notices=show, faults=faults, message=msg, message_bad=bad, cues=cues,
                         completed=done, setup_ok=self.geom is not None and not any(
                             n not in guide.SOFT for n in notices))

    def view_warning(self) -> str | None:
        return view_warning(self.geom) if self.geom is not None else None
