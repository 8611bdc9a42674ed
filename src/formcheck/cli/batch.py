"""``formcheck batch``."""

from formcheck.batch.run import command  # noqa: F401
