"""`dirac-kit secrets init -i INVENTORY`: a complete vault for an inventory, like kolla-genpwd."""

from __future__ import annotations

from pathlib import Path

import click

from dirac_core.errors import BadRequest
from dirac_kit.playbook import CONFIRM_FLAG
from dirac_kit.secrets.store import init_vault, refuse_overwrite
from dirac_kit.vault import lab_vault_file, vault_id


@click.group()
def secrets() -> None:
    """The inventory's vault (group_vars/all/vault.yml): every vaulted variable the roles need."""


def _password(ident: str, source: str) -> bytes:
    if source == "prompt":
        value: str = click.prompt(f"New vault password ({ident})", hide_input=True, confirmation_prompt=True, err=True)
        return value.encode()
    from ansible.errors import AnsibleError
    from ansible.parsing.dataloader import DataLoader
    from ansible.parsing.vault import get_file_vault_secret

    try:
        secret = get_file_vault_secret(filename=source, vault_id=ident, loader=DataLoader())
        secret.load()
    except AnsibleError as exc:
        raise BadRequest(f"vault password source {source}: {str(exc).splitlines()[0]}") from None
    return bytes(secret.bytes)


@secrets.command("init")
@click.option("-i", "--inventory", "inventory_opt", default=None, help="inventory directory (or before `secrets`)")
@click.option("--vault-id", "vault_id_opt", default=None,
              help="ID@prompt or ID@FILE: the vault id and its password (default: the inventory's id, prompted; "
                   "the lab's committed file for inventories/lab)")  # fmt: skip
@click.option(CONFIRM_FLAG, "confirmed", is_flag=True, help="replace an existing vault (every secret changes)")
@click.pass_context
def init(ctx: click.Context, inventory_opt: str | None, vault_id_opt: str | None, confirmed: bool) -> None:
    """Create group_vars/all/vault.yml with a strong random value for every secret; values are never shown."""
    chosen = inventory_opt or ctx.find_root().params.get("inventory")
    if not chosen:
        raise click.UsageError("no inventory: dirac-kit secrets init -i inventories/<site>")
    inventory = Path(chosen)
    if not inventory.is_dir():
        raise BadRequest(f"inventory {inventory} not found: pass -i inventories/<site> (a directory)")
    ident = vault_id(inventory)
    lab_file = lab_vault_file(inventory)
    source = "prompt" if lab_file is None else str(lab_file)
    if vault_id_opt:
        ident, _, source = vault_id_opt.rpartition("@") if "@" in vault_id_opt else (ident, "", vault_id_opt)
    refuse_overwrite(inventory, ident, confirmed)
    path, written = init_vault(inventory, ident, _password(ident, source), confirmed)
    click.echo(f"wrote {path} (vault id {ident}, mode 0600): {len(written)} secrets, values not shown:")
    for secret in written:
        click.echo(f"  {secret.name}: {secret.purpose}")
    click.echo(f"use it with: dirac-kit -i {inventory} prechecks --vault-id {ident}@{source}")
