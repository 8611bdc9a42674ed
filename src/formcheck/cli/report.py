"""``formcheck report``."""

from formcheck.sinks.report import command  # noqa: F401
