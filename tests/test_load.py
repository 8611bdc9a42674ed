"""A weight on the hips, read from the person mask (formcheck.core.load), and what analysis
does with it."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from formcheck.analysis import analyze_track
from formcheck.core.load import detect_load
from formcheck.core.synthetic import SynthRep, SynthSpec, make_track
from formcheck.core.track import side_index

SCALE = 0.5  # mask pixels per image pixel


def _segment_mask(h, w, a, b, r):
    """Pixels (mask grid) within ``r`` of the segment ``a``-``b`` (mask px)."""
    yy, xx = np.mgrid[0:h, 0:w]
    p = np.stack([xx, yy], -1).astype(float)
    ab = b - a
    t = np.clip(((p - a) @ ab) / max(ab @ ab, 1e-9), 0, 1)
    return np.linalg.norm(p - (a + t[..., None] * ab), axis=-1) <= r


def _with_masks(track, disc_radius_px=0.0, lift_px=0.0, slab=False):
    """The track with person masks: the near-side trunk and thigh as thick segments, plus a
    disc (a plate seen side-on) of ``disc_radius_px`` (image px) centred ``lift_px`` above
    the hip, moving with it, or (``slab``) a flat block over the hips (a plate lying on the
    lap, seen edge on)."""
    h, w = int(track.height * SCALE), int(track.width * SCALE)
    masks = np.zeros((track.n_frames, h, w), bool)
    side = "left"
    for i in range(track.n_frames):
        sh, hp, kn, an = (
            track.image[i, side_index(side, j), :2] * SCALE
            for j in ("shoulder", "hip", "knee", "ankle")
        )
        m = _segment_mask(h, w, sh, hp, 22 * SCALE) | _segment_mask(h, w, hp, kn, 18 * SCALE)
        m |= _segment_mask(h, w, kn, an, 12 * SCALE)
        if disc_radius_px:
            c = hp + np.array([0.0, -lift_px]) * SCALE
            yy, xx = np.mgrid[0:h, 0:w]
            m |= np.hypot(xx - c[0], yy - c[1]) <= disc_radius_px * SCALE
        if slab:
            u = (kn - sh) / np.linalg.norm(kn - sh)
            top = hp + np.array([0.0, -60.0]) * SCALE
            m |= _segment_mask(h, w, top - 70 * SCALE * u, top + 70 * SCALE * u, 14 * SCALE)
            m |= _segment_mask(h, w, hp, top, 14 * SCALE)
        masks[i] = m
    return replace(track, masks=masks, mask_scale=SCALE)


@pytest.fixture(scope="module")
def tracks():
    spec = SynthSpec(reps=[SynthRep(), SynthRep()], width=640, height=480, lead_in_s=1.0)
    track, _ = make_track(spec)
    track = replace(
        track,
        image=track.image[::2],
        world=track.world[::2],
        visibility=track.visibility[::2],
        presence=track.presence[::2],
        t_s=track.t_s[::2],
        fps=track.fps / 2,
    )
    return (
        _with_masks(track),
        _with_masks(track, disc_radius_px=95, lift_px=25),
        _with_masks(track, slab=True),
    )


def _detect(track):
    from formcheck.core.geometry import estimate_geometry

    xy = track.image[..., :2].astype(float)
    geom = estimate_geometry(track, xy)
    return detect_load(xy, track.masks, track.mask_scale, geom, np.arange(track.n_frames)), xy


def test_a_body_alone_is_not_a_load(tracks):
    body, *_ = tracks
    est, _ = _detect(body)
    assert est.kind == "none" and not est.loaded and est.rise < 0.13
    assert np.isnan(est.centre_px).all()


def test_a_plate_on_the_hips_is_a_load_and_its_path_is_followed(tracks):
    _, loaded, _ = tracks
    est, xy = _detect(loaded)
    assert est.loaded and est.confidence > 0.9 and est.rise > 0.2
    true = xy[:, side_index("left", "hip")] + np.array([0.0, -25.0])
    ok = np.isfinite(est.centre_px).all(axis=1)
    assert ok.mean() > 0.9
    # the path moves with the plate: up and down with the hips (the offset of the estimate
    # from the plate's centre is what is left: within the plate, 95 px here)
    dy_est, dy_true = est.centre_px[ok, 1], true[ok, 1]
    assert np.corrcoef(dy_est, dy_true)[0, 1] > 0.95
    offset = np.median(est.centre_px[ok] - true[ok], axis=0)
    assert np.linalg.norm(offset) < 95
    wobble = np.linalg.norm(est.centre_px[ok] - true[ok] - offset, axis=1)
    assert np.median(wobble) < 8, np.median(wobble)  # pixels


def test_analysis_with_a_load_drops_the_silhouette_terms_and_says_so(tracks):
    body, loaded, _ = tracks
    plain = analyze_track(body, "hip_thrust").session
    with_load = analyze_track(loaded, "hip_thrust").session
    assert plain.load_info.kind == "none" and with_load.load_info.kind != "none"
    assert np.isfinite(plain.calibration.midline_bias_deg)
    assert np.isnan(with_load.calibration.midline_bias_deg)  # not the body's silhouette
    assert any("weight on the hips" in w for w in with_load.warnings)
    assert all(r.lumbar.silhouette_deg is None for r in with_load.reps)
    assert len(with_load.load_info.centre_px) == loaded.n_frames
    d = with_load.to_dict()
    assert d["load"]["kind"] != "none" and "centre_px" not in plain.to_dict()["load"]


def test_a_round_plate_is_a_barbell_and_its_centre_is_the_path(tracks):
    """A disc standing out of the body's outline: its rim is fitted (core.plate), the set is
    named a barbell, and the path is the disc's centre to a pixel or two (the raised part's
    centre alone was tens of pixels off), with the plate's radius."""
    _, loaded, _ = tracks
    a = analyze_track(loaded, "hip_thrust")
    load = a.session.load_info
    assert load.kind == "barbell" and load.radius_px == pytest.approx(95, abs=2)
    assert load.angle_follows == "bar"
    true = a.xy[:, side_index("left", "hip")] + np.array([0.0, -25.0])
    found = np.array([c if c is not None else [np.nan, np.nan] for c in load.centre_px], float)
    err = np.linalg.norm(found - true, axis=1)
    assert np.isfinite(err).mean() > 0.9 and np.nanmedian(err) < 3.0, np.nanmedian(err)


