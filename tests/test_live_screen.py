"""The live window on a real (virtual) 1920×1080 screen, as a lifter on the bench sees it.

Starts Xvfb, runs ``formcheck live`` on a sample clip as its camera, and measures the window
(``xwininfo``) and screenshots (ffmpeg's ``x11grab``, the imageio-ffmpeg binary): the window
fills the screen, the rep counter and a cue banner are at least 50 px tall. Needs the ``xvfb``
and ``x11-utils`` Debian packages (``.ci/run`` installs them); without them it is skipped and
says why. With ``FORMCHECK_DOCS_SHOTS=1`` it also writes the screenshot to
``docs/img/live.png``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from formcheck.sinks.draw import BANNER_BAD, Layout

ROOT = Path(__file__).resolve().parents[1]
CLIP = ROOT / "samples" / "ht_faults_right.mp4"
SCREEN = (1920, 1080)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("Xvfb") is None or shutil.which("xwininfo") is None,
        reason="needs Xvfb and xwininfo (apt install xvfb x11-utils)",
    ),
    pytest.mark.skipif(not CLIP.exists(), reason="sample clip not rendered"),
]


@pytest.fixture
def display():
    """A fresh Xvfb server (no window manager), its display name (e.g. ``:5``)."""
    r, w = os.pipe()
    proc = subprocess.Popen(
        [
            "Xvfb",
            "-displayfd",
            str(w),
            "-screen",
            "0",
            f"{SCREEN[0]}x{SCREEN[1]}x24",
            "-nolisten",
            "tcp",
        ],
        pass_fds=(w,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(w)
    with os.fdopen(r) as f:
        number = f.readline().strip()
    assert number, "Xvfb did not start"
    yield f":{number}"
    proc.terminate()
    proc.wait(10)


def _screenshot(display: str) -> np.ndarray | None:
    """The whole screen as BGR, or None."""
    import imageio_ffmpeg

    cmd = [
        imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-f", "x11grab",
        "-video_size", f"{SCREEN[0]}x{SCREEN[1]}", "-i", display,
        "-frames:v", "1", "-f", "image2pipe", "-vcodec", "png", "-",
    ]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, timeout=30).stdout
    if not out:
        return None
    return cv2.imdecode(np.frombuffer(out, np.uint8), cv2.IMREAD_COLOR)


def _window_size(display: str) -> tuple[int, int] | None:
    env = {**os.environ, "DISPLAY": display}
    out = subprocess.run(
        ["xwininfo", "-name", "formcheck live"], capture_output=True, text=True, env=env
    ).stdout
    w = re.search(r"Width:\s+(\d+)", out)
    h = re.search(r"Height:\s+(\d+)", out)
    return (int(w.group(1)), int(h.group(1))) if w and h else None


def _white_rows(region: np.ndarray) -> int:
    """Height (px) of the white text in ``region``: the span of rows holding white pixels."""
    rows = np.flatnonzero((region.min(axis=2) >= 235).sum(axis=1) >= 2)
    return int(rows[-1] - rows[0] + 1) if rows.size else 0


def _banner_text_height(shot: np.ndarray) -> int:
    """Height (px) of the white text on the red cue banner in the lower part of ``shot``."""
    lower = shot[shot.shape[0] // 2 :]
    red = np.all(np.abs(lower.astype(int) - np.array(BANNER_BAD)) <= 12, axis=2)
    rows = np.flatnonzero(red.sum(axis=1) >= 60)
    cols = np.flatnonzero(red.sum(axis=0) >= 10)
    if rows.size < 10 or cols.size < 60:
        return 0
    return _white_rows(lower[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1])


def test_live_window_fills_a_1920x1080_screen_with_large_text(display, tmp_path):
    env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb"}
    cmd = [
        sys.executable, "-m", "formcheck", "live", "--camera", str(CLIP), "--duration", "28",
        "--no-audio", "--no-video", "--out", str(tmp_path),
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    size, counter_px, cue_px, shots = None, 0, 0, []
    lay = Layout(*SCREEN)
    try:
        t_end = time.monotonic() + 60
        while time.monotonic() < t_end and proc.poll() is None:
            time.sleep(1.0)
            size = _window_size(display) or size
            if size is None:
                continue
            shot = _screenshot(display)
            if shot is None:
                continue
            # the rep counter: the digit's box at the top left (the "reps" label is beside it)
            box = shot[: lay.margin + 2 * lay.counter_px, : lay.margin + lay.counter_px]
            counter_px = max(counter_px, _white_rows(box))
            h = _banner_text_height(shot)
            if h > cue_px:
                cue_px = h
                shots.append(shot)
            if counter_px and cue_px:
                break
    finally:
        if proc.poll() is None:
            proc.terminate()
        _, err = proc.communicate(timeout=60)
    if shots:
        cv2.imwrite(str(tmp_path / "live_screen.png"), shots[-1])
        if os.environ.get("FORMCHECK_DOCS_SHOTS"):  # regenerate docs/img/live.png (1280 wide)
            small = cv2.resize(shots[-1], (1280, 720), interpolation=cv2.INTER_AREA)
            cv2.imwrite(str(ROOT / "docs" / "img" / "live.png"), small)
    print(f"window {size}, counter text {counter_px} px, cue text {cue_px} px")
    assert size is not None, f"no live window appeared: {err.decode()[-800:]}"
    assert size[0] >= 1280 and size == SCREEN, size
    assert counter_px >= 50, counter_px
    assert cue_px >= 50, cue_px
