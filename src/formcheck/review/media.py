"""Media of a set for the review app: its video as the browser plays it, its own result files
(by exact name only), rep thumbnails and the angle plot.

``formcheck analyze`` writes the annotated video as H.264 MP4 (:mod:`formcheck.sinks.encode`),
which browsers play: that file is served as it is. Results written before (or without an
ffmpeg with libx264) have MPEG-4 Part 2 (``mp4v``), which Chromium cannot play: such a video is
transcoded once to VP8 WebM (``<stem>.review.webm`` beside the results, or in the cache folder
when that folder is read-only) and redone only when the video changes. A transcode stopped by
the app's exit deletes its temporary file; one left by a killed app is removed by the next.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import glob
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from formcheck.errors import InputError
from formcheck.fsutil import TMP_MARK, atomic_path
from formcheck.review.store import Store
from formcheck.sinks.report import (
    angle_plot_png,
    grab_frame,
    load_frames,
    result_files,
    thumb_frame,
)

#: The result files of a set that may be served, by kind -> file name pattern.
MEDIA_FILES = {
    "annotated": "{stem}.annotated.mp4",
    "json": "{stem}.json",
    "reps_csv": "{stem}.reps.csv",
    "frames_csv": "{stem}.frames.csv",
    "webm": "{stem}.review.webm",
}
WEBM_MAX_WIDTH = 960  # px; wider videos are scaled down for the browser
THUMB_WIDTH = 320  # px
JPEG_QUALITY = 80

#: Containers whose H.264 browsers play as ``video/mp4`` (ISO base media files).
DIRECT_SUFFIXES = (".mp4", ".m4v", ".mov")

_TRANSCODE_LOCKS: dict[str, threading.Lock] = {}
_TRANSCODE_GUARD = threading.Lock()
#: Set when the app exits: running transcodes stop and delete their temporary files.
_STOP = threading.Event()
_ACTIVE = threading.Condition()
_N_ACTIVE = [0]
STOP_WAIT_S = 5.0
STALE_TMP_S = 60.0  # s without a write after which a dead process's temporary file goes


def within(path: str | os.PathLike | None, root: str | os.PathLike | None) -> Path | None:
    """``path`` resolved (links followed) if it is an existing file inside ``root`` (also
    resolved; None: anywhere), else None."""
    if not path:
        return None
    try:
        real = Path(path).resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if root is not None and not real.is_relative_to(Path(root).resolve()):
        return None
    return real if real.is_file() else None


def _base(s: dict, root: str | os.PathLike | None) -> Path | None:
    """The set's result folder if it is inside ``root``."""
    base = Path(s["base_dir"])
    if root is not None and not base.resolve().is_relative_to(Path(root).resolve()):
        return None
    return base


def playable_source(s: dict, root: str | os.PathLike | None = None) -> Path | None:
    """The video to show for a set (a ``sets`` row): its annotated video, else the source;
    only a file inside ``root`` (the served folder; None: the set's own result folder), links
    resolved."""
    root = root if root is not None else s["base_dir"]
    base = _base(s, root)
    if base is None:
        return None
    ann = within(base / MEDIA_FILES["annotated"].format(stem=s["stem"]), root)
    return ann or within(s.get("video_path"), root)


def plays_directly(path: Path) -> bool:
    """Whether browsers play ``path`` as it is: H.264 in an MP4/MOV file (what formcheck
    writes today), by OpenCV's codec code."""
    if path.suffix.lower() not in DIRECT_SUFFIXES:
        return False
    st = path.stat()
    return _is_h264(str(path), st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=256)
def _is_h264(path: str, mtime_ns: int, size: int) -> bool:
    from formcheck.sinks.encode import is_h264

    return is_h264(path)


