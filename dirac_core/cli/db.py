"""`dirac-core db ...`: schema management and migration of the DIRAC databases."""

from __future__ import annotations

import click


@click.group()
def db() -> None:
    """Create, inspect, upgrade and migrate DIRAC databases."""
