"""Write an inventory's vault: strong random values, encrypted at once, never shown."""

from __future__ import annotations

import os
import secrets
from datetime import UTC, datetime
from pathlib import Path

from dirac_core.errors import BadRequest, Conflict
from dirac_kit.playbook import CONFIRM_FLAG
from dirac_kit.secrets.spec import Secret, secrets_of
from dirac_kit.vault import vault_path

# 32 random bytes, URL-safe base64 (43 characters): safe in CFG files, SQL and shell arguments alike.
_RANDOM_BYTES = 32


def new_value() -> str:
    return secrets.token_urlsafe(_RANDOM_BYTES)


def vault_text(inventory: Path, ident: str, wanted: list[Secret]) -> str:
    path = vault_path(inventory)
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    lines = [
        "---",
        f"# Secrets of inventory {path.parents[2].name} (vault id `{ident}`), by `dirac-kit secrets init` {stamp}.",
        f"# Read or change them: ansible-vault view|edit --vault-id {ident}@prompt group_vars/all/vault.yml",
    ]
    for secret in wanted:
        lines += [f"# {secret.purpose}", f'{secret.name}: "{new_value()}"']
    return "\n".join(lines) + "\n"


def refuse_overwrite(inventory: Path, ident: str, confirmed: bool) -> Path:
    """The vault's path; an existing vault is replaced only when confirmed (checked before any prompt)."""
    path = vault_path(inventory)
    if path.exists() and not confirmed:
        raise Conflict(
            f"{path} exists: init would replace every secret in it (and the hosts' DB passwords must follow): "
            f"change single values with `ansible-vault edit --vault-id {ident}@prompt {path}`, or add {CONFIRM_FLAG}"
        )
    return path


def init_vault(inventory: Path, ident: str, password: bytes, confirmed: bool) -> tuple[Path, list[Secret]]:
    """Create (or, confirmed, replace) the inventory's vault.yml; returns its path and the secrets set."""
    from ansible.parsing.vault import VaultLib, VaultSecret

    if not inventory.is_dir():
        raise BadRequest(f"inventory {inventory} not found: pass -i inventories/<site> (a directory)")
    if not password.strip():
        raise BadRequest("the vault password is empty: give one with --vault-id ID@prompt or ID@FILE")
    path = refuse_overwrite(inventory, ident, confirmed)
    wanted = secrets_of(inventory)
    encrypted = VaultLib().encrypt(vault_text(inventory, ident, wanted), VaultSecret(password), vault_id=ident)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(encrypted)
    tmp.replace(path)  # never a half-written vault
    return path, wanted
