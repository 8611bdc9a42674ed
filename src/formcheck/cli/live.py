"""``formcheck live``."""

from ..live import command  # noqa: F401
