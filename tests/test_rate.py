"""Analysis frame rate: --every / --fps parsing, the step chosen, and the model run that often."""

import numpy as np
import pytest

from formcheck.cli import main
from formcheck.pose.rate import analysis_step, fill_skipped
from formcheck.pose.video import iter_frames, probe_video
from media import plain_video


def run(args, capsys):
    with pytest.raises(SystemExit) as exc:
        main(args)
    out = capsys.readouterr()
    return exc.value.code, out.out, out.err


@pytest.mark.parametrize(
    "fps, every, target, step",
    [
        (30, None, None, 1),  # the default: every frame up to about 30 fps
        (40, None, None, 1),
        (50, None, None, 2),  # faster videos at about 30 fps
        (60, None, None, 2),
        (120, None, None, 4),
        (60, 1, None, 1),  # --every 1: every frame of any video
        (30, 3, None, 3),
        (30, 3, "auto", 3),  # --every wins
        (30, None, "auto", 2),
        (60, None, "auto", 4),
        (50, None, "auto", 3),
        (25, None, "auto", 2),
        (24, None, "auto", 2),
        (20, None, "auto", 1),  # below 24 fps: every frame
        (30, None, 10.0, 3),
        (30, None, 60.0, 1),  # faster than the video: every frame
    ],
)
def test_analysis_step(fps, every, target, step):
    assert analysis_step(fps, every, target) == step


@pytest.mark.parametrize(
    "extra, words",
    [
        (["--every", "0"], "--every"),
        (["--every", "x"], "--every"),
        (["--fps", "0.5"], "--fps"),
        (["--fps", "fast"], "--fps"),
    ],
)
def test_bad_rate_is_one_line_exit_2(extra, words, tmp_path, capsys):
    vid = plain_video(tmp_path / "v.mp4")
    code, _, err = run(["analyze", str(vid), "--out", str(tmp_path / "o"), *extra], capsys)
    assert code == 2
    lines = [ln for ln in err.strip().splitlines() if ln]
    assert len(lines) == 1 and lines[0].startswith("error:") and words in lines[0], err


def test_fill_skipped_interpolates_in_time():
    t = np.array([0.0, 0.1, 0.3, 0.4, 0.5, 0.6])  # uneven times: weights follow them
    x = np.array([0.0, -1, 3.0, -1, 5.0, -1])[:, None]  # model frames 0, 2, 4
    fill_skipped([x], t, 2)
    assert np.allclose(x[:, 0], [0.0, 1.0, 3.0, 4.0, 5.0, 5.0])  # the tail repeats
    y = np.array([0.0, -1, np.nan])[:, None]
    fill_skipped([y], t[:3], 2)
    assert np.isnan(y[1, 0])  # no person on one side: none between


def test_iter_frames_step_skips_pictures_not_times(tmp_path):
    vid = plain_video(tmp_path / "v.mp4", frames=10)
    items = list(iter_frames(vid, probe_video(vid), step=3))
    assert [i for i, _, _ in items] == list(range(10))
    assert [i for i, _, f in items if f is not None] == [0, 3, 6, 9]
    assert np.all(np.diff([t for _, t, _ in items]) > 0)


def test_model_runs_on_every_nth_frame(tmp_path):
    from formcheck.pose.estimator import PoseEstimator, PoseOptions, track_from_frames

    vid = plain_video(tmp_path / "v.mp4", frames=24, noise=True)
    info = probe_video(vid)
    with PoseEstimator("full", PoseOptions(masks=False)) as est:
        calls = []
        real = est.process
        est.process = lambda frame, ts: calls.append(ts) or real(frame, ts)
        track = track_from_frames(est, iter_frames(vid, info, step=4), info, step=4)
    assert len(calls) == 6  # frames 0, 4 … 20
    assert track.n_frames == 24 and track.meta["analysis_step"] == 4


def test_a_60fps_video_runs_the_model_at_30fps_by_default_and_says_so(tmp_path):
    """No --every/--fps: a 60 fps video goes through the model every 2nd frame (the result's
    ``video.analysis_step``); ``step=1`` still runs it on every frame."""
    from formcheck.analysis import analyze_video

    vid = plain_video(tmp_path / "v.mp4", frames=24, noise=True, fps=60)
    a = analyze_video(vid, exercise="hip_thrust", workers=1)
    assert a.session.video.analysis_step == 2 and a.track.n_frames == 24
    assert a.session.to_dict()["video"]["analysis_step"] == 2
    full = analyze_video(vid, exercise="hip_thrust", workers=1, step=1)
    assert full.session.video.analysis_step is None
    assert "analysis_step" not in full.session.to_dict()["video"]


def test_a_big_frame_is_shrunk_for_the_model_and_read_back_in_its_own_pixels():
    """pose.estimator.shrink: a 1080p frame reaches the model at 960 px (the network sees a
    256 px crop either way); landmarks and the mask come back at the frame's own size, where
    the same frame fed whole puts them (within a few pixels)."""
    import cv2

    from formcheck.pose.estimator import MODEL_MAX_SIDE, PoseEstimator, PoseOptions, shrink

    big = np.zeros((1080, 1920, 3), np.uint8)
    assert shrink(big, MODEL_MAX_SIDE).shape == (540, 960, 3)  # by a whole factor
    assert shrink(np.zeros((2160, 3840, 3), np.uint8), MODEL_MAX_SIDE).shape == (720, 1280, 3)
    small = np.zeros((720, 1280, 3), np.uint8)  # 720p and below: whole
    assert shrink(small, MODEL_MAX_SIDE) is small and shrink(big, None) is big
    from pathlib import Path

    video = Path(__file__).resolve().parents[1] / "samples" / "demo_hip_thrust.mp4"
    frames = [f for _, (i, t, f) in zip(range(20), iter_frames(video, probe_video(video)))]
    frames = [cv2.resize(f, (1920, 1080), interpolation=cv2.INTER_CUBIC) for f in frames]
    got = {}
    for side in (None, MODEL_MAX_SIDE):
        with PoseEstimator("full", PoseOptions(max_side=side)) as est:
            got[side] = [est.process(f, 1000 * k // 30) for k, f in enumerate(frames)]
    whole, shrunk = got[None][-1], got[MODEL_MAX_SIDE][-1]
    assert whole is not None and shrunk is not None
    joints = [11, 12, 23, 24, 25, 26, 27, 28]  # shoulders, hips, knees, ankles
    err = np.linalg.norm(whole.image[joints, :2] - shrunk.image[joints, :2], axis=1)
    assert np.median(err) < 8.0, err  # pixels of the 1920 px frame
    assert shrunk.mask is not None and shrunk.mask.shape == whole.mask.shape
