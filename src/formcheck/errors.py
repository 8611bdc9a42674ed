"""User-facing errors.

Every error a user can cause (bad file, bad option, missing model, bad config) is raised as a
:class:`FormcheckError` subclass with a one-line message. The CLI prints ``error: <message>`` and
exits with code 2; it never shows a traceback for these.
"""

from __future__ import annotations

import os
from pathlib import Path


class FormcheckError(Exception):
    """Base class for errors caused by the user's input or environment (exit code 2)."""

    exit_code = 2


class InputError(FormcheckError):
    """A video, track or result file that is missing, empty, corrupt or of the wrong kind."""


class ModelError(FormcheckError):
    """A pose model that is missing, corrupt, unknown or cannot be fetched."""


class ConfigError(FormcheckError):
    """An exercise profile or config file with an unknown key or a bad value."""


class OutputError(FormcheckError):
    """An output folder or file that cannot be written: read-only, a full disk, a file where a
    folder is expected."""


def require_file(
    path: str | os.PathLike,
    what: str,
    expected: str,
    error: type[FormcheckError] = InputError,
    allow_empty: bool = False,
) -> Path:
    """``path`` as a :class:`~pathlib.Path` if it is an existing regular file (and, unless
    ``allow_empty``, not empty); otherwise raise ``error`` with one of the shared one-line
    messages: ``"<what> not found: <path>"``, ``"<path> is a directory, expected <expected>"``,
    ``"<path> is not a regular file"``, ``"<path> is empty (0 bytes)"``."""
    p = Path(path)
    if not p.exists():
        raise error(f"{what} not found: {p}")
    if p.is_dir():
        raise error(f"{p} is a directory, expected {expected}")
    if not p.is_file():
        raise error(f"{p} is not a regular file")
    if not allow_empty and p.stat().st_size == 0:
        raise error(f"{p} is empty (0 bytes)")
    return p
