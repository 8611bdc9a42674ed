"""Rep segmentation: hysteresis, attempts, touch-and-go, gaps, timing, live == offline."""

import numpy as np
import pytest

from formcheck.analysis import analyze_track
from formcheck.core.movement import RepParams
from formcheck.core.reps import RepCounter, segment
from formcheck.core.signals import fill_gaps, lowpass
from formcheck.core.synthetic import EASINGS, SynthRep, SynthSpec, angle_curve, make_track


def _series(spec):
    t, a, _, truth = angle_curve(spec)
    return t, a, np.zeros_like(a), truth


def test_counts_reps_and_attempts():
    spec = SynthSpec(reps=[SynthRep(), SynthRep(peak_deg=140), SynthRep(peak_deg=175)])
    t, a, torso, _ = _series(spec)
    mv = segment(t, a, torso, RepParams(), spec.fps)
    assert [m.is_rep for m in mv] == [True, False, True]
    assert mv[1].peak_angle_deg == pytest.approx(140, abs=0.5)


def test_rep_attempt_boundary_band_decided_by_the_hold():
    # within boundary_band_deg of min_peak_deg the angle cannot tell a rep from an attempt:
    # a held top is a rep (a sag), a rise that falls straight back an attempt; outside the
    # band the peak alone decides, held or not
    spec = SynthSpec(
        reps=[
            SynthRep(peak_deg=147, hold_s=3.0),
            SynthRep(peak_deg=153, hold_s=0.3),
            SynthRep(peak_deg=140, hold_s=3.0),
            SynthRep(peak_deg=160, hold_s=0.3),
            SynthRep(peak_deg=153, hold_s=2.0),
        ]
    )
    t, a, torso, _ = _series(spec)
    band = RepParams(boundary_band_deg=5.0, boundary_hold_s=1.5)
    mv = segment(t, a, torso, band, spec.fps)
    assert [m.is_rep for m in mv] == [True, False, False, True, True]
    assert [m.by_hold for m in mv] == [True, True, False, False, True]
    # band 0: the plain threshold
    assert [m.is_rep for m in segment(t, a, torso, RepParams(), spec.fps)] == [
        False,
        True,
        False,
        True,
        True,
    ]
    # the shipped profiles use the band, and live counting (RepCounter) applies it too
    from formcheck.core.rules import load_profile

    params = load_profile("hip_thrust").reps
    assert params.boundary_band_deg > 0
    rc = RepCounter(params, spec.fps)
    for ti, ai in zip(t.tolist(), a.tolist()):
        rc.update(ti, ai, 0.0)
    rc.finish()
    assert [m.is_rep for m in rc.movements] == [True, False, False, True, True]


def test_noise_around_a_threshold_never_double_counts():
    # the angle hovers around bottom + enter_delta with +-5 deg noise: hysteresis holds
    fps = 30.0
    t = np.arange(600) / fps
    rng = np.random.default_rng(1)
    base = 115 + 15 + rng.uniform(-5, 5, t.size)
    a = np.concatenate([np.full(30, 115.0), base[30:]])
    mv = segment(t, a, np.zeros_like(a), RepParams(), fps)
    assert len(mv) <= 1  # at most one rise; never a stream of reps from noise


def test_lying_still_counts_nothing():
    fps = 30.0
    t = np.arange(300) / fps
    a = 115 + np.random.default_rng(0).normal(0, 1.5, t.size)
    assert segment(t, a, np.zeros_like(a), RepParams(), fps) == []


def test_standing_up_is_not_a_rep():
    spec = SynthSpec(reps=[SynthRep()])
    t, a, torso, _ = _series(spec)
    torso[:] = 85.0  # trunk vertical: standing, not lying on the bench
    assert segment(t, a, torso, RepParams(), spec.fps) == []


def test_touch_and_go_reps_are_split():
    reps = [SynthRep(rest_s=0.0, hold_s=0.3) for _ in range(4)]
    spec = SynthSpec(reps=reps)
    t, a, torso, _ = _series(spec)
    assert sum(m.is_rep for m in segment(t, a, torso, RepParams(), spec.fps)) == 4


def test_phase_timing_matches_truth():
    spec = SynthSpec(
        reps=[SynthRep(hold_s=2.0, lower_s=2.5), SynthRep(hold_s=0.4, lower_s=0.5)], noise_px=0.5
    )
    track, truth = make_track(spec)
    s = analyze_track(track, "hip_thrust").session
    assert s.rep_count == 2
    for rep, tr in zip(s.reps, truth):
        assert rep.hold_s == pytest.approx(tr["band_hold_s"], abs=0.15)
        assert rep.lowering_s == pytest.approx(tr["band_lower_s"], abs=0.2)
        assert rep.top_start_s == pytest.approx(tr["band_top_start_s"], abs=0.15)
        assert rep.start_s == pytest.approx(tr["start_s"], abs=0.2)
        assert rep.end_s == pytest.approx(tr["end_s"], abs=0.2)
    assert s.reps[0].faults == []
    assert set(s.reps[1].faults) == {"short_hold", "fast_lowering"}


