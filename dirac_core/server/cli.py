"""`dirac-core serve`: run one component over HTTPS."""

from __future__ import annotations

import importlib
from pathlib import Path

import click

from dirac_core.cli.common import cfg_option, load_config
from dirac_core.errors import NotFound
from dirac_core.server.component import Component


def resolve_component(name: str) -> Component:
    """``System/Service`` from the registry, or ``package.module:ATTRIBUTE`` (tests, plug-ins)."""
    if ":" in name:
        module_name, _, attribute = name.partition(":")
        try:
            found = getattr(importlib.import_module(module_name), attribute)
        except (ImportError, AttributeError) as exc:
            raise NotFound(f"cannot load component {name!r}: {exc}: check PYTHONPATH and the name") from exc
        component = found() if callable(found) and not isinstance(found, Component) else found
        if not isinstance(component, Component):
            raise NotFound(f"{name!r} is not a dirac_core Component")
        return component
    from dirac_core.services.registry import get_component

    return get_component(name)


@click.command("serve")
@click.argument("component")
@cfg_option
@click.option("--host", default=None, help="Bind address (default: <section>/Host or 0.0.0.0).")
@click.option("--port", type=int, default=None, help="Port (default: <section>/Port or the DIRAC default).")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]), default="info")
def serve_command(
    component: str, cfg_files: tuple[Path, ...], host: str | None, port: int | None, log_level: str
) -> None:
    """Serve COMPONENT (System/Service) over HTTPS: REST, DIRAC RPC, /health."""
    from dirac_core.server.serve import serve

    config = load_config(cfg_files)
    serve(resolve_component(component), config, host=host, port=port, log_level=log_level)


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

    from dirac_core.auth.test_idp import IdPState, create_test_idp_app
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
    from dirac_core.security.cli import certs

    return [serve_command, certs, test_idp_command]
