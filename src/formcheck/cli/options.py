"""Options shared by several commands."""

from __future__ import annotations

from pathlib import Path

import click

from formcheck.core.rules import EXERCISE_CHOICES

exercise_option = click.option(
    "--exercise",
    "-e",
    type=click.Choice(EXERCISE_CHOICES),
    default="auto",
    show_default=True,
    help="Exercise profile, or 'auto': read from the set-up before the first rep (shoulders "
    "on a bench or on the floor; a hip thrust when it cannot tell).",
)
#: For file analysis: also ``auto`` (each video's exercise read from its set-up).
file_exercise_option = click.option(
    "--exercise",
    "-e",
    type=click.Choice(EXERCISE_CHOICES),
    default="auto",
    show_default=True,
    help="Exercise profile, or 'auto': read from each video's set-up (shoulders on a bench "
    "or on the floor; a hip thrust when it cannot tell, with a warning).",
)
model_option = click.option(
    "--model",
    "-m",
    default="full",
    show_default=True,
    metavar="full|lite|heavy|PATH",
    help="Pose model: 'full' is bundled; 'lite'/'heavy' are fetched once; or a .task file.",
)
config_option = click.option(
    "--config",
    "-c",
    type=click.Path(dir_okay=True, path_type=Path),
    default=None,
    help="TOML file overriding the exercise profile's thresholds.",
)
#: For video files: turn the picture before the pose model.
rotate_option = click.option(
    "--rotate",
    type=click.Choice(["auto", "0", "90", "180", "270"]),
    default="auto",
    show_default=True,
    help="Turn the picture clockwise by this many degrees before analysing it (after the "
    "file's own rotation tag); 'auto' turns a video that is on its side or upside down "
    "(the result says so).",
)
