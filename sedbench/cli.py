"""The sedbench command line: thin click commands over the Python API.

Every command catches user mistakes (SedbenchError, click usage errors) and prints one line on
stderr with a non-zero exit code; ``--debug`` shows the full traceback instead.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console

from sedbench import __version__
from sedbench.errors import SedbenchError

console = Console()
err_console = Console(stderr=True)


class SedbenchGroup(click.Group):
    """Turns SedbenchError into a one-line message unless --debug is on."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except SedbenchError as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
            sys.exit(2)


@click.group(cls=SedbenchGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sedbench")
@click.option("--debug", is_flag=True, help="Show full tracebacks instead of one-line errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Benchmark knowledge-distillation methods for sound event detection."""
    ctx.obj = {"debug": debug}


# ----------------------------------------------------------------------------------------- data
@cli.group()
def data() -> None:
    """Generate, check and inspect datasets in the DESED layout."""


# -------------------------------------------------------------------------------------- methods


# ------------------------------------------------------------------------------ run / evaluate


# ------------------------------------------------------------------------------------- teachers


# -------------------------------------------------------------------------------------- profile


# -------------------------------------------------------------------------------- table / plot


def main() -> None:
    """Console-script entry point."""
    debug = "--debug" in sys.argv[1:]
    try:
        # Commands may return an int exit code (e.g. `run` returns 1 when a run failed).
        rc = cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        err_console.print("aborted")
        sys.exit(130)
    except click.ClickException as exc:
        if debug:
            raise
        err_console.print(f"[bold red]error:[/] {exc.format_message()}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
    sys.exit(rc if isinstance(rc, int) else 0)


if __name__ == "__main__":
    main()
