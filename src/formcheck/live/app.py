"""``formcheck live``: real-time feedback in front of a camera, then the usual result files.

Three threads, none waiting on another's slow work:

- the **reader** grabs frames from the camera, file or stream (a file is played at its own
  frame rate, as if it were a camera) and leaves only the newest in a one-slot mailbox
  (a frame the model had no time for is dropped, never queued), optionally recording every
  frame;
- the **model thread** takes the newest frame, runs the pose model
  (:class:`formcheck.pose.estimator.PoseEstimator`, Tasks API VIDEO mode, strictly increasing
  timestamps) and the causal analysis (:class:`formcheck.live.engine.LiveAnalyzer`), and fires
  cues (sound runs on its own thread);
- the **main thread** draws the overlay (:func:`formcheck.sinks.annotate.draw_overlay`), shows the
  window and reads the keyboard (``q``/Esc end the set).

When the set ends, every processed frame is laid on the source's uniform frame grid (skipped
frames interpolated) as a :class:`~formcheck.core.track.PoseTrack`, analysed offline with
:func:`formcheck.analysis.analyze_track` and written with
:func:`formcheck.sinks.files.write_outputs`, plus ``<stem>.cues.json``: the saved result is the
offline analysis of exactly what live saw.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import click
import cv2
import numpy as np

from formcheck.errors import FormcheckError, InputError
from formcheck.live.engine import Cue, LiveAnalyzer, LiveState

#: Seconds without a new frame before the source counts as stalled.
DEFAULT_TIMEOUT_S = 5.0
#: Extra grace for the first frame (cameras take a moment to start).
FIRST_FRAME_TIMEOUT_S = 10.0
#: Requested capture size for cameras (the model's cost barely depends on it; decoding does).
CAMERA_SIZE = (640, 480)


# ---------------------------------------------------------------------------------- sources
@dataclass
class Frame:
    index: int  # position on the source's frame grid (every frame read counts)
    t_s: float  # index / fps
    image: np.ndarray  # BGR
    t_cap: float  # time.perf_counter() when the frame was read


@dataclass
class SourceInfo:
    kind: str  # "camera", "file" or "stream"
    name: str  # what the user gave
    fps: float
    width: int
    height: int
    path: str | None = None  # the file, for files


def _open_capture(spec: str) -> tuple[cv2.VideoCapture, SourceInfo]:
    """Open ``spec`` (device index, file or URL); InputError with a one-line reason."""
    s = str(spec).strip()
    if s.isdigit():
        idx = int(s)
        cap = cv2.VideoCapture(idx)
        if not cap.isOpened():
            cap.release()
            raise InputError(f"cannot open camera {idx}: no such camera, or it is in use by "
                             "another program")
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, CAMERA_SIZE[0])
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, CAMERA_SIZE[1])
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        fps = fps if math.isfinite(fps) and 5.0 <= fps <= 240.0 else 30.0
        return cap, SourceInfo("camera", f"camera {idx}", fps,
                               int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
                               int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    if "://" in s:
        cap = cv2.VideoCapture(s, cv2.CAP_FFMPEG)
        if not cap.isOpened():
            cap.release()
            raise InputError(f"cannot open stream {s} (unreachable, or not a video stream)")
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        fps = fps if math.isfinite(fps) and 5.0 <= fps <= 240.0 else 30.0
        return cap, SourceInfo("stream", s, fps, int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
                               int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    from formcheck.pose.video import probe_video
    info = probe_video(s)  # one-line InputError for missing / non-video files
    cap = cv2.VideoCapture(info.path, cv2.CAP_FFMPEG)
    if not cap.isOpened():
        raise InputError(f"{s} cannot be opened as a video")
    cap.set(cv2.CAP_PROP_ORIENTATION_AUTO, 1)
    return cap, SourceInfo("file", s, info.fps, info.width, info.height, info.path)


class Mailbox:
    """A one-slot mailbox: ``put`` replaces an untaken item (counted as dropped)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item = None
        self.dropped = 0
        self.closed = False

    def put(self, item) -> None:
        with self._cond:
            if self._item is not None:
                self.dropped += 1
            self._item = item
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()

    def take(self, timeout: float):
        """The newest item, waiting up to ``timeout`` s; None on timeout or when closed+empty."""
        with self._cond:
            if self._item is None and not self.closed:
                self._cond.wait(timeout)
            item, self._item = self._item, None
            return item


