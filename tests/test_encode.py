"""The result video writer (formcheck.sinks.encode): H.264 MP4 through imageio-ffmpeg's
ffmpeg, odd sizes padded, frame counts checked, a full disk one error, and the ``mp4v``
fallback when there is no usable ffmpeg."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
from pathlib import Path

import cv2
import numpy as np
import pytest

from formcheck.errors import OutputError
from formcheck.fsutil import TMP_MARK
from formcheck.sinks import encode
from media import plain_video

W, H = 161, 121  # odd on both sides: yuv420p needs even ones
MP4V = ("mp4v", "fmp4")  # OpenCV reads its own MPEG-4 Part 2 back as 'FMP4'


def frames(n: int = 12, size=(W, H), noise: bool = False):
    rng = np.random.default_rng(1)
    for k in range(n):
        if noise:
            yield rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
        else:
            f = np.full((size[1], size[0], 3), (20 * k % 255, 120, 60), np.uint8)
            cv2.circle(f, (size[0] // 2, size[1] // 2), 20 + k, (255, 255, 255), -1)
            yield f


def decoded(path: Path) -> tuple[int, int, int, np.ndarray | None]:
    """(frame count in the container, width, height, first frame) as OpenCV reads them."""
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    try:
        n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        ok, first = cap.read()
    finally:
        cap.release()
    return n, w, h, first if ok else None


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob(f"*{TMP_MARK}*"))


@pytest.fixture()
def no_h264(monkeypatch):
    """Forget earlier warnings so that the fallback's is seen again."""
    monkeypatch.setattr(encode, "_WARNED", set())


