"""Video input: rotation metadata, timestamps, person choice."""

import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

from formcheck.pose.estimator import _choose
from formcheck.pose.video import iter_frames, probe_video

SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "gb_tempo_left.mp4"


@pytest.fixture(scope="module")
def rotated_clip(tmp_path_factory):
    """The sample stored rotated 90 deg clockwise, with metadata telling players to undo it."""
    ffmpeg = pytest.importorskip(
        "imageio_ffmpeg", reason="imageio-ffmpeg (test extra) writes the rotated clip"
    ).get_ffmpeg_exe()
    d = tmp_path_factory.mktemp("rot")
    stored = d / "stored.mp4"
    out = d / "rotated.mp4"
    subprocess.run(
        [
            ffmpeg,
            "-y",
            "-loglevel",
            "error",
            "-i",
            str(SAMPLE),
            "-t",
            "8",
            "-vf",
            "transpose=1",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            str(stored),
        ],
        check=True,
    )
    subprocess.run(
        [
            ffmpeg,
            "-y",
            "-loglevel",
            "error",
            "-display_rotation",
            "90",
            "-i",
            str(stored),
            "-c",
            "copy",
            str(out),
        ],
        check=True,
    )
    return out


def test_rotation_metadata_is_honoured(rotated_clip):
    info = probe_video(rotated_clip)
    orig = probe_video(SAMPLE)
    assert (info.width, info.height) == (orig.width, orig.height)
    assert info.rotation_deg in (90, 270)
    _, _, frame = next(iter_frames(rotated_clip, info))
    cap = cv2.VideoCapture(str(SAMPLE))
    ok, first = cap.read()
    cap.release()
    assert frame.shape == first.shape
    diff = np.abs(frame.astype(int) - first.astype(int)).mean()
    assert diff < 12, f"decoded frame is not upright (mean diff {diff:.1f})"


def test_timestamps_from_index_and_fps():
    info = probe_video(SAMPLE)
    items = [(i, t) for i, t, _ in iter_frames(SAMPLE, info)]
    assert [i for i, _ in items] == list(range(len(items)))
    t = np.array([t for _, t in items])
    assert np.all(np.diff(t) > 0)
    assert t[1] - t[0] == pytest.approx(1 / info.fps)


def test_choose_person_follows_previous_else_largest_central():
    small_corner = np.array([[10.0, 10], [30, 40]])
    big_centre = np.array([[300.0, 200], [500, 400]])
    assert _choose([small_corner, big_centre], 800, 600, None) == 1
    # once following the small person, keep following them
    assert _choose([small_corner, big_centre], 800, 600, np.array([20.0, 25])) == 0