class FrameReader:
    """Reads frames on a thread into a :class:`Mailbox`; records every frame if asked."""

    def __init__(self, cap: cv2.VideoCapture, info: SourceInfo, mailbox: Mailbox, *,
                 realtime: bool = True, mirror: bool = False,
                 record_path: Path | None = None) -> None:
        self.cap, self.info, self.box = cap, info, mailbox
        self.realtime = realtime and info.kind == "file"
        self.mirror = mirror
        self.record_path = record_path
        self.count = 0  # frames read
        self.recorded = 0
        self.eof = False
        self.error: str | None = None
        self.last_frame_at = time.perf_counter()
        self.t0 = time.perf_counter()
        self._stop = threading.Event()
        self._rec_q: deque = deque()
        self._rec_cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="formcheck-live-reader",
                                        daemon=True)
        self._rec_thread = None
        self.rec_dropped = 0

    def start(self) -> None:
        self.t0 = self.last_frame_at = time.perf_counter()
        if self.record_path is not None:
            self._rec_thread = threading.Thread(target=self._record, daemon=True,
                                                name="formcheck-live-recorder")
            self._rec_thread.start()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2.0)
        with self._rec_cond:
            self._rec_q.append(None)
            self._rec_cond.notify_all()
        if self._rec_thread is not None:
            self._rec_thread.join(timeout=30.0)
        try:
            self.cap.release()
        except Exception:  # pragma: no cover - a driver error on release is not the user's
            pass

    def _run(self) -> None:
        fps = self.info.fps
        try:
            while not self._stop.is_set():
                if self.realtime:  # play a file at its own frame rate
                    due = self.t0 + self.count / fps
                    wait = due - time.perf_counter()
                    if wait > 0:
                        time.sleep(wait)
                ok, img = self.cap.read()
                if not ok or img is None:
                    if self.info.kind == "file":
                        self.eof = True
                        break
                    time.sleep(0.005)  # a camera that stopped: the watchdog decides
                    continue
                now = time.perf_counter()
                if self.mirror:
                    img = cv2.flip(img, 1)
                i = self.count
                self.count += 1
                self.last_frame_at = now
                if self.record_path is not None:
                    with self._rec_cond:
                        if len(self._rec_q) < 240:
                            self._rec_q.append((i, img))
                        else:
                            self.rec_dropped += 1
                        self._rec_cond.notify_all()
                self.box.put(Frame(i, i / fps, img, now))
        except Exception as exc:  # pragma: no cover - driver failures
            self.error = f"{self.info.name}: reading frames failed ({exc})"
        finally:
            self.box.close()

    def _record(self) -> None:
        writer = None
        last = -1
        tmp = self.record_path.with_name(self.record_path.stem + ".part" +
                                         self.record_path.suffix)
        try:
            while True:
                with self._rec_cond:
                    while not self._rec_q:
                        self._rec_cond.wait(0.5)
                    item = self._rec_q.popleft()
                if item is None:
                    break
                i, img = item
                if writer is None:
                    h, w = img.shape[:2]
                    writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"),
                                             self.info.fps, (w, h))
                    if not writer.isOpened():
                        self.error = f"cannot write the recording {self.record_path}"
                        return
                while last < i - 1:  # keep the recording on the frame grid
                    writer.write(img)
                    last += 1
                writer.write(img)
                last = i
                self.recorded = last + 1
        finally:
            if writer is not None:
                writer.release()
                os.replace(tmp, self.record_path)


# ---------------------------------------------------------------------------------- audio
class Beeper:
    """Short generated tones through ``sounddevice``, played off the caller's thread.

    Falls back to the terminal bell when stderr is a terminal; with no sound device at all it
    only logs a note.
    """

    RATE = 22050

    def __init__(self, enabled: bool, log=None) -> None:
        self.enabled = enabled
        self._log = log or (lambda m: None)
        self._sd = None
        self._bell = False
        self._last = -1e9
        self._last_kind = ""
        if not enabled:
            return
        try:
            import sounddevice as sd
            sd.query_devices(kind="output")
            self._sd = sd
        except Exception as exc:  # OSError (no PortAudio), PortAudioError (no device), ...
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else \
                type(exc).__name__
            self._bell = sys.stderr.isatty()
            self._log(f"note: no sound device ({reason}); cues are "
                      f"{'shown and rung on the terminal bell' if self._bell else 'visual only'}")

    def _tone(self, kind: str) -> np.ndarray:
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
        if now - self._last < 0.4 and (cue.kind != "fault" or self._last_kind == "fault"):
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


