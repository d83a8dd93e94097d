"""`dirac-kit ops status|logs|freeze|unfreeze -i INVENTORY`: ad-hoc operations across hosts."""

from __future__ import annotations

from pathlib import Path

import click

from dirac_kit import environment, site_state
from dirac_kit.ops import tasks
from dirac_kit.ops.hosts import Fleet, load_fleet
from dirac_kit.state import RunPaths
from dirac_kit.vault import require_password

_inventory = click.option(
    "-i", "--inventory", "inventories", multiple=True, type=click.Path(path_type=Path),
    help="Ansible inventory (repeatable; default: the one given to dirac-kit -i).",
)  # fmt: skip
_ssh_config = click.option(
    "--ssh-config", type=click.Path(path_type=Path), help="ssh_config to use (default: the lab's, if any)."
)
_vault = click.option("--vault-password-file", type=click.Path(path_type=Path), help="Vault password file.")
_override = click.option(
    site_state.OVERRIDE_OPTION, "override_site_state", multiple=True, metavar="STATE",
    help="act on hosts of a site the migration left decommissioned, frozen or mid-migration (name that state)",
)  # fmt: skip
_state = click.option(
    "--state-dir", type=click.Path(path_type=Path), default=None,
    help="Where freeze records are kept (default: var/<lab>/runs/<inventory>/ops, var/sites/<inventory>/ops).",
)  # fmt: skip


def _chosen(ctx: click.Context, inventories: tuple[Path, ...]) -> list[Path]:
    chosen = list(inventories)
    if not chosen and (root := ctx.find_root().params.get("inventory")):
        chosen = [Path(root)]
    if not chosen:
        raise click.UsageError("no inventory: dirac-kit ops status -i inventories/lab")
    return chosen


def _fleet(ctx: click.Context, inventories: tuple[Path, ...], ssh_config: Path | None, vault: Path | None) -> Fleet:
    chosen = _chosen(ctx, inventories)
    require_password(chosen, password_file=vault, option="--vault-password-file")
    environment.prepare(chosen, vault_password_file=vault)
    return load_fleet(chosen, ssh_config, vault)


def _state_dir(ctx: click.Context, given: Path | None, inventories: tuple[Path, ...]) -> Path:
    return given if given is not None else RunPaths.of(_chosen(ctx, inventories)).ops


def _guard(
    ctx: click.Context, inventories: tuple[Path, ...], fleet: Fleet, what: str, hosts: list[str],
    overrides: tuple[str, ...], leave_out: str,
) -> None:  # fmt: skip
    """Refuse (dirac_kit.site_state) when `hosts` include one of a site the migration decommissioned,
    froze or is moving, unless the operator named that state."""
    chosen = _chosen(ctx, inventories)
    states = site_state.recorded(chosen, site_state.site_groups(chosen))
    site_state.check_hosts(what, hosts, fleet.groups, states, overrides, leave_out)


@click.group()
def ops() -> None:
    """Status, logs and write freeze across the hosts of an inventory (Fabric over SSH)."""


@ops.command()
@_inventory
@_ssh_config
@_vault
@click.option("--hosts", "pattern", default="all", show_default=True, help="Group or host (a:b union, a:&b both).")
@click.pass_context
def status(
    ctx: click.Context, inventories: tuple[Path, ...], ssh_config: Path | None, vault_password_file: Path | None,
    pattern: str,
) -> None:  # fmt: skip
    """State of every DIRAC component on every host."""
    states = tasks.status(_fleet(ctx, inventories, ssh_config, vault_password_file), pattern)
    click.echo(f"{'HOST':<14} {'UNIT':<52} {'ACTIVE':<12} {'SUB':<10} ENABLED")
    for s in states:
        click.echo(f"{s.host:<14} {s.unit:<52} {s.active:<12} {s.sub:<10} {s.enabled}")
    bad = [s for s in states if s.active in ("failed", "unreachable")]
    if bad:
        raise click.exceptions.Exit(1)


@ops.command()
@_inventory
@_ssh_config
@_vault
@click.option("--hosts", "pattern", default="all", show_default=True, help="Group or host.")
@click.option("-u", "--unit", help="One unit (default: every dirac-* unit).")
@click.option("-n", "--lines", default=50, show_default=True, help="Lines per host.")
@click.pass_context
def logs(
    ctx: click.Context, inventories: tuple[Path, ...], ssh_config: Path | None, vault_password_file: Path | None,
    pattern: str, unit: str | None, lines: int,
) -> None:  # fmt: skip
    """Tail the journal of the DIRAC components on the hosts."""
    for result in tasks.logs(_fleet(ctx, inventories, ssh_config, vault_password_file), pattern, unit, lines):
        click.echo(f"==> {result.host} <==")
        click.echo(result.stdout.rstrip() if result.ok else f"error: {result.stderr.strip()}")


@ops.command()
@_inventory
@_ssh_config
@_vault
@_state
@_override
@click.option("--hosts", "pattern", default="all", show_default=True,
              help="Only these hosts of the instance (a:!b leaves b out, e.g. an unreachable host).")  # fmt: skip
@click.argument("instance")
@click.pass_context
def freeze(
    ctx: click.Context, inventories: tuple[Path, ...], ssh_config: Path | None, vault_password_file: Path | None,
    state_dir: Path | None, override_site_state: tuple[str, ...], pattern: str, instance: str,
) -> None:  # fmt: skip
    """Stop writes to INSTANCE: every component but its Configuration Servers is stopped (recorded)."""
    fleet = _fleet(ctx, inventories, ssh_config, vault_password_file)
    hosts = fleet.hosts(instance if pattern == "all" else f"{instance}:&{pattern}")
    leave_out = f"--hosts '{'all' if pattern == 'all' else pattern}:!{{group}}'"
    _guard(ctx, inventories, fleet, f"ops freeze {instance}", hosts, override_site_state, leave_out)
    stopped = tasks.freeze(fleet, instance, _state_dir(ctx, state_dir, inventories), pattern)
    for host, units in stopped.items():
        click.echo(f"{host}: stopped {', '.join(units)}")
    click.echo(f"{instance} frozen; `dirac-kit ops unfreeze {instance}` starts the same units again")


@ops.command()
@_inventory
@_ssh_config
@_vault
@_state
@_override
@click.argument("instance")
@click.pass_context
def unfreeze(
    ctx: click.Context, inventories: tuple[Path, ...], ssh_config: Path | None, vault_password_file: Path | None,
    state_dir: Path | None, override_site_state: tuple[str, ...], instance: str,
) -> None:  # fmt: skip
    """Start again the components that freeze stopped."""
    fleet = _fleet(ctx, inventories, ssh_config, vault_password_file)
    hosts = sorted(tasks.frozen_units(instance, _state_dir(ctx, state_dir, inventories)))
    leave_out = "start the units of the other hosts by hand: systemctl start UNIT"
    _guard(ctx, inventories, fleet, f"ops unfreeze {instance}", hosts, override_site_state, leave_out)
    started = tasks.unfreeze(fleet, instance, _state_dir(ctx, state_dir, inventories))
    for host, units in started.items():
        click.echo(f"{host}: started {', '.join(units)}")
