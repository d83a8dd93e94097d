"""The lab host image: Debian 12 with systemd as PID 1, sshd, Python and what the roles install.

Two steps, each cached under a tag derived from its recipe, so a rebuild happens only when the
recipe changes:
1. base ``dirac-lab-base:<hash>``: ``debian:bookworm`` pulled from a registry when one is reachable,
   else a debootstrap rootfs imported into the engine (this machine has no registry);
2. host ``dirac-lab-host:<hash>``: the base plus the packages and ``SETUP_SCRIPT``, made by running
   the script in a container and committing it (works the same on Docker and Podman).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dirac_core.errors import DiracError
from dirac_kit.lab.engine import Engine
from dirac_kit.lab.paths import LabPaths

SUITE = "bookworm"
BASE_REPO = "dirac-lab-base"
HOST_REPO = "dirac-lab-host"
LABEL = "dirac.lab"

# What every lab host has. The roles install the same packages on production hosts; baking them in
# makes a lab deploy fast and independent of the network. libmariadb3: runtime of the mysqlclient
# wheel shipped by dirac_common; python3-pymysql: community.mysql modules; python3-apt: the apt
# module; acl: become_user to the unprivileged `dirac` user; runit: DIRAC-style supervision.
PACKAGES: tuple[str, ...] = (
    "systemd", "systemd-sysv", "dbus", "openssh-server", "python3", "python3-venv", "python3-apt",
    "python3-pymysql", "sudo", "ca-certificates", "iproute2", "procps", "less", "acl", "openssl",
    "curl", "rsync", "iputils-ping", "netcat-openbsd", "tzdata", "cron", "logrotate", "runit",
    "mariadb-server", "mariadb-client", "mariadb-backup", "libmariadb3", "zstd",
)  # fmt: skip

# Runs as root in the base image (after the packages for a registry base). Keep it idempotent.
SETUP_SCRIPT = r"""set -eu
export DEBIAN_FRONTEND=noninteractive
# sshd: root by key only. Host keys are made at each host's first boot, so hosts do not share them.
mkdir -p /etc/ssh/sshd_config.d /etc/systemd/system/ssh.service.d /root/.ssh
chmod 700 /root/.ssh
printf 'PermitRootLogin prohibit-password\nPasswordAuthentication no\nUseDNS no\n' \
  > /etc/ssh/sshd_config.d/lab.conf
printf '[Service]\nExecStartPre=\nExecStartPre=/usr/bin/ssh-keygen -A\nExecStartPre=/usr/sbin/sshd -t\n' \
  > /etc/systemd/system/ssh.service.d/lab-hostkeys.conf
rm -f /etc/ssh/ssh_host_*
systemctl enable ssh.service
# Services the roles manage start disabled: a bare host runs only sshd.
for unit in mariadb.service runit.service cron.service; do systemctl disable "$unit" 2>/dev/null || true; done
# Units that need a console, udev or kernel mounts a container does not have.
systemctl mask getty.target console-getty.service systemd-udevd.service systemd-udev-trigger.service \
  systemd-remount-fs.service systemd-modules-load.service sys-kernel-debug.mount \
  sys-kernel-tracing.mount sys-kernel-config.mount systemd-sysctl.service \
  systemd-firstboot.service apt-daily.timer apt-daily-upgrade.timer e2scrub_reap.service 2>/dev/null || true
# Each container gets its own machine-id at boot.
: > /etc/machine-id
rm -f /var/lib/dbus/machine-id
apt-get clean
"""

Log = Callable[[str], None]


class ImageError(DiracError):
    """The lab image could not be built."""


def _digest(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:12]


def base_hash() -> str:
    return _digest("base-v1", SUITE, sorted(PACKAGES))


def host_hash() -> str:
    return _digest("host-v1", base_hash(), SETUP_SCRIPT)


def host_tag() -> str:
    return f"{HOST_REPO}:{host_hash()}"


def debian_mirror(sources: Path = Path("/etc/apt/sources.list.d/debian.sources")) -> str:
    """The machine's Debian mirror (deb822 or one-line format); DIRAC_LAB_MIRROR overrides it."""
    if os.environ.get("DIRAC_LAB_MIRROR"):
        return os.environ["DIRAC_LAB_MIRROR"]
    if sources.exists():
        for stanza in sources.read_text().split("\n\n"):
            uris = re.search(r"^URIs:\s*(\S+)", stanza, re.M)
            suites = re.search(r"^Suites:\s*(.+)$", stanza, re.M)
            if uris and suites and SUITE in suites.group(1).split():
                return uris.group(1)
    legacy = Path("/etc/apt/sources.list")
    if legacy.exists():
        match = re.search(rf"^deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+{SUITE}\s", legacy.read_text(), re.M)
        if match:
            return match.group(1)
    return "http://deb.debian.org/debian"


