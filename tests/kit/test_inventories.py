"""The committed inventories: same groups everywhere, consistent placement, vaults encrypted."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from dirac_kit.lab.paths import REPO_ROOT

INVENTORIES = REPO_ROOT / "inventories"
# inventory -> (site group, vault id, vault password). Production vaults hold placeholders only.
CASES = {
    "lab": ("cc_in2p3", "lab", (INVENTORIES / "lab" / "vault-password.lab.txt").read_text().strip()),
    "cc-in2p3": ("cc_in2p3", "cc_in2p3", "placeholder-change-me"),
    "cyfronet": ("cyfronet", "cyfronet", "placeholder-change-me"),
}
GROUPS = {"egi", "fg", "diracservers", "configservers", "dbservers"}


def ansible_inventory(name: str, vault_id: str, password: str, tmp_path: Path) -> dict[str, Any]:
    secret = tmp_path / f"{name}.pass"
    secret.write_text(password + "\n")
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-inventory"), "-i", str(INVENTORIES / name), "--list",
         "--vault-id", f"{vault_id}@{secret}"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    data: dict[str, Any] = json.loads(proc.stdout)
    return data


def members(data: dict[str, Any], group: str) -> set[str]:
    body = data.get(group, {})
    hosts = set(body.get("hosts", []))
    for child in body.get("children", []):
        hosts |= members(data, child)
    return hosts


@pytest.mark.parametrize("name", list(CASES))
def test_inventory_groups_and_placement_are_consistent(name: str, tmp_path: Path) -> None:
    _site, vault_id, password = CASES[name]
    data = ansible_inventory(name, vault_id, password, tmp_path)
    hostvars = data["_meta"]["hostvars"]
    assert set(data) >= GROUPS
    assert members(data, "diracservers") == members(data, "egi") | members(data, "fg")
    assert not members(data, "egi") & members(data, "fg"), "a service host serves one instance"
    for host, variables in hostvars.items():
        assert variables["vault_dirac_db_password_egi"], f"{host}: vault not loaded"
        placement = variables["dirac_placement"]
        site_hosts = {h for h, v in hostvars.items() if v["dirac_site"] == variables["dirac_site"]}
        assert variables["dirac_db_host"] in site_hosts & members(data, "dbservers")
        entries = Counter((p["instance"], p["component"], p["host"]) for p in placement)
        assert max(entries.values()) == 1, f"component placed twice: {entries.most_common(1)}"
        for entry in placement:
            assert entry["host"] in members(data, entry["instance"]), entry
            assert entry["host"] in site_hosts, entry
        cs_hosts = {p["host"] for p in placement if p["component"] == "Configuration/Server"}
        assert cs_hosts == members(data, "configservers") & site_hosts
        for instance in ("egi", "fg"):
            masters = [p for p in placement if p["instance"] == instance and p.get("master")]
            assert len(masters) == 1, f"{instance}: exactly one CS master per site"
    egi_host = next(iter(members(data, "egi")))
    assert hostvars[egi_host]["dirac_setup"] == "EGI-Production"
    assert hostvars[next(iter(members(data, "fg")))]["dirac_setup"] == "FG-Production"


@pytest.mark.parametrize("name", list(CASES))
def test_vault_is_encrypted_with_the_inventory_vault_id(name: str) -> None:
    header = (INVENTORIES / name / "group_vars" / "all" / "vault.yml").read_text().splitlines()[0]
    assert header == f"$ANSIBLE_VAULT;1.2;AES256;{CASES[name][1]}"


def test_production_inventories_use_fqdns_and_no_lab_connection() -> None:
    for name, domain in (("cc-in2p3", ".in2p3.fr"), ("cyfronet", ".cyf-kr.edu.pl")):
        hosts = yaml.safe_load((INVENTORIES / name / "hosts.yml").read_text())["all"]["children"]
        for group in hosts.values():
            assert all(host.endswith(domain) for host in (group.get("hosts") or {}))
        assert not (INVENTORIES / name / "group_vars" / "all" / "lab.yml").exists()
        assert not list((INVENTORIES / name).glob("vault-password*"))
