"""Both cores on one video (formcheck.pose.segments): the frames split across processes and
the segments' tracks stitched into the track one process would make."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from formcheck.core.masks import MaskStack
from formcheck.core.synthetic import SynthRep, SynthSpec, make_track
from formcheck.core.track import PoseTrack
from formcheck.pose.segments import MIN_SPLIT_S, auto_workers, plan, stitch
from formcheck.pose.video import iter_frames, probe_video
from media import plain_video

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "samples" / "ht_faults_right.mp4"


def test_plan_covers_every_frame_once_the_last_open_ended():
    assert plan(100, 2) == [(0, 50), (50, None)]
    assert plan(101, 3) == [(0, 34), (34, 67), (67, None)]
    assert plan(1, 2) == [(0, None)]
    assert plan(0, 2) == [(0, None)]


def test_auto_splits_long_videos_on_several_cores_only():
    class Info:
        duration_s = MIN_SPLIT_S

    assert auto_workers(Info, cpus=2) == 2
    assert auto_workers(Info, cpus=1) == 1
    Info.duration_s = MIN_SPLIT_S - 1
    assert auto_workers(Info, cpus=8) == 1


def _segment(track: PoseTrack, warm: int, stop: int | None) -> PoseTrack:
    """What a segment's process returns: rows [0, stop), empty before ``warm``."""
    n = track.n_frames if stop is None else stop
    img = track.image[:n].copy()
    img[:warm] = np.nan
    vis = track.visibility[:n].copy()
    vis[:warm] = 0
    masks = MaskStack(track.masks.hw)
    for i in range(n):
        masks.append(None if i < warm else track.masks[i])
    return PoseTrack(
        image=img,
        world=track.world[:n],
        visibility=vis,
        presence=track.presence[:n],
        t_s=track.t_s[:n],
        width=track.width,
        height=track.height,
        fps=track.fps,
        masks=masks,
        mask_scale=track.mask_scale,
        meta=dict(track.meta),
        circles=None if track.circles is None else track.circles[:n],
    )


def test_stitch_gives_back_the_whole_track():
    track, _ = make_track(SynthSpec(reps=[SynthRep()] * 2, width=320, height=240))
    rng = np.random.default_rng(1)
    masks = rng.random((track.n_frames, 24, 32)) > 0.7
    circles = rng.random((track.n_frames, 6, 3)).astype(np.float32)
    track = replace(track, masks=MaskStack.from_array(masks), circles=circles)
    n = track.n_frames
    cuts = plan(n, 3)
    parts = [_segment(track, max(0, s - 10), e) for s, e in cuts]
    out = stitch(parts, [s for s, _ in cuts])
    assert out.n_frames == n and out.meta["segments"] == 3
    np.testing.assert_array_equal(out.image, track.image)
    np.testing.assert_array_equal(out.visibility, track.visibility)
    np.testing.assert_array_equal(out.t_s, track.t_s)
    np.testing.assert_array_equal(out.masks[:], masks)
    np.testing.assert_array_equal(out.circles, circles)
    # a video shorter than its declared count: a segment with nothing past its start is left out
    short = stitch([parts[0], _segment(track, 0, cuts[0][1])], [0, cuts[0][1]])
    assert short.n_frames == cuts[0][1] and short.meta["segments"] == 1


def test_iter_frames_skips_and_stops(tmp_path):
    vid = plain_video(tmp_path / "v.mp4", frames=20)
    info = probe_video(vid)
    items = list(iter_frames(vid, info, skip_before=5, stop=12))
    assert [i for i, _, _ in items] == list(range(12))
    assert all(f is None for i, _, f in items if i < 5)
    assert all(f is not None for i, _, f in items if i >= 5)
    whole = list(iter_frames(vid, info))
    assert [t for _, t, _ in items] == [t for _, t, _ in whole[:12]]  # the container's times


@pytest.mark.slow
@pytest.mark.skipif(not SAMPLE.exists(), reason="sample clip not rendered")
def test_two_processes_give_the_same_verdicts_as_one(tmp_path):
    """The CLI (``python -m``: the child process must not re-run the command) with the video
    split in two, against one process: same reps and faults, peak angles within 1.5 deg."""
    from formcheck.analysis import analyze_video

    cmd = [sys.executable, "-m", "formcheck", "analyze", str(SAMPLE), "--out", str(tmp_path)]
    p = subprocess.run([*cmd, "--no-video", "--workers", "2", "-q"], capture_output=True)
    assert p.returncode == 0, p.stderr.decode()[-1500:]
    split = json.loads((tmp_path / f"{SAMPLE.stem}.json").read_text())
    one = analyze_video(SAMPLE, exercise="auto", workers=1).session
    assert split["rep_count"] == one.rep_count
    assert [sorted(r["faults"]) for r in split["reps"]] == [sorted(r.faults) for r in one.reps]
    peaks = [abs(r["peak_angle_deg"] - o.peak_angle_deg) for r, o in zip(split["reps"], one.reps)]
    assert np.median(peaks) <= 0.5 and max(peaks) <= 1.5, peaks
    track = np.load(tmp_path / f"{SAMPLE.stem}.track.npz", allow_pickle=False)
    assert len(track["t_s"]) == probe_video(SAMPLE).frame_count


def test_bad_workers_value_is_one_line(tmp_path, capsys):
    from formcheck.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["analyze", str(SAMPLE), "--out", str(tmp_path), "--workers", "many"])
    assert exc.value.code == 2
    assert "neither 'auto' nor a number" in capsys.readouterr().err


@pytest.mark.slow
def test_a_child_that_cannot_start_or_dies_is_redone_here(tmp_path, monkeypatch):
    """No process to be had (or one killed): the segment runs in this process instead; the
    track is the one a single process makes."""
    import multiprocessing as mp

    from formcheck.pose import segments
    from formcheck.pose.estimator import PoseEstimator, PoseOptions, track_from_frames

    vid = plain_video(tmp_path / "v.mp4", frames=48, noise=True)
    info = probe_video(vid)
    with PoseEstimator("full", PoseOptions(masks=False)) as est:
        one = track_from_frames(est, iter_frames(vid, info), info)
        est.reset()
        both = segments.parallel_track(est, vid, info, workers=2)  # a real child
        real = mp.get_context

        class NoStart:
            def __init__(self, ctx):
                self.ctx = ctx

            def Pipe(self, duplex):  # noqa: N802 - multiprocessing's name
                return self.ctx.Pipe(duplex=duplex)

            def Process(self, **kw):  # noqa: N802
                p = self.ctx.Process(**kw)
                p.start = lambda: (_ for _ in ()).throw(OSError("no processes"))
                return p

        monkeypatch.setattr(segments.mp, "get_context", lambda kind: NoStart(real(kind)))
        est.reset()
        alone = segments.parallel_track(est, vid, info, workers=2)
    for t in (both, alone):
        assert t.n_frames == one.n_frames == 48
        np.testing.assert_array_equal(t.t_s, one.t_s)
    assert both.meta["segments"] == alone.meta["segments"] == 2
