"""Generate the spoken clips of ``formcheck live`` (``src/formcheck/live/voice/*.wav``).

Run it after changing the phrase index (:data:`formcheck.live.voice.PHRASES`)::

    apt-get install -y espeak-ng             # the text-to-speech engine (build time only)
    .venv/bin/python scripts/make_voice.py   # rewrites src/formcheck/live/voice/*.wav

and commit the WAV files: ``formcheck live`` only plays them (no network, no TTS engine at run
time). For every phrase it runs ``espeak-ng -v en-us -s 165 -z`` (fixed voice and speed, in
words per minute; espeak writes 22,050 Hz), resamples to 16 kHz (scipy ``resample_poly``),
trims the silence before and after (below -40 dB of the clip's peak, keeping 20 ms before and
40 ms after), fades the ends (5 ms), normalises the peak to -1 dBFS and writes a mono 16-bit
WAV. WAV files in the folder that are no longer in the index are removed. The clips are
deterministic for one espeak-ng version (1.51 made the committed ones).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from formcheck.live.voice import DIR, PHRASES, RATE  # noqa: E402

VOICE, SPEED = "en-us", 165  # espeak-ng voice and words per minute
ESPEAK_RATE = 22050  # what espeak-ng writes (Hz)
FLOOR_DB = -40.0  # silence: below this, relative to the clip's peak (dB)
PAD_S = (0.02, 0.04)  # kept before the first / after the last sound (s)
FADE_S = 0.005  # fade in and out (s)
PEAK = 10 ** (-1.0 / 20)  # normalised peak (-1 dBFS)


def speak(text: str, tmp: Path) -> np.ndarray:
    """espeak-ng's rendering of ``text``: float samples in [-1, 1] at ESPEAK_RATE."""
    out = tmp / "say.wav"
    subprocess.run(
        ["espeak-ng", "-v", VOICE, "-s", str(SPEED), "-z", "-w", str(out), text], check=True
    )
    with wave.open(str(out), "rb") as w:
        if w.getnchannels() != 1 or w.getsampwidth() != 2:
            raise SystemExit(f"espeak-ng wrote an unexpected WAV for {text!r}")
        rate = w.getframerate()
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64) / 32768
    if rate != ESPEAK_RATE:
        raise SystemExit(f"espeak-ng wrote {rate} Hz, expected {ESPEAK_RATE}")
    return x


def shape(x: np.ndarray, rate: int) -> np.ndarray:
    """Resample ``x`` (at ``rate`` Hz) to RATE, trim silence, fade the ends, normalise."""
    y = resample_poly(x, RATE, rate)  # 16000/22050 = 320/441, reduced by resample_poly
    win = int(0.01 * RATE)  # 10 ms envelope
    env = np.convolve(np.abs(y), np.ones(win) / win, mode="same")
    loud = np.flatnonzero(env > env.max() * 10 ** (FLOOR_DB / 20))
    a = max(0, loud[0] - int(PAD_S[0] * RATE))
    b = min(len(y), loud[-1] + 1 + int(PAD_S[1] * RATE))
    y = y[a:b].copy()
    n = int(FADE_S * RATE)
    ramp = np.linspace(0.0, 1.0, n)
    y[:n] *= ramp
    y[-n:] *= ramp[::-1]
    return y * (PEAK / np.abs(y).max())


def write_wav(path: Path, y: np.ndarray) -> None:
    """Mono 16-bit RATE WAV."""
    pcm = np.clip(np.round(y * 32767), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm.tobytes())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=DIR, help="folder for the WAV files")
    args = ap.parse_args()
    if shutil.which("espeak-ng") is None:
        raise SystemExit("espeak-ng not found (apt-get install -y espeak-ng)")
    files = {ph.file: ph.text for ph in PHRASES.values()}
    args.out.mkdir(parents=True, exist_ok=True)
    total = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name, text in sorted(files.items()):
            y = shape(speak(text, Path(tmp)), ESPEAK_RATE)
            write_wav(args.out / name, y)
            size = (args.out / name).stat().st_size
            total += size
            print(f"{name:18s} {len(y) / RATE:4.2f} s {size / 1024:5.1f} KiB  {text!r}")
    for old in sorted(args.out.glob("*.wav")):
        if old.name not in files:
            old.unlink()
            print(f"removed {old.name}")
    print(f"{len(files)} clips, {total / 1024:.0f} KiB in {args.out}")


if __name__ == "__main__":
    main()
