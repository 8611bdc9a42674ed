"""The ``formcheck`` command line: a thin click layer over the library API.

User errors (bad files, options, configs, models) print one line, ``error: ...``, and exit 2.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from pathlib import Path

import click

from . import __version__
from .errors import FormcheckError
from .rules import EXERCISE_CHOICES, EXERCISES, RULE_IDS

# Quieten MediaPipe / TFLite native logging before mediapipe is imported anywhere.
os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

#: Commands defined in other modules, loaded on first use: name -> "module:attribute".
LAZY_COMMANDS = {
    "live": "formcheck.live:command",
    "batch": "formcheck.batch:command",
    "report": "formcheck.report:command",
    "review": "formcheck.review.app:command",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx):
        names = set(super().list_commands(ctx))
        for name, target in LAZY_COMMANDS.items():
            try:
                if importlib.util.find_spec(target.split(":")[0]) is not None:
                    names.add(name)
            except ModuleNotFoundError:
                pass
        return sorted(names)

    def get_command(self, ctx, name):
        cmd = super().get_command(ctx, name)
        if cmd is not None or name not in LAZY_COMMANDS:
            return cmd
        mod, attr = LAZY_COMMANDS[name].split(":")
        try:
            return getattr(importlib.import_module(mod), attr)
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith("formcheck"):
                return None
            raise FormcheckError(f"'formcheck {name}' needs the package '{exc.name}': "
                                 f"pip install 'formcheck[{name}]'") from None


exercise_option = click.option(
    "--exercise", "-e", type=click.Choice(EXERCISES), default="hip_thrust", show_default=True,
    help="Exercise profile.")
#: For file analysis: also ``auto`` (each video's exercise read from its set-up).
file_exercise_option = click.option(
    "--exercise", "-e", type=click.Choice(EXERCISE_CHOICES), default="hip_thrust",
    show_default=True,
    help="Exercise profile, or 'auto': read from each video's set-up (shoulders on a bench "
         "or on the floor).")
model_option = click.option(
    "--model", "-m", default="full", show_default=True, metavar="full|lite|heavy|PATH",
    help="Pose model: 'full' is bundled; 'lite'/'heavy' are fetched once; or a .task file.")
config_option = click.option(
    "--config", "-c", type=click.Path(dir_okay=True, path_type=Path), default=None,
    help="TOML file overriding the exercise profile's thresholds.")


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="formcheck")
def cli() -> None:
    """Form analysis for the hip thrust and the glute bridge."""


def _bar(total: int, desc: str, quiet: bool):
    """A tqdm progress bar on stderr; off with ``quiet`` or when stderr is not a terminal."""
    from tqdm import tqdm
    return tqdm(total=total, desc=desc, unit="frame", disable=True if quiet else None,
                leave=False, dynamic_ncols=True, file=sys.stderr)


def summary_table(rows: list[dict]) -> str:
    """Plain-text table: one row per video with reps, attempts and faults per rule."""
    head = ["video", "exercise", "reps", "attempts", "faults", "view"]
    body = []
    for r in rows:
        body.append([r["name"], r.get("exercise", ""), str(r.get("reps", "-")),
                     str(r.get("attempts", "-")), r.get("faults", ""), r.get("view", "")])
    widths = [max(len(head[i]), *(len(b[i]) for b in body)) if body else len(head[i])
              for i in range(len(head))]
    line = "  ".join(h.ljust(w) for h, w in zip(head, widths))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.ljust(w) for c, w in zip(b, widths)) for b in body]
    return "\n".join(out)


def session_row(name: str, session) -> dict:
    counts = session.fault_counts()
    faults = ", ".join(f"{k} x{counts[k]}" for k in RULE_IDS if k in counts) or "none"
    view = session.camera.get("view", "")
    if session.camera.get("warning"):
        view += " (!)"
    exercise = session.exercise
    check = session.exercise_check or {}
    if check.get("source") == "detected":
        exercise += " (auto)" if check.get("looks_like") else " (auto?)"
    elif check.get("looks_like") not in (None, session.exercise):
        exercise += " (!)"
    return {"name": name, "exercise": exercise, "reps": session.rep_count,
            "attempts": len(session.attempts), "faults": faults, "view": view}


@cli.command()
@click.argument("videos", nargs=-1, type=click.Path(path_type=Path))
@click.option("--out", "-o", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              required=True, help="Directory for the result files.")
@file_exercise_option
@model_option
@config_option
@click.option("--no-video", is_flag=True, help="Skip the annotated video.")
@click.option("--track", "tracks", multiple=True, type=click.Path(path_type=Path),
              help="Re-analyse a saved .track.npz instead of running the model (repeatable).")
@click.option("--report", "with_report", is_flag=True, help="Also write an HTML report.")
@click.option("--max-people", type=click.IntRange(1, 6), default=1, show_default=True,
              help="People the detector considers per frame; with more than 1, formcheck "
                   "follows the largest, most central one (slower: the detector runs on "
                   "every frame).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def analyze(videos, out_dir, exercise, model, config, no_video, tracks, with_report,
            max_people, quiet):
    """Analyse VIDEO files: reps, phases and form faults, with result files in --out."""
    from .pipeline import analyze_video, reanalyze, resolve_profile
    from .pose import PoseOptions
    from .video import probe_video

    if not videos and not tracks:
        raise click.UsageError("give at least one VIDEO or --track FILE.npz")
    profile = resolve_profile(exercise, config)  # a bad config fails before any video work
    if not tracks:
        from .models import resolve_model
        resolve_model(model)  # a bad model fails before any video work
    rows, errors = [], []
    for v in videos:
        try:
            info = probe_video(v)
            with _bar(info.frame_count, v.name, quiet) as bar:
                a = analyze_video(v, exercise=profile, model=model,
                                  out_dir=out_dir, write_video=not no_video,
                                  pose_options=PoseOptions(num_poses=max_people),
                                  progress=bar.update, info=info)
        except FormcheckError as exc:
            errors.append(str(exc))
            click.echo(f"error: {exc}", err=True)
            continue
        _after(a, out_dir, v.stem, with_report)
        rows.append(session_row(v.name, a.session))
    for tpath in tracks:
        try:
            a = reanalyze(tpath, exercise=profile, out_dir=out_dir,
                          write_video=not no_video)
        except FormcheckError as exc:
            errors.append(str(exc))
            click.echo(f"error: {exc}", err=True)
            continue
        stem = Path(str(a.session.video.get("path") or tpath)).stem
        _after(a, out_dir, stem, with_report)
        rows.append(session_row(tpath.name, a.session))
    if rows:
        click.echo(summary_table(rows))
        click.echo(f"results in {out_dir}/")
    if errors:
        sys.exit(2)


def _after(analysis, out_dir: Path, stem: str, with_report: bool) -> None:
    for w in analysis.session.warnings:
        click.echo(f"warning: {stem}: {w}", err=True)
    if with_report:
        try:
            from .report import write_report
        except ModuleNotFoundError:
            raise FormcheckError("the HTML report is not available in this install") from None
        write_report(analysis.session, Path(out_dir) / f"{stem}.report.html",
                     base_dir=Path(out_dir))
    try:  # results also go to the review store when it is available
        from .store import record_session
    except ModuleNotFoundError:
        return
    record_session(Path(out_dir), analysis.session, Path(out_dir) / f"{stem}.json")


@cli.command("models")
def models_cmd():
    """List the pose models and where they are."""
    from .models import MODEL_NAMES, REMOTE_MODELS, bundled_model_path, default_cache_dir
    click.echo(f"full   bundled  {bundled_model_path()}")
    for name, rm in REMOTE_MODELS.items():
        p = default_cache_dir() / rm.filename
        click.echo(f"{name:<6} {'cached ' if p.is_file() else 'fetched on first use'}  {p}")
    assert set(MODEL_NAMES) == {"full", *REMOTE_MODELS}


def main(argv: list[str] | None = None) -> None:
    """Entry point: runs the CLI, turning user errors into one line and exit code 2."""
    from .native_log import quiet_native_stderr

    with quiet_native_stderr():
        _main(argv)


def _main(argv: list[str] | None) -> None:
    try:
        rv = cli.main(args=argv, prog_name="formcheck", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as exc:
        click.echo(exc.ctx.get_help() if exc.ctx else str(exc))
        sys.exit(2)
    except click.UsageError as exc:
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx else ""
        click.echo(f"error: {exc.format_message()}{hint}", err=True)
        sys.exit(2)
    except FormcheckError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        click.echo(f"error: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    sys.exit(rv if isinstance(rv, int) else 0)


if __name__ == "__main__":
    main()
