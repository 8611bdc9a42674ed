"""The coach's review web app (``formcheck review``); see :mod:`formcheck.review.app`."""