def browser_video(
    s: dict, cache_dir: Path, root: str | os.PathLike | None = None
) -> tuple[Path, str] | None:
    """The file the browser plays for a set and its media type: the set's video itself when it
    is H.264 (:func:`plays_directly`), else its WebM copy (:func:`ensure_webm`, made if need
    be); None when the set has no video inside ``root``."""
    src = playable_source(s, root)
    if src is None:
        return None
    if plays_directly(src):
        return src, "video/mp4"
    out = ensure_webm(s, cache_dir, root)
    return (out, "video/webm") if out is not None else None


def webm_path(s: dict, cache_dir: Path) -> Path:
    """Where the set's WebM copy lives: beside its results, else (read-only) in ``cache_dir``."""
    base = Path(s["base_dir"])
    p = base / MEDIA_FILES["webm"].format(stem=s["stem"])
    if p.exists() or os.access(base, os.W_OK):
        return p
    return cache_dir / f"set{s['id']}.review.webm"


def ensure_webm(s: dict, cache_dir: Path, root: str | os.PathLike | None = None) -> Path | None:
    """A VP8 WebM copy of the set's video (Chromium cannot play OpenCV's 'mp4v'), cached;
    stale temporary files of a killed transcode are removed first;
    None when the set has no video inside ``root``. One transcode per file at a time; a copy
    that is a link is made again (never served)."""
    src = playable_source(s, root)
    if src is None:
        return None
    out = webm_path(s, cache_dir)
    with _TRANSCODE_GUARD:
        lock = _TRANSCODE_LOCKS.setdefault(str(out), threading.Lock())
    with lock:
        if _fresh(out, src):
            return out
        remove_stale_tmp(out)
        transcode_webm(src, out)
    return out


