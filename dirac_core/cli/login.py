"""`dirac login` and `dirac whoami`."""

from __future__ import annotations

import click

from dirac_core.client.config import ca_bundle, load_client_config, service_url
from dirac_core.client.http import ServiceClient
from dirac_core.client.login import DevicePrompt, device_login, load_token, save_token

AUTH_COMPONENT = "Framework/Auth"


def _client_cfg_option(func: click.decorators.FC) -> click.decorators.FC:
    return click.option(
        "--cfg", "cfg_file", default=None, help="Client dirac.cfg (default $DIRAC_CFG or ~/.dirac/dirac.cfg)."
    )(func)


@click.command("login")
@click.option("--group", default=None, help="DIRAC group to act in (default: your default group).")
@_client_cfg_option
@click.option("--url", default=None, help="Framework/Auth URL (default: from the client cfg).")
@click.option("--ca", "ca_file", default=None, help="CA bundle verifying the server (default: from the client cfg).")
def login_command(group: str | None, cfg_file: str | None, url: str | None, ca_file: str | None) -> None:
    """Log in with your identity provider (device code) and store an access token."""
    if url is None or ca_file is None:
        config = load_client_config(cfg_file)
        url = url or service_url(config, AUTH_COMPONENT)
        ca_file = ca_file or ca_bundle(config)

    def prompt(p: DevicePrompt) -> None:
        click.echo(f"To log in, open {p.verification_uri} and enter the code {p.user_code}")
        if p.verification_uri_complete:
            click.echo(f"(or open {p.verification_uri_complete})")
        click.echo("Waiting for approval...")

    token = device_login(url, group=group, ca_bundle=ca_file, on_prompt=prompt)
    path = save_token(token)
    click.echo(f"logged in as {token.username} (group {token.group}); token saved in {path}")


@click.command("whoami")
@_client_cfg_option
def whoami_command(cfg_file: str | None) -> None:
    """Show who the services think you are."""
    config = load_client_config(cfg_file)
    token = load_token()
    with ServiceClient(
        service_url(config, AUTH_COMPONENT), token=token.access_token, ca_bundle=ca_bundle(config)
    ) as client:
        me = client.rpc("whoami")
    click.echo(f"username:   {me['username']}")
    click.echo(f"group:      {me['group']}")
    click.echo(f"VO:         {me['vo']}")
    click.echo(f"properties: {', '.join(me['properties'])}")