def test_odd_sized_frames_make_h264_with_every_frame(tmp_path):
    if encode.h264_encoder()[0] is None:
        pytest.fail(f"no H.264 encoder: {encode.h264_encoder()[1]}")
    ticks: list[int] = []
    out = encode.write_video(tmp_path / "a.annotated.mp4", frames(12), 24.0, (W, H), ticks.append)
    assert encode.fourcc(out) in ("avc1", "h264") and encode.is_h264(out)
    n, w, h, first = decoded(out)
    assert n == 12 and sum(ticks) == 12
    assert (w, h) == (W + 1, H + 1)  # padded by one pixel, not rescaled
    # the picture is where it was: the circle's centre, the padding repeats the edge
    assert first is not None and first[H // 2, W // 2].min() > 200
    assert np.abs(first[:H, W].astype(int) - first[:H, W - 1].astype(int)).max() < 40
    assert out.read_bytes()[4:8] == b"ftyp" and b"moov" in out.read_bytes()[:4096]  # faststart
    assert leftovers(tmp_path) == []


def test_frames_of_another_size_are_fitted_and_fps_kept(tmp_path):
    mixed = [*frames(3, (W, H)), *frames(3, (320, 240))]
    out = encode.write_video(tmp_path / "b.mp4", iter(mixed), 30000 / 1001, (W, H))
    n, w, h, _ = decoded(out)
    assert n == 6 and (w, h) == (W + 1, H + 1)
    cap = cv2.VideoCapture(str(out))
    assert abs(cap.get(cv2.CAP_PROP_FPS) - 29.97) < 0.01
    cap.release()


def test_no_ffmpeg_falls_back_to_mp4v_with_a_warning(tmp_path, monkeypatch, caplog, no_h264):
    def missing():
        raise RuntimeError("No ffmpeg exe could be found")

    monkeypatch.setattr(encode, "ffmpeg_exe", missing)
    with caplog.at_level(logging.WARNING, logger="formcheck.sinks.encode"):
        out = encode.write_video(tmp_path / "c.annotated.mp4", frames(8), 24.0, (W, H))
    assert encode.fourcc(out) in MP4V and not encode.is_h264(out)
    assert decoded(out)[0] == 8
    assert any("mp4v" in r.getMessage() and "no ffmpeg" in r.getMessage() for r in caplog.records)
    assert leftovers(tmp_path) == []


def test_ffmpeg_that_does_not_start_falls_back(tmp_path, monkeypatch, caplog, no_h264):
    fake = tmp_path / "ffmpeg"
    fake.write_bytes(b"\x7fELF not really")  # exists, cannot be executed
    fake.chmod(0o755)
    monkeypatch.setattr(encode, "ffmpeg_exe", lambda: str(fake))
    with caplog.at_level(logging.WARNING, logger="formcheck.sinks.encode"):
        out = encode.write_video(tmp_path / "d.mp4", frames(5), 24.0, (W, H))
    assert encode.fourcc(out) in MP4V and decoded(out)[0] == 5
    assert any("does not run" in r.getMessage() for r in caplog.records)
    # the probe passed but the process cannot be started (e.g. the binary went away)
    monkeypatch.setattr(encode, "ffmpeg_exe", lambda: str(tmp_path / "gone"))
    monkeypatch.setattr(encode, "_x264_problem", lambda exe: None)
    out = encode.write_video(tmp_path / "e.mp4", frames(5), 24.0, (W, H))
    assert encode.fourcc(out) in MP4V and decoded(out)[0] == 5
    assert any("does not start" in r.getMessage() for r in caplog.records)


def test_an_error_while_making_frames_leaves_nothing(tmp_path):
    def broken():
        yield from frames(3)
        raise RuntimeError("decoder broke")

    with pytest.raises(RuntimeError, match="decoder broke"):
        encode.write_video(tmp_path / "f.mp4", broken(), 24.0, (W, H))
    assert not (tmp_path / "f.mp4").exists() and leftovers(tmp_path) == []


def test_ffmpeg_failure_is_one_output_error(tmp_path, monkeypatch):
    """ffmpeg refusing the job (here: an encoder option it rejects) is an OutputError with
    ffmpeg's own reason on one line, and no file."""
    monkeypatch.setattr(encode, "PRESET", "no-such-preset")
    with pytest.raises(OutputError) as exc:
        encode.write_video(tmp_path / "g.mp4", frames(30, noise=True), 24.0, (W, H))
    msg = str(exc.value)
    assert "\n" not in msg and msg.startswith(f"cannot write video {tmp_path / 'g.mp4'}: ffmpeg")
    assert not (tmp_path / "g.mp4").exists() and leftovers(tmp_path) == []


def test_full_disk_is_one_output_error_and_no_file(tmp_path):
    """A real per-file size limit (RLIMIT_FSIZE, inherited by ffmpeg) in a subprocess."""
    code = textwrap.dedent(
        f"""
        import resource, signal, sys
        import numpy as np
        from formcheck.errors import OutputError
        from formcheck.sinks.encode import write_video
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (60_000, 60_000))
        rng = np.random.default_rng(0)
        frames = (rng.integers(0, 255, (120, 160, 3), dtype=np.uint8) for _ in range(60))
        try:
            write_video({str(tmp_path / "full.mp4")!r}, frames, 24.0, (160, 120))
        except OutputError as exc:
            print(exc)
            sys.exit(2)
        """
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.returncode == 2, (p.stdout, p.stderr)
    lines = p.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"cannot write video {tmp_path / 'full.mp4'}")
    assert p.stderr.strip() == ""  # ffmpeg's messages are not printed, they are in the line
    assert not (tmp_path / "full.mp4").exists() and leftovers(tmp_path) == []


def test_live_set_video_uses_the_same_writer(tmp_path):
    """``formcheck live`` writes its annotated video with write_video too: H.264, odd size
    padded, only the frames the set used."""
    from formcheck.analysis import analyze_track
    from formcheck.core.synthetic import SynthRep, SynthSpec, make_track
    from formcheck.live.results import write_annotated

    track, _ = make_track(SynthSpec(reps=[SynthRep()], width=W, height=H, fps=24.0))
    src = plain_video(tmp_path / "rec.mp4", frames=track.n_frames, size=(W, H))
    out = write_annotated(analyze_track(track), src, tmp_path / "rec.annotated.mp4", 40)
    assert encode.is_h264(out)
    n, w, h, _ = decoded(out)
    assert n == 40 and (w, h) == (W + 1, H + 1)
    assert leftovers(tmp_path) == []
