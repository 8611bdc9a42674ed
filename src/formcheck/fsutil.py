"""Atomic file writes: a file appears under its final name whole, or not at all.

Every writer in formcheck (result JSON and CSV, tracks, videos, batch ledgers, review media)
goes through :func:`atomic_path`: it hands out a temporary name beside the final one, unique to
this process and call (so concurrent runs on one folder never collide), renames it into place
when the block ends without an error, and removes it otherwise. An ``OSError`` while writing
(a full disk, a read-only folder) becomes an :class:`~formcheck.errors.OutputError` with one
line. :func:`writable_dir` and :func:`check_free_space` find those problems before the work.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

from formcheck.errors import OutputError

#: Marks temporary files; a leftover one (after ``kill -9``) is never a result.
TMP_MARK = ".fctmp"

#: Free space below which no run starts writing into a folder (bytes).
MIN_FREE_BYTES = 64_000_000

_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def os_reason(exc: OSError) -> str:
    """An ``OSError`` in a few words, e.g. ``"No space left on device (disk full)"``."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    return f"{reason} (disk full)" if exc.errno in _FULL else reason


def tmp_name(final: Path) -> Path:
    """A unique temporary path beside ``final`` that keeps its suffix (for writers that choose
    the format by extension, e.g. ``cv2.VideoWriter`` and ``np.savez``)."""
    return final.with_name(
        f".{final.stem}.{os.getpid()}.{uuid.uuid4().hex[:8]}{TMP_MARK}{final.suffix}"
    )


@contextlib.contextmanager
def atomic_path(final: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path to write; on a clean exit it replaces ``final`` atomically, on
    an exception it is deleted and ``final`` is left as it was. An ``OSError`` raises
    :class:`OutputError` (``"cannot write FINAL: reason"``)."""
    final = Path(final)
    tmp = tmp_name(final)
    try:
        yield tmp
        os.replace(tmp, final)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(exc, OSError):
            raise OutputError(f"cannot write {final}: {os_reason(exc)}") from None
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (flushed to disk before the rename)."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    return Path(path)


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def _probe(folder: Path) -> None:
    """Create and remove a file in ``folder``; ``OSError`` when that is not possible."""
    tmp = tmp_name(folder / "write-probe")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    os.close(fd)
    os.unlink(tmp)


def writable_dir(path: str | os.PathLike, what: str = "--out") -> Path:
    """``path`` as a folder this process can write in, created if need be; otherwise
    :class:`OutputError` with one line (a file in the way, a read-only folder)."""
    p = Path(path).expanduser()
    if p.exists() and not p.is_dir():
        raise OutputError(f"{what} {p} exists and is not a directory")
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create {what} {p}: {os_reason(exc)}") from None
    try:
        _probe(p)
    except OSError as exc:
        raise OutputError(f"{what} {p} is not writable: {os_reason(exc)}") from None
    return p


def check_free_space(folder: str | os.PathLike, need_bytes: int, what: str = "--out") -> None:
    """:class:`OutputError` when ``folder`` has less than ``need_bytes`` free."""
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return  # cannot tell: the writes themselves will say
    if free < need_bytes:
        raise OutputError(
            f"not enough free space in {what} {folder}: {free / 1e6:.0f} MB free, "
            f"about {need_bytes / 1e6:.0f} MB needed"
        )


@contextlib.contextmanager
def exclusive_lock(path: str | os.PathLike) -> Iterator[bool]:
    """Hold an exclusive ``flock`` on ``path`` (created if need be) for the block; yields
    False at once, without waiting, when another process holds it. The lock goes with the
    process, so a killed run never leaves a stale one."""
    import fcntl  # POSIX; imported here so that importing fsutil works anywhere

    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise OutputError(f"cannot create the lock file {path}: {os_reason(exc)}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)
