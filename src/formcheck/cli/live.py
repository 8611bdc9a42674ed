"""``formcheck live``: real-time feedback in front of a camera, then the usual result files."""

from __future__ import annotations

from pathlib import Path

import click

from formcheck.cli.options import config_option, exercise_option, model_option
from formcheck.live.capture import DEFAULT_TIMEOUT_S


def _echo_err(message: str) -> None:
    click.echo(message, err=True)


def _summary(result) -> str:
    """The closing summary: live verdicts and timing, then the saved result's table."""
    from formcheck.cli.analyze import session_row, summary_table

    s = result.analysis.session
    st = result.stats.to_dict()
    live_faults: dict[str, int] = {}
    for r in result.reps:
        for f in r.faults:
            live_faults[f] = live_faults.get(f, 0) + 1
    lf = ", ".join(f"{k} x{v}" for k, v in live_faults.items()) or "none"
    lines = [
        f"live: {len(result.reps)} reps, faults {lf}, {len(result.cues)} cues",
        f"      {st['processed_fps']} fps processed, {st['dropped_share']:.0%} frames "
        f"dropped, latency p50 {st['latency_ms_p50']} ms / p95 {st['latency_ms_p95']} ms",
    ]
    lines.append(summary_table([session_row(result.stem, s)]))
    if result.out_dir is not None:
        lines.append(f"results in {result.out_dir}/")
    return "\n".join(lines)


@click.command("live")
@click.option(
    "--camera",
    default="0",
    show_default=True,
    metavar="INDEX|PATH|URL",
    help="Camera device index, a video file (played in real time) or a stream URL.",
)
@exercise_option
@model_option
@config_option
@click.option(
    "--record",
    "record_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Also save the raw video here (to re-analyse offline).",
)
@click.option(
    "--out",
    "-o",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("formcheck-live"),
    show_default=True,
    help="Directory for the result files.",
)
@click.option(
    "--no-display", is_flag=True, help="No window (cues and each rep print; sound as chosen)."
)
@click.option("--mirror", is_flag=True, help="Mirror the image (like a selfie camera).")
@click.option(
    "--window",
    "windowed",
    is_flag=True,
    help="A normal 1280x720 window instead of full screen (the overlay scales with it).",
)
@click.option("--debug", is_flag=True, help="Show the processing rate and latency.")
@click.option(
    "--voice",
    "sound",
    flag_value="voice",
    default=True,
    help="Speak the cues and count the reps aloud (default).",
)
@click.option("--beeps", "sound", flag_value="beeps", help="Beep the cues instead (no counting).")
@click.option("--no-audio", "sound", flag_value="off", help="No sound: cues on screen only.")
@click.option(
    "--duration",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    metavar="S",
    help="End the set after S seconds.",
)
@click.option(
    "--timeout",
    "timeout_s",
    type=click.FloatRange(min=0.5),
    default=DEFAULT_TIMEOUT_S,
    show_default=True,
    metavar="S",
    help="Give up when no frame arrives for S seconds.",
)
@click.option("--no-video", is_flag=True, help="Skip the annotated video.")
def command(
    camera,
    exercise,
    model,
    config,
    record_dir,
    out_dir,
    no_display,
    mirror,
    windowed,
    debug,
    sound,
    duration,
    timeout_s,
    no_video,
):
    """Live feedback from a camera: overlay, spoken cues and rep counts, then the result files.

    Put the camera side-on, level with the bench, with your whole body in view. Press q or Esc
    to end the set (the window opens full screen, readable from the bench; --window for a
    normal one). A video file given to --camera is played in real time, as a camera would be.
    """
    from formcheck.live.app import run_live

    result = run_live(
        camera,
        exercise=exercise,
        model=model,
        config=config,
        out_dir=out_dir,
        record_dir=record_dir,
        display=not no_display,
        mirror=mirror,
        fullscreen=not windowed,
        debug=debug,
        sound=sound,
        duration_s=duration,
        timeout_s=timeout_s,
        write_video=not no_video,
        log=_echo_err,
    )
    for w in result.analysis.session.warnings:
        click.echo(f"warning: {result.stem}: {w}", err=True)
    click.echo(_summary(result))
