"""``formcheck analyze``: video files (or saved tracks) in, result files out."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from formcheck.cli.options import (
    config_option,
    file_exercise_option,
    model_option,
    rotate_option,
)
from formcheck.core.rules import RULE_IDS
from formcheck.core.session import Session
from formcheck.errors import FormcheckError, OutputError
from formcheck.pose.rate import MAX_STEP


class AutoOr(click.ParamType):
    """``auto`` or a number: ``kind`` (``float``/``int``) within ``bounds`` (a click range),
    ``what`` it is named in the error (``--fps``: a frame rate, ``--workers``: processes)."""

    def __init__(self, name: str, kind: type, bounds: click.ParamType, what: str) -> None:
        self.name, self.kind, self.bounds, self.what = name, kind, bounds, what

    def convert(self, value, param, ctx):
        if isinstance(value, str) and value.strip().lower() == "auto":
            return "auto"
        try:
            value = self.kind(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is neither 'auto' nor {self.what}", param, ctx)
        return self.bounds.convert(value, param, ctx)


#: ``--fps``: ``auto`` or an analysis rate in frames/s (1 to 240).
RATE = AutoOr("auto|FPS", float, click.FloatRange(1.0, 240.0), "a frame rate (frames/s)")
#: ``--workers``: ``auto`` or a number of processes (1 to 8).
WORKERS = AutoOr("auto|N", int, click.IntRange(1, 8), "a number of processes")


def _bar(total: int, desc: str, quiet: bool):
    """A tqdm progress bar on stderr; off with ``quiet`` or when stderr is not a terminal."""
    from tqdm import tqdm

    return tqdm(
        total=total,
        desc=desc,
        unit="frame",
        disable=True if quiet else None,
        leave=False,
        dynamic_ncols=True,
        file=sys.stderr,
    )


def summary_table(rows: list[dict]) -> str:
    """Plain-text table: one row per video with reps, attempts and faults per rule."""
    head = ["video", "exercise", "reps", "attempts", "faults", "view"]
    body = []
    for r in rows:
        body.append(
            [
                r["name"],
                r.get("exercise", ""),
                str(r.get("reps", "-")),
                str(r.get("attempts", "-")),
                r.get("faults", ""),
                r.get("view", ""),
            ]
        )
    widths = [
        max(len(head[i]), *(len(b[i]) for b in body)) if body else len(head[i])
        for i in range(len(head))
    ]
    line = "  ".join(h.ljust(w) for h, w in zip(head, widths))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.ljust(w) for c, w in zip(b, widths)) for b in body]
    return "\n".join(out)


def session_row(name: str, session: Session) -> dict:
    """One row of the summary table for a session."""
    counts = session.fault_counts()
    faults = ", ".join(f"{k} x{counts[k]}" for k in RULE_IDS if k in counts) or "none"
    view = session.camera.view or ""
    if session.camera.warning:
        view += " (!)"
    exercise = session.exercise
    check = session.exercise_check
    if check.source == "detected":
        exercise += " (auto)" if check.looks_like else " (auto?)"
    elif check.looks_like not in (None, session.exercise):
        exercise += " (!)"
    return {
        "name": name,
        "exercise": exercise,
        "reps": session.rep_count,
        "attempts": len(session.attempts),
        "faults": faults,
        "view": view,
    }


@click.command("analyze")
@click.argument("videos", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--out",
    "-o",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Directory for the result files.",
)
@file_exercise_option
@model_option
@config_option
@rotate_option
@click.option("--no-video", is_flag=True, help="Skip the annotated video.")
@click.option(
    "--track",
    "tracks",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Re-analyse a saved .track.npz instead of running the model (repeatable).",
)
@click.option("--report", "with_report", is_flag=True, help="Also write an HTML report.")
@click.option(
    "--max-people",
    type=click.IntRange(1, 6),
    default=1,
    show_default=True,
    help="People the detector considers per frame; with more than 1, formcheck "
    "follows the largest, most central one (slower: the detector runs on "
    "every frame).",
)
@click.option(
    "--every",
    type=click.IntRange(1, MAX_STEP),
    default=None,
    help="Run the pose model on every N-th frame (1: all); the frames between are "
    "interpolated. Overrides --fps.",
)
@click.option(
    "--fps",
    "analysis_fps",
    type=RATE,
    default=None,
    help="Analysis rate: the model runs on every round(video fps / FPS)-th frame; 'auto': "
    "about 15 fps for videos at 24 fps or more. [default: every frame up to 30 fps; "
    "a faster video at about 30 fps, e.g. every 2nd frame of a 60 fps one]",
)
@click.option(
    "--workers",
    type=WORKERS,
    default="auto",
    show_default=True,
    help="Processes running the pose model on one video (its frames split in two halves); "
    "'auto': 2 on a multi-core machine for videos of 12 s or more.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def command(
    videos,
    out_dir,
    exercise,
    model,
    config,
    rotate,
    no_video,
    tracks,
    with_report,
    max_people,
    every,
    analysis_fps,
    workers,
    quiet,
):
    """Analyse VIDEO files: reps, phases and form faults, with result files in --out."""
    from formcheck.analysis import analyze_video, reanalyze, resolve_profile
    from formcheck.fsutil import check_free_space, writable_dir
    from formcheck.pose.estimator import PoseOptions
    from formcheck.pose.rate import analysis_step
    from formcheck.pose.video import probe_video
    from formcheck.sinks.files import estimate_output_bytes, write_outputs

    if not videos and not tracks:
        raise click.UsageError("give at least one VIDEO or --track FILE.npz")
    profile = resolve_profile(exercise, config)  # a bad config fails before any video work
    if not tracks:
        from formcheck.pose.models import resolve_model

        resolve_model(model)  # a bad model fails before any video work
    writable_dir(out_dir)  # and so does an --out that cannot be written
    rows, errors = [], []
    for v in videos:
        try:
            info = probe_video(v)
            need = estimate_output_bytes(info.frame_count, info.width, info.height, not no_video)
            check_free_space(out_dir, need)  # before the model: an output error ends the run
            with _bar(info.frame_count, v.name, quiet) as bar:
                a = analyze_video(
                    v,
                    exercise=profile,
                    model=model,
                    pose_options=PoseOptions(num_poses=max_people),
                    progress=bar.update,
                    info=info,
                    rotate=rotate,
                    step=analysis_step(info.fps, every, analysis_fps),
                    workers=workers,
                )
            write_outputs(a, out_dir, video_path=v, write_video=not no_video, stem=v.stem)
        except OutputError:
            raise  # the next video would fail alike: one line, exit 2
        except FormcheckError as exc:
            errors.append(str(exc))
            click.echo(f"error: {exc}", err=True)
            continue
        _after(a, out_dir, v.stem, with_report)
        rows.append(session_row(v.name, a.session))
    for tpath in tracks:
        try:
            a = reanalyze(tpath, exercise=profile)
            src = a.track.meta.get("source")
            can_video = not no_video and bool(src) and Path(src).is_file()
            t = a.track
            need = estimate_output_bytes(t.n_frames, t.width, t.height, can_video)
            check_free_space(out_dir, need)
            write_outputs(
                a,
                out_dir,
                video_path=src if can_video else None,
                write_video=can_video,
                write_track=False,
            )
        except OutputError:
            raise
        except FormcheckError as exc:
            errors.append(str(exc))
            click.echo(f"error: {exc}", err=True)
            continue
        stem = Path(str(a.session.video.path or tpath)).stem
        _after(a, out_dir, stem, with_report)
        rows.append(session_row(tpath.name, a.session))
    if rows:
        click.echo(summary_table(rows))
        click.echo(f"results in {out_dir}/")
    if errors:
        sys.exit(2)


def _after(analysis, out_dir: Path, stem: str, with_report: bool) -> None:
    """Warnings, and the HTML report when asked. The review store is not written here:
    ``formcheck review DIR`` imports the results it finds."""
    for w in analysis.session.warnings:
        click.echo(f"warning: {stem}: {w}", err=True)
    if with_report:
        try:
            from formcheck.sinks.report import write_report
        except ModuleNotFoundError:
            raise FormcheckError("the HTML report is not available in this install") from None
        write_report(
            analysis.session, Path(out_dir) / f"{stem}.report.html", base_dir=Path(out_dir)
        )
