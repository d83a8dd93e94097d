"""What every CLI command shares: one-line errors and the --cfg option."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from dirac_core.config.cfg import Config
from dirac_core.errors import DiracError

F = TypeVar("F", bound=Callable[..., Any])


def cfg_option(func: F) -> F:
    """`--cfg FILE` may be repeated; later files win, like DIRAC's CFG merge."""
    return click.option(
        "--cfg",
        "cfg_files",
        multiple=True,
        type=click.Path(dir_okay=False, path_type=Path),
        envvar="DIRAC_CFG",
        help="DIRAC CFG file(s), merged in order (env DIRAC_CFG, colon separated).",
    )(func)


def load_config(cfg_files: tuple[Path, ...]) -> Config:
    if not cfg_files:
        raise click.UsageError("no configuration given: pass --cfg dirac.cfg or set DIRAC_CFG")
    return Config.from_files(cfg_files)


def run_cli(group: click.Group) -> None:
    """Run a click group; DiracError becomes one readable line and exit status 2."""
    try:
        # Without standalone mode click *returns* the code of an Exit (ctx.exit(1), a failed runbook)
        # instead of leaving with it: dropping it made failures exit 0.
        code = group.main(standalone_mode=False)
    except DiracError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except TimeoutError as exc:  # e.g. `dirac jobs wait`: the jobs are still there, only the wait ended
        click.echo(f"error: {exc} (wait longer with --timeout, or look with `dirac jobs status`)", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    if isinstance(code, int) and not isinstance(code, bool) and code != 0:
        sys.exit(code)