# ---------------------------------------------------------------------------------- loop
def luminance(img: np.ndarray) -> float:
    """Mean luminance (0-255) of a BGR frame, from a small thumbnail."""
    small = cv2.resize(img, (64, 48), interpolation=cv2.INTER_AREA)
    return float(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY).mean())


@dataclass
class Processed:
    frame: Frame
    state: LiveState
    t_done: float  # perf_counter after the model and analysis


@dataclass
class LiveStats:
    frames_read: int = 0
    frames_processed: int = 0
    frames_dropped: int = 0
    duration_s: float = 0.0
    model_ms: list = field(default_factory=list)
    latency_ms: list = field(default_factory=list)  # frame read -> overlay drawn

    @property
    def processed_fps(self) -> float:
        return self.frames_processed / self.duration_s if self.duration_s > 0 else 0.0

    @property
    def dropped_share(self) -> float:
        return self.frames_dropped / self.frames_read if self.frames_read else 0.0

    def to_dict(self) -> dict:
        lat = np.asarray(self.latency_ms, float)
        mod = np.asarray(self.model_ms, float)
        pct = (lambda a, q: round(float(np.percentile(a, q)), 1) if a.size else None)
        return {"frames_read": self.frames_read, "frames_processed": self.frames_processed,
                "frames_dropped": self.frames_dropped,
                "dropped_share": round(self.dropped_share, 4),
                "duration_s": round(self.duration_s, 3),
                "processed_fps": round(self.processed_fps, 2),
                "latency_ms_p50": pct(lat, 50), "latency_ms_p95": pct(lat, 95),
                "model_ms_p50": pct(mod, 50), "model_ms_p95": pct(mod, 95)}


@dataclass
class LiveResult:
    """What a live session produced. ``reps`` are the live (causal) verdicts; ``analysis`` is
    the offline analysis of the saved track (what the result files hold)."""

    analysis: object | None
    reps: list
    attempts: list
    cues: list[Cue]
    stats: LiveStats
    files: dict[str, str]
    out_dir: Path | None
    stem: str
    error: str | None = None


class _Worker(threading.Thread):
    """The model thread: newest frame → pose → analysis → cues → result mailbox."""

    def __init__(self, estimator, analyzer: LiveAnalyzer, inbox: Mailbox, outbox: Mailbox,
                 beeper: Beeper, on_cue, t0: float) -> None:
        super().__init__(name="formcheck-live-model", daemon=True)
        self.est, self.an, self.inbox, self.outbox = estimator, analyzer, inbox, outbox
        self.beeper, self.on_cue, self.t0 = beeper, on_cue, t0
        self.stop_flag = threading.Event()
        self.processed = 0
        self.model_ms: list[float] = []
        self.error: BaseException | None = None
        self.done = False

    def run(self) -> None:
        try:
            while not self.stop_flag.is_set():
                fr = self.inbox.take(0.1)
                if fr is None:
                    if self.inbox.closed:
                        break
                    continue
                t = time.perf_counter()
                fp = self.est.process(fr.image, int(round(fr.t_s * 1000.0)))
                self.model_ms.append((time.perf_counter() - t) * 1000.0)
                st = self.an.update(fr.index, fp, luminance(fr.image))
                self.processed += 1
                for c in st.cues:
                    c.wall_s = time.perf_counter() - self.t0  # when the cue fires
                    self.beeper.cue(c)
                    self.on_cue(c)
                self.outbox.put(Processed(fr, st, time.perf_counter()))
        except BaseException as exc:  # surfaced by the main thread
            self.error = exc
        finally:
            self.done = True
            self.outbox.close()


def _overlay(p: Processed, an: LiveAnalyzer, stats_text: str | None):
    from formcheck.sinks.annotate import OverlayState, draw_overlay
    st = p.state
    img = p.frame.image
    draw_overlay(img, OverlayState(
        xy=st.xy, side=st.side, angle_deg=st.angle_deg, phase=st.phase, rep_count=st.rep_count,
        target=an.target, faults=st.faults, message=st.message, message_bad=st.message_bad,
        hold_s=st.hold_s, hold_target_s=an.hold_target_s, notices=st.notices,
        stats=stats_text))
    return img


