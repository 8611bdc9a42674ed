"""``formcheck report``."""

from ..report import command  # noqa: F401
