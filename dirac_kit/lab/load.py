"""Real activity on the lab's old site: files with replicas and metadata, jobs run by pilots.

What the issue-6 demo and end-to-end test need before a migration: ≥ 10k catalog files (one in
ten of EGI's under /eiscat.se), a few second replicas and metadata values, ≥ 1k jobs run to Done
by pilots (so the accounting has buckets). Everything goes through the DIRAC CLIs on the lab hosts
over SSH, as an operator would; both instances load at the same time. Fast by design: one bulk
registration per instance (10k lines on stdin), one bulk submission, several pilots each running
jobs until none is left.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from dirac_core.contract.components import component_spec
from dirac_core.contract.instance import service_url
from dirac_kit.lab.paths import LabPaths

# Placement of inventories/lab: the service host of each instance on the old site, and its DB host.
OLD_HOST = {"egi": "cyf-dirac01", "fg": "cyf-dirac02"}
OLD_DB = "cyf-db01"
EISCAT_SHARE = 10  # one EGI file in ten lives under /eiscat.se
# All layer files in name order, as the services load them (dirac.cfg alone is only the host layer).
CFG = "DIRAC_CFG=$(ls /opt/dirac/etc/layers/*.cfg | paste -sd:)"
DIRAC = f"sudo -u dirac env {CFG} /opt/dirac/pro/bin/dirac"
DIRAC_CORE = f"sudo -u dirac env {CFG} /opt/dirac/pro/bin/dirac-core"
# The load creates top directories (/egi, /eiscat.se) and metadata fields: FileCatalogManagement.
ADMIN_USER, ADMIN_GROUP = "adirac", "dirac_admin"

Log = Callable[[str], None]


@dataclass(frozen=True)
class LoadResult:
    instance: str
    files: int
    done_jobs: int
    max_job_id: int
    seconds: dict[str, float]


class LabShell:
    """Commands on lab hosts over the lab's SSH config (what `dirac-kit lab ssh HOST -- CMD` does)."""

    def __init__(self, paths: LabPaths) -> None:
        if not paths.ssh_config.is_file():
            raise RuntimeError(f"lab {paths.name} is not up ({paths.ssh_config} missing): run `dirac-kit lab up`")
        self.paths = paths

    def run(self, host: str, command: str, stdin: str | None = None, timeout: float = 3600) -> str:
        argv = ["ssh", "-F", str(self.paths.ssh_config), host, command]
        done = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=timeout, check=False)
        if done.returncode != 0:
            tail = (done.stdout + done.stderr).strip()[-2000:]
            raise RuntimeError(f"{host}: `{command}` failed ({done.returncode}): {tail}")
        return done.stdout

    def sql(self, host: str, query: str) -> list[list[str]]:
        out = self.run(host, f"mysql --batch --skip-column-names -e {shlex.quote(query)}")
        return [line.split("\t") for line in out.splitlines()]


AUTH = "Framework/Auth"


def login(shell: LabShell, host: str, user: str = ADMIN_USER, group: str = ADMIN_GROUP) -> None:
    """What `dirac login` leaves behind, for the dirac account on a host that runs Framework/Auth."""
    token = shell.run(host, f"{DIRAC_CORE} token issue --user {user} --group {group} --lifetime 36000").strip()
    stored = {
        "access_token": token,
        "expires_at": int(time.time()) + 35000,
        "group": group,
        "username": user,
        "auth_url": service_url(host, component_spec(AUTH).port, AUTH),
    }
    write = "sudo -u dirac sh -c 'mkdir -p -m 0700 /opt/dirac/.dirac; umask 077; cat > /opt/dirac/.dirac/token'"
    shell.run(host, write, stdin=json.dumps(stored))  # token on stdin: never on a command line


def file_lines(instance: str, files: int) -> list[str]:
    """Bulk registration lines: LFN SIZE SE PFN CHECKSUM."""
    lines = []
    for i in range(files):
        top = "/eiscat.se/run" if instance == "egi" and i % EISCAT_SHARE == 0 else f"/{instance}/data"
        lfn = f"{top}/d{i // 500:03d}/f{i:06d}.dat"
        lines.append(f"{lfn} {1000 + i} CYFRONET-USER srm://cyf-se{lfn} {i:08x}")
    return lines