def _has_display() -> bool:
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def run_live(camera: str = "0", *, exercise: str = "hip_thrust", model: str = "full",
             config=None, out_dir: str | os.PathLike | None = "formcheck-live",
             record_dir: str | os.PathLike | None = None, display: bool = True,
             mirror: bool = False, audio: bool = True, duration_s: float | None = None,
             timeout_s: float = DEFAULT_TIMEOUT_S, realtime: bool = True,
             stem: str | None = None, write_video: bool = True, log=None,
             on_overlay=None, masks: bool = True) -> LiveResult:
    """Run a live session on ``camera`` (device index, video file or stream URL).

    Ends on ``q``/Esc (with ``display``), after ``duration_s``, at the end of a file, or when
    frames stop arriving for ``timeout_s`` (InputError after saving). With ``out_dir``, the
    session's result files are written there. ``on_overlay(frame_bgr, processed)`` is called
    with every drawn overlay (used for screenshots and benchmarks).
    """
    from formcheck.pose.models import resolve_model
    from formcheck.pose.estimator import PoseEstimator, PoseOptions, mask_scale_for
    from formcheck.core.rules import load_profile

    log = log or (lambda m: click.echo(m, err=True))
    profile = load_profile(exercise, config)  # bad config / model fail before the camera
    model_path = resolve_model(model)
    cap, info = _open_capture(camera)
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    stem = stem or (f"{Path(info.path).stem}.live" if info.kind == "file" else f"live-{stamp}")
    record_path = None
    keep_record = record_dir is not None
    if record_dir is not None:
        Path(record_dir).mkdir(parents=True, exist_ok=True)
        record_path = Path(record_dir) / f"{stem}.raw.mp4"
    elif out_dir is not None and write_video and info.kind != "file":
        Path(out_dir).mkdir(parents=True, exist_ok=True)  # the annotated video needs the frames
        record_path = Path(out_dir) / f"{stem}.raw.tmp.mp4"
    if display and not _has_display():
        log("note: no display found; running without a window (end with Ctrl-C or "
            "--duration)")
        display = False
    beeper = Beeper(audio, log)
    inbox, outbox = Mailbox(), Mailbox()
    reader = FrameReader(cap, info, inbox, realtime=realtime, mirror=mirror,
                         record_path=record_path)
    est = PoseEstimator(model_path, PoseOptions(masks=masks))
    cues: list[Cue] = []

    def on_cue(c: Cue) -> None:
        cues.append(c)
        log(f"[{c.time_s:6.1f} s] {'!' if c.kind == 'fault' else ' '} {c.text}")

    width, height = info.width, info.height
    an = LiveAnalyzer(profile, info.fps, width, height,
                      mask_scale=mask_scale_for(width, height))
    stats = LiveStats()
    error: str | None = None
    win = "formcheck live"
    t0 = time.perf_counter()
    worker = _Worker(est, an, inbox, outbox, beeper, on_cue, t0)
    recent: deque = deque(maxlen=30)
    stats_text = None
    shown = False
    try:
        reader.start()
        worker.t0 = reader.t0  # cue wall times count from the first frame request
        worker.start()
        if display:
            cv2.namedWindow(win, cv2.WINDOW_NORMAL)
        while True:
            p = outbox.take(0.02 if display else 0.1)
            now = time.perf_counter()
            if p is not None:
                recent.append(p.t_done)
                if len(recent) >= 2 and recent[-1] > recent[0]:
                    fps_now = (len(recent) - 1) / (recent[-1] - recent[0])
                    lat = stats.latency_ms[-1] if stats.latency_ms else 0.0
                    stats_text = f"{fps_now:4.1f} fps  {lat:3.0f} ms"
                img = _overlay(p, an, stats_text)
                stats.latency_ms.append((time.perf_counter() - p.frame.t_cap) * 1000.0)
                if display:
                    cv2.imshow(win, img)
                    shown = True
                if on_overlay is not None:
                    on_overlay(img, p)
            if display:
                key = cv2.waitKey(1) & 0xFF
                if key in (ord("q"), ord("Q"), 27):
                    break
                if shown and cv2.getWindowProperty(win, cv2.WND_PROP_VISIBLE) < 1:
                    break  # the window was closed
            if worker.done and p is None:
                break
            if duration_s is not None and now - reader.t0 >= duration_s:
                break
            if reader.error:
                error = reader.error
                break
            waited = now - reader.last_frame_at
            limit = timeout_s if reader.count else max(timeout_s, FIRST_FRAME_TIMEOUT_S)
            if not reader.eof and waited > limit:
                why = ("it may be in use by another program or disconnected"
                       if reader.count == 0 and info.kind == "camera"
                       else "the source stopped sending")
                error = f"no frames from {info.name} for {waited:.0f} s ({why})"
                break
    except KeyboardInterrupt:
        log("interrupted: saving the set")
    finally:
        t_end = time.perf_counter()
        worker.stop_flag.set()
        inbox.close()
        worker.join(timeout=10.0)
        reader.stop()
        est.close()
        if display:
            try:
                cv2.destroyWindow(win)
                cv2.waitKey(1)
            except cv2.error:
                pass
    if worker.error is not None:
        raise worker.error
    an.finish()
    stats.frames_read = reader.count
    stats.frames_processed = worker.processed
    stats.frames_dropped = inbox.dropped
    stats.duration_s = t_end - reader.t0
    stats.model_ms = worker.model_ms
    result = LiveResult(None, list(an.reps), list(an.attempts), list(an.cues), stats, {},
                        Path(out_dir) if out_dir is not None else None, stem, error)
    if an.n_frames == 0:
        if record_path is not None and not keep_record and record_path.exists():
            record_path.unlink()
        if error:
            raise InputError(error)
        raise InputError(f"no frames were read from {info.name}")
    result.analysis = _analyse(an, info, model_path, stats)
    if out_dir is not None:
        result.files = _save(result, an, info, record_path, keep_record, write_video)
    if error:
        where = f"; the set so far is saved in {out_dir}/" if out_dir is not None else ""
        raise InputError(f"{error}{where}")
    return result


