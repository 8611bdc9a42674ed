"""Legs that cannot be the body's (a knee and ankle drawn on a plate's rim) are replaced by the
other leg (formcheck.core.legs), and analysis counts and measures the reps as without them."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from formcheck.analysis import analyze_track
from formcheck.core.legs import repair_legs
from formcheck.core.synthetic import SynthRep, SynthSpec, make_track
from formcheck.core.track import side_index

LEG = ("knee", "ankle", "heel", "foot_index")


def _clean(n_reps=3, **kw):
    spec = SynthSpec(reps=[SynthRep(peak_deg=180.0) for _ in range(n_reps)], noise_px=1.0, **kw)
    return make_track(spec)


def _drawn_on_plate(track, side, frames):
    """``track`` with the ``side`` leg moved onto a plate over the hips in ``frames``: the
    ankle up by a thigh length, the shin a fifth of its length (as MediaPipe drew it)."""
    image = track.image.copy()
    hip = image[:, side_index(side, "hip"), :2]
    for j in LEG:
        i = side_index(side, j)
        image[frames, i, :2] = (
            hip[frames]
            + [40.0, -60.0]
            + 0.2 * (image[frames, i, :2] - image[frames, side_index(side, "knee"), :2])
        )
    return replace(track, image=image)


def _tops(track, truth):
    rows = np.zeros(track.n_frames, bool)
    for r in truth:
        rows |= (track.t_s >= r["top_start_s"]) & (track.t_s <= r["top_end_s"])
    return rows


def test_a_leg_on_the_plate_at_every_top_is_replaced_by_the_other_leg():
    track, truth = _clean()
    tops = _tops(track, truth)
    broken = _drawn_on_plate(track, "left", tops)
    fixed, repair = repair_legs(broken, "left")
    assert repair.near[tops].mean() > 0.95 and not repair.near[~tops].any()
    assert not repair.far.any()
    knee = side_index("left", "knee")
    # back where the real knee is, give or take the legs' offset and the noise
    err = np.linalg.norm(fixed.image[tops, knee, :2] - track.image[tops, knee, :2], axis=1)
    assert np.median(err) < 10.0


def test_a_leg_drawn_wrong_all_set_long_is_replaced_too():
    """The near leg on the plate in every frame: its own resting place is the plate, so the
    other leg (the longer shin, resting elsewhere) sets the norm."""
    track, _ = _clean()
    every = np.ones(track.n_frames, bool)
    fixed, repair = repair_legs(_drawn_on_plate(track, "left", every), "left")
    assert repair.near.mean() > 0.95
    ankle = side_index("left", "ankle")
    err = np.linalg.norm(fixed.image[:, ankle, :2] - track.image[:, ankle, :2], axis=1)
    assert np.median(err) < 10.0


def test_analysis_counts_and_measures_the_reps_as_without_the_misdrawn_leg():
    track, truth = _clean(n_reps=4)
    broken = _drawn_on_plate(track, "left", _tops(track, truth))
    clean = analyze_track(track, "hip_thrust").session
    before = analyze_track(broken, "hip_thrust")
    # without the repair this track loses its tops (measured: the implausible-frame check
    # drops them and the reps become attempts or vanish)
    assert len(clean.reps) == 4
    s = before.session
    assert len(s.reps) == 4
    for a, b in zip(clean.reps, s.reps, strict=True):
        assert abs(a.peak_angle_deg - b.peak_angle_deg) < 2.0
    assert any("other leg stands in" in w for w in s.warnings)


def test_healthy_legs_are_left_alone():
    for facing in ("left", "right"):
        track, _ = _clean(facing=facing, head_on_left=facing == "left")
        fixed, repair = repair_legs(track, facing)
        assert repair.count == 0 and fixed is track


def _live(track):
    from formcheck.core.rules import load_profile
    from formcheck.live.engine import LiveAnalyzer
    from formcheck.pose.estimator import FramePose

    an = LiveAnalyzer(load_profile("hip_thrust"), track.fps, track.width, track.height)
    for i in range(track.n_frames):
        fp = FramePose(track.image[i], track.world[i], track.visibility[i], track.presence[i])
        an.update(i, fp, 120.0)
    an.finish()
    return an


def test_live_repairs_the_leg_as_the_frames_come_in():
    """Live reads the legs' norms from the set-up and repairs each frame as it arrives: the
    reps counted and measured as offline does with its whole-set repair; healthy legs are
    left alone."""
    track, truth = _clean(n_reps=4, width=640, height=480)
    broken = _drawn_on_plate(track, "left", _tops(track, truth))
    live, offline = _live(broken), analyze_track(broken, "hip_thrust").session
    assert live.legs is not None and live.legs.count > 0.9 * _tops(track, truth).sum()
    assert len(live.reps) == len(offline.reps) == 4
    assert [r.faults for r in live.reps] == [r.faults for r in offline.reps]
    for a, b in zip(live.reps, offline.reps, strict=True):
        assert abs(a.peak_angle_deg - b.peak_angle_deg) < 2.0
    clean = _live(track)
    assert clean.legs is not None and clean.legs.count == 0