def test_a_weight_with_no_round_rim_stays_a_weight(tracks):
    """A flat block on the lap (a plate lying on it, seen edge on) is a weight, not a barbell:
    no rim to fit, the path stays the raised part's centre."""
    *_, slab = tracks
    load = analyze_track(slab, "hip_thrust").session.load_info
    assert load.kind == "weight" and load.radius_px is None


def _live(track):
    from formcheck.core.rules import load_profile
    from formcheck.live.engine import LiveAnalyzer
    from formcheck.pose.estimator import FramePose

    an = LiveAnalyzer(
        load_profile("hip_thrust"), track.fps, track.width, track.height, mask_scale=SCALE
    )
    for i in range(track.n_frames):
        fp = FramePose(
            track.image[i], track.world[i], track.visibility[i], track.presence[i], track.masks[i]
        )
        an.update(i, fp, 120.0)
    an.finish()
    return an


def test_live_reads_the_load_too_and_judges_as_offline(tracks):
    """Live reads the weight from the masks seen so far (at the first top), drops the
    silhouette terms as offline does, and its verdicts equal the offline ones."""
    body, loaded, _ = tracks
    plain, heavy = _live(body), _live(loaded)
    assert not plain.loaded and heavy.loaded
    nan = float("nan")
    assert heavy.bias == pytest.approx(heavy.bias_model.predict(heavy.yaw, nan, nan))
    assert plain.bias != pytest.approx(plain.bias_model.predict(plain.yaw, nan, nan))
    offline = analyze_track(loaded, "hip_thrust").session
    assert [r.faults for r in heavy.reps] == [r.faults for r in offline.reps]
    assert len(heavy.reps) == len(offline.reps) == 2
    assert all(r.lumbar.silhouette_deg is None for r in heavy.reps)
    assert not any(c.rule == "lumbar_arch" for c in heavy.cues)


