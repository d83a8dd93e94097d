"""`dirac-kit`: the operator's entry point."""

from __future__ import annotations

import click

from dirac_core.cli.common import run_cli


@click.group()
def cli() -> None:
    """Deploy and migrate DIRAC instances; run the local lab."""


def main() -> None:
    run_cli(cli)
