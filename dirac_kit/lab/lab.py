"""`lab up|down|status|reset`: the steps, in order, on top of the engine/image/network/hosts modules."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from dirac_core.errors import NotFound
from dirac_kit.lab import engine as engines
from dirac_kit.lab.hosts import HostState, lab_containers, remove_hosts, start_host, state_of, wait_ssh
from dirac_kit.lab.image import ensure_image
from dirac_kit.lab.inventory import SITES, host_groups, site_hosts
from dirac_kit.lab.kernel import ensure_inotify_instances
from dirac_kit.lab.network import ensure_network, remove_network
from dirac_kit.lab.overlay import remove_overlay, ssh_config_text, write_overlay
from dirac_kit.lab.paths import LabPaths
from dirac_kit.lab.sshkey import ensure_key

Log = Callable[[str], None]


def _site_of(groups: set[str]) -> str:
    return next((site for site, group in SITES.items() if group in groups), "-")


def up(paths: LabPaths, inventory: Path, site: str = "all", log: Log = print) -> dict[str, str]:
    """Start the hosts of ``site``; return ``{host: ip}`` of every running lab host."""
    started = time.monotonic()
    names = site_hosts(inventory, site)
    groups = host_groups(inventory)
    ensure_inotify_instances(log)
    engine = engines.connect(paths)
    image = ensure_image(engine, paths, log)
    public_key = ensure_key(paths.ssh_key)
    ensure_network(engine, paths)
    log(f"lab: starting {len(names)} hosts from {image}")
    with ThreadPoolExecutor(max_workers=max(len(names), 1)) as pool:
        futures = [
            pool.submit(start_host, engine, paths, image, name, _site_of(groups[name]), public_key) for name in names
        ]
        for future in futures:
            future.result()
    ips = running_ips(paths)
    write_overlay(paths, ips)
    with ThreadPoolExecutor(max_workers=4) as pool:
        for waited in [pool.submit(wait_ssh, paths, name) for name in names]:
            waited.result()
    log(f"lab: {len(names)} hosts up and reachable by SSH in {time.monotonic() - started:.0f} s")
    return ips


def running_ips(paths: LabPaths) -> dict[str, str]:
    engine = engines.connect(paths, start=False)
    ips = {}
    for container in lab_containers(engine, paths):
        container.reload()
        state = state_of(container, paths)
        if state.status == "running" and state.ip:
            ips[state.name] = state.ip
    return ips


def status(paths: LabPaths) -> list[HostState]:
    try:
        engine = engines.connect(paths, start=False)
    except engines.EngineError:
        return []
    return sorted((state_of(c, paths) for c in lab_containers(engine, paths)), key=lambda s: s.name)


def remove_site(paths: LabPaths, inventory: Path, site: str, log: Log = print) -> None:
    """Remove the hosts of one site only (`reset --site`); the other site keeps running."""
    if site == "all":
        down(paths, log)
        return
    engine = engines.connect(paths)
    removed = remove_hosts(engine, paths, only=set(site_hosts(inventory, site)))
    log(f"lab: removed {len(removed)} containers: {' '.join(sorted(removed))}")


def refresh_overlay(paths: LabPaths) -> bool:
    """Rewrite ssh_config and hosts.yml when a running host's IP changed (a restarted container gets a
    new one, and ssh to the old IP only times out); True when it did."""
    if not paths.ssh_config.is_file():
        return False
    try:
        ips = running_ips(paths)
    except engines.EngineError:
        return False
    if not ips or paths.ssh_config.read_text() == ssh_config_text(ips, paths.ssh_key):
        return False
    write_overlay(paths, ips)
    return True


def down(paths: LabPaths, log: Log = print) -> None:
    """Remove lab containers and network, stop the podman service the lab started. Keeps the image.

    The lab's migration progress (runbook and playbook markers, freeze records) describes hosts that
    are gone: it is forgotten, reports are kept. A lab that does not exist is an error."""
    existed = paths.ssh_config.exists() or paths.hosts_file.exists()
    try:
        engine = engines.connect(paths, start=False)
    except engines.EngineError:
        engine = None
    if engine is not None:
        removed = remove_hosts(engine, paths)
        if removed:
            existed = True
            log(f"lab: removed {len(removed)} containers: {' '.join(sorted(removed))}")
        if remove_network(engine, paths):
            existed = True
            log(f"lab: removed network {paths.network}")
        # Another lab (tests run their own beside the default one) may still use the service, or be
        # starting (its containers not created yet): only the down of a lab that existed stops it.
        others = engine.client.containers.list(all=True, filters={"label": "dirac.lab"})
        if existed and not others and engines.stop_service(paths):
            log("lab: stopped the podman API service")
    remove_overlay(paths)
    if not existed:
        raise NotFound(
            f"there is no lab named {paths.name!r}: nothing to take down "
            "(DIRAC_LAB_NAME picks the lab; `dirac-kit lab status` lists its hosts)"
        )
    forgotten = forget_progress(paths.runs)
    if forgotten:
        log(f"lab: forgot the migration progress of {paths.name} ({forgotten} markers); kept the reports")
    log(f"lab: {paths.name} down")


def forget_progress(runs: Path) -> int:
    """Delete the markers and freeze records under a lab's run directories; returns how many."""
    patterns = ("*/runbooks/*/markers/*", "*/markers/**/*.done", "*/ops/frozen-*.json")
    doomed = {path for pattern in patterns for path in runs.glob(pattern) if path.is_file()}
    for path in doomed:
        path.unlink()
    return len(doomed)