def test_under_a_barbell_the_angle_moves_with_the_bar_not_the_wandering_hip():
    """core.corrected.follow_bar: the hip landmark under a plate wanders (here ±12 deg of
    noise and a slow drift), the bar's path is clean. The angle read through the bar follows
    the true curve's shape (a sag rep stays lower than the others) and keeps the landmarks'
    level at the tops, with the noise gone."""
    from formcheck.core.corrected import follow_bar

    rng = np.random.default_rng(7)
    t = np.arange(0, 30, 1 / 30)
    tops = [180.0, 180.0, 160.0]  # the third rep sags
    true = np.full(t.size, 110.0)
    for k, top in enumerate(tops):
        on = (t > 2 + 9 * k) & (t < 8 + 9 * k)
        true[on] = top
    true = np.convolve(true, np.ones(15) / 15, mode="same")
    # a shoulder and a knee 200 px from the hip each; the hip e px above their line
    a = 200.0
    e = a * np.sin(np.radians((true - 180.0) / 2))  # a = b: each side turns half the angle
    sh, kn = np.array([100.0, 300.0]), np.array([500.0, 300.0])
    hip = np.stack([np.full(t.size, 300.0), 300.0 - e], axis=1)
    xy = np.zeros((t.size, 33, 2))
    for j, p in (("shoulder", sh), ("knee", kn), ("hip", hip)):
        xy[:, side_index("left", j)] = p
    noisy = true + 5.0 + rng.normal(0, 12, t.size) + 4 * np.sin(t / 3)
    bar = hip + np.array([0.0, -40.0]) + rng.normal(0, 1.0, hip.shape)
    geom = replace(_plain_geometry(), side="left", up=np.array([0.0, -1.0]))
    out = follow_bar(noisy, xy, bar, geom)
    top = true > 175
    # level: the landmarks' median at the tops; shape: the bar's
    assert np.median(out[top]) == pytest.approx(np.median(noisy[top]), abs=1.0)
    assert np.std((out - true)[top]) < 1.0 < np.std((noisy - true)[top]) / 5
    sag = (t > 22) & (t < 24)
    assert np.median(out[sag]) == pytest.approx(160.0 + 5.0, abs=2.5)
    # without a bar nothing changes
    assert np.array_equal(follow_bar(noisy, xy, np.full_like(bar, np.nan), geom), noisy)
    # with the level given (under a barbell: the set's typical top taken as straight) the
    # tops sit there whatever the landmarks said, the sag rep 20 deg under them; frames whose
    # landmarks were dropped still follow the bar, and frames without a bar move with the rest
    gap = (t > 12) & (t < 13)
    holed, lost = noisy.copy(), bar.copy()
    holed[gap] = np.nan
    lost[(t > 28)] = np.nan
    out = follow_bar(holed, xy, lost, geom, level_deg=180.0)
    assert np.median(out[top & (t < 20)]) == pytest.approx(180.0, abs=1.0)
    assert np.median(out[sag]) == pytest.approx(160.0, abs=2.5)
    assert np.isfinite(out[gap]).all() and np.abs(out - true)[gap].max() < 3.0
    moved = out[t > 28] - holed[t > 28]
    assert np.ptp(moved) < 1e-6  # one shift for all: the one that took the tops to 180
    assert moved[0] == pytest.approx(180.0 - np.median(holed[top & np.isfinite(holed)]), abs=1)


def _plain_geometry():
    from formcheck.core.geometry import estimate_geometry
    from formcheck.core.synthetic import SynthSpec, make_track

    track, _ = make_track(SynthSpec(reps=[]))
    return estimate_geometry(track, track.image[..., :2].astype(float))


