"""``formcheck batch``."""

from ..batch import command  # noqa: F401
