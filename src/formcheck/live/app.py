"""Live sessions: real-time feedback in front of a camera, then the usual result files.

Three threads, none waiting on another's slow work:

- the **reader** (:mod:`formcheck.live.capture`) grabs frames from the camera, file or stream
  (a file is played at its own frame rate, as if it were a camera) and leaves only the newest
  in a one-slot mailbox (a frame the model had no time for is dropped, never queued),
  optionally recording every frame;
- the **model thread** (:class:`_Worker`) takes the newest frame, runs the pose model
  (:class:`formcheck.pose.estimator.PoseEstimator`, Tasks API VIDEO mode, strictly increasing
  timestamps) and the causal analysis (:class:`formcheck.live.engine.LiveAnalyzer`), and fires
  cues and rep announcements (spoken or beeped on the sound's own thread,
  :mod:`formcheck.live.audio`; without a window each rep is also printed, :mod:`.headless`);
- the **main thread** draws the overlay (:mod:`formcheck.live.overlay`), shows the window and
  reads the keyboard (``q``/Esc end the set).

When the set ends, the processed frames are analysed offline and saved
(:mod:`formcheck.live.results`).
"""

from __future__ import annotations

import datetime as _dt
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from formcheck.core.session import Rep
from formcheck.errors import InputError
from formcheck.live.audio import MODES, Beeper, Voice, make_sound
from formcheck.live.capture import DEFAULT_TIMEOUT_S, Frame, FrameReader, Mailbox, SourceInfo
from formcheck.live.capture import open_capture as _open_capture  # replaced in tests
from formcheck.live.engine import Cue, LiveAnalyzer, LiveState
from formcheck.live.headless import rep_line
from formcheck.live.overlay import LiveWindow, RateLine, draw_live
from formcheck.live.overlay import has_display as _has_display  # replaced in tests
from formcheck.live.results import LiveResult, LiveStats, analyse, discard_recording, save_results

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "Frame",
    "LiveResult",
    "LiveStats",
    "Processed",
    "SourceInfo",
    "luminance",
    "run_live",
]

Log = Callable[[str], None]


def _print_err(message: str) -> None:
    print(message, file=sys.stderr)


def luminance(img: np.ndarray) -> float:
    """Mean luminance (0-255) of a BGR frame, from a small thumbnail."""
    small = cv2.resize(img, (64, 48), interpolation=cv2.INTER_AREA)
    return float(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY).mean())


@dataclass
class Processed:
    """A frame with its live analysis."""

    frame: Frame
    state: LiveState
    t_done: float  # perf_counter after the model and analysis, s


class _Worker(threading.Thread):
    """The model thread: newest frame → pose → analysis → cues and reps → result mailbox."""

    def __init__(
        self,
        estimator,
        analyzer: LiveAnalyzer,
        inbox: Mailbox,
        outbox: Mailbox,
        sound: Beeper | Voice,
        on_cue: Callable[[Cue], None],
        t0: float,
        on_rep: Callable[[Rep], None] | None = None,
    ) -> None:
        super().__init__(name="formcheck-live-model", daemon=True)
        self.est, self.an, self.inbox, self.outbox = estimator, analyzer, inbox, outbox
        self.sound, self.on_cue, self.on_rep, self.t0 = sound, on_cue, on_rep, t0
        self.stop_flag = threading.Event()
        self.processed = 0
        self.model_ms: list[float] = []
        self.error: BaseException | None = None
        self.done = False

    def run(self) -> None:
        try:
            while not self.stop_flag.is_set():
                fr = self.inbox.take(0.1)
                if fr is not None:
                    self._process(fr)
                elif self.inbox.closed:
                    break
        except BaseException as exc:  # surfaced by the main thread
            self.error = exc
        finally:
            self.done = True
            self.outbox.close()

    def _process(self, fr: Frame) -> None:
        t = time.perf_counter()
        fp = self.est.process(fr.image, int(round(fr.t_s * 1000.0)))
        self.model_ms.append((time.perf_counter() - t) * 1000.0)
        st = self.an.update(fr.index, fp, luminance(fr.image))
        self.processed += 1
        for c in st.cues:
            c.wall_s = time.perf_counter() - self.t0  # when the cue fires
            self.sound.cue(c)
            self.on_cue(c)
        for r in st.completed:
            self.sound.rep(r)  # the count aloud (voice mode)
            if self.on_rep is not None:
                self.on_rep(r)
        self.sound.frame(st, self.an.hold_target_s)
        self.outbox.put(Processed(fr, st, time.perf_counter()))


