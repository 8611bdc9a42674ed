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

import numpy as np

from formcheck.core.bias import BiasModel, load_bias_model
from formcheck.core.geometry import Geometry, estimate_geometry, view_yaw
from formcheck.core.judge import rep_records
from formcheck.core.kinematics import Angles, heel_heights, joint_angles
from formcheck.core.load import LOADED_HIP_CONFIDENCE
from formcheck.core.measures import heel_jumps, raw_heel_rises
from formcheck.core.presence import SetUpTracker
from formcheck.core.reps import RepCounter
from formcheck.core.rules import Profile, cue_phrase
from formcheck.core.session import Rep
from formcheck.core.signals import OneEuro
from formcheck.core.silhouette import LUMBAR_MEASURES, trunk_thickness
from formcheck.core.track import N_LANDMARKS, PoseTrack, side_index
from formcheck.core.view import view_warning
from formcheck.live import guide
from formcheck.live import recalibrate as recal
from formcheck.live.cues import Cue, CueEngine, CueThrottler  # noqa: F401  (re-exported)
from formcheck.live.legs import LiveLegs
from formcheck.live.series import (
    SERIES,
    Series,
    interp_raw,
    pack_mask,
    raw_subtrack,
    raw_track,
    unpack_mask,
)
from formcheck.live.state import LiveState, live_state


