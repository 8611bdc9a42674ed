"""A picture on its side (a phone held sideways, a rotation tag lost in an edit) is found and
analysed upright; ``--rotate`` turns it by hand (issue 18, item 4)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from formcheck.cli import main
from formcheck.core.synthetic import SynthSpec, make_track
from formcheck.errors import InputError
from formcheck.notes import check_turn
from formcheck.pose.orientation import TurnGuess, guess_turn, upright_score
from formcheck.pose.video import with_turn

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def _turned_xy(xy, turn, w, h):
    """Landmark pixels ``(n, 33, 2)`` of a ``w`` x ``h`` picture turned clockwise by ``turn``."""
    x, y = xy[..., 0], xy[..., 1]
    if turn == 90:
        return np.stack([h - y, x], -1)
    if turn == 180:
        return np.stack([w - x, h - y], -1)
    if turn == 270:
        return np.stack([y, w - x], -1)
    return xy


def test_upright_shins_score_high_and_turned_ones_low():
    track, _ = make_track(SynthSpec())
    xy = track.image[::30, :, :2].astype(float)
    w, h = track.width, track.height
    assert upright_score(xy) > 0.9
    for turn in (90, 180, 270):
        assert upright_score(_turned_xy(xy, turn, w, h)) < 0.2
    assert upright_score(np.full((4, 33, 2), np.nan)) == 0.0


class _FakeEstimator:
    """Answers with the synthetic body's landmarks as they look in the frame it is given: the
    frames were stored turned by ``stored``; the turn the caller added is read off a marker
    pixel (top-left in the stored frame), the frame's index off its green channel."""

    def __init__(self, xy, w, h, stored):
        self.xy, self.w, self.h, self.stored = xy, w, h, stored

    def reset(self):
        pass

    def process(self, frame, ts_ms):
        from types import SimpleNamespace

        corners = {0: (0, 0), 90: (0, -1), 180: (-1, -1), 270: (-1, 0)}
        added = next(t for t, (r, c) in corners.items() if frame[r, c, 0] == 255)
        k = int(frame[1, 1, 1])
        xy = _turned_xy(self.xy[k], (self.stored + added) % 360, self.w, self.h)
        return SimpleNamespace(image=np.c_[xy, np.zeros(33)])


def _frames(n):
    out = []
    for k in range(n):
        f = np.zeros((4, 6, 3), np.uint8)
        f[..., 1] = k
        f[0, 0, 0] = 255
        out.append(f)
    return out


@pytest.mark.parametrize("stored", [0, 90, 180, 270])
def test_guess_turn_turns_back_what_was_turned(stored):
    track, _ = make_track(SynthSpec())
    xy = track.image[::30, :, :2].astype(float)[:8]
    est = _FakeEstimator(xy, track.width, track.height, stored)
    guess = guess_turn(_frames(len(xy)), est)
    assert guess.sure and (stored + guess.turn_deg) % 360 == 0
    if stored == 0:
        assert list(guess.scores) == [0]  # upright: one pass only


def test_nobody_is_not_turned():
    class Nobody:
        def reset(self):
            pass

        def process(self, frame, ts):
            return None

    guess = guess_turn(_frames(3), Nobody())
    assert guess == TurnGuess(0, False, {0: 0.0, 90: 0.0, 180: 0.0, 270: 0.0})
    assert guess.lying


def test_with_turn_swaps_the_sides():
    from formcheck.pose.video import VideoInfo

    info = VideoInfo("x.mp4", 640, 360, 30.0, 10, 0)
    assert (with_turn(info, 90).width, with_turn(info, 90).height) == (360, 640)
    assert with_turn(with_turn(info, 90), 270) == info
    with pytest.raises(ValueError):
        with_turn(info, 45)


@pytest.mark.parametrize("bad", ["45", "sideways", "", "-1"])
def test_a_bad_rotate_value_is_a_one_line_error(bad):
    with pytest.raises(InputError, match="--rotate"):
        check_turn(bad)
    assert check_turn("AUTO") == "auto" and check_turn(270) == 270


def test_cli_refuses_a_bad_rotate(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["analyze", "x.mp4", "--out", str(tmp_path), "--rotate", "45"])
    assert exc.value.code == 2 and "--rotate" in capsys.readouterr().err


@pytest.mark.slow
def test_a_sideways_clip_gives_the_reps_and_verdicts_of_the_upright_one(tmp_path):
    ffmpeg = pytest.importorskip("imageio_ffmpeg").get_ffmpeg_exe()
    src = SAMPLES / "ht_faults_right.mp4"
    side = tmp_path / "side.mp4"
    subprocess.run(
        [ffmpeg, "-v", "error", "-y", "-i", str(src), "-vf", "transpose=1", "-an", str(side)],
        check=True,
    )
    for video, args in ((src, []), (side, []), (side, ["--rotate", "270"])):
        out = tmp_path / f"out_{video.stem}_{len(args)}"
        with pytest.raises(SystemExit) as exc:
            main(["analyze", str(video), "--out", str(out), "--no-video", "-q", *args])
        assert exc.value.code == 0
    read = lambda p: json.loads(next(p.glob("*.json")).read_text())  # noqa: E731
    upright = read(tmp_path / "out_ht_faults_right_0")
    auto = read(tmp_path / "out_side_0")
    given = read(tmp_path / "out_side_2")
    assert auto["video"]["turned_deg"] == 270 and auto["video"]["turn_source"] == "auto"
    assert any("on its side" in w for w in auto["warnings"])
    assert given["video"]["turn_source"] == "given"
    assert upright["video"]["turned_deg"] == 0
    for other in (auto, given):
        assert [sorted(r["faults"]) for r in other["reps"]] == [
            sorted(r["faults"]) for r in upright["reps"]
        ]
