"""Result videos as H.264 MP4 (``yuv420p``, ``+faststart``): files that browsers play.

OpenCV's wheels (``opencv-contrib-python``, the cv2 that mediapipe depends on) have no H.264
encoder, so ``cv2.VideoWriter`` can only write MPEG-4 Part 2 (``mp4v``), which Chromium cannot
play and which is ~1.7x the source's size. Frames are therefore piped raw (BGR) into the ffmpeg
executable that **imageio-ffmpeg** ships (built with libx264). Why imageio-ffmpeg rather than
PyAV: it is one ``py3-none`` wheel per platform holding a static ffmpeg (about 30 MB to
download, like PyAV's), nothing to compile and no binding tied to a Python or FFmpeg ABI, and
its model - raw frames down a pipe into ``ffmpeg``, as ``imageio_ffmpeg.write_frames`` does - is
all a writer of annotated frames needs. The process is started here with the same kind of
command instead of through ``write_frames``, because ``write_frames`` lets ffmpeg print to our
stderr and drops its exit status, while a failed encode must be one :class:`OutputError` line
(exit 2) that quotes ffmpeg's own message.

When the ffmpeg executable cannot be found, cannot be run or has no libx264, the video is
written with OpenCV's ``mp4v`` as before, with a warning: the analysis never fails for it (the
review app turns such videos into WebM for the browser).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import re
import signal
import subprocess
import tempfile
from collections.abc import Callable, Iterable
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from formcheck.errors import OutputError
from formcheck.fsutil import atomic_path

log = logging.getLogger(__name__)

#: x264 settings. CRF 26 is the bundled samples' own (x264 CRF 26): re-encoding an already
#: compressed video at a finer one keeps its artifacts at more bytes. Measured on the 10
#: samples (docs/result-format.md): CRF 23 made 1.32-2.98x the source's bytes (1.90x in all),
#: CRF 26 1.11-2.22x (1.39x), for 0.3 dB less PSNR and text as legible; CRF 28 blurred small
#: text. ``veryfast``: at the same CRF slower presets spend more bytes (higher quality) and
#: 60 % more CPU; the encode stays far below the pose model's time.
CRF = 26
PRESET = "veryfast"
#: The annotated video's bit-rate cap, as a share of the source's average (a source that
#: compresses far better than CRF 26 with overlays, e.g. a rendered clip, stays within 1.5x
#: its size; a phone video, at 10+ Mbit/s, never meets the cap).
SOURCE_RATE_SHARE = 1.35
#: The lowest cap (kbit/s): below it the overlay text smears.
MIN_CAP_KBPS = 48.0

#: OpenCV's four-character codes of H.264 video (``CAP_PROP_FOURCC``), lower-cased.
H264_FOURCCS = frozenset({"avc1", "avc3", "h264", "x264"})


def fourcc(path: str | os.PathLike) -> str:
    """The video codec's four-character code of ``path`` as OpenCV reads it, lower-cased
    (``"h264"`` or ``"avc1"`` for H.264, ``"fmp4"`` for OpenCV's ``mp4v``, ...); ``""`` when it
    cannot be opened."""
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    try:
        code = int(cap.get(cv2.CAP_PROP_FOURCC)) if cap.isOpened() else 0
    finally:
        cap.release()
    return "".join(chr((code >> (8 * k)) & 0xFF) for k in range(4)).strip("\0 ").lower()


def is_h264(path: str | os.PathLike) -> bool:
    """Whether the video in ``path`` is H.264."""
    return fourcc(path) in H264_FOURCCS


def ffmpeg_exe() -> str:
    """The ffmpeg executable of imageio-ffmpeg (``IMAGEIO_FFMPEG_EXE`` overrides it); raises
    ``ImportError`` / ``RuntimeError`` when there is none."""
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


@functools.lru_cache(maxsize=8)
def _x264_problem(exe: str) -> str | None:
    """Why ``exe`` cannot encode H.264 (it does not run, or lacks libx264); None if it can."""
    try:
        p = subprocess.run(
            [exe, "-hide_banner", "-h", "encoder=libx264"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return f"{exe} does not run ({exc})"
    if "Encoder libx264" not in p.stdout:
        return f"{exe} has no libx264 encoder"
    return None


def h264_encoder() -> tuple[str | None, str | None]:
    """``(ffmpeg executable, None)`` when H.264 can be written, else ``(None, reason)``."""
    try:
        exe = ffmpeg_exe()
    except Exception as exc:  # noqa: BLE001 - ImportError, RuntimeError: no binary
        return None, f"no ffmpeg executable ({exc})"
    problem = _x264_problem(exe)
    return (None, problem) if problem else (exe, None)


def _rate(fps: float) -> str:
    """``fps`` as an exact rational for ffmpeg (29.97002997 -> ``30000/1001``)."""
    f = Fraction(float(fps) if fps and fps > 0 else 30.0).limit_denominator(10_000)
    return f"{f.numerator}/{f.denominator}"


def _threads() -> int:
    """x264 threads: as many as OpenCV may use (1 in batch workers: one video per core)."""
    n = cv2.getNumThreads()
    return n if n > 0 else 0  # 0: x264 chooses


def _cap(max_kbps: float | None) -> list[str]:
    """x264's rate cap (VBV) for a constant-quality encode: the quality of :data:`CRF` unless
    that would pass ``max_kbps`` (kbit/s) over a 2 s buffer; no cap when None."""
    if not max_kbps or max_kbps <= 0:
        return []
    k = max(MIN_CAP_KBPS, float(max_kbps))
    return ["-maxrate", f"{k:.0f}k", "-bufsize", f"{2 * k:.0f}k"]


def source_kbps(path: str | os.PathLike, duration_s: float) -> float | None:
    """The average bit rate (kbit/s) of the file at ``path`` over ``duration_s``, or None."""
    try:
        size = os.path.getsize(path)
    except OSError:
        return None
    return size * 8 / 1000.0 / duration_s if duration_s > 0 and size > 0 else None


class _H264:
    """One ``ffmpeg`` process encoding BGR frames of ``size`` from its stdin to ``path``."""

    def __init__(
        self,
        exe: str,
        path: Path,
        out: Path,
        fps: float,
        size: tuple[int, int],
        max_kbps: float | None = None,
    ):
        w, h = size
        self.out = out
        self.pad = (h % 2, w % 2)  # yuv420p needs even sides: one pixel more, never rescaled
        w, h = w + self.pad[1], h + self.pad[0]
        self.err = tempfile.TemporaryFile()  # noqa: SIM115 - closed by finish() or abort()
        cmd = [
            exe, "-hide_banner", "-nostats", "-loglevel", "error", "-y",
            "-f", "rawvideo", "-pix_fmt", "bgr24", "-video_size", f"{w}x{h}",
            "-framerate", _rate(fps), "-i", "pipe:0",
            "-an", "-c:v", "libx264", "-preset", PRESET, "-crf", str(CRF),
            "-pix_fmt", "yuv420p", "-threads", str(_threads()),
            *_cap(max_kbps),
            # drop SEI units: x264's ~700-byte settings string, a share of a small clip
            "-bsf:v", "filter_units=remove_types=6",
            "-movflags", "+faststart", "-f", "mp4", str(path),
        ]  # fmt: skip
        try:
            self.proc = subprocess.Popen(
                cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self.err
            )
        except BaseException:
            self.err.close()
            raise

    def write(self, frame: np.ndarray) -> None:
        if any(self.pad):
            frame = cv2.copyMakeBorder(frame, 0, self.pad[0], 0, self.pad[1], cv2.BORDER_REPLICATE)
        try:
            self.proc.stdin.write(np.ascontiguousarray(frame).data)
        except OSError:  # ffmpeg has stopped (e.g. the disk is full): say why
            self.finish()
            raise OutputError(f"cannot write video {self.out}: ffmpeg stopped early") from None

    def finish(self) -> None:
        """Let ffmpeg write what is buffered and the index; :class:`OutputError` if it fails."""
        with contextlib.suppress(OSError):
            self.proc.stdin.close()
        rc = self.proc.wait()
        if rc != 0:
            raise OutputError(f"cannot write video {self.out}: ffmpeg failed ({self._reason(rc)})")
        self.err.close()

    def abort(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        with contextlib.suppress(OSError):
            self.proc.stdin.close()
        self.proc.wait()
        self.err.close()

    def _reason(self, rc: int) -> str:
        """ffmpeg's first error in one line, without its ``[muxer @ 0x...]`` prefixes."""
        try:
            self.err.seek(0)
            lines = self.err.read().decode("utf-8", "replace").splitlines()
        except (OSError, ValueError):
            lines = []
        finally:
            self.err.close()
        first = next((ln.strip() for ln in lines if ln.strip()), "")
        first = re.sub(r"^(\[[^]]*\]\s*)+", "", first)
        if first:
            return first[:200]
        if rc < 0:  # e.g. SIGXFSZ: over the file size limit
            return f"{signal.strsignal(-rc) or 'signal'} (signal {-rc})"
        return f"exit status {rc}"


class _Mp4v:
    """OpenCV's MPEG-4 Part 2 writer: the fallback when there is no H.264 encoder."""

    def __init__(self, path: Path, out: Path, fps: float, size: tuple[int, int]):
        self.writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps, size)
        if not self.writer.isOpened():
            self.writer.release()
            raise OutputError(f"cannot write video {out}")

    def write(self, frame: np.ndarray) -> None:
        self.writer.write(frame)

    def finish(self) -> None:
        self.writer.release()

    def abort(self) -> None:
        self.writer.release()


