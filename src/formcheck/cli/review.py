"""``formcheck review``: import the results under DIR into the review store, then serve the
review app (:mod:`formcheck.review`) with uvicorn.

This command is the store's writer: on start, and when the sets list is reloaded, it imports the
result jsons under DIR that are new or changed (``DIR/formcheck.sqlite`` unless ``--db``). The
import at start runs in the background: it is waited for up to :data:`START_WAIT_S` seconds,
then the app serves what is imported so far and the list shows the progress. A store that
cannot be used (locked, corrupt, read-only) is one line and exit code 2.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from formcheck.errors import FormcheckError, InputError
from formcheck.review.app import create_app
from formcheck.review.importer import BackgroundImport
from formcheck.review.security import LOOPBACK_NAMES, TOKEN_ENV, is_loopback
from formcheck.review.store import Store, open_store

#: Seconds the start waits for the import of new result files before serving.
START_WAIT_S = 2.0
#: Problem files named at start (all are listed on the sets page).
SHOWN_PROBLEMS = 5


@click.command("review")
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--db",
    default=None,
    metavar="DIR|sqlite:///FILE",
    help="Review store [default: DIR/formcheck.sqlite].",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; anything but loopback needs --token.",
)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option(
    "--token",
    default=None,
    envvar=TOKEN_ENV,
    help=f"Access token required on every request (or env {TOKEN_ENV}).",
)
@click.option("--reviewer", default=None, help="Default reviewer name on saved verdicts.")
@click.option(
    "--no-prepare",
    is_flag=True,
    help="Don't transcode the videos for the browser in the background at start.",
)
def command(
    directory: Path | None,
    db: str | None,
    host: str,
    port: int,
    token: str | None,
    reviewer: str | None,
    no_prepare: bool,
) -> None:
    """Review flagged reps in a browser: agree / overrule / unsure, notes, exports."""
    if directory is None and db is None:
        directory = Path(".")
    _check_options(directory, host, token)
    store = open_store(db or directory)
    store.check()
    importer = None
    if directory is not None:
        importer = BackgroundImport(store, directory)
        importer.start()
        _report_start(importer, store)
    reviewer = reviewer or os.environ.get("USER") or os.environ.get("USERNAME") or ""
    allowed = None if token else [*LOOPBACK_NAMES, host.lower()]
    app = create_app(
        store,
        token=token,
        reviewer=reviewer,
        allowed_hosts=allowed,
        prepare_videos=not no_prepare,
        import_dir=directory,
        importer=importer,
    )
    import uvicorn

    click.echo(
        f"formcheck review: {_url(host, port)}{'?token=' + token if token else ''}  "
        f"(store {store.path}; Ctrl+C to stop)",
        err=True,
    )
    uvicorn.run(app, host=host, port=port, log_level="warning")


def _report_start(importer: BackgroundImport, store: Store) -> None:
    """Say what the import at start did (or that it goes on); raise if the store failed."""
    done = importer.wait(START_WAIT_S)
    p = importer.progress
    if p.error:
        raise FormcheckError(p.error)
    if not done:
        click.echo(
            f"importing {p.total} result file(s) from {importer.root} in the background "
            f"({p.done} read so far); the sets list shows the progress",
            err=True,
        )
    elif p.ids:
        click.echo(f"imported {len(p.ids)} result(s) from {importer.root}", err=True)
    problems = sorted(store.import_problems.values(), key=lambda q: q.path)
    if problems:
        names = "; ".join(f"{q.path} ({q.reason})" for q in problems[:SHOWN_PROBLEMS])
        rest = len(problems) - SHOWN_PROBLEMS
        more = f"; and {rest} more" if rest > 0 else ""
        click.echo(
            f"warning: {len(problems)} result file{'s' if len(problems) != 1 else ''} could not "
            f"be read and {'are' if len(problems) != 1 else 'is'} skipped: "
            f"{names}{more}",
            err=True,
        )


def _check_options(directory: Path | None, host: str, token: str | None) -> None:
    if directory is not None and not directory.is_dir():
        raise InputError(f"folder not found: {directory}")
    if not is_loopback(host) and not token:
        raise FormcheckError(
            f"listening on {host} exposes the review app beyond this computer:"
            f" give --token or set {TOKEN_ENV}"
        )
    if token is not None and len(token) < 8:
        raise FormcheckError("--token must be at least 8 characters")


def _url(host: str, port: int) -> str:
    """The address to open in a browser."""
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0") else host
    return f"http://{shown if ':' not in shown else f'[{shown}]'}:{port}/"
