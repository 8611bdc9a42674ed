"""Media of a set for the review app: the browser-playable WebM copy of its video, its own
result files (by exact name only), rep thumbnails and the angle plot.

OpenCV writes the annotated video as MPEG-4 Part 2 (``mp4v``), which Chromium cannot play, so
each set's video is transcoded once to VP8 WebM (``<stem>.review.webm`` beside the results, or
in the cache folder when that folder is read-only) and redone only when the video changes.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

from formcheck.errors import InputError
from formcheck.fsutil import atomic_path
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

_TRANSCODE_LOCKS: dict[str, threading.Lock] = {}
_TRANSCODE_GUARD = threading.Lock()


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


def webm_path(s: dict, cache_dir: Path) -> Path:
    """Where the set's WebM copy lives: beside its results, else (read-only) in ``cache_dir``."""
    base = Path(s["base_dir"])
    p = base / MEDIA_FILES["webm"].format(stem=s["stem"])
    if p.exists() or os.access(base, os.W_OK):
        return p
    return cache_dir / f"set{s['id']}.review.webm"


def ensure_webm(s: dict, cache_dir: Path, root: str | os.PathLike | None = None) -> Path | None:
    """A VP8 WebM copy of the set's video (Chromium cannot play OpenCV's 'mp4v'), cached;
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
        transcode_webm(src, out)
    return out


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
    try:
        with atomic_path(out) as tmp:
            if not _write_webm(_scaled_frames(cap, max_width), tmp, fps):
                raise InputError(f"no frames in {src.name}")
    finally:
        cap.release()
    return out


def _scaled_frames(cap, max_width: int) -> Iterator:
    """The frames of ``cap``, scaled down to ``max_width`` (even height) when wider."""
    import cv2

    while True:
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
    """Transcode every set's video to WebM (run in the background, so pages open fast); only
    videos inside ``root`` (None: each set's own folder)."""
    try:
        sets = store.list_sets()
    except Exception:  # noqa: BLE001 - a store that fails shows on the pages (503)
        return
    for s in sets:
        try:
            full = store.get_set(s["id"])
            if full is not None:  # else deleted meanwhile
                ensure_webm(full, cache_dir, root)
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
    frame = grab_frame(files["annotated_video"] or files["video"], thumb_frame(rep), THUMB_WIDTH)
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