def run_jobs(
    shell: LabShell,
    host: str,
    instance: str,
    site: str,
    jobs: int,
    pilots: int,
    log: Log,
    db_host: str = OLD_DB,
    ids_file: str = "/tmp/jobids.txt",  # noqa: S108 - on the lab host
) -> None:
    """Submit `jobs` jobs in bulk and run them with `pilots` pilots in parallel, each until none is left."""
    jdl = 'printf \'[ Executable = "/bin/true"; JobName = "lab-load"; ]\\n\' | sudo -u dirac tee /tmp/true.jdl'
    shell.run(host, jdl + " >/dev/null")
    bulk = f"--bulk {jobs} " if jobs > 1 else ""
    shell.run(host, f"{DIRAC} jobs submit {bulk}--ids-file {ids_file} /tmp/true.jdl")
    pilot = f"{DIRAC_CORE} pilot --site {site} --log-level warning"
    # Each pilot stops at its first empty match: all jobs are submitted before they start.
    shell.run(host, f"for i in $(seq {pilots}); do {pilot} & done; wait")
    if _kick_orphans(shell, host, db_host, instance, log):
        shell.run(host, f"{pilot} --wait 5")
    shell.run(host, f"{DIRAC} jobs wait --timeout 600 $(cat {ids_file})")


def _kick_orphans(shell: LabShell, host: str, db_host: str, instance: str, log: Log) -> bool:
    """Jobs left unfinished once every pilot has exited: say which and why, and reschedule the ones
    a pilot held or no queue holds (DIRAC's StalledJobAgent kicks jobs stuck in Matched alike). True if any."""
    left = shell.sql(
        db_host,
        f"SELECT j.JobID, j.Status, j.MinorStatus, (SELECT COUNT(*) FROM {instance}_TaskQueueDB.tq_Jobs q"
        f" WHERE q.JobId = j.JobID) FROM {instance}_JobDB.Jobs j WHERE j.Status NOT IN ('Done','Failed','Killed')",
    )
    if not left:
        return False
    for job_id, status, minor, queued in left:
        log(f"load {instance}: job {job_id} unfinished after all pilots exited: {status}/{minor}, queued: {queued}")
    stuck = [job_id for job_id, status, _, queued in left if status in ("Matched", "Running") or queued == "0"]
    if stuck:
        shell.run(host, f"{DIRAC} jobs reschedule {' '.join(stuck)}")
    return True


def load_instance(shell: LabShell, instance: str, files: int, jobs: int, pilots: int, log: Log) -> LoadResult:
    host = OLD_HOST[instance]
    seconds: dict[str, float] = {}

    def timed(label: str, command: str, stdin: str | None = None) -> None:
        started = time.monotonic()
        shell.run(host, command, stdin=stdin)
        seconds[label] = round(time.monotonic() - started, 1)

    login(shell, host)
    lines = file_lines(instance, files)
    timed("register", f"cat > /tmp/files.txt && {DIRAC} fc add --from-file /tmp/files.txt", "\n".join(lines) + "\n")
    meta = [
        f"{DIRAC} fc meta add-field --file run int || true",
        f"{DIRAC} fc meta set /{instance}/data/d000/f000001.dat run=42",
    ]
    if instance == "egi":  # a metadata value inside the subtree EiscatFileCatalog is filled from
        meta.append(f"{DIRAC} fc meta set /eiscat.se/run/d000/f000000.dat run=7")
    meta += [  # second replicas on a few files
        f"{DIRAC} fc add-replica /{instance}/data/d000/f00000{i}.dat IN2P3-CC-disk --pfn srm://cyf-tape/{instance}/{i}"
        for i in range(1, 6)
    ]
    timed("metadata+replicas", " && ".join(meta))
    started = time.monotonic()
    run_jobs(shell, host, instance, f"{instance.upper()}.CYF.pl", jobs, pilots, log)
    seconds["jobs"] = round(time.monotonic() - started, 1)
    result = LoadResult(
        instance=instance,
        files=int(shell.sql(OLD_DB, f"SELECT COUNT(*) FROM {instance}_FileCatalogDB.FC_Files")[0][0]),
        done_jobs=int(shell.sql(OLD_DB, f"SELECT COUNT(*) FROM {instance}_JobDB.Jobs WHERE Status='Done'")[0][0]),
        max_job_id=int(shell.sql(OLD_DB, f"SELECT MAX(JobID) FROM {instance}_JobDB.Jobs")[0][0]),
        seconds=seconds,
    )
    log(f"load {instance}: {result.files} files, {result.done_jobs} Done, max JobID {result.max_job_id}; {seconds}")
    return result


def load_old_site(
    paths: LabPaths, files: int = 10000, jobs: int = 1000, pilots: int = 4, log: Log = print
) -> dict[str, LoadResult]:
    """Load both instances of the old site at the same time; returns what each holds afterwards."""
    shell = LabShell(paths)
    with ThreadPoolExecutor(max_workers=len(OLD_HOST)) as pool:
        futures = {i: pool.submit(load_instance, shell, i, files, jobs, pilots, log) for i in OLD_HOST}
        return {instance: future.result() for instance, future in futures.items()}
