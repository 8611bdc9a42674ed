"""``formcheck review``."""

from formcheck.review.app import command  # noqa: F401