def _analyse(an: LiveAnalyzer, info: SourceInfo, model_path, stats: LiveStats):
    from formcheck.pose.models import model_info
    from formcheck.analysis import analyze_track

    mi = model_info(model_path)
    track = an.track(meta=dict(source=info.path or info.name, model=str(model_path),
                               model_sha256=mi.get("sha256"), live=True,
                               source_kind=info.kind, frames_read=stats.frames_read,
                               frames_processed=stats.frames_processed))
    n = track.n_frames
    meta = {"path": info.path or info.name, "name": Path(info.path).name if info.path
            else info.name, "width": info.width, "height": info.height, "fps": info.fps,
            "frames": n, "duration_s": round(n / info.fps, 3)}
    analysis = analyze_track(track, an.profile, video_meta=meta)
    analysis.session.model.update({k: v for k, v in mi.items() if k in ("name", "sha256")})
    return analysis


def write_annotated(analysis, video_path, out_path: Path, n_frames: int) -> Path:
    """The annotated video of the first ``n_frames`` frames of ``video_path``."""
    from formcheck.sinks.annotate import draw_overlay, frame_states
    from formcheck.pose.video import iter_frames, probe_video

    vinfo = probe_video(video_path)
    tmp = out_path.with_name(out_path.stem + ".tmp" + out_path.suffix)
    w, h = analysis.track.width, analysis.track.height
    writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), analysis.track.fps,
                             (w, h))
    if not writer.isOpened():
        raise InputError(f"cannot write video {out_path}")
    state = frame_states(analysis)
    try:
        for i, _t, frame in iter_frames(video_path, vinfo):
            if i >= n_frames:
                break
            if frame.shape[1] != w or frame.shape[0] != h:
                frame = cv2.resize(frame, (w, h))
            writer.write(draw_overlay(frame, state(i)))
    finally:
        writer.release()
    os.replace(tmp, out_path)
    return out_path


