"""The ``formcheck`` command line: a thin click layer over the library API.

Every click command lives in this package (one module per command, loaded on first use);
nothing outside ``formcheck.cli`` imports click, and the library never imports this package.

User errors (bad files, options, configs, models) print one line, ``error: ...``, and exit 2.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys

import click

from formcheck import __version__
from formcheck.errors import FormcheckError

# Quieten MediaPipe / TFLite native logging before mediapipe is imported anywhere.
os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

#: Commands defined in other modules, loaded on first use: name -> "module:attribute".
LAZY_COMMANDS = {
    "analyze": "formcheck.cli.analyze:command",
    "live": "formcheck.cli.live:command",
    "batch": "formcheck.cli.batch:command",
    "report": "formcheck.cli.report:command",
    "review": "formcheck.cli.review:command",
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
            raise FormcheckError(
                f"'formcheck {name}' needs the package '{exc.name}': "
                f"pip install 'formcheck[{name}]'"
            ) from None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="formcheck")
def cli() -> None:
    """Form analysis for the hip thrust and the glute bridge."""


@cli.command("models")
def models_cmd():
    """List the pose models and where they are."""
    from formcheck.pose.models import (
        MODEL_NAMES,
        REMOTE_MODELS,
        bundled_model_path,
        default_cache_dir,
    )

    click.echo(f"full   bundled  {bundled_model_path()}")
    for name, rm in REMOTE_MODELS.items():
        p = default_cache_dir() / rm.filename
        click.echo(f"{name:<6} {'cached ' if p.is_file() else 'fetched on first use'}  {p}")
    assert set(MODEL_NAMES) == {"full", *REMOTE_MODELS}


def main(argv: list[str] | None = None) -> None:
    """Entry point: runs the CLI, turning user errors into one line and exit code 2."""
    from formcheck.pose.native_log import quiet_native_stderr

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
