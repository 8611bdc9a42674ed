"""Small media files made on the fly for tests (no person in them)."""

import wave
from pathlib import Path

import cv2
import numpy as np


def plain_video(
    path: Path, frames: int = 12, size=(160, 120), noise: bool = False, fps: float = 24
) -> Path:
    """An MPEG-4 clip of plain-colour (or random-noise) frames at ``fps`` (24)."""
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    rng = np.random.default_rng(0)
    for k in range(frames):
        if noise:
            w.write(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8))
        else:
            w.write(np.full((size[1], size[0], 3), (90 + k, 140, 60), np.uint8))
    w.release()
    return path


def wav_file(path: Path, seconds: float = 0.5) -> Path:
    """A silent mono 8 kHz WAV file (audio only)."""
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x00" * int(8000 * seconds))
    return path