def remove_stale_tmp(out: Path, idle_s: float = STALE_TMP_S) -> None:
    """Delete temporary files of ``out`` left by a formcheck process that is gone (killed in
    the middle of a transcode), ``.<stem>.<pid>.<random>.fctmp<suffix>``: its process is not
    running here and the file has not been written for ``idle_s`` (a process of another host
    sharing the folder keeps its file fresh)."""
    for p in out.parent.glob(f".{glob.escape(out.stem)}.*{TMP_MARK}{glob.escape(out.suffix)}"):
        pid = p.name[len(out.stem) + 2 :].split(".", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid() or _alive(int(pid)):
            continue
        with contextlib.suppress(OSError):
            if time.time() - p.stat().st_mtime > idle_s:
                p.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. another user's process
        return True
    return True


def _fresh(out: Path, src: Path) -> bool:
    if out.is_symlink() or not out.is_file():
        return False
    st = out.stat()
    return st.st_size > 0 and st.st_mtime >= src.stat().st_mtime


def transcode_webm(src: Path, out: Path, max_width: int = WEBM_MAX_WIDTH) -> Path:
    """Write ``src`` as VP8 WebM to ``out`` (atomically), at most ``max_width`` px wide."""
    import cv2

    cap = cv2.VideoCapture(str(src))
    if not cap.isOpened():
        raise InputError(f"cannot open {src.name}")
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    out.parent.mkdir(parents=True, exist_ok=True)
    with _ACTIVE:
        _N_ACTIVE[0] += 1
    try:
        with atomic_path(out) as tmp:  # deleted on any exception, a stop included
            if not _write_webm(_scaled_frames(cap, max_width), tmp, fps):
                raise InputError(f"no frames in {src.name}")
    finally:
        cap.release()
        with _ACTIVE:
            _N_ACTIVE[0] -= 1
            _ACTIVE.notify_all()
    return out


@atexit.register
def stop_transcodes(timeout_s: float = STOP_WAIT_S) -> None:
    """Stop running transcodes and wait (up to ``timeout_s``) until they have deleted their
    temporary files. Runs at exit, before the daemon threads doing them are frozen."""
    _STOP.set()
    with _ACTIVE:
        _ACTIVE.wait_for(lambda: _N_ACTIVE[0] == 0, timeout_s)


def _scaled_frames(cap, max_width: int) -> Iterator:
    """The frames of ``cap``, scaled down to ``max_width`` (even height) when wider."""
    import cv2

    while True:
        if _STOP.is_set():
            raise InputError("the transcode was stopped (the app is exiting)")
        ok, frame = cap.read()
        if not ok:
            return
        h, w = frame.shape[:2]
        if w > max_width:
            nh = int(round(h * max_width / w / 2) * 2)
            frame = cv2.resize(frame, (max_width, nh), interpolation=cv2.INTER_AREA)
        yield frame


def _write_webm(frames: Iterator, path: Path, fps: float) -> int:
    """Write ``frames`` to ``path`` as VP8; how many were written."""
    import cv2

    writer, n = None, 0
    try:
        for frame in frames:
            if writer is None:
                writer = cv2.VideoWriter(
                    str(path),
                    cv2.VideoWriter_fourcc(*"VP80"),
                    fps,
                    (frame.shape[1], frame.shape[0]),
                )
                if not writer.isOpened():
                    raise InputError("this OpenCV build cannot write VP8 WebM")
            writer.write(frame)
            n += 1
    finally:
        if writer is not None:
            writer.release()
    return n


def prepare_all(store: Store, cache_dir: Path, root: str | os.PathLike | None = None) -> None:
    """Transcode every set's video that browsers cannot play (``mp4v``) to WebM (run in the
    background, so pages open fast); only videos inside ``root`` (None: each set's own
    folder)."""
    try:
        sets = store.list_sets()
    except Exception:  # noqa: BLE001 - a store that fails shows on the pages (503)
        return
    for s in sets:
        try:
            full = store.get_set(s["id"])
            if full is not None:  # else deleted meanwhile
                browser_video(full, cache_dir, root)
        except Exception:  # noqa: BLE001 - a bad video must not stop the others
            continue


def start_preparing(
    store: Store, cache_dir: Path, root: str | os.PathLike | None = None
) -> threading.Thread:
    """:func:`prepare_all` in a daemon thread."""
    th = threading.Thread(
        target=prepare_all, args=(store, cache_dir, root), daemon=True, name="formcheck-webm"
    )
    th.start()
    return th


def is_result_name(s: dict, name: str) -> bool:
    """Whether ``name`` is exactly one of the set's own result file names (:data:`MEDIA_FILES`):
    no paths, no other names."""
    allowed = {pat.format(stem=s["stem"]) for pat in MEDIA_FILES.values()}
    return not ("/" in name or "\\" in name or name in ("", ".", "..") or name not in allowed)


def result_file(s: dict, name: str, root: str | os.PathLike | None = None) -> Path | None:
    """The set's result file ``name`` (checked with :func:`is_result_name` first) if it is
    there, in the set's own folder inside ``root`` (links resolved), else None."""
    base = _base(s, root if root is not None else s["base_dir"])
    if base is None:
        return None
    base = base.resolve()
    p = within(base / name, root)
    return p if p is not None and p.parent == base else None


def rep_thumbnail_jpeg(
    session, base_dir: str | os.PathLike, rep, root: str | os.PathLike | None = None
) -> bytes | None:
    """A JPEG of the rep at its top (annotated video, else the source; inside ``root``);
    None without video."""
    files = result_files(session, base_dir, root=root)
    video = files["annotated_video"] or files["video"]
    frame = grab_frame(video, thumb_frame(rep), THUMB_WIDTH, track=files["track"])
    if frame is None:
        return None
    import cv2

    ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    return buf.tobytes()


def angle_plot(
    session, base_dir: str | os.PathLike, reviews: dict, root: str | os.PathLike | None = None
) -> bytes:
    """The set's shoulder-hip-knee angle plot (PNG), findings marked with their verdicts."""
    frames = load_frames(result_files(session, base_dir, root=root)["frames_csv"])
    return angle_plot_png(session, frames, reviews)
