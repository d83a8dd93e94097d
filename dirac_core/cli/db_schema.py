"""`dirac-core db init|status|upgrade [DBNAME...]`: schema versions of the databases configured in the CS."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from dirac_core.cli.common import cfg_option, load_config
from dirac_core.config.cfg import Config
from dirac_core.config.paths import database_section
from dirac_core.db.installed import DatabaseSpec
from dirac_core.errors import ConfigError, NotFound


def selected_databases(config: Config, names: tuple[str, ...]) -> list[tuple[DatabaseSpec, str]]:
    """(spec, CS section) of the named DBs, or of every DB configured in the CS: the registered ones and
    the copies component instances name with ``Database`` (e.g. EiscatFileCatalogDB, see db.configured)."""
    from dirac_core.services.instance_databases import known_databases

    specs = known_databases(config)
    for name in names:
        if name not in specs:
            raise NotFound(
                f"unknown database {name!r}: known databases are {', '.join(sorted(specs))}; a catalog's own DB "
                "is known once a Services/<Name> section with Module = FileCatalog sets Database = " + name
            )
    chosen = [specs[name] for name in names] if names else list(specs.values())
    out: list[tuple[DatabaseSpec, str]] = []
    for spec in chosen:
        try:
            section = database_section(config, spec.system, spec.name)
        except ConfigError:
            if names:
                raise
            continue
        if not config.sections(section) and not config.options(section):
            if names:
                raise ConfigError(f"{spec.name}: {section} is not configured: add URL or Host/Port/User/DBName to it")
            continue
        out.append((spec, section))
    if not out:
        raise ConfigError("no database is configured in the CS: add /Systems/<System>/<Instance>/Databases/<DBName>")
    return out


def _run(cfg_files: tuple[Path, ...], names: tuple[str, ...], verb: str, release: str | None = None) -> None:
    # Imported here: Alembic and the DB modules are not needed for `dirac-core --help`.
    from dirac_core.db import schema
    from dirac_core.db.engine import make_engine, url_from_section

    config = load_config(cfg_files)
    console = Console()
    for spec, section in selected_databases(config, names):
        engine = make_engine(url_from_section(config, section))
        try:
            with console.status(f"{verb} {spec.name} ..."):
                to = schema.revision_for_release(spec, release) if release else None
                result = schema.init(spec, engine, to) if verb == "init" else schema.upgrade(spec, engine)
                hook = spec.load_post_upgrade()
                if hook is not None:
                    hook(config, section, engine)
        finally:
            engine.dispose()
        steps = f" ({', '.join(result.applied)})" if result.applied else ""
        click.echo(f"{spec.name}: {result.action} at {result.head}{steps}")


@click.command("init")
@cfg_option
@click.option(
    "--release",
    metavar="X.Y",
    help="Stop at this schema release (a site that stays on an older release); default: the newest.",
)
@click.argument("names", nargs=-1, metavar="[DBNAME]...")
def init_command(cfg_files: tuple[Path, ...], names: tuple[str, ...], release: str | None) -> None:
    """Create the schema of empty DBs, adopt or upgrade existing ones. Never drops anything."""
    _run(cfg_files, names, "init", release)


@click.command("upgrade")
@cfg_option
@click.argument("names", nargs=-1, metavar="[DBNAME]...")
def upgrade_command(cfg_files: tuple[Path, ...], names: tuple[str, ...]) -> None:
    """Apply pending schema revisions to initialised DBs."""
    _run(cfg_files, names, "upgrade")


@click.command("status")
@cfg_option
@click.argument("names", nargs=-1, metavar="[DBNAME]...")
def status_command(cfg_files: tuple[Path, ...], names: tuple[str, ...]) -> None:
    """Print backend, current and head schema revision and pending revisions of each DB."""
    from dirac_core.db import schema
    from dirac_core.db.engine import make_engine, url_from_section

    config = load_config(cfg_files)
    table = Table("DB", "backend", "current", "head", "pending")
    for spec, section in selected_databases(config, names):
        engine = make_engine(url_from_section(config, section))
        try:
            state = schema.status(spec, engine)
        finally:
            engine.dispose()
        table.add_row(
            state.name,
            state.backend,
            state.label(state.current),
            state.label(state.head),
            ", ".join(state.pending) or "-",
        )
    Console(width=200).print(table)


def schema_commands() -> list[click.Command]:
    return [init_command, status_command, upgrade_command]
