"""Reps count only inside a hip-thrust or bridge set-up (formcheck.core.presence): footage of
people not exercising gives no reps and says so (issue 18, item 1)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from formcheck.analysis import analyze_track
from formcheck.core.geometry import estimate_geometry
from formcheck.core.presence import MIN_SETUP_S, NO_SETUP_NOTE, set_up
from formcheck.core.synthetic import SynthRep, SynthSpec, make_track
from formcheck.core.track import PoseTrack, side_index

DATA = Path(__file__).resolve().parent / "data"


def _set(n=3):
    return make_track(SynthSpec(reps=[SynthRep() for _ in range(n)], noise_px=1.0))


def _setup(track):
    xy = track.image[..., :2].astype(float)
    return set_up(xy, estimate_geometry(track), track.t_s)


def _moved(track, fn):
    image = track.image.copy()
    image[..., :2] = fn(image[..., :2].astype(float), track.t_s).astype(np.float32)
    return replace(track, image=image)


def test_a_set_is_a_set_up_from_start_to_end():
    track, _ = _set()
    su = _setup(track)
    assert su.found and su.frames.mean() > 0.98


def test_the_sports2d_demo_walk_and_backflip_count_nothing():
    """Real footage no one here made (Sports2D's demo: a walk and a backflip off a wall): it
    used to give 1 rep with three faults and a weight on the hips."""
    s = analyze_track(PoseTrack.from_npz(DATA / "sports2d_demo.track.npz"), "auto").session
    assert s.person.detected
    assert s.reps == [] and s.attempts == []
    assert NO_SETUP_NOTE in s.warnings
    assert not any("could not tell the exercise" in w for w in s.warnings)  # no set-up: moot
    assert s.load_info.kind == "none"
    assert not any("leg landmark" in w for w in s.warnings)


def test_standing_up_is_not_a_set_up():
    """The same landmarks turned upright (a person standing and bending): no set-up, no reps."""
    track, _ = _set()

    def stand(xy, t):
        c = np.nanmean(xy, axis=(0, 1))
        d = xy - c
        return c + np.stack([-d[..., 1], d[..., 0]], -1)  # turned 90 degrees

    s = analyze_track(_moved(track, stand), "hip_thrust").session
    assert s.reps == [] and NO_SETUP_NOTE in s.warnings


def test_feet_on_the_move_are_not_planted():
    """Both feet sweeping back and forth (walking in place, kicking): not a set-up."""
    track, _ = _set()

    def sweep(xy, t):
        out = xy.copy()
        for side in ("left", "right"):
            for j in ("ankle", "heel", "foot_index", "knee"):
                out[:, side_index(side, j), 0] += 200 * np.sin(2 * np.pi * 1.0 * t)
        return out

    assert not _setup(_moved(track, sweep)).found


def test_legs_out_straight_are_not_a_set_up():
    """Lying with the legs stretched out (knees straight): not a hip thrust or a bridge."""
    track, _ = _set()

    def straighten(xy, t):
        out = xy.copy()
        for side in ("left", "right"):
            hip, knee = out[:, side_index(side, "hip")], out[:, side_index(side, "knee")]
            along = knee - hip
            for j in ("ankle", "heel", "foot_index"):
                out[:, side_index(side, j)] = knee + along  # the shin carries on the thigh
        return out

    assert not _setup(_moved(track, straighten)).found


def test_a_set_up_must_last():
    """The pose held for less than MIN_SETUP_S: no set-up."""
    track, _ = _set(1)
    keep = track.t_s < MIN_SETUP_S * 0.8
    short = replace(
        track,
        image=track.image[keep],
        world=track.world[keep],
        visibility=track.visibility[keep],
        presence=track.presence[keep],
        t_s=track.t_s[keep],
    )
    assert not _setup(short).found


def test_a_glitch_inside_a_set_does_not_end_it():
    """A second of nonsense landmarks mid-set (the model confused by a plate): still one set."""
    track, truth = _set()

    def glitch(xy, t):
        out = xy.copy()
        bad = (t > 7.0) & (t < 8.0)
        out[bad] += np.random.default_rng(0).normal(0, 150, out[bad].shape)
        return out

    su = _setup(_moved(track, glitch))
    assert su.frames.mean() > 0.98


def test_live_counts_nothing_on_the_sports2d_demo_either():
    """The live engine asks the same set-up question, frame by frame (it used to count 2 reps
    here)."""
    from formcheck.core.rules import load_profile
    from formcheck.live.engine import LiveAnalyzer
    from formcheck.pose.estimator import FramePose

    tr = PoseTrack.from_npz(DATA / "sports2d_demo.track.npz")
    prof = load_profile("hip_thrust")
    an = LiveAnalyzer(prof, tr.fps, tr.width, tr.height, mask_scale=tr.mask_scale)
    for i in range(tr.n_frames):
        seen = np.isfinite(tr.image[i, 0, 0])
        masks = tr.masks[i] if tr.masks is not None else None
        args = (tr.image[i], tr.world[i], tr.visibility[i], tr.presence[i], masks)
        an.update(i, FramePose(*args) if seen else None, 120.0)
    an.finish()
    assert an.reps == [] and an.attempts == []


def test_live_counts_a_set_once_it_is_set_up():
    from formcheck.core.rules import load_profile
    from formcheck.live.engine import LiveAnalyzer
    from formcheck.pose.estimator import FramePose

    track, truth = _set(4)
    an = LiveAnalyzer(load_profile("hip_thrust"), track.fps, track.width, track.height)
    for i in range(track.n_frames):
        fp = FramePose(track.image[i], track.world[i], track.visibility[i], track.presence[i])
        an.update(i, fp, 120.0)
    an.finish()
    assert len(an.reps) == len(truth) == 4
