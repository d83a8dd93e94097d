"""`dirac-core certs ...`: the instance CA, host and user certificates (files as DIRAC names them)."""

from __future__ import annotations

from pathlib import Path

import click

from dirac_core.x509.certs import (
    certificate_info,
    create_ca,
    issue_host_certificate,
    issue_user_certificate,
    load_certificate,
    load_private_key,
    verify_certificate,
    write_certificate,
    write_private_key,
)

CA_CERT, CA_KEY = "ca.pem", "ca.key"
HOST_CERT, HOST_KEY = "hostcert.pem", "hostkey.pem"
USER_CERT, USER_KEY = "usercert.pem", "userkey.pem"

_dir = click.Path(file_okay=False, path_type=Path)
_force = click.option("--force", is_flag=True, help="Replace existing files (the old ones are lost).")
_days = click.option("--days", type=click.IntRange(1, 36500), default=395, show_default=True)


@click.group()
def certs() -> None:
    """Create and inspect the instance CA, host and user certificates."""


@certs.command("ca")
@click.option("--out-dir", type=_dir, required=True, help=f"Writes {CA_CERT} and {CA_KEY} (0600) here.")
@click.option("--name", default="dirac_core instance CA", show_default=True, help="CA common name.")
@click.option("--days", type=click.IntRange(1, 36500), default=3650, show_default=True)
@_force
def ca_command(out_dir: Path, name: str, days: int, force: bool) -> None:
    """Create a new instance CA."""
    cert, key = create_ca(name, days)
    write_private_key(out_dir / CA_KEY, key, overwrite=force)
    write_certificate(out_dir / CA_CERT, cert, overwrite=force)
    click.echo(f"CA {certificate_info(cert).subject} -> {out_dir / CA_CERT}")


@certs.command("host")
@click.argument("fqdn")
@click.option("--ca-dir", type=_dir, required=True, help=f"Directory with {CA_CERT} and {CA_KEY}.")
@click.option("--out-dir", type=_dir, required=True, help=f"Writes {HOST_CERT} and {HOST_KEY} (0600) here.")
@click.option("--alt", "alt_names", multiple=True, help="Extra DNS name (repeatable).")
@click.option("--ip", "ips", multiple=True, help="IP address SAN (repeatable).")
@_days
@_force
def host_command(
    fqdn: str, ca_dir: Path, out_dir: Path, alt_names: tuple[str, ...], ips: tuple[str, ...], days: int, force: bool
) -> None:
    """Issue a host certificate (serverAuth + clientAuth) for FQDN."""
    ca_cert, ca_key = load_certificate(ca_dir / CA_CERT), load_private_key(ca_dir / CA_KEY)
    cert, key = issue_host_certificate(ca_cert, ca_key, fqdn, alt_names=alt_names, ips=ips, days=days)
    write_private_key(out_dir / HOST_KEY, key, overwrite=force)
    write_certificate(out_dir / HOST_CERT, cert, overwrite=force)
    info = certificate_info(cert)
    click.echo(f"host {info.subject} ({', '.join(info.names)}) -> {out_dir / HOST_CERT}")


@certs.command("user")
@click.argument("username")
@click.option("--ca-dir", type=_dir, required=True, help=f"Directory with {CA_CERT} and {CA_KEY}.")
@click.option("--out-dir", type=_dir, required=True, help=f"Writes {USER_CERT} and {USER_KEY} (0600) here.")
@click.option("--email", default=None)
@_days
@_force
def user_command(username: str, ca_dir: Path, out_dir: Path, email: str | None, days: int, force: bool) -> None:
    """Issue a user certificate (clientAuth) for USERNAME."""
    ca_cert, ca_key = load_certificate(ca_dir / CA_CERT), load_private_key(ca_dir / CA_KEY)
    cert, key = issue_user_certificate(ca_cert, ca_key, username, email=email, days=days)
    write_private_key(out_dir / USER_KEY, key, overwrite=force)
    write_certificate(out_dir / USER_CERT, cert, overwrite=force)
    click.echo(f"user {certificate_info(cert).subject} -> {out_dir / USER_CERT}")


@certs.command("info")
@click.argument("cert_file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--ca", "ca_file", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None)
@click.option("--warn-days", type=int, default=None, help="Exit 1 when the certificate expires within N days.")
def info_command(cert_file: Path, ca_file: Path | None, warn_days: int | None) -> None:
    """Print subject (DIRAC DN), issuer, names and expiry; with --ca also verify the signature."""
    cert = load_certificate(cert_file)
    info = certificate_info(cert)
    click.echo(f"subject:   {info.subject}")
    click.echo(f"issuer:    {info.issuer}")
    click.echo(f"names:     {', '.join(info.names) or '-'}")
    click.echo(f"not after: {info.not_after:%Y-%m-%d %H:%M:%S} UTC ({info.days_left} days left)")
    if ca_file is not None:
        verify_certificate(cert, load_certificate(ca_file))
        click.echo("verified:  yes")
    if warn_days is not None and info.days_left < warn_days:
        click.echo(f"error: {cert_file} expires in {info.days_left} days (< {warn_days}): renew it", err=True)
        raise SystemExit(1)


@certs.command("proxy")
@click.option("--cert", "cert_file", type=click.Path(dir_okay=False, exists=True, path_type=Path), required=True)
@click.option("--key", "key_file", type=click.Path(dir_okay=False, exists=True, path_type=Path), required=True)
@click.option("--out", "out_file", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--hours", type=float, default=12, show_default=True)
@_force
def proxy_command(cert_file: Path, key_file: Path, out_file: Path, hours: float, force: bool) -> None:
    """Create an RFC 3820 proxy (certificate + key + issuer, one 0600 PEM file) from CERT/KEY."""
    from dirac_core.x509.certs import write_file
    from dirac_core.x509.proxy import create_proxy

    pem = create_proxy(load_certificate(cert_file), load_private_key(key_file), hours=hours)
    write_file(out_file, pem, 0o600, force)
    click.echo(f"proxy of {certificate_info(load_certificate(cert_file)).subject} -> {out_file} ({hours:g} h)")
