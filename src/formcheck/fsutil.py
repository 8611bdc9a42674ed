"""Atomic file writes: a file appears under its final name whole, or not at all.

Every writer in formcheck (result JSON and CSV, tracks, videos, batch ledgers, review media)
goes through :func:`atomic_path`: it hands out a temporary name beside the final one, unique to
this process and call (so concurrent runs on one folder never collide), renames it into place
when the block ends without an error, and removes it otherwise.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

#: Marks temporary files; a leftover one (after ``kill -9``) is never a result.
TMP_MARK = ".fctmp"


def tmp_name(final: Path) -> Path:
    """A unique temporary path beside ``final`` that keeps its suffix (for writers that choose
    the format by extension, e.g. ``cv2.VideoWriter`` and ``np.savez``)."""
    return final.with_name(
        f".{final.stem}.{os.getpid()}.{uuid.uuid4().hex[:8]}{TMP_MARK}{final.suffix}"
    )


@contextlib.contextmanager
def atomic_path(final: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path to write; on a clean exit it replaces ``final`` atomically, on
    an exception it is deleted and ``final`` is left as it was."""
    final = Path(final)
    tmp = tmp_name(final)
    try:
        yield tmp
        os.replace(tmp, final)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
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