class _Session:
    """One live set's threads and window, from the first frame to the last."""

    def __init__(
        self,
        cap: cv2.VideoCapture,
        info: SourceInfo,
        profile,
        model_path,
        record_path: Path | None,
        *,
        log: Log,
        sound: str,
        mirror: bool,
        realtime: bool,
        masks: bool,
        display: bool,
        fullscreen: bool = True,
        debug: bool = False,
    ) -> None:
        from formcheck.pose.estimator import PoseEstimator, PoseOptions, mask_scale_for

        self.info, self.log = info, log
        self.sound = make_sound(sound, log)
        self.inbox, self.outbox = Mailbox(), Mailbox()
        self.reader = FrameReader(
            cap, info, self.inbox, realtime=realtime, mirror=mirror, record_path=record_path
        )
        self.window = LiveWindow(fullscreen=fullscreen) if display else None
        auto = profile if isinstance(profile, dict) else None  # --exercise auto: candidates
        self.an = LiveAnalyzer(
            auto["hip_thrust"] if auto else profile,
            info.fps,
            info.width,
            info.height,
            mask_scale=mask_scale_for(info.width, info.height),
            candidates=auto,
        )
        self.stats = LiveStats()
        # the landmarker last: one left unclosed by a failure here deadlocks in its __del__
        self.est = PoseEstimator(model_path, PoseOptions(masks=masks))
        self.worker = _Worker(
            self.est,
            self.an,
            self.inbox,
            self.outbox,
            self.sound,
            self._on_cue,
            time.perf_counter(),
            None if display else self._on_rep,  # no window: a line per rep
        )
        self.debug = debug
        self.rate = RateLine()
        self.t_end = 0.0

    def _on_cue(self, c: Cue) -> None:
        self.log(f"[{c.time_s:6.1f} s] {'!' if c.kind == 'fault' else ' '} {c.text}")

    def _on_rep(self, rep: Rep) -> None:
        self.log(rep_line(rep))

    def run(
        self,
        duration_s: float | None,
        timeout_s: float,
        on_overlay: Callable[[np.ndarray, Processed], None] | None,
    ) -> str | None:
        """Run until the set ends; why it ended in error (a stall, a read error) or None."""
        error = None
        try:
            self._start()
            error = self._loop(duration_s, timeout_s, on_overlay)
        except KeyboardInterrupt:
            self.log("interrupted: saving the set")
        finally:
            self._stop()
        if self.worker.error is not None:
            raise self.worker.error
        for r in self.an.finish():  # a rep still in progress when the set ended
            if self.worker.on_rep is not None:
                self.worker.on_rep(r)
        self._count()
        return error

    def _start(self) -> None:
        self.reader.start()
        self.worker.t0 = self.reader.t0  # cue wall times count from the first frame request
        self.worker.start()
        if self.window is not None:
            self.window.open()

    def _loop(self, duration_s, timeout_s, on_overlay) -> str | None:
        while True:
            p = self.outbox.take(0.02 if self.window is not None else 0.1)
            now = time.perf_counter()
            if p is not None:
                self._show(p, on_overlay)
            if self.window is not None and self.window.wants_to_end():
                return None
            if self.worker.done and p is None:
                return None
            if duration_s is not None and now - self.reader.t0 >= duration_s:
                return None
            if self.reader.error:
                return self.reader.error
            stalled = self.reader.stalled(now, timeout_s)
            if stalled:
                return stalled

    def _show(self, p: Processed, on_overlay) -> None:
        lat = self.stats.latency_ms
        stats_text = self.rate.update(p.t_done, lat[-1] if lat else 0.0)
        size = self.window.canvas_size() if self.window is not None else None
        img = draw_live(p.frame.image, p.state, self.an, stats_text if self.debug else None, size)
        lat.append((time.perf_counter() - p.frame.t_cap) * 1000.0)
        if self.window is not None:
            self.window.show(img)
        if on_overlay is not None:
            on_overlay(img, p)

    def _stop(self) -> None:
        self.t_end = time.perf_counter()
        self.worker.stop_flag.set()
        self.inbox.close()
        self.worker.join(timeout=10.0)
        self.reader.stop()
        self.est.close()
        self.sound.close()
        if self.window is not None:
            self.window.close()

    def _count(self) -> None:
        st = self.stats
        st.frames_read = self.reader.count
        st.frames_processed = self.worker.processed
        st.frames_dropped = self.inbox.dropped
        st.duration_s = self.t_end - self.reader.t0
        st.model_ms = self.worker.model_ms


def _default_stem(info: SourceInfo) -> str:
    """``<file stem>.live`` for a file, ``live-YYYYmmdd-HHMMSS`` otherwise."""
    if info.kind == "file":
        return f"{Path(info.path).stem}.live"
    return f"live-{_dt.datetime.now().strftime('%Y%m%d-%H%M%S')}"