class LiveAnalyzer:
    """Causal, frame-by-frame analysis of one set (see the module docstring).

    ``fps`` is the frame rate of the grid that ``update``'s ``frame_index`` counts in.
    """

    def __init__(
        self,
        profile: Profile,
        fps: float,
        width: int,
        height: int,
        *,
        bias_model: BiasModel | None = None,
        geometry_s: float = 1.5,
        mask_scale: float = 1.0,
        one_euro: OneEuro | None = None,
        cue_gap_s: float = 2.0,
        candidates: dict[str, Profile] | None = None,
    ) -> None:
        self.fps = float(fps)
        #: --exercise auto: the profiles the set-up chooses from (``profile`` until then)
        self.candidates = candidates
        self._use_profile(profile, None, bias_model)
        self.width, self.height = int(width), int(height)
        self.geometry_s = geometry_s
        self.mask_scale = mask_scale
        self.filter = one_euro or OneEuro()
        self.guide = guide.SetupGuide(self.width, self.height)
        self.cue_engine = CueEngine(self, cue_gap_s)
        self.geom: Geometry | None = None
        self.bias = float("nan")
        self.thickness = float("nan")
        self.midline = float("nan")
        self.loaded = False  # a weight on the hips seen in the masks (refresh_bias)
        self.legs: LiveLegs | None = None  # leg repair, from the set-up frames
        self.yaw = float("nan")  # view yaw for the bias, refreshed after each rep (degrees)
        self.reps: list[Rep] = []
        self.attempts: list[Rep] = []
        # per grid frame
        self.s = Series((*SERIES, "blocked"))
        self.xy: list[np.ndarray | None] = []  # smoothed (33, 2) per grid frame, or None
        self._raw: list[tuple | None] = []  # (image, world, vis, pres, packed mask) per frame
        self._frontal: list[bool] = []  # per frame: "turn side-on" was showing
        self._usable: list[int] = []  # frames with a person and no set-up problem
        self._last_idx = -1
        self._fed = 0  # frames given to the rep counter so far
        self._counted: list[bool] = []  # per fed frame: its angle was counted (not blocked)
        self._in_setup: list[bool] = []  # per fed frame: inside a set-up (core.presence)
        self.setup: SetUpTracker | None = None
        #: the last rep's verdict: (message, is it a fault, fault ids)
        self.last_verdict: tuple[str, bool, list[str]] | None = None
        self._next_geom_try = 0

    @property
    def cues(self) -> list[Cue]:
        """Every cue so far."""
        return self.cue_engine.cues

    # ------------------------------------------------------------------ public
    @property
    def n_frames(self) -> int:
        return len(self.xy)

    def update(
        self, frame_index: int, fp, luminance: float | None = None, wall_s: float | None = None
    ) -> LiveState:
        """Add grid frame ``frame_index`` (FramePose ``fp`` or None when nobody was found).

        Grid frames skipped since the previous call (dropped by the live loop) are filled by
        linear interpolation between the two processed frames (or as not-detected).
        """
        if frame_index <= self._last_idx:
            raise ValueError("frame_index must increase")
        gap = frame_index - self._last_idx - 1
        prev = self._raw[-1] if self._raw else None
        cur = None if fp is None else (fp.image, fp.world, fp.visibility, fp.presence, fp.mask)
        if cur is not None and self.legs is not None:  # a leg drawn on a plate's rim, say
            cur = self.legs.repair(cur)
        fresh_cues: list[Cue] = []
        done: list[Rep] = []
        for k in range(1, gap + 1):  # dropped frames
            self._add_frame(interp_raw(prev, cur, k / (gap + 1)), None, wall_s, fresh_cues, done)
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
        return raw_subtrack(
            self._raw, idx, self.fps, self.width, self.height, self.mask_scale, with_masks
        )

    # ------------------------------------------------------------------ frames
    def _add_frame(self, raw, luminance, wall_s, cues=None, done=None, real=False):
        i = len(self.xy)
        t = i / self.fps
        self._raw.append(
            None
            if raw is None
            else tuple(np.asarray(x, np.float32) for x in raw[:4]) + (pack_mask(raw[4]),)
        )
        if raw is not None:
            xy = self.filter(np.asarray(raw[0][:, :2], np.float64), t)
        else:
            self.filter(np.full((N_LANDMARKS, 2), np.nan), t)
            xy = None
        self.xy.append(xy)
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
            self._feed(cues if cues is not None else [], done if done is not None else [], wall_s)
        return notices

    def _try_geometry(self, i: int) -> None:
        need = max(3, int(round(self.geometry_s * self.fps)))
        if i < self._next_geom_try:
            return
        if len(self._usable) < need:
            return
        window = self._usable[-need:]
        sub = self._subtrack(window)
        xy = np.stack([self.xy[k] for k in window])
        geom = estimate_geometry(sub, xy)
        if geom.view in ("frontal", "no_person"):
            self.guide.frontal_seen = geom.view == "frontal"
            if self.guide.frontal_seen:  # the frames judged frontal are not counted later
                for k in window:
                    self._frontal[k] = True
            self._next_geom_try = i + max(1, int(0.5 * self.fps))
            return
        self.geom = geom
        if self.candidates:  # the set-up says which exercise (core.setup_check)
            # a weight on the hips hides the hip: then the shoulder is read against the heel
            self.loaded = recal.load_seen(self._raw, self.xy, window, geom, self.mask_scale)
            self._use_profile(*recal.pick_profile(self.candidates, xy, geom, self.loaded))
        self.legs = LiveLegs.from_frames(geom.side, [self._raw[k] for k in window])
        self.setup = SetUpTracker(geom, self.profile.reps.max_torso_to_floor_deg)
        if geom.side in ("left", "right"):
            seg = [
                np.linalg.norm(
                    xy[:, side_index(geom.side, a)] - xy[:, side_index(geom.side, b)], axis=-1
                )
                for a, b in (("shoulder", "hip"), ("hip", "knee"))
            ]
            self.guide.segment_ref = (float(np.nanmedian(seg[0])), float(np.nanmedian(seg[1])))
        self.thickness = (
            trunk_thickness(xy, sub.masks, self.mask_scale, geom)
            if sub.masks is not None
            else float("nan")
        )
        self.yaw = geom.yaw_deg
        self.bias = self.bias_model.predict(geom.yaw_deg, self.thickness, None)
        # catch up: angles for every frame so far, now that the geometry is known
        blocked = self.s["blocked"].copy()
        self.s = Series(tuple(self.s.data))
        for k in range(len(self.xy)):  # frames seen in a frontal view are not counted
            self._measure(k, bool(blocked[k]) or self._frontal[k])

    def _use_profile(self, profile: Profile, check, bias_model: BiasModel | None = None) -> None:
        """Judge by ``profile`` (at the start, and again when ``--exercise auto`` chooses one
        at the set-up, before any rep), with its bias model unless one is given."""
        self.profile, self.exercise_check = profile, check
        #: the profile's silhouette measure of the lumbar arch, called once per frame
        self._lumbar_measure = LUMBAR_MEASURES[profile.rules.lumbar_arch.measure]
        self.bias_model = bias_model or load_bias_model(profile.name)
        self.counter = RepCounter(profile.reps, self.fps)
        self.hold_target_s = float(profile.rules.short_hold.min_hold_s)
        self.target = (int(profile.set.min_reps), int(profile.set.max_reps))

    def _measure(self, i: int, blocked: bool) -> None:
        xy = self.xy[i]
        raw = self._raw[i]
        if xy is None or raw is None:
            self.s.append(blocked=float(blocked))
            return
        # MediaPipe's world landmarks come already smoothed by its own tracking in live mode
        ang = joint_angles(xy[None], raw[2][None], self.geom, raw[1][None].astype(np.float64))
        fused = float(self.bias_model.fuse(ang.shk_raw_deg, ang.shk_world_deg)[0])
        arch = float("nan")
        if raw[4] is not None:
            arch = float(
                self._lumbar_measure(
                    xy[None], unpack_mask(raw[4])[None], self.mask_scale, self.geom
                )[0]
            )
        self.s.append(
            shk=float(self.bias_model.correct(fused, self.bias, self.yaw)),
            shk_raw=fused,
            knee=float(ang.knee_deg[0]),
            shin=float(ang.shin_to_vertical_deg[0]),
            torso=float(ang.torso_to_floor_deg[0]),
            heel_h=float(ang.heel_height_m[0]),
            heel_far=float(ang.far_heel_height_m[0]),
            arch=arch,
            vis=float(ang.visibility[0]),
            blocked=float(blocked),
        )

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
            self._in_setup.append(self.setup.update(t, self.xy[i]) if self.setup else True)
            # (self.counter, not a local: _complete may replace it)
            mv = self.counter.update(t, a, torso if np.isfinite(torso) else 0.0, self._in_setup[i])
            if mv is not None:
                self._complete(mv, done)
            self.cue_engine.step(i, t, a, cues, wall_s)

    def _complete(self, mv, done: list[Rep], finishing: bool = False) -> None:
        """A movement ended: refresh the bias from the tops seen so far, then evaluate every
        movement with the offline rep code (the newest one is the verdict shown)."""
        if self.refresh_bias():
            self.replay()
            if finishing:
                self.counter.finish()
            if self.counter.movements:
                mv = self.counter.movements[-1]
        movements = list(self.counter.movements)
        jumps = heel_jumps(movements, self.s["heel_h"], self.s["heel_far"], self.fps)
        rises = raw_heel_rises(movements, self.s["heel_h"], self.fps)
        self.cue_engine.heel_raw = [
            d
            for (d, _), m, j in zip(rises, movements, jumps)
            if d is not None and m.is_rep and not j
        ]
        to_raw = lambda a: self.bias_model.uncorrect(a, self.bias, self.yaw)  # noqa: E731
        s = self.s
        cols = (s[k] for k in ("shk_raw", "knee", "shin", "torso", "heel_h", "vis"))
        ang = Angles(*cols, far_heel_height_m=s["heel_far"])
        arch = np.full(s.n, np.nan) if self.loaded else s["arch"]  # plate in the mask: no arch
        hip_conf = LOADED_HIP_CONFIDENCE if self.loaded else 1.0
        sd = self.bias_model.residual_sd_deg
        t, geom, prof, fps = np.arange(s.n) / self.fps, self.geom, self.profile, self.fps
        reps, attempts = rep_records(
            movements, t, to_raw, ang, arch, geom, prof, fps, sd, jumps, hip_conf
        )
        new = reps[len(self.reps) :] if mv.is_rep else []
        self.reps, self.attempts = reps, attempts
        done.extend(new)
        if mv.is_rep and reps:
            rep = reps[-1]
            bad = [f for f in rep.findings if f.severity == "fault"]
            if bad:
                words = cue_phrase(f.rule for f in bad)
                self.last_verdict = (f"rep {rep.index}: {words}", True, [f.rule for f in bad])
            else:
                self.last_verdict = (f"rep {rep.index}: good", False, [])
        elif not mv.is_rep:
            self.last_verdict = ("not a full rep: hips all the way up", True, [])

    def refresh_bias(self) -> bool:
        """Update the bias as offline analysis computes it, from what has been seen so far:
        the view's yaw over all usable frames (the first estimate comes from the set-up alone,
        where the body lies differently), the floor and scale (and with them the heel heights)
        and the silhouette midline at the tops. True if the correction changed."""
        n = self.s.n
        yaw = self.yaw
        usable = [k for k in self._usable if k < n and self._raw[k] is not None]
        got = recal.rescaled_geometry(
            self.geom,
            self._raw,
            self.xy,
            usable,
            self.fps,
            (self.width, self.height),
            self.mask_scale,
        )
        if got is not None:
            self.geom = got[0]
            heel = heel_heights(recal.grid_xy(self.xy, n), self.geom)
            self.s.data["heel_h"][:n], self.s.data["heel_far"][:n] = heel
        if got is not None or usable:
            seen = (
                got[1].yaw_deg
                if got is not None
                else view_yaw(
                    np.stack([self._raw[k][1] for k in usable]),
                    np.stack([self.xy[k] for k in usable]),
                    self.geom.m_per_px,
                )
            )
            if math.isfinite(seen):
                yaw = seen
        # re-read over every usable frame so far, as offline reads the whole set
        self.loaded = recal.load_seen(self._raw, self.xy, usable, self.geom, self.mask_scale)
        midline = recal.tops_midline(
            self._raw, self.xy, self.s["shk_raw"], self.s["blocked"], self.geom, self.mask_scale
        )
        if midline is not None:
            self.midline = midline
        nan = float("nan")  # with a weight the mask holds it too: no silhouette term
        thick, mid = (nan, nan) if self.loaded else (self.thickness, self.midline)
        bias = self.bias_model.predict(yaw, thick, mid)
        gain = self.bias_model.gain
        if abs(bias - self.bias) < 0.05 and abs(gain(yaw) - gain(self.yaw)) < 0.002:
            return False
        self.bias, self.yaw = bias, yaw
        return True

    def replay(self) -> None:
        """Re-run the rep counter over every frame so far with the current bias."""
        shk = self.s.data["shk"]
        shk[: self.s.n] = self.bias_model.correct(self.s["shk_raw"], self.bias, self.yaw)
        rc = RepCounter(self.profile.reps, self.fps)
        for i in range(self._fed):
            a = float(shk[i]) if self._counted[i] else float("nan")
            torso = float(self.s["torso"][i])
            rc.update(i / self.fps, a, torso if np.isfinite(torso) else 0.0, self._in_setup[i])
        self.counter = rc

    def _state(self, notices: list[str], cues: list[Cue], done: list[Rep]) -> LiveState:
        return live_state(self, notices, cues, done)

    def view_warning(self) -> str | None:
        return view_warning(self.geom) if self.geom is not None else None
