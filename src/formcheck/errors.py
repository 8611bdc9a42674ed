"""User-facing errors.

Every error a user can cause (bad file, bad option, missing model, bad config) is raised as a
:class:`FormcheckError` subclass with a one-line message. The CLI prints ``error: <message>`` and
exits with code 2; it never shows a traceback for these.
"""

from __future__ import annotations


class FormcheckError(Exception):
    """Base class for errors caused by the user's input or environment (exit code 2)."""

    exit_code = 2


class InputError(FormcheckError):
    """A video, track or result file that is missing, empty, corrupt or of the wrong kind."""


class ModelError(FormcheckError):
    """A pose model that is missing, corrupt, unknown or cannot be fetched."""


class ConfigError(FormcheckError):
    """An exercise profile or config file with an unknown key or a bad value."""
