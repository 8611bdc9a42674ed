"""Bad input: one clear line on stderr, exit code 2, never a traceback."""

import subprocess
import sys

import numpy as np
import pytest

from formcheck.cli import main
from media import plain_video, wav_file


def run(args, capsys):
    with pytest.raises(SystemExit) as exc:
        main(args)
    out = capsys.readouterr()
    return exc.value.code, out.out, out.err


def tiny_video(path, frames=12):
    return plain_video(path, frames, noise=True)


@pytest.fixture
def bad_files(tmp_path):
    good = tiny_video(tmp_path / "noise.mp4")
    data = good.read_bytes()
    files = {
        "missing": (tmp_path / "nope.mp4", "not found"),
        "zero": (tmp_path / "zero.mp4", "empty"),
        "text": (tmp_path / "notes.mp4", "text file"),
        "audio": (tmp_path / "sound.mp4", "audio"),
        "dir": (tmp_path / "adir.mp4", "directory"),
        "truncated": (tmp_path / "cut.mp4", "video"),
        "garbage": (tmp_path / "garbage.mp4", "video"),
    }
    files["zero"][0].write_bytes(b"")
    files["text"][0].write_text("this is not a video\n" * 20)
    wav_file(files["audio"][0])
    files["dir"][0].mkdir()
    files["truncated"][0].write_bytes(data[: len(data) // 2])
    files["garbage"][0].write_bytes(
        bytes(np.random.default_rng(2).integers(0, 256, 5000, dtype=np.uint8))
    )
    return files


@pytest.mark.parametrize(
    "kind", ["missing", "zero", "text", "audio", "dir", "truncated", "garbage"]
)
def test_bad_video_inputs(kind, bad_files, tmp_path, capsys):
    path, words = bad_files[kind]
    code, out, err = run(["analyze", str(path), "--out", str(tmp_path / "o"), "-q"], capsys)
    assert code == 2
    lines = [ln for ln in err.strip().splitlines() if ln]
    assert len(lines) == 1, err
    assert lines[0].startswith("error:") and words in lines[0]
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "args,words",
    [
        (["analyze", "x.mp4", "--out", "o", "--bogus"], "No such option"),
        (["analyze", "x.mp4", "--out", "o", "--exercise", "squat"], "squat"),
        (["analyze", "x.mp4"], "--out"),
        (["analyze", "--out", "o"], "VIDEO"),
        (["frobnicate"], "No such command"),
    ],
)
def test_usage_errors_are_one_line(args, words, capsys):
    code, out, err = run(args, capsys)
    assert code == 2
    lines = [ln for ln in err.strip().splitlines() if ln]
    assert len(lines) == 1 and lines[0].startswith("error:") and words in lines[0], err


def test_bad_config_and_model(tmp_path, capsys):
    vid = tiny_video(tmp_path / "v.mp4")
    cfg = tmp_path / "c.toml"
    cfg.write_text("[rules.sag]\nmin_peak_deg = 400.0\n")
    code, _, err = run(["analyze", str(vid), "--out", str(tmp_path), "-c", str(cfg)], capsys)
    assert code == 2 and "min_peak_deg" in err and len(err.strip().splitlines()) == 1
    bad_model = tmp_path / "m.task"
    bad_model.write_bytes(b"PK\x03\x04 not really a zip")
    code, _, err = run(["analyze", str(vid), "--out", str(tmp_path), "-m", str(bad_model)], capsys)
    assert code == 2 and err.startswith("error:") and len(err.strip().splitlines()) == 1
    code, _, err = run(["analyze", str(vid), "--out", str(tmp_path), "-m", "gigantic"], capsys)
    assert code == 2 and "gigantic" in err
    code, _, err = run(
        ["analyze", str(vid), "--out", str(tmp_path), "-m", str(tmp_path / "missing.task")], capsys
    )
    assert code == 2 and err.startswith("error:")


def test_no_person_is_a_result_not_an_error(tmp_path, capsys):
    vid = tiny_video(tmp_path / "empty_room.mp4", frames=20)
    code, out, err = run(
        ["analyze", str(vid), "--out", str(tmp_path / "o"), "-q", "--no-video"], capsys
    )
    assert code == 0
    assert "no person" in err
    import json

    d = json.loads((tmp_path / "o" / "empty_room.json").read_text())
    assert d["person"]["detected"] is False and d["rep_count"] == 0
    assert any("no person" in w for w in d["warnings"])


def test_entry_point_subprocess_has_no_traceback(tmp_path):
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "formcheck",
            "analyze",
            str(tmp_path / "x.mp4"),
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 2
    assert p.stderr.strip() == f"error: file not found: {tmp_path / 'x.mp4'}"


def test_frontal_view_warns_in_result_and_cli(tmp_path, capsys):
    from dataclasses import replace

    from formcheck.core.synthetic import SynthRep, SynthSpec, make_track
    from formcheck.core.track import LANDMARK_NAMES

    track, _ = make_track(SynthSpec(reps=[SynthRep()] * 3))
    img = track.image.copy()
    for j, name in enumerate(LANDMARK_NAMES):  # left and right a body-width apart: frontal
        img[:, j, 0] += (
            -80 if name.startswith("left_") else (80 if name.startswith("right_") else 0)
        )
    p = replace(track, image=img, meta={"source": str(tmp_path / "front.mp4")}).save(
        tmp_path / "front.track.npz"
    )
    code, out, err = run(["analyze", "--track", str(p), "--out", str(tmp_path / "o")], capsys)
    assert code == 0
    assert "warning:" in err and "frontal" in err
    import json

    d = json.loads((tmp_path / "o" / "front.json").read_text())
    assert d["camera"]["view"] == "frontal" and "frontal" in d["camera"]["warning"]
