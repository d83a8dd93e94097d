"""`dirac-kit lab`: bring the lab of systemd+sshd hosts up and down."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import click

from dirac_kit.lab import engine as engines
from dirac_kit.lab import lab
from dirac_kit.lab.image import ensure_image
from dirac_kit.lab.paths import LabPaths

CONFIRM_HELP = "confirm a destructive action (the lab's hosts and their data are removed)"


def _inventory(value: str | None, paths: LabPaths) -> Path:
    return Path(value) if value else paths.lab_inventory


@click.group("lab")
def lab_group() -> None:
    """The lab: inventory hosts as systemd+sshd containers on this machine (podman or Docker)."""


@lab_group.command("up")
@click.option("--site", type=click.Choice(["old", "new", "all"]), default="all", show_default=True,
              help="old = CYFRONET hosts, new = CC-IN2P3 hosts")  # fmt: skip
@click.option("-i", "--inventory", default=None, help="inventory (default: inventories/lab)")
def up_cmd(site: str, inventory: str | None) -> None:
    """Build the host image if needed and start the hosts; `ssh HOST` and Ansible work after it."""
    paths = LabPaths.default()
    lab.up(paths, _inventory(inventory, paths), site, log=click.echo)
    inv = paths.lab_inventory.relative_to(paths.root)
    click.echo(f"lab: ansible -i {inv} all --vault-id lab@{inv}/vault-password.lab.txt -m ansible.builtin.ping")


@lab_group.command("build")
@click.option("--no-cache", is_flag=True, help="rebuild the base and host images even if cached")
def build_cmd(no_cache: bool) -> None:
    """Build the lab host image (`up` does it when missing); prints its tag."""
    paths = LabPaths.default()
    started = time.monotonic()
    tag = ensure_image(engines.connect(paths), paths, log=click.echo, rebuild=no_cache)
    click.echo(f"lab: image {tag} ready in {time.monotonic() - started:.0f} s")


@lab_group.command("engine")
@click.option("--quiet", is_flag=True, help="progress on stderr: stdout is only the engine URL")
def engine_cmd(quiet: bool) -> None:
    """Start (or reuse) the lab's container engine, make sure the host image exists, print DOCKER_HOST.

    For tools driving the engine themselves (molecule's docker driver): DOCKER_HOST=$(dirac-kit lab engine --quiet).
    """
    paths = LabPaths.default()
    engine = engines.connect(paths)
    ensure_image(engine, paths, log=lambda line: click.echo(line, err=quiet))
    click.echo(engine.base_url)


@lab_group.command("down")
def down_cmd() -> None:
    """Remove the lab's containers and network and stop the podman service it started."""
    lab.down(LabPaths.default(), log=click.echo)


@lab_group.command("reset")
@click.option("--site", type=click.Choice(["old", "new", "all"]), default="all", show_default=True)
@click.option("-i", "--inventory", default=None, help="inventory (default: inventories/lab)")
@click.option("--yes-i-really-mean-it", "confirmed", is_flag=True, help=CONFIRM_HELP)
def reset_cmd(site: str, inventory: str | None, confirmed: bool) -> None:
    """Remove the hosts of SITE (default: the whole lab), then up from the cached image: bare hosts again."""
    if not confirmed:
        raise click.UsageError("lab reset destroys lab hosts and their data: add --yes-i-really-mean-it")
    paths = LabPaths.default()
    lab.remove_site(paths, _inventory(inventory, paths), site, log=click.echo)
    lab.up(paths, _inventory(inventory, paths), site, log=click.echo)


@lab_group.command("load")
@click.option("--files", type=click.IntRange(1), default=10000, show_default=True, help="catalog files per instance")
@click.option("--jobs", type=click.IntRange(1), default=1000, show_default=True, help="jobs per instance, run to Done")
@click.option("--pilots", type=click.IntRange(1), default=4, show_default=True, help="pilots per instance, in parallel")
def load_cmd(files: int, jobs: int, pilots: int) -> None:
    """Real activity on the deployed old site: files with replicas and metadata, jobs run by pilots."""
    from dirac_kit.lab.load import load_old_site

    started = time.monotonic()
    try:
        load_old_site(LabPaths.default(), files, jobs, pilots, log=click.echo)
    except RuntimeError as exc:
        hint = "is the old site deployed? ansible-playbook playbooks/site.yml --limit cyfronet"
        raise click.ClickException(f"{exc} ({hint})") from exc
    click.echo(f"lab: old site loaded in {time.monotonic() - started:.0f} s")


@lab_group.command("status")
def status_cmd() -> None:
    """Table of the lab hosts: IP, container state, systemd state."""
    paths = LabPaths.default()
    if lab.refresh_overlay(paths):
        click.echo(f"lab: a host's IP changed (restarted): {paths.ssh_config} rewritten")
    states = lab.status(paths)
    if not states:
        click.echo("lab: no hosts (run `dirac-kit lab up`)")
        return
    click.echo(f"{'HOST':<14} {'IP':<15} {'SITE':<5} {'STATE':<9} {'SYSTEMD':<10} IMAGE")
    for s in states:
        click.echo(f"{s.name:<14} {s.ip or '-':<15} {s.site:<5} {s.status:<9} {s.systemd:<10} {s.image}")


@lab_group.command("ssh", context_settings={"ignore_unknown_options": True})
@click.argument("host")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
def ssh_cmd(host: str, command: tuple[str, ...]) -> None:
    """Open a shell (or run COMMAND) on a lab host as root."""
    paths = LabPaths.default()
    if not paths.ssh_config.exists():
        raise click.ClickException("the lab is not up: run `dirac-kit lab up`")
    lab.refresh_overlay(paths)  # a restarted host has a new IP
    ssh = shutil.which("ssh")
    if ssh is None:
        raise click.ClickException("ssh not found: install openssh-client")
    argv = ["ssh", "-F", str(paths.ssh_config), host, *command]
    os.execv(ssh, argv)  # noqa: S606 - this process becomes the ssh session
