"""Lab building blocks that need no container engine: mirror, recipe hashes, inventory, SSH overlay."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from docker.types import HostConfig

from dirac_core.errors import BadRequest
from dirac_kit.lab import image
from dirac_kit.lab.engine import Engine
from dirac_kit.lab.hosts import run_options
from dirac_kit.lab.inventory import host_groups, site_hosts
from dirac_kit.lab.lab import forget_progress
from dirac_kit.lab.overlay import remove_overlay, write_overlay
from dirac_kit.lab.paths import REPO_ROOT, LabPaths

LAB_INVENTORY = REPO_ROOT / "inventories" / "lab"


def test_debian_mirror_comes_from_the_machine_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DIRAC_LAB_MIRROR", raising=False)
    sources = tmp_path / "debian.sources"
    sources.write_text(
        "Types: deb\nURIs: http://security.example/debian-security\nSuites: bookworm-security\n\n"
        "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\n"
    )
    assert image.debian_mirror(sources) == "http://mirror.example/debian"
    monkeypatch.setenv("DIRAC_LAB_MIRROR", "http://override.example/debian")
    assert image.debian_mirror(sources) == "http://override.example/debian"


def test_image_tag_changes_only_with_the_recipe(monkeypatch: pytest.MonkeyPatch) -> None:
    tag = image.host_tag()
    assert tag == image.host_tag()
    monkeypatch.setattr(image, "SETUP_SCRIPT", image.SETUP_SCRIPT + "\ntrue\n")
    assert image.host_tag() != tag
    monkeypatch.setattr(image, "PACKAGES", (*image.PACKAGES, "htop"))
    assert image.base_hash() != image.host_hash()


def test_image_has_what_the_roles_rely_on() -> None:
    for package in ("systemd-sysv", "openssh-server", "python3-venv", "mariadb-server", "libmariadb3", "acl"):
        assert package in image.PACKAGES


def test_lab_inventory_sites() -> None:
    assert site_hosts(LAB_INVENTORY, "old") == ["cyf-dirac01", "cyf-dirac02", "cyf-db01"]
    assert site_hosts(LAB_INVENTORY, "new") == [f"ccdiracli{n:02d}" for n in range(7, 12)] + ["ccdiracdb01"]
    assert len(site_hosts(LAB_INVENTORY, "all")) == 9
    assert {"egi", "diracservers", "configservers", "cc_in2p3"} <= host_groups(LAB_INVENTORY)["ccdiracli07"]
    with pytest.raises(BadRequest, match="unknown site"):
        site_hosts(LAB_INVENTORY, "moon")


def test_overlay_is_private_and_maps_names_to_ips(tmp_path: Path) -> None:
    paths = LabPaths(tmp_path, "t")
    write_overlay(paths, {"ccdiracli07": "10.89.0.2", "ccdiracdb01": "10.89.0.3"})
    text = paths.ssh_config.read_text()
    assert "Host ccdiracli07\n  HostName 10.89.0.2\n  User root\n" in text
    assert f"IdentityFile {tmp_path / 'var' / 't' / 'id_ed25519'}" in text
    for path in (paths.ssh_config, paths.hosts_file):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    remove_overlay(paths)
    assert not paths.ssh_config.exists()
    assert not paths.hosts_file.exists()


def test_default_lab_names_containers_after_hosts() -> None:
    assert LabPaths(REPO_ROOT).container("ccdiracli07") == "ccdiracli07"
    assert LabPaths(REPO_ROOT).network == "dirac-lab"
    assert LabPaths(REPO_ROOT, "tlab").container("ccdiracli07") == "tlab-ccdiracli07"


@pytest.mark.parametrize("is_podman", [True, False])
def test_host_config_for_systemd_is_valid_for_the_engine(is_podman: bool) -> None:
    """Docker needs privileged + cgroup mount + tmpfs; podman's systemd mode does it itself."""
    engine = Engine(client=None, base_url="unix:///x", is_podman=is_podman, started_service=False)
    config = HostConfig(version="1.41", network_mode="dirac-lab", **run_options(engine))
    assert config.get("Privileged", False) is (not is_podman)
    if not is_podman:
        assert config["Binds"] == ["/sys/fs/cgroup:/sys/fs/cgroup:rw"]
        assert set(config["Tmpfs"]) == {"/run", "/run/lock", "/tmp"}
        assert config["CgroupnsMode"] == "host"


def test_inotify_limit_is_raised_when_low_and_kept_when_high(tmp_path: Path) -> None:
    from dirac_kit.lab.kernel import WANTED_INSTANCES, ensure_inotify_instances

    messages: list[str] = []
    limit = tmp_path / "max_user_instances"
    limit.write_text("128\n")
    assert ensure_inotify_instances(messages.append, limit) == WANTED_INSTANCES
    assert limit.read_text().strip() == str(WANTED_INSTANCES)
    assert "raised fs.inotify.max_user_instances from 128" in messages[0]
    limit.write_text("4096\n")
    assert ensure_inotify_instances(messages.append, limit) == 4096
    assert limit.read_text().strip() == "4096" and len(messages) == 1


def test_inotify_limit_not_writable_names_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dirac_kit.lab.kernel import ensure_inotify_instances

    def refuse(self: Path, data: str) -> int:
        raise PermissionError("read-only /proc/sys")

    messages: list[str] = []
    limit = tmp_path / "max_user_instances"
    limit.write_text("128\n")
    monkeypatch.setattr(Path, "write_text", refuse)
    assert ensure_inotify_instances(messages.append, limit) == 128
    assert "sysctl -w fs.inotify.max_user_instances=1024" in messages[0]


def test_down_of_a_lab_that_does_not_exist_says_so_and_fails(tmp_path: Path) -> None:
    env = {**os.environ, "DIRAC_KIT_ROOT": str(tmp_path), "DIRAC_LAB_NAME": "kitsafe-nosuchlab"}
    proc = subprocess.run(
        [sys.executable, "-m", "dirac_kit", "lab", "down"], capture_output=True, text=True, env=env, timeout=120
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: there is no lab named 'kitsafe-nosuchlab'"), proc.stderr
    assert " down" not in proc.stdout
    assert "stopped the podman API service" not in proc.stdout


def test_a_removed_lab_forgets_its_markers_and_keeps_its_reports(tmp_path: Path) -> None:
    paths = LabPaths(tmp_path, "gone")
    runs = paths.runs
    keep = [runs / "lab" / "runbooks" / "stage1" / "stage1.html", runs / "lab" / "reports" / "egi.json"]
    forget = [
        runs / "lab" / "runbooks" / "stage1" / "markers" / "01-prechecks.done",
        runs / "lab" / "markers" / "lab" / "stage1" / "prechecks.done",
        runs / "lab" / "ops" / "frozen-egi.json",
    ]
    for path in keep + forget:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}")
    assert forget_progress(runs) == len(forget)
    assert all(p.exists() for p in keep) and not any(p.exists() for p in forget)
