"""`dirac-core token ...`: the instance signing key and tokens minted by an admin (lab, scripts)."""

from __future__ import annotations

import os
from pathlib import Path

import click

from dirac_core.auth.registry import Registry
from dirac_core.auth.settings import AUTHORIZATION, token_settings
from dirac_core.auth.tokens import TokenIssuer, generate_signing_key, load_signing_key
from dirac_core.cli.common import cfg_option, load_config
from dirac_core.errors import ConfigError


@click.group("token")
def token_group() -> None:
    """Instance token key and admin-issued access tokens."""


@token_group.command("keygen")
@click.option("--out", "out_file", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--force", is_flag=True, help="Replace an existing key (every issued token becomes invalid).")
def keygen_command(out_file: Path, force: bool) -> None:
    """Create the Ed25519 token signing key (mode 0600); point TokenKeyFile at it."""
    generate_signing_key(out_file, overwrite=force)
    click.echo(f"token key written to {out_file}; set {AUTHORIZATION}/TokenKeyFile = {out_file}")


@token_group.command("issue")
@cfg_option
@click.option("--user", default=None, help="Registry user name.")
@click.option("--group", default=None, help="Group of the user (default: the user's default group).")
@click.option("--host", default=None, help="Registry host name (instead of --user).")
@click.option("--lifetime", type=int, default=None, help="Seconds (default: AccessTokenLifetime).")
@click.option(
    "--out",
    "out_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the token to this file (0600) instead of stdout.",
)
def issue_command(
    cfg_files: tuple[Path, ...],
    user: str | None,
    group: str | None,
    host: str | None,
    lifetime: int | None,
    out_file: Path | None,
) -> None:
    """Sign an access token for a Registry user or host (needs TokenKeyFile)."""
    if (user is None) == (host is None):
        raise click.UsageError("give exactly one of --user or --host")
    config = load_config(cfg_files)
    settings = token_settings(config)
    if settings.key_file is None:
        raise ConfigError(f"{AUTHORIZATION}/TokenKeyFile is not set: create a key with dirac-core token keygen")
    registry = Registry(config)
    if host is not None:
        dn = config.get(f"/Registry/Hosts/{host}/DN", None)
        if dn is None:
            raise ConfigError(f"host {host} is not in /Registry/Hosts: add it with its DN")
        caller = registry.host_caller(host, dn)
    else:
        assert user is not None
        caller = registry.user_caller(user, group)
    token = TokenIssuer(load_signing_key(settings.key_file), settings).issue_for(caller, lifetime)
    if out_file is None:
        click.echo(token)
        return
    out_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(out_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
    out_file.chmod(0o600)
    click.echo(f"token for {caller.username} ({caller.group}) written to {out_file}")
