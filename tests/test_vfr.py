"""Variable frame rate: frame times come from the container, and analysis measures holds and
lowerings in those times (issue 18, item 3)."""

from __future__ import annotations

import subprocess
from dataclasses import replace

import numpy as np
import pytest

from formcheck.analysis import analyze_track
from formcheck.core.signals import uneven_times
from formcheck.core.synthetic import SynthRep, SynthSpec, make_track
from formcheck.pose.estimator import frame_times
from formcheck.pose.video import iter_frames
from media import plain_video


def _drop(track, keep):
    """``track`` with only the frames ``keep`` (bool ``(T,)``), at their own times."""
    masks = None if track.masks is None else track.masks.take(np.flatnonzero(keep))
    return replace(
        track,
        image=track.image[keep],
        world=track.world[keep],
        visibility=track.visibility[keep],
        presence=track.presence[keep],
        t_s=track.t_s[keep],
        masks=masks,
    )


def _set(**kw):
    reps = [
        SynthRep(peak_deg=180.0, hold_s=2.5, lower_s=2.5),
        SynthRep(peak_deg=180.0, hold_s=0.6, lower_s=2.5),  # short hold
        SynthRep(peak_deg=180.0, hold_s=2.5, lower_s=0.6),  # fast lowering
    ]
    return make_track(SynthSpec(reps=reps, noise_px=0.5, **kw))


def _dropped_frames(track):
    """A phone's variable frame rate: 1.5 s at the full rate, then 1.5 s at half of it (every
    other frame dropped), and so on."""
    half = (track.t_s // 1.5).astype(int) % 2 == 1
    return ~(half & (np.arange(track.n_frames) % 2 == 1))


def test_dropped_frames_keep_every_verdict_and_time():
    track, _ = _set()
    keep = _dropped_frames(track)
    assert 0.2 < 1 - keep.mean() < 0.3
    even = analyze_track(track, "hip_thrust").session
    vfr = analyze_track(_drop(track, keep), "hip_thrust").session
    assert len(even.reps) == len(vfr.reps) == 3
    for a, b in zip(even.reps, vfr.reps, strict=True):
        assert sorted(a.faults) == sorted(b.faults)
        assert abs(a.hold_s - b.hold_s) < 0.3 and abs(a.lowering_s - b.lowering_s) < 0.3
    assert [sorted(r.faults) for r in vfr.reps] == [[], ["short_hold"], ["fast_lowering"]]
    assert vfr.video.frame_rate_varies is True
    assert any("frame rate varies" in w for w in vfr.warnings)
    assert even.video.frame_rate_varies is None  # not said of an even clip


def test_index_over_fps_would_have_got_it_wrong():
    """The same dropped frames read as index / fps (what formcheck did before): the holds and
    lowerings shrink and a clean lowering is called fast. Guards the test above against
    passing for the wrong reason."""
    track, _ = _set()
    keep = _dropped_frames(track)
    dropped = _drop(track, keep)
    naive = replace(dropped, t_s=np.arange(dropped.n_frames) / dropped.fps)
    s = analyze_track(naive, "hip_thrust").session
    assert [sorted(r.faults) for r in s.reps] != [[], ["short_hold"], ["fast_lowering"]]
    assert s.reps[0].hold_s < 2.5


def test_uneven_times():
    t = np.arange(100) / 30.0
    assert not uneven_times(t)
    assert uneven_times(np.delete(t, [40, 41]))


def test_frame_times_keep_increasing():
    t = frame_times({0: 0.0, 1: 0.04, 2: 0.04, 4: 0.2}, 5, 25.0)
    assert np.all(np.diff(t) > 0)
    assert t[1] == pytest.approx(0.04) and t[2] == pytest.approx(0.08) and t[4] == 0.2


def test_a_variable_frame_rate_file_gives_its_own_timestamps(tmp_path):
    ffmpeg = pytest.importorskip("imageio_ffmpeg").get_ffmpeg_exe()
    src = plain_video(tmp_path / "even.mp4", frames=48)  # 24 fps
    vfr = tmp_path / "vfr.mp4"
    # keep frames 0-9, drop 10-19, keep 20-47: the kept frames keep their times
    subprocess.run(
        [ffmpeg, "-v", "error", "-y", "-i", str(src), "-vf",
         "select='not(between(n\\,10\\,19))'", "-fps_mode", "vfr", str(vfr)],
        check=True,
    )  # fmt: skip
    times = [t for _i, t, _f in iter_frames(vfr)]
    assert len(times) == 38
    expect = np.r_[np.arange(10), np.arange(20, 48)] / 24.0
    assert np.allclose(times, expect, atol=0.002)