def _save(result: LiveResult, an: LiveAnalyzer, info: SourceInfo, record_path: Path | None,
          keep_record: bool, write_video: bool) -> dict[str, str]:
    from formcheck.sinks.files import atomic_write_text, write_outputs

    out = Path(result.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = result.stem
    analysis = result.analysis
    extra: dict[str, str] = {}
    src = record_path if record_path is not None and record_path.exists() else info.path
    if write_video and src is not None:
        try:
            write_annotated(analysis, src, out / f"{stem}.annotated.mp4", an.n_frames)
            extra["annotated_video"] = f"{stem}.annotated.mp4"
        except FormcheckError as exc:
            click.echo(f"warning: no annotated video ({exc})", err=True)
    cues = {"schema": "formcheck.live_cues", "version": 1, "source": info.name,
            "fps": info.fps, "stats": result.stats.to_dict(),
            "live_reps": [r.to_dict() for r in result.reps],
            "cues": [c.to_dict() for c in result.cues]}
    atomic_write_text(out / f"{stem}.cues.json", json.dumps(cues, indent=2))
    extra["cues"] = f"{stem}.cues.json"
    if record_path is not None and keep_record and record_path.exists():
        extra["raw_video"] = os.path.relpath(record_path, out)
    files = write_outputs(analysis, out, video_path=None, write_video=False, stem=stem)
    files.pop("json", None)
    files.update(extra)
    analysis.session.files = files
    atomic_write_text(out / f"{stem}.json", analysis.session.to_json())
    files["json"] = f"{stem}.json"
    if record_path is not None and not keep_record and record_path.exists():
        record_path.unlink()
    return files


# ---------------------------------------------------------------------------------- CLI
from formcheck.cli.options import config_option, exercise_option, model_option  # noqa: E402  (no cycle: lazy)

def _summary(result: LiveResult) -> str:
    s = result.analysis.session
    st = result.stats.to_dict()
    live_faults = {}
    for r in result.reps:
        for f in r.faults:
            live_faults[f] = live_faults.get(f, 0) + 1
    lf = ", ".join(f"{k} x{v}" for k, v in live_faults.items()) or "none"
    lines = [f"live: {len(result.reps)} reps, faults {lf}, {len(result.cues)} cues",
             f"      {st['processed_fps']} fps processed, {st['dropped_share']:.0%} frames "
             f"dropped, latency p50 {st['latency_ms_p50']} ms / p95 {st['latency_ms_p95']} ms"]
    from formcheck.cli.analyze import session_row, summary_table
    lines.append(summary_table([session_row(result.stem, s)]))
    if result.out_dir is not None:
        lines.append(f"results in {result.out_dir}/")
    return "\n".join(lines)


@click.command("live")
@click.option("--camera", default="0", show_default=True, metavar="INDEX|PATH|URL",
              help="Camera device index, a video file (played in real time) or a stream URL.")
@exercise_option
@model_option
@config_option
@click.option("--record", "record_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Also save the raw video here (to re-analyse offline).")
@click.option("--out", "-o", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("formcheck-live"), show_default=True,
              help="Directory for the result files.")
@click.option("--no-display", is_flag=True, help="No window (cues still print and sound).")
@click.option("--mirror", is_flag=True, help="Mirror the image (like a selfie camera).")
@click.option("--audio/--no-audio", default=True, show_default=True, help="Sound the cues.")
@click.option("--duration", type=click.FloatRange(min=0, min_open=True), default=None,
              metavar="S", help="End the set after S seconds.")
@click.option("--timeout", "timeout_s", type=click.FloatRange(min=0.5), default=DEFAULT_TIMEOUT_S,
              show_default=True, metavar="S", help="Give up when no frame arrives for S seconds.")
@click.option("--no-video", is_flag=True, help="Skip the annotated video.")
def command(camera, exercise, model, config, record_dir, out_dir, no_display, mirror, audio,
            duration, timeout_s, no_video):
    """Live feedback from a camera: overlay, cues (text and beeps), then the result files.

    Put the camera side-on, level with the bench, with your whole body in view. Press q or Esc
    to end the set. A video file given to --camera is played in real time, as a camera would be.
    """
    result = run_live(camera, exercise=exercise, model=model, config=config, out_dir=out_dir,
                      record_dir=record_dir, display=not no_display, mirror=mirror, audio=audio,
                      duration_s=duration, timeout_s=timeout_s, write_video=not no_video)
    for w in result.analysis.session.warnings:
        click.echo(f"warning: {result.stem}: {w}", err=True)
    try:  # results also go to the review store when it is available
        from formcheck.review.store import record_session
    except ModuleNotFoundError:
        pass
    else:
        record_session(Path(out_dir), result.analysis.session,
                       Path(out_dir) / result.files["json"])
    click.echo(_summary(result))
