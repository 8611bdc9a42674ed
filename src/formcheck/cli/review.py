"""``formcheck review``."""

from ..review.app import command  # noqa: F401