def _image_exists(engine: Engine, tag: str) -> bool:
    try:
        engine.client.images.get(tag)
    except Exception:  # docker.errors.ImageNotFound, or podman's variant of it
        return False
    return True


def registry_reachable() -> bool:
    """Whether base images can be pulled; DIRAC_LAB_BASE=debootstrap|registry forces a choice."""
    forced = os.environ.get("DIRAC_LAB_BASE", "")
    if forced:
        return forced == "registry"
    try:
        socket.create_connection(("registry-1.docker.io", 443), timeout=3).close()
    except OSError:
        return False
    return True


def ensure_image(engine: Engine, paths: LabPaths, log: Log = print, rebuild: bool = False) -> str:
    """Return the host image tag, building what is missing (everything when ``rebuild``).

    The image is also tagged ``dirac-lab-host:latest`` for tools that want a stable name (molecule).
    """
    tag = host_tag()
    if _image_exists(engine, tag) and not rebuild:
        engine.client.images.get(tag).tag(HOST_REPO, "latest")
        return tag
    base = f"{BASE_REPO}:{base_hash()}"
    from_registry = False
    if rebuild or not _image_exists(engine, base):
        if registry_reachable():
            log("lab: pulling debian:bookworm")
            engine.client.images.pull("debian", tag=SUITE)
            base, from_registry = f"debian:{SUITE}", True
        else:
            _debootstrap_base(engine, paths, base, log)
    log(f"lab: building {tag} from {base}")
    script = SETUP_SCRIPT
    if from_registry:
        install = " ".join(PACKAGES)
        script = (
            "printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d\n"
            "apt-get update -q\n"
            f"DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends {install}\n"
            "rm -f /usr/sbin/policy-rc.d\n" + script
        )
    _commit_setup(engine, paths, base, tag, script)
    engine.client.images.get(tag).tag(HOST_REPO, "latest")
    return tag


def _debootstrap_base(engine: Engine, paths: LabPaths, tag: str, log: Log) -> None:
    if shutil.which("debootstrap") is None:
        raise ImageError("no registry and no debootstrap: run scripts/setup.sh (installs debootstrap)")
    paths.build.mkdir(parents=True, exist_ok=True)
    rootfs = paths.build / f"rootfs-{base_hash()}"
    tarball = rootfs.with_suffix(".tar")
    shutil.rmtree(rootfs, ignore_errors=True)
    mirror = debian_mirror()
    log(f"lab: debootstrap {SUITE} from {mirror} (a few minutes, once)")
    cmd = ["debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}", SUITE, str(rootfs), mirror]
    with (paths.build / "debootstrap.log").open("w") as out:
        if subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT).returncode != 0:
            raise ImageError(f"debootstrap failed: see {paths.build / 'debootstrap.log'}")
    try:
        subprocess.run(["tar", "-C", str(rootfs), "--numeric-owner", "-cf", str(tarball), "."], check=True)
        repo, _, version = tag.partition(":")
        log(f"lab: importing rootfs as {tag}")
        with tarball.open("rb") as data:
            reply = engine.client.api.import_image_from_data(data, repository=repo, tag=version)
        # Podman's compat API ignores the tag of an import (it names it :latest): tag by image id.
        image_id = json.loads(reply.strip().splitlines()[-1])["id"] if reply else repo
        engine.client.images.get(image_id).tag(repo, version)
    finally:
        shutil.rmtree(rootfs, ignore_errors=True)
        tarball.unlink(missing_ok=True)
    if not _image_exists(engine, tag):
        raise ImageError(f"importing the debootstrap rootfs did not create {tag}")


def _commit_setup(engine: Engine, paths: LabPaths, base: str, tag: str, script: str) -> None:
    labels = {LABEL: paths.name, "dirac.lab.role": "build"}
    container: Any = engine.client.containers.run(
        base, command=["sleep", "infinity"], detach=True, labels=labels, network_mode="host"
    )
    try:
        code, output = container.exec_run(["sh", "-c", script])
        if code != 0:
            text = output.decode(errors="replace")[-2000:]
            raise ImageError(f"lab image setup failed (exit {code}):\n{text}")
        repo, _, version = tag.partition(":")
        container.commit(
            repository=repo,
            tag=version,
            changes=['CMD ["/sbin/init"]', "STOPSIGNAL SIGRTMIN+3"],
            conf={"Labels": {"dirac.lab.image": tag}},
        )
    finally:
        container.remove(force=True)