_WARNED: set[str] = set()


def _open(
    tmp: Path, out: Path, fps: float, size: tuple[int, int], max_kbps: float | None = None
) -> _H264 | _Mp4v:
    """The H.264 writer, else (no usable ffmpeg) the ``mp4v`` one with a warning (once per
    reason in a process)."""
    exe, problem = h264_encoder()
    if exe is not None:
        try:
            return _H264(exe, tmp, out, fps, size, max_kbps)
        except OSError as exc:  # the executable went away or cannot start
            problem = f"{exe} does not start ({exc})"
    if problem not in _WARNED:
        _WARNED.add(problem)
        log.warning(
            "warning: cannot encode H.264: %s; annotated videos are written as MPEG-4 "
            "Part 2 (mp4v), which browsers do not play",
            problem,
        )
    return _Mp4v(tmp, out, fps, size)


def write_video(
    out_path: str | os.PathLike,
    frames: Iterable[np.ndarray],
    fps: float,
    size: tuple[int, int],
    progress: Callable[[int], None] | None = None,
    max_kbps: float | None = None,
) -> Path:
    """Encode BGR ``frames`` of ``size`` = ``(width, height)`` at ``fps`` to ``out_path`` (MP4).
    ``max_kbps``: cap the bit rate there (kbit/s; e.g. a share over the source's, so the
    annotated copy stays near the source's size: :func:`_cap`).

    H.264 (``yuv420p``, CRF :data:`CRF`, preset :data:`PRESET`, ``+faststart``) through the
    ffmpeg of imageio-ffmpeg; an odd width or height is padded by one pixel (repeating the
    edge), never rescaled. Without a usable ffmpeg (not found, does not start, no libx264) it
    falls back to OpenCV's ``mp4v`` writer with a warning instead of failing.

    A frame of another size is resized to ``size``. The video is encoded under a temporary
    name and renamed when complete and checked (:func:`check_encoded`), so a failed encode
    (a full disk: :class:`OutputError`, one line) never leaves a partial video under
    ``out_path``. ``progress(1)`` is called after each frame."""
    out = Path(out_path)
    size = (int(size[0]), int(size[1]))
    with atomic_path(out) as tmp:
        enc = _open(tmp, out, fps, size, max_kbps)
        n = 0
        try:
            for frame in frames:
                if frame.shape[1] != size[0] or frame.shape[0] != size[1]:
                    frame = cv2.resize(frame, size)
                enc.write(frame)
                n += 1
                if progress:
                    progress(1)
        except BaseException:
            enc.abort()
            raise
        finally:
            close = getattr(frames, "close", None)
            if close is not None:  # a generator: stop its decoding now, not at collection
                close()
        enc.finish()
        check_encoded(tmp, out, n)
    return out


def check_encoded(tmp: Path, out: Path, frames: int) -> None:
    """:class:`OutputError` unless the video just encoded to ``tmp`` holds ``frames`` frames.

    OpenCV's writer reports no write errors: on a full disk it leaves a file cut short (or
    without its index), which this catches before the file is renamed to ``out``."""
    cap = cv2.VideoCapture(str(tmp), cv2.CAP_FFMPEG)
    try:
        got = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0) if cap.isOpened() else 0
    finally:
        cap.release()
    if got < frames:
        raise OutputError(
            f"cannot write video {out}: the encoder stored {got} of {frames} frames "
            "(disk full or a write error)"
        )
