"""`dirac-core db ...`: schema management and migration of the DIRAC databases."""

from __future__ import annotations

import click


@click.group()
def db() -> None:
    """Create, inspect, upgrade and migrate DIRAC databases."""


def _register_schema_commands() -> None:
    from dirac_core.cli.db_schema import schema_commands

    for command in schema_commands():
        db.add_command(command)


_register_schema_commands()


def _register_migrate_command() -> None:
    from dirac_core.cli.db_migrate import migrate_command

    db.add_command(migrate_command)


_register_migrate_command()


def _register_cutover_command() -> None:
    from dirac_core.cli.db_cutover import cutover_command

    db.add_command(cutover_command)


_register_cutover_command()
