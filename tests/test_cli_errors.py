"""The CLIs' error contract: a failure is one readable line on stderr and a non-zero exit, no traceback."""

from __future__ import annotations

import click
import pytest

from dirac_core.cli.common import run_cli


def test_a_wait_that_times_out_is_one_line_naming_the_fix(capsys: pytest.CaptureFixture[str]) -> None:
    @click.group()
    def cli() -> None: ...

    @cli.command()
    def wait() -> None:
        raise TimeoutError("1 of 1000 jobs not finished after 600s")

    with pytest.raises(SystemExit) as done:
        run_cli_with(cli, ["wait"])
    err = capsys.readouterr().err
    assert done.value.code == 1
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "1 of 1000 jobs not finished after 600s" in err and "--timeout" in err


@pytest.mark.parametrize("how", ["raise Exit", "ctx.exit"])
def test_a_command_that_exits_non_zero_leaves_with_that_status(how: str) -> None:
    """`dirac-kit runbook run` raises Exit(1) when a step fails: the shell (and the e2e test) must see 1."""

    @click.group()
    def cli() -> None: ...

    @cli.command()
    @click.pass_context
    def fail(ctx: click.Context) -> None:
        if how == "ctx.exit":
            ctx.exit(3)
        raise click.exceptions.Exit(3)

    @cli.command()
    def succeed() -> None: ...

    with pytest.raises(SystemExit) as done:
        run_cli_with(cli, ["fail"])
    assert done.value.code == 3
    run_cli_with(cli, ["succeed"])  # no SystemExit: status 0


def run_cli_with(group: click.Group, argv: list[str]) -> None:
    import sys

    saved = sys.argv
    sys.argv = ["dirac", *argv]
    try:
        run_cli(group)
    finally:
        sys.argv = saved