def test_a_rim_fit_that_strays_for_a_moment_is_dropped_not_followed():
    """core.load.drop_leaps: a plate rising at a normal speed is kept frame by frame; a fit
    that leaps onto the body's outline for 0.3 s mid-rise (a spike no plate makes) is
    dropped; a plate found somewhere else for good (after a long gap) is followed there."""
    from formcheck.core.load import drop_leaps

    t = np.arange(0, 4, 1 / 30)
    path = np.stack([np.full(t.size, 300.0), 200.0 - 80.0 * np.clip(t - 1.0, 0, 1)], axis=1)
    spiked = path.copy()
    spiked[(t > 1.4) & (t < 1.7)] += [-75.0, 115.0]
    out = drop_leaps(spiked, t, radius_px=100.0)
    bad = (t > 1.4) & (t < 1.7)
    assert np.isnan(out[bad]).all()
    assert np.array_equal(out[~bad], path[~bad])  # the real rise is kept whole
    moved = path.copy()
    moved[t > 2.5] += [150.0, 0.0]
    moved[(t > 2.0) & (t <= 2.5)] = np.nan  # not seen for half a second, then elsewhere
    kept = drop_leaps(moved, t, radius_px=100.0)
    assert np.array_equal(np.isnan(kept), np.isnan(moved))


def test_signal_to_noise_tells_a_followed_lift_from_lost_joints():
    """core.signals.signal_to_noise: three reps read from visible joints (0.5 deg of jitter)
    score far above LOST_SNR; the same reps through a hip the model guesses frame by frame
    (10 deg of jitter around a third of the movement) far below it."""
    from formcheck.core.corrected import LOST_SNR, landmarks_lost
    from formcheck.core.signals import signal_to_noise

    rng = np.random.default_rng(3)
    t = np.arange(0, 30, 1 / 30)
    lift = 110.0 + 70.0 * (np.sin(2 * np.pi * t / 8.0) > 0.2)
    lift = np.convolve(np.pad(lift, 10, mode="edge"), np.ones(20) / 20, mode="same")[10:-10]
    seen = lift + rng.normal(0, 0.5, t.size)
    lost = 140.0 + 0.3 * (lift - 110.0) + rng.normal(0, 10.0, t.size)
    assert signal_to_noise(seen, t, 30.0) > 1.3 * LOST_SNR
    assert signal_to_noise(lost, t, 30.0) < LOST_SNR / 2
    assert not landmarks_lost(seen, t, 30.0) and landmarks_lost(lost, t, 30.0)
    assert np.isnan(signal_to_noise(np.full(t.size, np.nan), t, 30.0))


def test_with_the_hip_lost_behind_a_weight_reps_follow_the_weight_unjudged_at_the_top(tracks):
    """A weight with no rim to fit (the slab) whose hip landmarks the model has lost (here:
    jumping 40 px at random every frame): the reps are counted from the weight's rise, the
    result says so, and the top's angle, which the landmarks cannot give, is not judged."""
    *_, slab = tracks
    rng = np.random.default_rng(5)
    image = slab.image.copy()
    for side in ("left", "right"):
        image[:, side_index(side, "hip"), :2] += rng.normal(0, 40.0, (slab.n_frames, 2))
    lost = replace(slab, image=image)
    s = analyze_track(lost, "hip_thrust").session
    assert s.load_info.kind == "weight"
    assert len(s.reps) == 2 and all(r.counted_by == "rise" for r in s.reps)
    assert any("lost the hip" in w for w in s.warnings)
    assert not any(f in r.faults for r in s.reps for f in ("sag", "hyperextension"))
    assert s.load_info.angle_follows == "outline"
    d = json.loads(s.to_json())
    assert d["load"]["angle_follows"] == "outline"
    jsonschema = pytest.importorskip("jsonschema")
    from formcheck.core.session import schema

    jsonschema.validate(d, schema())
    # the report's rep card says the top was not measured instead of showing a number
    from formcheck.sinks.rep_rows import rep_measures

    assert rep_measures(s.reps[0], s)[0]["value"] == "not measured"
    # the same weight with the hip seen: read from the landmarks, as before
    seen = analyze_track(slab, "hip_thrust").session
    assert all(r.counted_by == "peak" for r in seen.reps)
    assert seen.load_info.angle_follows is None
    assert not any("lost the hip" in w for w in seen.warnings)
