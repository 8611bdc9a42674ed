"""Video input: validation, probing and frame iteration with rotation applied.

Frame times are the container's own (its presentation timestamps, from the first frame), so a
variable-frame-rate phone video keeps its true timing; a timestamp that is missing, does not
advance or jumps more than :data:`MAX_FRAME_GAP_S` is replaced by the previous one plus
``1 / fps``, so times are always strictly
increasing.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from formcheck.errors import InputError, require_file

VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".wmv")

#: A timestamp further than this (s) past the previous frame's is taken as broken.
MAX_FRAME_GAP_S = 2.0

# Leading bytes of common audio-only containers.
_AUDIO_MAGIC = (b"ID3", b"fLaC", b"OggS", b"\xff\xfb", b"\xff\xf3", b"\xff\xf2")


@dataclass(frozen=True)
class VideoInfo:
    """What a video file holds. Sizes in pixels after rotation; ``rotation_deg`` as stored;
    ``turn_deg``: formcheck's own clockwise turn on top of that (``--rotate``, or found by
    :mod:`formcheck.pose.orientation`), already in ``width`` and ``height``."""

    path: str
    width: int
    height: int
    fps: float
    frame_count: int
    rotation_deg: int
    fps_assumed: bool = False
    missing_bytes: int = 0  # bytes the container's boxes declare beyond the end of the file
    turn_deg: int = 0

    @property
    def duration_s(self) -> float:
        return self.frame_count / self.fps if self.fps > 0 else 0.0

    def to_dict(self) -> dict:
        d = asdict(self)
        d["duration_s"] = round(self.duration_s, 3)
        return d


_CV_TURNS = {
    90: cv2.ROTATE_90_CLOCKWISE,
    180: cv2.ROTATE_180,
    270: cv2.ROTATE_90_COUNTERCLOCKWISE,
}
TURNS = (0, 90, 180, 270)


def turn_frame(frame: np.ndarray, turn_deg: int) -> np.ndarray:
    """``frame`` turned clockwise by ``turn_deg`` (0, 90, 180 or 270)."""
    return frame if turn_deg % 360 == 0 else cv2.rotate(frame, _CV_TURNS[turn_deg % 360])


def with_turn(info: VideoInfo, turn_deg: int) -> VideoInfo:
    """``info`` for the video turned clockwise by ``turn_deg`` more (sizes swapped at 90/270)."""
    turn = (info.turn_deg + turn_deg) % 360
    if turn not in TURNS:
        raise ValueError(f"a turn is 0, 90, 180 or 270 degrees, not {turn_deg}")
    w, h = (info.height, info.width) if turn_deg % 180 else (info.width, info.height)
    return replace(info, width=w, height=h, turn_deg=turn)


def check_file(path: str | os.PathLike) -> Path:
    """Raise :class:`InputError` unless ``path`` is an existing, non-empty regular file."""
    return require_file(path, "file", "a video file")


def _sniff_not_video(p: Path) -> str | None:
    """A reason why the file is clearly not a video, from its first bytes, or None."""
    with p.open("rb") as f:
        head = f.read(4096)
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return "is an audio file (WAV) with no video stream"
    if head.startswith(_AUDIO_MAGIC):
        return "is an audio file with no video stream"
    if head[4:8] == b"ftyp" and head[8:12] in (b"M4A ", b"M4B ", b"M4P "):
        return "is an audio file (M4A) with no video stream"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and all(c.isprintable() or c.isspace() for c in text):
        return "is a text file, not a video"
    return None


def _open(p: Path) -> cv2.VideoCapture:
    cap = cv2.VideoCapture(str(p), cv2.CAP_FFMPEG)
    if not cap.isOpened():
        cap.release()
        reason = (
            _sniff_not_video(p) or "cannot be opened as a video (corrupt, truncated or not a video)"
        )
        raise InputError(f"{p} {reason}")
    cap.set(cv2.CAP_PROP_ORIENTATION_AUTO, 1)
    return cap


def probe_video(path: str | os.PathLike) -> VideoInfo:
    """Validate ``path`` and read its size, frame rate, frame count and rotation.

    Decodes the first frame, so a file that opens but holds no decodable video fails here.
    Raises :class:`InputError` with a one-line reason for anything that is not a readable video.
    """
    p = check_file(path)
    reason = _sniff_not_video(p)
    if reason:
        raise InputError(f"{p} {reason}")
    cap = _open(p)
    try:
        ok, frame = cap.read()
        if not ok or frame is None:
            raise InputError(
                f"{p} has no decodable video frames (audio-only, truncated or corrupt)"
            )
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        rotation = int(cap.get(cv2.CAP_PROP_ORIENTATION_META) or 0)
    finally:
        cap.release()
    assumed = not (np.isfinite(fps) and 1.0 <= fps <= 1000.0)
    if assumed:
        fps = 30.0
    h, w = frame.shape[:2]
    return VideoInfo(
        path=str(p),
        width=int(w),
        height=int(h),
        fps=fps,
        frame_count=max(count, 1),
        rotation_deg=rotation % 360,
        fps_assumed=assumed,
        missing_bytes=missing_bytes(p),
    )


#: ISO base media (MP4, MOV, M4V, 3GP) top-level box types that may start a file.
_BMFF_FIRST = (b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot", b"uuid")

#: Least share of the declared frames that must be readable for a result (else InputError).
MIN_READ_SHARE = 0.5


def missing_bytes(path: str | os.PathLike) -> int:
    """How many bytes an ISO base media file (MP4, MOV) lacks: its top-level boxes declare
    their sizes, so a file cut short (an interrupted upload or copy) ends inside its last
    box. 0 for a whole file and for other containers."""
    p = Path(path)
    try:
        size = p.stat().st_size
        with p.open("rb") as f:
            off = 0
            while off + 8 <= size:
                f.seek(off)
                head = f.read(16)
                box, kind = int.from_bytes(head[:4], "big"), head[4:8]
                if off == 0 and kind not in _BMFF_FIRST:
                    return 0  # not ISO base media
                if box == 1 and len(head) == 16:  # 64-bit size
                    box = int.from_bytes(head[8:16], "big")
                elif box == 0:  # runs to the end of the file
                    return 0
                if box < 8:
                    return 0  # not a box: leave it to the decoder
                if off + box > size:
                    return off + box - size
                off += box
    except OSError:
        return 0
    return 0


def read_shortfall(info: VideoInfo, frames_read: int) -> str | None:
    """Whether decoding stopped short of the frames ``info`` declares.

    None when the video was read whole (with a tolerance of 1 % of the frames, at least 2,
    for containers whose frame count is an estimate; none when the file is visibly cut, see
    :func:`missing_bytes`). Otherwise a one-line description of what was read. Raises
    :class:`InputError` when less than :data:`MIN_READ_SHARE` of the frames could be read."""
    declared = info.frame_count
    tolerance = 0 if info.missing_bytes else max(2, declared // 100)
    if declared - frames_read <= tolerance:
        return None
    what = "truncated" if info.missing_bytes else "truncated or damaged"
    share = frames_read / declared
    text = (
        f"only {frames_read} of {declared} frames ({share:.0%}; "
        f"{frames_read / info.fps:.1f} of {declared / info.fps:.1f} s) could be read"
    )
    if share < MIN_READ_SHARE:
        raise InputError(f"{info.path} is {what}: {text}, too little to analyse")
    return f"the video is {what}: {text}; the result covers only that part"


def iter_frames(
    path: str | os.PathLike,
    info: VideoInfo | None = None,
    prefetch: int = 8,
    step: int = 1,
    skip_before: int = 0,
    stop: int | None = None,
) -> Iterator[tuple[int, float, np.ndarray | None]]:
    """Yield ``(index, t_s, frame_bgr)`` for every decodable frame, the container's rotation
    and ``info.turn_deg`` applied. With ``step`` > 1 only every ``step``-th frame (index 0,
    step, 2 step …) is converted to a picture; the others are decoded but yielded with
    ``frame_bgr`` None (their times still read), which saves the colour conversion and copy.

    Decoding runs on a background thread (OpenCV releases the GIL), ``prefetch`` frames ahead,
    so it overlaps with whatever the consumer does (e.g. the pose model).
    ``skip_before``: frames before this index are decoded only (yielded with None, their
    times kept); ``stop``: no frame from this index on is read (one segment of a video,
    :mod:`formcheck.pose.segments`).
    ``t_s``: the frame's container timestamp in seconds from the first frame (see the module
    docstring). Stops at the first frame that cannot be decoded.
    """
    info = info or probe_video(path)
    step = max(1, int(step))
    end = None if stop is None else int(stop)
    q: queue.Queue = queue.Queue(maxsize=max(1, prefetch))
    stop = threading.Event()
    sentinel = object()

    def reader() -> None:
        cap = _open(Path(info.path))
        try:
            i, t0, prev = 0, None, -1.0
            while not stop.is_set() and (end is None or i < end):
                if i % step == 0 and i >= skip_before:
                    ok, frame = cap.read()
                    ok = ok and frame is not None
                else:
                    ok, frame = cap.grab(), None
                if not ok:
                    break
                pts = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
                t0 = pts if t0 is None else t0
                t = pts - t0
                if not (np.isfinite(t) and prev < t <= prev + MAX_FRAME_GAP_S):
                    t = prev + 1.0 / info.fps if i else 0.0  # missing, stuck or wild: one on
                q.put((i, t, None if frame is None else turn_frame(frame, info.turn_deg)))
                prev, i = t, i + 1
        except Exception as exc:  # pragma: no cover - surfaced to the consumer below
            q.put(exc)
        finally:
            cap.release()
            q.put(sentinel)

    th = threading.Thread(target=reader, name="formcheck-decode", daemon=True)
    th.start()
    try:
        while True:
            item = q.get()
            if item is sentinel:
                break
            if isinstance(item, Exception):
                raise InputError(f"{info.path}: decoding failed ({item})")
            yield item
    finally:
        stop.set()
        while th.is_alive():
            try:
                q.get_nowait()
            except queue.Empty:
                th.join(timeout=0.05)
