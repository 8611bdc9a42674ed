"""Keep MediaPipe/LiteRT's native log lines (written straight to file descriptor 2) off the
user's terminal, while Python's own ``sys.stderr`` (progress bars, errors) still reaches it.

Set ``FORMCHECK_NATIVE_LOG=1`` to see the native lines again.
"""

from __future__ import annotations

import contextlib
import os
import sys


@contextlib.contextmanager
def quiet_native_stderr():
    """Point fd 2 at /dev/null and ``sys.stderr`` at a duplicate of the real stderr."""
    if os.environ.get("FORMCHECK_NATIVE_LOG") == "1":
        yield
        return
    try:
        real = sys.stderr.fileno() == 2
    except (OSError, ValueError, AttributeError):  # replaced stderr (e.g. captured in tests)
        real = False
    if not real:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    old_stderr = sys.stderr
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        sys.stderr = os.fdopen(os.dup(saved), "w", buffering=1, encoding="utf-8", errors="replace")
        yield
    finally:
        try:
            sys.stderr.flush()
            sys.stderr.close()
        except OSError:
            pass
        sys.stderr = old_stderr
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
