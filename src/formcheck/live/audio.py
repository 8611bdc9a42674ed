"""Sound for live cues: spoken clips (default), short generated beeps, or nothing.

:func:`make_sound` builds one of the three modes of :data:`MODES`:

- ``"voice"`` (:class:`Voice`): the package's pre-rendered clips (:mod:`formcheck.live.voice`):
  the cue itself ("hips up", "feet flat"), the rep count after each rep ("three"), then "good
  rep" (or "better" when the rep fixed the previous rep's fault), "hold" at the top and "and
  down" once the hold is long enough. One clip at a time, on its own thread, never overlapping;
- ``"beeps"`` (:class:`Beeper`): two low beeps for a fault, one high beep for a prompt; reps
  are not counted aloud;
- ``"off"``: silence (a disabled :class:`Beeper`).

Both play through ``sounddevice`` (an optional dependency, imported when the sound opens, so
tests can put a fake in ``sys.modules``). With no sound device they log a one-line note and
ring the terminal bell for faults when stderr is a terminal, else the cues are visual only.

Units: seconds for times, ages and durations; hertz for sample rates; samples are float32 in
[-1, 1].
"""

from __future__ import annotations

import heapq
import sys
import threading
import time
import wave
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from formcheck.live import voice

if TYPE_CHECKING:
    from formcheck.core.session import Rep
    from formcheck.live.engine import Cue
    from formcheck.live.state import LiveState

Log = Callable[[str], None]

#: The sound modes, default first.
MODES = ("voice", "beeps", "off")

#: Priorities of :class:`Voice`'s queue: a lower number plays first.
FAULT, REP, PROMPT = 0, 1, 2


def _quiet(message: str) -> None:
    pass


def open_device(log: Log, what: str = "shown") -> tuple[Any | None, bool]:
    """``(sounddevice module, False)`` when an output device is there, else ``(None, bell)``
    after a one-line note (``bell``: stderr is a terminal, so faults ring its bell)."""
    try:
        import sounddevice as sd

        sd.query_devices(kind="output")
        return sd, False
    except Exception as exc:  # OSError (no PortAudio), PortAudioError (no device), ...
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        bell = sys.stderr.isatty()
        log(
            f"note: no sound device ({reason}); cues are "
            f"{what + ' and rung on the terminal bell' if bell else 'visual only'}"
        )
        return None, bell


def _ring() -> None:
    sys.stderr.write("\a")
    sys.stderr.flush()


def rep_faults(rep: Rep) -> set[str]:
    """The rule ids of a rep's faults (advisories left out)."""
    return {f.rule for f in rep.findings if f.severity == "fault"} | set(rep.faults)


class Beeper:
    """Short generated tones through ``sounddevice``, played off the caller's thread.

    Falls back to the terminal bell when stderr is a terminal; with no sound device at all it
    only logs a note. Reps are not announced (:meth:`rep` and :meth:`frame` do nothing).
    """

    RATE = 22050  # samples per second
    #: Two cues closer than this (s) make one sound (a fault wins over a prompt).
    MIN_GAP_S = 0.4

    def __init__(self, enabled: bool, log: Log | None = None) -> None:
        self.enabled = enabled
        self._log = log or _quiet
        self._sd = None
        self._bell = False
        self._last = -1e9
        self._last_kind = ""
        if enabled:
            self._sd, self._bell = open_device(self._log)

    def _tone(self, kind: str) -> np.ndarray:
        """0.12 s sine tone(s): two low beeps for a fault, one high beep otherwise."""
        t = np.arange(int(self.RATE * 0.12)) / self.RATE
        env = np.minimum(1.0, np.minimum(t, t[::-1]) / 0.01)
        if kind == "fault":  # two low beeps
            beep = 0.4 * np.sin(2 * np.pi * 440 * t) * env
            return np.concatenate([beep, np.zeros(int(self.RATE * 0.06)), beep]).astype(np.float32)
        return (0.3 * np.sin(2 * np.pi * 880 * t) * env).astype(np.float32)  # one high beep

    def cue(self, cue: Cue) -> None:
        """Sound one cue (a fault: two low beeps; a prompt: one high beep)."""
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
            _ring()

    def rep(self, rep: Rep) -> None:
        """A completed rep: no sound in this mode."""

    def frame(self, st: LiveState, hold_target_s: float) -> None:
        """A processed frame: no sound in this mode."""

    def close(self) -> None:
        """Nothing to stop (each tone plays on its own short thread)."""

    def _play(self, tone: np.ndarray) -> None:
        try:
            self._sd.play(tone, self.RATE, blocking=False)
        except Exception as exc:  # pragma: no cover - device vanished
            self._log(f"note: sound failed ({exc}); cues are visual only")
            self._sd = None


@dataclass(order=True)
class _Item:
    """One queued phrase: ordered by priority, then by arrival."""

    priority: int
    seq: int
    t: float = field(compare=False)  # when it was queued (the voice's clock, s)
    key: str = field(compare=False)