def _record_path(
    info: SourceInfo, stem: str, out_dir, record_dir, write_video: bool
) -> tuple[Path | None, bool]:
    """Where to record the raw frames, and whether the recording is kept.

    Kept in ``record_dir`` when given; otherwise a camera or stream is recorded into
    ``out_dir`` only for the annotated video (a file is re-read instead)."""
    if record_dir is not None:
        Path(record_dir).mkdir(parents=True, exist_ok=True)
        return Path(record_dir) / f"{stem}.raw.mp4", True
    if out_dir is not None and write_video and info.kind != "file":
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        return Path(out_dir) / f"{stem}.raw.tmp.mp4", False
    return None, False


def _check_outputs(out_dir, record_dir) -> None:
    """OutputError (one line) for an output folder that cannot be written or is full."""
    from formcheck.fsutil import MIN_FREE_BYTES, check_free_space, writable_dir

    for folder, what in ((out_dir, "--out"), (record_dir, "--record")):
        if folder is not None:
            check_free_space(writable_dir(folder, what), MIN_FREE_BYTES, what)


def run_live(
    camera: str = "0",
    *,
    exercise: str = "auto",
    model: str = "full",
    config=None,
    out_dir: str | os.PathLike | None = "formcheck-live",
    record_dir: str | os.PathLike | None = None,
    display: bool = True,
    mirror: bool = False,
    sound: str = "voice",
    duration_s: float | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    realtime: bool = True,
    stem: str | None = None,
    write_video: bool = True,
    log: Log | None = None,
    on_overlay: Callable[[np.ndarray, Processed], None] | None = None,
    masks: bool = True,
    audio: bool | None = None,
    fullscreen: bool = True,
    debug: bool = False,
) -> LiveResult:
    """Run a live session on ``camera`` (device index, video file or stream URL).

    Ends on ``q``/Esc (with ``display``), after ``duration_s`` s, at the end of a file, or
    when frames stop arriving for ``timeout_s`` s (InputError after saving). With ``out_dir``,
    the session's result files are written there. ``on_overlay(frame_bgr, processed)`` is
    called with every drawn overlay (used for screenshots and benchmarks). Notes and cues go
    to ``log`` (default: a line on stderr); without a window, so does a line per rep.
    ``sound`` is ``"voice"`` (spoken cues and rep counts), ``"beeps"`` or ``"off"``
    (:mod:`formcheck.live.audio`); ``audio=False``, the former switch, still means ``"off"``.
    The window opens full screen (``fullscreen=False``: a 1280×720 window); ``debug`` adds
    the processing rate and latency to the overlay.
    """
    from formcheck.core.rules import EXERCISES, load_profile
    from formcheck.pose.models import resolve_model

    log = log or _print_err
    if audio is not None:
        sound = sound if audio else "off"
    if sound not in MODES:
        raise ValueError(f"sound must be one of {', '.join(MODES)}, not {sound!r}")
    # bad config / model fail before the camera; "auto": the set-up chooses (LiveAnalyzer)
    profile = (
        {ex: load_profile(ex, config) for ex in EXERCISES}
        if exercise == "auto"
        else load_profile(exercise, config)
    )
    model_path = resolve_model(model)
    _check_outputs(out_dir, record_dir)  # and so does a folder that cannot be written
    cap, info = _open_capture(camera)
    stem = stem or _default_stem(info)
    record_path, keep_record = _record_path(info, stem, out_dir, record_dir, write_video)
    if display and not _has_display():
        log("note: no display found; running without a window (end with Ctrl-C or --duration)")
        display = False
    session = _Session(
        cap,
        info,
        profile,
        model_path,
        record_path,
        log=log,
        sound=sound,
        mirror=mirror,
        realtime=realtime,
        masks=masks,
        display=display,
        fullscreen=fullscreen,
        debug=debug,
    )
    error = session.run(duration_s, timeout_s, on_overlay)
    an = session.an
    result = LiveResult(
        None,
        list(an.reps),
        list(an.attempts),
        list(an.cues),
        session.stats,
        {},
        Path(out_dir) if out_dir is not None else None,
        stem,
        error,
    )
    if an.n_frames == 0:
        discard_recording(record_path, keep_record)
        raise InputError(error or f"no frames were read from {info.name}")
    result.analysis = analyse(an, info, model_path, session.stats)
    if out_dir is not None:
        result.files = save_results(result, an, info, record_path, keep_record, write_video, log)
    if error:
        where = f"; the set so far is saved in {out_dir}/" if out_dir is not None else ""
        raise InputError(f"{error}{where}")
    return result
