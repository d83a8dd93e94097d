"""An inventory's vault: where it is, its vault id, and whether the operator gave a password that opens it.

Each inventory keeps its secrets in ``group_vars/all/vault.yml``, encrypted with one vault id (the
inventory name with ``_`` for ``-``: ``cc_in2p3``). Ansible's own error for a missing or wrong vault
password ("Attempting to decrypt but no vault secrets found") names neither the vault id nor the fix;
the kit checks before it starts Ansible and says both in one line.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from dirac_core.errors import BadRequest

VAULT_HEADER = "$ANSIBLE_VAULT;"
VAULT_FILE = Path("group_vars") / "all" / "vault.yml"
# A lab inventory carries its own (not secret) vault password file; production ones never do.
LAB_VAULT_FILE = "vault-password.lab.txt"  # .txt: Ansible does not read it as inventory
# Environment variables through which an operator may hand Ansible a vault password instead.
VAULT_ENV = ("ANSIBLE_VAULT_PASSWORD_FILE", "ANSIBLE_VAULT_IDENTITY_LIST")


def inventory_dir(inventory: Path) -> Path:
    return inventory if inventory.is_dir() else inventory.parent


def lab_vault_file(inventory: Path) -> Path | None:
    """The lab inventory's committed password file (its vault id is ``lab``), if this is one."""
    candidate = inventory_dir(inventory) / LAB_VAULT_FILE
    return candidate if candidate.is_file() else None


def vault_path(inventory: Path) -> Path:
    return inventory_dir(inventory) / VAULT_FILE


def encrypted_files(inventory: Path) -> list[Path]:
    """Files of the inventory's group_vars and host_vars that ansible-vault encrypted."""
    found = []
    for folder in ("group_vars", "host_vars"):
        for path in sorted((inventory_dir(inventory) / folder).rglob("*")):
            if path.is_file() and _header(path) is not None:
                found.append(path)
    return found


def _header(path: Path) -> list[str] | None:
    try:
        with path.open("rb") as handle:
            first = handle.readline(200).decode("ascii", "replace").strip()
    except OSError:
        return None
    return first.split(";") if first.startswith(VAULT_HEADER) else None


def vault_id(inventory: Path) -> str:
    """The vault id of the inventory: the one its vault.yml was encrypted with, else the naming rule."""
    for path in [vault_path(inventory), *encrypted_files(inventory)]:
        header = _header(path) if path.is_file() else None
        if header is not None and len(header) >= 4 and header[3]:
            return header[3]
    return "lab" if lab_vault_file(inventory) else inventory_dir(inventory).resolve().name.replace("-", "_")


def given_password_file(vault_ids: Sequence[str], password_file: str | Path | None) -> Path | None:
    """The password file among the operator's options (``ID@FILE`` or --vault-password-file), if any."""
    if password_file:
        return Path(password_file)
    for item in vault_ids:
        source = item.split("@", 1)[1] if "@" in item else item
        if source != "prompt":
            return Path(source)
    return None


def require_password(
    inventories: Sequence[Path],
    vault_ids: Sequence[str] = (),
    password_file: str | Path | None = None,
    option: str = "--vault-id",
    env: Mapping[str, str] | None = None,
) -> None:
    """Stop with one line naming the vault id and the fix when an encrypted inventory gets no password
    (or a password file that does not open it). ``option`` is how this command takes a password."""
    environ = os.environ if env is None else env
    given = bool(vault_ids or password_file or any(environ.get(name) for name in VAULT_ENV))
    for inventory in inventories:
        files = encrypted_files(inventory)
        if not files:
            continue
        ident = vault_id(inventory)
        shown = _shown(files[0])
        how = f"--vault-id {ident}@prompt" if option == "--vault-id" else f"{option} FILE (the {ident} password)"
        lab_file = None if given else lab_vault_file(inventory)  # the kit passes it itself
        if not given and lab_file is None:
            raise BadRequest(
                f"{shown} is encrypted with vault id {ident} and no vault password was given: add {how}; "
                f"no vault yet? create one with `dirac-kit secrets init -i {_shown(inventory)}`"
            )
        source = given_password_file(vault_ids, password_file) or lab_file
        if source is not None and not _opens(files[0], source):
            raise BadRequest(
                f"the vault password in {source} does not open {shown} (vault id {ident}): give the {ident} password "
                f"with {how}"
            )


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _opens(encrypted: Path, password_file: Path) -> bool:
    """Whether the password in ``password_file`` decrypts ``encrypted`` (scripts are left to Ansible)."""
    if not password_file.is_file() or os.access(password_file, os.X_OK):
        return True  # a missing file or a password script: Ansible's own error says it precisely
    from ansible.errors import AnsibleError
    from ansible.parsing.vault import VaultLib, VaultSecret

    password = password_file.read_bytes().strip(b"\r\n")
    try:
        VaultLib([("default", VaultSecret(password))]).decrypt(encrypted.read_bytes())
    except AnsibleError:
        return False
    return True
