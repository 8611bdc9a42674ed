"""The coach's review web app and its SQLite store (served by ``formcheck review``, whose click
command is :mod:`formcheck.cli.review`); see :mod:`formcheck.review.app`."""