class Voice:
    """Spoken cues and rep counts: one clip at a time, on the voice's own thread.

    :meth:`say` queues a phrase of :data:`formcheck.live.voice.PHRASES` with a priority
    (:data:`FAULT` > :data:`REP` > :data:`PROMPT`). The thread plays the most urgent queued
    phrase (oldest first within a priority) with a blocking ``sounddevice.play``, so clips never
    overlap. A phrase that waited longer than :attr:`STALE_S` when its turn comes is dropped (a
    late cue is worse than none), and a new fault drops the queued phrases of lower priority.

    ``clock`` (s, monotonic) and ``clips`` (key → samples at ``voice.RATE``) can be given for
    tests; by default the package's clips are loaded (OSError / wave.Error when they are
    missing or damaged).
    """

    #: A phrase that waited longer than this (s) is not said.
    STALE_S = 1.5

    def __init__(
        self,
        log: Log | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        clips: dict[str, np.ndarray] | None = None,
    ) -> None:
        self._log = log or _quiet
        self._clock = clock
        self.clips = clips if clips is not None else voice.load_all()
        self._sd, self._bell = open_device(self._log)
        self._queue: list[_Item] = []
        self._cv = threading.Condition()
        self._seq = 0
        self._closed = False
        self._playing = False
        self.played: list[str] = []  # phrase keys, in the order they were played
        self.dropped: list[str] = []  # phrase keys dropped as stale or pre-empted
        self._prev_faults: set[str] = set()
        self._hold_movement: int | None = None  # movement whose "hold" awaits "and down"
        self._thread: threading.Thread | None = None
        if self._sd is not None:
            self._thread = threading.Thread(target=self._run, name="formcheck-voice", daemon=True)
            self._thread.start()

    # ------------------------------------------------------------------ what to say
    def cue(self, cue: Cue) -> None:
        """Say a live cue (a fault: its rule's phrase; the hold prompt: "hold")."""
        fault = cue.kind == "fault"
        if cue.rule == "hold":
            self._hold_movement = cue.movement
        if self._sd is None:
            if fault and self._bell:
                _ring()
            return
        self.say("hold" if cue.rule == "hold" else cue.text, FAULT if fault else PROMPT)

    def rep(self, rep: Rep) -> None:
        """Announce a completed rep: its count, then "good rep" when it has no fault ("better"
        when the previous rep had a fault that this one no longer has)."""
        faults = rep_faults(rep)
        fixed = bool(self._prev_faults - faults)
        self._prev_faults = faults
        self._hold_movement = None
        key = voice.count_key(rep.index)
        if key is not None:
            self.say(key, REP)
        if not faults:
            self.say("better" if fixed else "good rep", REP)

    def frame(self, st: LiveState, hold_target_s: float) -> None:
        """After each processed frame: "and down" once the hold at the top (which the "hold"
        prompt started) reaches ``hold_target_s`` (s); the top left earlier: nothing."""
        if self._hold_movement is None:
            return
        if st.phase in ("lowering", "bottom"):
            self._hold_movement = None
        elif st.hold_s is not None and st.hold_s >= hold_target_s:
            self._hold_movement = None
            self.say("and down", PROMPT)

    def say(self, key: str, priority: int) -> None:
        """Queue phrase ``key`` (unknown keys and a voice without a device: ignored)."""
        if self._sd is None or key not in self.clips:
            return
        with self._cv:
            if self._closed:
                return
            if priority == FAULT:  # a new fault pre-empts what is less urgent
                keep = [it for it in self._queue if it.priority <= FAULT]
                self.dropped += [it.key for it in self._queue if it.priority > FAULT]
                self._queue = keep
                heapq.heapify(self._queue)
            heapq.heappush(self._queue, _Item(priority, self._seq, self._clock(), key))
            self._seq += 1
            self._cv.notify()

    def close(self, timeout_s: float = 0.5) -> None:
        """Drop what is queued and stop the thread (waits up to ``timeout_s`` s for the clip
        being played)."""
        with self._cv:
            self._closed = True
            self._queue.clear()
            self._cv.notify()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def idle(self) -> bool:
        """Nothing queued or playing (for tests)."""
        with self._cv:
            return not self._queue and not self._playing

    # ------------------------------------------------------------------ the voice's thread
    def _next(self) -> _Item | None:
        """The next phrase to play (stale ones dropped), waiting for one; None once closed."""
        with self._cv:
            self._playing = False
            while True:
                while not self._queue and not self._closed:
                    self._cv.wait()
                if self._closed:
                    return None
                item = heapq.heappop(self._queue)
                if self._clock() - item.t > self.STALE_S:
                    self.dropped.append(item.key)
                    continue
                self._playing = True
                return item

    def _run(self) -> None:
        while (item := self._next()) is not None:
            try:
                self._sd.play(self.clips[item.key], voice.RATE, blocking=True)
            except Exception as exc:  # the device vanished: visual only from now on
                self._log(f"note: sound failed ({exc}); cues are visual only")
                with self._cv:
                    self._closed, self._playing = True, False
                    self._queue.clear()
                self._sd = None
                return
            self.played.append(item.key)


def make_sound(mode: str, log: Log | None = None) -> Beeper | Voice:
    """The sound for ``mode`` (one of :data:`MODES`). Voice clips that cannot be loaded fall
    back to beeps, with a note."""
    if mode not in MODES:
        raise ValueError(f"sound mode must be one of {', '.join(MODES)}, not {mode!r}")
    if mode == "voice":
        try:
            return Voice(log)
        except (OSError, EOFError, wave.Error) as exc:  # missing or damaged clips
            (log or _quiet)(f"note: voice clips not loaded ({exc}); cues are beeped")
        return Beeper(True, log)
    return Beeper(mode == "beeps", log)