def test_hold_spans_landmark_flicker_but_not_a_real_drop():
    # a 2 s hold (2-4 s) whose plateau wobbles +-1 deg under three 0.2 s flickers of +4 deg
    # (a landmark jumping between the legs lifts the top level): the hold spans the plateau
    # (measured before: 0.35 s, a false short_hold)
    fps = 30.0
    t = np.arange(int(9 * fps)) / fps
    up = np.clip((t - 1.0) / 1.0, 0, 1) * np.clip((6.0 - t) / 2.0, 0, 1)
    a = 115.0 + 65.0 * np.sin(0.5 * np.pi * up) ** 2  # rise 1-2 s, hold 2-4 s, lower 4-6 s
    a = a + 1.0 * np.sin(2 * np.pi * 1.5 * t) * (up >= 1)
    for c in (2.3, 2.7, 3.7):
        a = a + 4.0 * np.exp(-0.5 * ((t - c) / 0.08) ** 2)
    (m,) = segment(t, a, np.zeros_like(a), RepParams(), fps)
    assert (m.top_end_f - m.top_start_f) / fps > 1.5
    # the same top with a real 10 deg drop in its middle: the hold stops at the drop
    b = np.where((t > 2.9) & (t < 3.1), 170.0, a)
    (m2,) = segment(t, b, np.zeros_like(b), RepParams(), fps)
    assert (m2.top_end_f - m2.top_start_f) / fps < 1.0


def test_gaps_short_filled_long_kept():
    t = np.arange(100) / 30.0
    x = np.sin(t)[:, None]
    x[10:13] = np.nan  # 0.1 s
    x[40:80] = np.nan  # 1.3 s
    y = fill_gaps(x, t, max_gap_s=0.5)
    assert np.isfinite(y[10:13]).all()
    assert np.isnan(y[40:80]).all()
    assert y[11, 0] == pytest.approx(np.sin(t[11]), abs=1e-3)


def test_lowpass_is_zero_phase():
    fps = 30.0
    t = np.arange(300) / fps
    x = np.sin(2 * np.pi * 0.3 * t)
    y = lowpass(x, fps, 4.0)
    # no lag: the peak stays where it was
    assert abs(np.argmax(y[:100]) - np.argmax(x[:100])) <= 1


def test_gap_mid_rep_still_counts():
    spec = SynthSpec(reps=[SynthRep(), SynthRep()])
    track, _ = make_track(spec)
    img = track.image.copy()
    img[80:88] = np.nan  # a 0.27 s dropout during the first rise
    from dataclasses import replace

    s = analyze_track(replace(track, image=img), "hip_thrust").session
    assert s.rep_count == 2


def test_live_counter_matches_offline_segmentation():
    spec = SynthSpec(reps=[SynthRep(), SynthRep(peak_deg=160), SynthRep(peak_deg=140)])
    t, a, torso, _ = _series(spec)
    rc = RepCounter(RepParams(), spec.fps)
    phases = []
    done = []
    for ti, ai in zip(t, a):
        m = rc.update(ti, ai, 0.0)
        phases.append(rc.phase)
        if m:
            done.append(m)
    last = rc.finish()
    if last:
        done.append(last)
    assert [m.is_rep for m in done] == [True, True, False]
    assert {"bottom", "rise", "top", "lowering"} <= set(phases)


@pytest.mark.parametrize("easing", sorted(EASINGS))
def test_holds_and_lowerings_do_not_depend_on_the_tempo_curve(easing):
    """Rises and lowerings eased otherwise than the generator's cosine (minimum jerk, linear,
    a late drop, an early rush): hold and lowering as labelled clips define them (the top =
    within 3 deg of the peak; the lowering = from leaving it to reaching the bottom) within
    0.15 s at the median and 0.5 s at the 95th percentile (issue 18's bar), every rep found.
    Worst cases (about 0.6 s): a lowering that runs into the bottom at full speed (linear,
    late drop), whose end the ease extension overshoots."""
    rng = np.random.default_rng(7)
    errs = []
    for seed in range(3):
        reps = [
            SynthRep(
                peak_deg=float(rng.uniform(172, 188)),
                rise_s=float(rng.uniform(0.6, 1.5)),
                hold_s=float(rng.uniform(0.4, 3.0)),
                lower_s=float(rng.uniform(0.4, 3.0)),
                rest_s=float(rng.uniform(0.4, 1.0)),
            )
            for _ in range(4)
        ]
        spec = SynthSpec(reps=reps, noise_px=0.7, seed=seed, easing=easing)
        track, truth = make_track(spec)
        s = analyze_track(track, "hip_thrust").session
        assert len(s.reps) == len(truth)
        for r, t in zip(s.reps, truth, strict=True):
            errs += [r.hold_s - t["band_hold_s"], r.lowering_s - t["band_lower_s"]]
    errs = np.abs(errs)
    p95 = np.percentile(errs, 95)
    assert np.median(errs) <= 0.15 and p95 <= 0.5 and errs.max() <= 0.7, (np.median(errs), p95)


def test_under_a_barbell_a_rep_is_a_rise_like_the_sets_others():
    """core.reps.relative_reps: with the angle's level unsure (a whole set reading 35 deg
    low, every top under the 150 deg rep line), the rises that climb as far as most of the
    set's are reps and the short one is an attempt, whatever the line says."""
    from formcheck.core.movement import Movement
    from formcheck.core.reps import relative_reps

    def mv(top, bottom=80.0):
        return Movement(0, 1, 2, 3, 1, top, top, bottom, bottom, is_rep=False)

    out = relative_reps([mv(145.0), mv(146.0), mv(110.0), mv(128.0), mv(144.0)])
    assert [m.is_rep for m in out] == [True, True, False, True, True]
    assert all(m.by_rise for m in out)
    assert relative_reps([]) == []
