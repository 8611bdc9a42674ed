"""Sound for live cues: short generated tones, played off the caller's thread."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from formcheck.live.engine import Cue


class Beeper:
    """Short generated tones through ``sounddevice``, played off the caller's thread.

    Falls back to the terminal bell when stderr is a terminal; with no sound device at all it
    only logs a note.
    """

    RATE = 22050  # samples per second
    #: Two cues closer than this (s) make one sound (a fault wins over a prompt).
    MIN_GAP_S = 0.4

    def __init__(self, enabled: bool, log: Callable[[str], None] | None = None) -> None:
        self.enabled = enabled
        self._log = log or (lambda m: None)
        self._sd = None
        self._bell = False
        self._last = -1e9
        self._last_kind = ""
        if enabled:
            self._open()

    def _open(self) -> None:
        try:
            import sounddevice as sd

            sd.query_devices(kind="output")
            self._sd = sd
        except Exception as exc:  # OSError (no PortAudio), PortAudioError (no device), ...
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            self._bell = sys.stderr.isatty()
            self._log(
                f"note: no sound device ({reason}); cues are "
                f"{'shown and rung on the terminal bell' if self._bell else 'visual only'}"
            )

    def _tone(self, kind: str) -> np.ndarray:
        """0.12 s sine tone(s): two low beeps for a fault, one high beep otherwise."""
        t = np.arange(int(self.RATE * 0.12)) / self.RATE
        env = np.minimum(1.0, np.minimum(t, t[::-1]) / 0.01)
        if kind == "fault":  # two low beeps
            beep = 0.4 * np.sin(2 * np.pi * 440 * t) * env
            return np.concatenate([beep, np.zeros(int(self.RATE * 0.06)), beep]).astype(np.float32)
        return (0.3 * np.sin(2 * np.pi * 880 * t) * env).astype(np.float32)  # one high beep

    def cue(self, cue: Cue) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        if now - self._last < self.MIN_GAP_S and (
            cue.kind != "fault" or self._last_kind == "fault"
        ):
            return  # two cues at once: one sound (a fault wins over a prompt)
        self._last, self._last_kind = now, cue.kind
        if self._sd is not None:
            tone = self._tone(cue.kind)
            threading.Thread(target=self._play, args=(tone,), daemon=True).start()
        elif self._bell:
            sys.stderr.write("\a")
            sys.stderr.flush()

    def _play(self, tone: np.ndarray) -> None:
        try:
            self._sd.play(tone, self.RATE, blocking=False)
        except Exception as exc:  # pragma: no cover - device vanished
            self._log(f"note: sound failed ({exc}); cues are visual only")
            self._sd = None
