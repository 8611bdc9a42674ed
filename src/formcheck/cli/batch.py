"""``formcheck batch``: analyse many videos (files, folders, globs) into --out, resumably."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from formcheck.batch import DEFAULT_MAX_SIZE_MB, INDEX_CSV, BatchResult, run_batch, summary_lines
from formcheck.cli.options import config_option, model_option, rotate_option
from formcheck.core.rules import EXERCISE_CHOICES


def _report(result: BatchResult) -> None:
    """The summary table and the counts line; warnings and failures on stderr."""
    for line in summary_lines(result):
        click.echo(line)
    c = result.counts
    n = len(result.rows)
    parts = [
        f"{c.get('ok', 0)} ok",
        f"{c.get('failed', 0)} failed",
        f"{c.get('no_person', 0)} with no person",
    ]
    if c.get("lost"):
        parts.insert(2, f"{c['lost']} lost by the cluster")
    if c.get("truncated"):
        parts.insert(1, f"{c['truncated']} truncated")
    index = result.out_dir / INDEX_CSV
    click.echo(
        f"{n} videos: {', '.join(parts)}; analysed {result.analysed} now, "
        f"{result.skipped} already done. Index: {index}"
    )
    if c.get("truncated"):
        click.echo(
            f"warning: {c['truncated']} of {n} videos are truncated or damaged: their results "
            f"cover only the part that could be read (see {index})",
            err=True,
        )
    if c.get("no_person"):
        click.echo(
            f"warning: {c['no_person']} of {n} videos had no person in frame (their "
            f"results say so; see {index})",
            err=True,
        )
    lost = c.get("lost", 0)
    if lost:
        click.echo(
            f"error: the cluster lost {lost} of {n} videos (workers died); they are not "
            "recorded as failed: rerun to redo them",
            err=True,
        )
    if result.failed > lost:
        click.echo(
            f"error: {result.failed - lost} of {n} videos failed (see "
            f"{index}; rerun with --retry-failed to redo them)",
            err=True,
        )


@click.command("batch")
@click.argument("inputs", nargs=-1, metavar="INPUT...")
@click.option(
    "--out",
    "-o",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Directory for result files, index.csv and index.json.",
)
@click.option(
    "--workers",
    "-j",
    type=int,
    default=None,
    help="Local worker processes [default: number of cores].",
)
@click.option(
    "--exercise",
    "-e",
    default="auto",
    show_default=True,
    metavar="|".join(EXERCISE_CHOICES),
    help="Exercise profile, or 'auto': read from each video's set-up.",
)
@model_option
@config_option
@click.option(
    "--scheduler",
    default=None,
    metavar="tcp://HOST:PORT",
    help="Run on this Dask cluster instead of local processes (needs formcheck[cluster]).",
)
@click.option(
    "--retry-failed",
    is_flag=True,
    help="Also redo videos that failed (or had no person) in an earlier run.",
)
@rotate_option
@click.option("--no-video", is_flag=True, help="Skip the annotated videos.")
@click.option(
    "--max-size-mb",
    type=float,
    default=DEFAULT_MAX_SIZE_MB,
    show_default=True,
    help="With --scheduler: refuse videos larger than this (they are sent to the workers whole).",
)
@click.option(
    "--report",
    "with_report",
    is_flag=True,
    help="Also write an HTML report per video (<stem>.report.html in --out).",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def command(
    inputs,
    out_dir,
    workers,
    exercise,
    model,
    config,
    scheduler,
    retry_failed,
    rotate,
    no_video,
    max_size_mb,
    with_report,
    quiet,
):
    """Analyse many videos (files, folders, globs) into --out, resumably.

    A rerun skips videos already done with the same settings; a failed video is recorded in
    index.csv / index.json and never stops the run. Exit code 1 if any video failed (a video
    with no person is a result with a warning, not a failure).
    """
    result = run_batch(
        inputs,
        out_dir,
        workers=workers,
        exercise=exercise,
        model=model,
        config=config,
        scheduler=scheduler,
        retry_failed=retry_failed,
        write_video=not no_video,
        max_size_mb=max_size_mb,
        rotate=rotate,
        quiet=quiet,
        echo=lambda m: click.echo(m, err=True),
    )
    _report(result)
    if with_report:
        from formcheck.batch.reports import write_batch_reports

        reports = write_batch_reports(
            result.rows, result.out_dir, echo=lambda m: click.echo(m, err=True)
        )
        click.echo(f"{len(reports.written)} reports in {result.out_dir}/", err=True)
    if result.failed:
        sys.exit(1)
