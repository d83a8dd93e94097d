"""`dirac-kit`: the operator's entry point."""

from __future__ import annotations

import click

from dirac_core.cli.common import run_cli
from dirac_kit import environment


@click.group()
@click.option("-i", "--inventory", envvar="DIRAC_KIT_INVENTORY", default=None, help="Ansible inventory for the actions")
def cli(inventory: str | None) -> None:
    """Deploy and migrate DIRAC instances; run the local lab."""
    environment.prepare()


def _register() -> None:
    from dirac_kit.runbook.cli import runbook

    cli.add_command(runbook)
    from dirac_kit.migration.cli import share_config

    cli.add_command(share_config)
    from dirac_kit.ops.cli import ops

    cli.add_command(ops)
    from dirac_kit.lab.cli import lab_group
    from dirac_kit.secrets.cli import secrets

    cli.add_command(secrets)

    cli.add_command(lab_group)
    from dirac_kit.playbook_commands import register

    register(cli)


def main() -> None:
    environment.silence_dsa_warning()
    _register()
    run_cli(cli)
