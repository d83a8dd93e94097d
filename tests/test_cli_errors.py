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


def run_cli_with(group: click.Group, argv: list[str]) -> None:
    import sys

    saved = sys.argv
    sys.argv = ["dirac", *argv]
    try:
        run_cli(group)
    finally:
        sys.argv = saved
