"""`dirac-kit secrets init` and the kit's vault errors: a complete vault, never shown; one clear line
naming the variable, the vault id and the fix when a vaulted value is missing, short or locked."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from dirac_kit.lab.paths import REPO_ROOT
from dirac_kit.secrets.spec import MIN_LENGTH, secrets_of

INVENTORIES = REPO_ROOT / "inventories"
# tests/ansible shadows the ansible package inside pytest: vaults are read and written with the CLI.
ANSIBLE_VAULT = str(Path(sys.executable).parent / "ansible-vault")


def kit(*args: str, cwd: Path = REPO_ROOT) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_VAULT")}
    return subprocess.run(
        [sys.executable, "-m", "dirac_kit", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=300
    )


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A copy of the cc-in2p3 inventory (shared.yml links to ../common) without its vault."""
    for name in ("cc-in2p3", "common"):
        shutil.copytree(INVENTORIES / name, tmp_path / "inventories" / name, symlinks=True)
    inventory = tmp_path / "inventories" / "cc-in2p3"
    (inventory / "group_vars" / "all" / "vault.yml").unlink()
    return inventory


def password_file(tmp_path: Path, password: str = "a-strong-operator-password") -> Path:  # noqa: S107 - a test vault
    path = tmp_path / "vault.pass"
    path.write_text(password + "\n")
    path.chmod(0o600)
    return path


def decrypt(path: Path, secret: Path) -> dict[str, str]:
    proc = subprocess.run(
        [ANSIBLE_VAULT, "view", "--vault-id", f"cc_in2p3@{secret}", str(path)],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    data = yaml.safe_load(proc.stdout)
    assert isinstance(data, dict)
    return data


def encrypt(path: Path, text: str, secret: Path) -> None:
    path.write_text(text)
    subprocess.run(
        [ANSIBLE_VAULT, "encrypt", "--encrypt-vault-id", "cc_in2p3", "--vault-id", f"cc_in2p3@{secret}", str(path)],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip


def test_every_vault_variable_in_the_repository_is_declared() -> None:
    """A vault_* name used by roles, playbooks, inventories or docs that init would not create fails here."""
    declared = {secret.name for secret in secrets_of(INVENTORIES / "lab")}
    used: set[str] = set()
    for folder in ("roles", "playbooks", "inventories", "docs"):
        for path in (REPO_ROOT / folder).rglob("*"):
            if path.is_file() and path.suffix in {".yml", ".yaml", ".md", ".j2", ".cfg"}:
                text = path.read_text(errors="replace")
                if not text.startswith("$ANSIBLE_VAULT"):
                    used |= set(re.findall(r"\bvault_dirac_[a-z0-9_]*[a-z0-9]\b", text))
    assert used, "no vault_* variable found: the scan is broken"
    assert used <= declared, f"not created by `dirac-kit secrets init`: {sorted(used - declared)}"


def test_init_writes_a_complete_strong_vault_and_never_shows_a_value(site: Path, tmp_path: Path) -> None:
    secret = password_file(tmp_path)
    proc = kit("secrets", "init", "-i", str(site), "--vault-id", f"cc_in2p3@{secret}")
    assert proc.returncode == 0, proc.stderr
    vault = site / "group_vars" / "all" / "vault.yml"
    assert vault.read_text().splitlines()[0] == "$ANSIBLE_VAULT;1.2;AES256;cc_in2p3"
    assert stat.S_IMODE(vault.stat().st_mode) == 0o600
    values = decrypt(vault, secret)
    assert set(values) == {s.name for s in secrets_of(site)}
    assert len(set(values.values())) == len(values), "every secret has its own value"
    for name, value in values.items():
        assert len(value) >= 40 > MIN_LENGTH, name
        assert value not in proc.stdout + proc.stderr, f"{name} was printed"
        assert name in proc.stdout
    # Ansible reads the new vault through the inventory: the roles' variables resolve.
    listed = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-inventory"), "-i", str(site), "--host", "ccdiracli07.in2p3.fr",
         "--vault-id", f"cc_in2p3@{secret}"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    assert yaml.safe_load(listed.stdout)["vault_dirac_db_password_egi"] == values["vault_dirac_db_password_egi"]


def test_init_never_replaces_a_vault_unconfirmed(site: Path, tmp_path: Path) -> None:
    secret = password_file(tmp_path)
    assert kit("secrets", "init", "-i", str(site), "--vault-id", f"cc_in2p3@{secret}").returncode == 0
    vault = site / "group_vars" / "all" / "vault.yml"
    before = vault.read_bytes()
    values = decrypt(vault, secret)
    refused = kit("-i", str(site), "secrets", "init", "--vault-id", f"cc_in2p3@{secret}")
    assert refused.returncode == 2
    assert "--yes-i-really-mean-it" in refused.stderr and "exists" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert vault.read_bytes() == before
    replaced = kit("secrets", "init", "-i", str(site), "--vault-id", f"cc_in2p3@{secret}", "--yes-i-really-mean-it")
    assert replaced.returncode == 0, replaced.stderr
    assert decrypt(vault, secret) != values


def test_an_action_without_the_vault_password_says_the_vault_id_and_the_fix() -> None:
    proc = kit("-i", "inventories/cc-in2p3", "prechecks")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "--vault-id cc_in2p3@prompt" in lines[0]
    assert "dirac-kit secrets init -i inventories/cc-in2p3" in lines[0]
    assert "ansible-playbook" not in proc.stderr  # refused before Ansible starts


def test_a_wrong_vault_password_is_one_line_naming_the_vault_id(tmp_path: Path) -> None:
    wrong = password_file(tmp_path, "not-the-cc-in2p3-password")
    proc = kit("-i", "inventories/cc-in2p3", "prechecks", "--vault-id", f"cc_in2p3@{wrong}")
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        f"error: the vault password in {wrong} does not open inventories/cc-in2p3/group_vars/all/vault.yml "
        "(vault id cc_in2p3): give the cc_in2p3 password with --vault-id cc_in2p3@prompt"
    )


def test_runbook_and_ops_without_the_vault_password_name_their_option() -> None:
    for argv in (["runbook", "status", "stage1", "-i", "inventories/cyfronet", "-i", "inventories/cc-in2p3"],
                 ["ops", "status", "-i", "inventories/cc-in2p3"]):  # fmt: skip
        proc = kit(*argv)
        assert proc.returncode == 2, proc.stdout
        assert "--vault-password-file FILE" in proc.stderr and "vault id" in proc.stderr, proc.stderr
        assert "Attempting to decrypt" not in proc.stderr


def test_prechecks_tell_a_short_secret_from_a_missing_one(site: Path, tmp_path: Path) -> None:
    secret = password_file(tmp_path)
    text = "vault_dirac_db_password_egi: Zq7xK\nvault_dirac_replication_password: a-replication-secret\n"
    encrypt(site / "group_vars" / "all" / "vault.yml", text, secret)
    proc = kit("-i", str(site), "prechecks", "--vault-id", f"cc_in2p3@{secret}")
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert (
        "egi: vault secret vault_dirac_db_password_egi is 5 characters, prechecks need 12 or more (vault id cc_in2p3)"
    ) in out
    assert f"`ansible-vault edit --vault-id cc_in2p3@prompt {site}/group_vars/all/vault.yml`" in out
    assert "fg: vault secret vault_dirac_db_password_fg is not set (vault id cc_in2p3)" in out
    assert f"dirac-kit secrets init -i {site}" in out
    assert "Zq7xK" not in out, "the value itself was shown"
