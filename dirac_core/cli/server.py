"""`dirac-core serve`: run one component over HTTPS."""

from __future__ import annotations

from pathlib import Path

import click

from dirac_core.cli.common import cfg_option, load_config
from dirac_core.config.cfg import Config
from dirac_core.errors import NotFound
from dirac_core.plugins import import_object
from dirac_core.services.component import Component


def resolve_component(name: str, registry: str | None = None, config: Config | None = None) -> Component:
    """``System/Service`` from the registry (or `registry`, ``module:callable``), or ``module:ATTRIBUTE``.

    With `config`, an unregistered name whose CS section says ``Module = <Service>`` runs that
    service's code as a second instance (see dirac_core/server/modules.py)."""
    if ":" in name:
        found = import_object(name)
        component = found() if callable(found) and not isinstance(found, Component) else found
        if not isinstance(component, Component):
            raise NotFound(f"{name!r} is not a dirac_core Component")
        return component
    if registry:
        from dirac_core.server.up import load_registry

        components = load_registry(registry)
        if name not in components:
            raise NotFound(f"unknown component {name!r} in {registry}: known are {', '.join(sorted(components))}")
        return components[name]
    from dirac_core.services.installed import all_components, get_component

    if config is not None:
        from dirac_core.server.modules import configured_instance

        instance = configured_instance(name, config, all_components())
        if instance is not None:
            return instance
    return get_component(name)


@click.command("serve")
@click.argument("component")
@cfg_option
@click.option("--host", default=None, help="Bind address (default: <section>/Host or 0.0.0.0).")
@click.option("--port", type=int, default=None, help="Port (default: <section>/Port or the DIRAC default).")
@click.option(
    "--diset-port",
    type=click.IntRange(1, 65535),
    default=None,
    help="Also serve DIRAC RPC over DISET (dips://) on this port (default: <section>/DisetPort, unset: off).",
)
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]), default="info")
@click.option("--registry", default=None, help="module:callable listing components (tests); default: the product's.")
def serve_command(
    component: str,
    cfg_files: tuple[Path, ...],
    host: str | None,
    port: int | None,
    diset_port: int | None,
    log_level: str,
    registry: str | None,
) -> None:
    """Serve COMPONENT (System/Service) over HTTPS: REST, DIRAC RPC, /health; and DISET with --diset-port."""
    from dirac_core.server.serve import serve

    config = load_config(cfg_files)
    component_obj = resolve_component(component, registry, config)
    serve(component_obj, config, host=host, port=port, diset_port=diset_port, log_level=log_level)


@click.command("up")
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("var/dirac-local"),
    show_default=True,
    help="Certificates, dirac.cfg, SQLite databases and logs (reused when it exists).",
)
@click.option("--port-base", type=int, default=None, help="Ports from here on (0: any free ports); default: DIRAC's.")
@click.option("--component", "only", multiple=True, help="Run only these components (repeatable).")
@click.option("--registry", default=None, help="module:callable listing components (tests).")
@click.option("--check", is_flag=True, help="Start, wait until all are healthy, print the URLs, then stop.")
@click.option("--db-init/--no-db-init", default=True, show_default=True, help="Run dirac-core db init first.")
def up_command(
    state_dir: Path, port_base: int | None, only: tuple[str, ...], registry: str | None, check: bool, db_init: bool
) -> None:
    """Run a whole instance on localhost: CA, certificates, SQLite, test IdP, every component."""
    from dirac_core.server.up import DEFAULT_REGISTRY, run_up

    run_up(
        state_dir,
        registry=registry or DEFAULT_REGISTRY,
        port_base=port_base,
        only=only,
        check=check,
        db_init=_db_init if db_init else None,
    )


def _db_init(cfg_file: Path) -> None:
    """Create the schemas with `dirac-core db init` when the WMS/DB subsystem provides it."""
    import subprocess

    from dirac_core.cli.db import db
    from dirac_core.server.up import console, dirac_core_executable

    if "init" not in db.commands:
        console.print("[yellow]dirac-core db init is not available: databases are left to the components[/]")
        return
    result = subprocess.run(
        [*dirac_core_executable(), "db", "init", "--cfg", str(cfg_file)], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise click.ClickException(f"dirac-core db init failed:\n{result.stdout}{result.stderr}")


@click.command("test-idp")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, required=True)
@click.option("--cert", "cert_file", type=click.Path(dir_okay=False, exists=True), required=True)
@click.option("--key", "key_file", type=click.Path(dir_okay=False, exists=True), required=True)
@click.option("--user", "users", multiple=True, help="NAME=SUBJECT (repeatable); default: the local instance users.")
@click.option("--interval", type=int, default=2, show_default=True, help="Polling interval told to clients.")
def test_idp_command(
    host: str, port: int, cert_file: str, key_file: str, users: tuple[str, ...], interval: int
) -> None:
    """Run the built-in test identity provider over HTTPS (lab and tests only)."""
    import uvicorn

    from dirac_core.auth.lab_idp import IdPState, create_test_idp_app
    from dirac_core.server.local import USERS

    known = {name: subject for name, (subject, _groups) in USERS.items()}
    for item in users:
        name, sep, subject = item.partition("=")
        if not sep or not name or not subject:
            raise click.BadParameter(f"--user {item!r}: write NAME=SUBJECT")
        known[name] = subject
    state = IdPState(issuer=f"https://{host}:{port}", users=known, interval=interval)
    uvicorn.run(
        create_test_idp_app(state),
        host=host,
        port=port,
        ssl_certfile=cert_file,
        ssl_keyfile=key_file,
        log_level="warning",
        timeout_graceful_shutdown=5,
    )


def runtime_commands() -> list[click.Command]:
    """The commands the runtime adds to dirac-core (one line in cli/admin.py)."""
    from dirac_core.cli.certs import certs
    from dirac_core.cli.token import token_group

    return [serve_command, up_command, certs, token_group, test_idp_command]
