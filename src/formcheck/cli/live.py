"""``formcheck live``."""

from formcheck.live.app import command  # noqa: F401
