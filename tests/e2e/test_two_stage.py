"""Issue 6 acceptance, end to end in the lab: two-stage migration, resume after kills, rollback.

Marked slow and lab (run by .ci/run's lab stage). It runs its own named lab (DIRAC_LAB_NAME,
default `e2e`) beside the developers' one, and drives only the operator entry points: dirac-kit
lab, ansible-playbook site.yml, dirac-kit runbook run stage1|stage2|rollback, and the DIRAC CLIs
on the lab hosts. Checks read the databases directly on the DB hosts (same MariaDB version on both
sites, so CHECKSUM TABLE compares them).

Skips only when a prerequisite is genuinely missing (no podman; a playbook or engine command this
checkout does not have yet), saying which.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dirac_kit.lab import load
from dirac_kit.lab.paths import LabPaths
from dirac_kit.state import RunPaths

# The whole scenario is ~20 min on a quiet 2-core machine (more when shared): above the suite's 900 s.
pytestmark = [pytest.mark.slow, pytest.mark.lab, pytest.mark.timeout(3600)]

REPO = Path(__file__).resolve().parents[2]
INVENTORY = REPO / "inventories" / "lab"
BIN = Path(sys.executable).parent
LAB_NAME = os.environ.get("DIRAC_LAB_NAME", "e2e")
# Markers, reports, runbook state: where the kit keeps them for this lab (dirac_kit/state.py).
RUN = RunPaths.of([INVENTORY], LabPaths(REPO, LAB_NAME)).root
INSTANCES = ("egi", "fg")
NEW_DB = "ccdiracdb01"
# Service hosts the load and the end checks talk to (placement of inventories/lab).
OLD_HOST, OLD_DB, EISCAT_SHARE = load.OLD_HOST, load.OLD_DB, load.EISCAT_SHARE
NEW_HOST = {"egi": "ccdiracli07", "fg": "ccdiracli10"}
N_FILES = int(os.environ.get("E2E_FILES", "10000"))
N_JOBS = int(os.environ.get("E2E_JOBS", "1000"))
N_PILOTS = int(os.environ.get("E2E_PILOTS", "4"))  # per instance, in parallel
DIRAC, DIRAC_CORE = load.DIRAC, load.DIRAC_CORE
STAGE1_STEPS = ["prechecks", "deploy-new", "migrate-db", "cutover", "verify-new", "stop-old"]
# Bookkeeping rows a running service rewrites (lease renewals): not migrated data.
NOT_DATA = {"ac_Leases"}


def _missing_prerequisites() -> list[str]:
    missing = []
    if shutil.which("podman") is None:
        missing.append("podman is not installed (scripts/setup.sh installs it)")
    for playbook in ("site.yml", "verify.yml", "migrate-stage1.yml", "migrate-stage2.yml", "rollback.yml"):
        if not (REPO / "playbooks" / playbook).is_file():
            missing.append(f"playbooks/{playbook} is not in this checkout")
    probe = subprocess.run([str(BIN / "dirac-core"), "db", "migrate", "--help"], capture_output=True, text=True)
    if probe.returncode != 0:
        missing.append("`dirac-core db migrate` (the migration engine) is not in this checkout")
    from dirac_core.db.installed import all_databases

    for db in ("FileCatalogDB", "AccountingDB"):
        if db not in all_databases():
            missing.append(f"{db} is not registered in dirac_core/db/installed.py")
    return missing


def _env() -> dict[str, str]:
    # What an operator has: the kit's venv on PATH and the lab's name; the kit derives the rest.
    return {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "DIRAC_LAB_NAME": LAB_NAME}


def _vault() -> list[str]:
    for name in ("vault-password.lab.txt", "vault-password.lab"):
        if (INVENTORY / name).is_file():
            return ["--vault-id", f"lab@{INVENTORY / name}"]
    return []


def run(
    *argv: str, check: bool = True, timeout: float = 3600, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        argv, input=stdin, capture_output=True, text=True, env=_env(), cwd=REPO, timeout=timeout, check=False
    )
    if check and done.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} failed ({done.returncode}):\n{(done.stdout + done.stderr)[-4000:]}")
    return done


def on(host: str, command: str, check: bool = True, stdin: str | None = None) -> str:
    return run(str(BIN / "dirac-kit"), "lab", "ssh", host, "--", command, check=check, stdin=stdin).stdout


def login(host: str, instance: str) -> None:
    """What `dirac login` leaves behind, for the dirac account on a host that runs Framework/Auth."""
    load.login(_shell(), host)


def _shell() -> load.LabShell:
    return load.LabShell(LabPaths(REPO, LAB_NAME))


def sql(host: str, query: str) -> list[list[str]]:
    out = on(host, f"mysql --batch --skip-column-names -e {shq(query)}")
    return [line.split("\t") for line in out.splitlines()]


def shq(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"


def playbook(name: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run(str(BIN / "ansible-playbook"), "-i", str(INVENTORY), *_vault(), f"playbooks/{name}", *args, check=check)


def runbook(book: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    state = RUN / "runbooks"
    # Exactly as docs/migration.md prints it: the books stop services and move data (dirac_kit.confirm).
    return run(str(BIN / "dirac-kit"), "runbook", "run", book, "-i", str(INVENTORY), "--state-dir", str(state),
               "--yes-i-really-mean-it", *args, check=check)  # fmt: skip


def checksums(host: str, database: str) -> dict[str, str]:
    query = (
        "SELECT TABLE_NAME FROM information_schema.TABLES "
        f"WHERE TABLE_SCHEMA='{database}' AND TABLE_TYPE='BASE TABLE' ORDER BY 1"
    )
    tables = [r[0] for r in sql(host, query) if r[0] not in NOT_DATA]
    if not tables:
        return {}
    rows = sql(host, "CHECKSUM TABLE " + ", ".join(f"`{database}`.`{t}`" for t in tables))
    return {row[0]: row[1] for row in rows}


def rows(host: str, database: str) -> dict[str, set[str]]:
    """Every row of every table of `database`, as text: {table: {row, ...}} (one SSH call)."""
    query = (
        "SELECT TABLE_NAME FROM information_schema.TABLES "
        f"WHERE TABLE_SCHEMA='{database}' AND TABLE_TYPE='BASE TABLE' ORDER BY 1"
    )
    tables = [r[0] for r in sql(host, query) if r[0] not in NOT_DATA]
    selects = "; ".join(f"SELECT '{t}', x.* FROM `{database}`.`{t}` x" for t in tables)
    found: dict[str, set[str]] = {t: set() for t in tables}
    for line in on(host, f"mysql --batch --skip-column-names -e {shq(selects)}").splitlines():
        table, _, row = line.partition("\t")
        found[table].add(row)
    return found


# Where the test spends its time (printed at the end: .ci/run budgets it).
TIMES: dict[str, float] = {}


class _Clock:
    def __init__(self, label: str) -> None:
        self.label = label

    def __enter__(self) -> None:
        self.started = time.monotonic()

    def __exit__(self, *exc: object) -> None:
        TIMES[self.label] = TIMES.get(self.label, 0.0) + time.monotonic() - self.started


# ---- fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lab() -> Iterator[None]:
    missing = _missing_prerequisites()
    if missing:
        pytest.skip("prerequisites missing: " + "; ".join(missing))
    shutil.rmtree(RUN, ignore_errors=True)
    with _Clock("lab up"):
        run(str(BIN / "dirac-kit"), "lab", "up", timeout=1800)
    try:
        yield
    finally:
        if not os.environ.get("E2E_KEEP_LAB"):
            run(str(BIN / "dirac-kit"), "lab", "down", check=False)
        print("\ne2e timings: " + ", ".join(f"{k} {v:.0f} s" for k, v in TIMES.items()))


@pytest.fixture(scope="module")
def loaded_old_site(lab: None) -> dict[str, load.LoadResult]:
    """Both instances deployed on the old site with real activity (dirac_kit.lab.load)."""
    with _Clock("deploy old site"):
        playbook("site.yml", "--limit", "cyfronet")
    with _Clock("load old site"):
        loaded = load.load_old_site(LabPaths(REPO, LAB_NAME), N_FILES, N_JOBS, N_PILOTS, log=print)
    for result in loaded.values():
        assert result.files >= N_FILES and result.done_jobs >= N_JOBS, result
    return loaded


# ---- helpers of the stages ----------------------------------------------------------------------


def _kill_during(book: str, step: str, *args: str) -> None:
    """Start the runbook and SIGKILL it (its whole process group) a random 1-5 s into `step`."""
    state = RUN / "runbooks"
    argv = [
        str(BIN / "dirac-kit"),
        "runbook",
        "run",
        book,
        "-i",
        str(INVENTORY),
        "--state-dir",
        str(state),
        "--yes-i-really-mean-it",
        *args,
    ]
    proc = subprocess.Popen(argv, env=_env(), cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)  # fmt: skip
    assert proc.stdout is not None
    seen, killed = [], False
    for line in proc.stdout:
        seen.append(line)
        if f"] {step}:" in line and "already done" not in line:
            time.sleep(random.uniform(1, 5))
            killed = True
            break
    with contextlib.suppress(ProcessLookupError):  # it ended by itself meanwhile
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert killed, f"runbook {book} never started step {step}:\n{''.join(seen)[-3000:]}"
    print(f"killed runbook {book} during {step}")


def _copied() -> list[str]:
    return [f"{i}_{db}" for i in INSTANCES for db in ("FileCatalogDB", "AccountingDB")]


def _check_reset_repopulated_upgraded(old: dict[str, load.LoadResult], verify_jobs: bool) -> None:
    """Job DBs empty (but for verify-new's test jobs) with new JobIDs above the old maximum;
    EiscatFileCatalog exactly the /eiscat.se subset; FG schemas at the new release."""
    for instance in INSTANCES:
        jobs = sql(NEW_DB, f"SELECT JobID, JobName FROM {instance}_JobDB.Jobs")
        allowed = {f"verify-{instance}"} if verify_jobs else set()
        assert all(name in allowed for _, name in jobs), f"{instance}_JobDB is not empty after the migration: {jobs}"
        assert all(int(job_id) > old[instance].max_job_id for job_id, _ in jobs), f"{instance}: old JobIDs reused"
        # JobJDLs.JobID is the AUTO_INCREMENT column JobIDs come from.
        where = f"TABLE_SCHEMA='{instance}_JobDB' AND AUTO_INCREMENT IS NOT NULL"
        auto = sql(NEW_DB, f"SELECT MAX(AUTO_INCREMENT) FROM information_schema.TABLES WHERE {where}")[0][0]
        assert int(auto) > old[instance].max_job_id, f"{instance}: next JobID {auto} <= {old[instance].max_job_id}"
    subtree = (
        "SELECT CONCAT(d.Name, '/', f.FileName, ' ', f.Size) FROM {db}.FC_Files f JOIN {db}.FC_DirectoryList d "
        "USING (DirID) WHERE d.Name LIKE '/eiscat.se/%' ORDER BY 1"
    )
    eiscat_old = [r[0] for r in sql(OLD_DB, subtree.format(db="egi_FileCatalogDB"))]
    eiscat_new = [r[0] for r in sql(NEW_DB, subtree.format(db="egi_EiscatFileCatalogDB"))]
    everything_new = sql(NEW_DB, "SELECT COUNT(*) FROM egi_EiscatFileCatalogDB.FC_Files")[0][0]
    assert len(eiscat_old) == N_FILES // EISCAT_SHARE
    assert eiscat_new == eiscat_old and everything_new == str(len(eiscat_old)), "EiscatFileCatalog != /eiscat.se"
    status = on(NEW_HOST["fg"], f"{DIRAC_CORE} db status")  # table: DB | backend | current | head | pending
    rows_ = [[cell.strip() for cell in line.split("│")[1:-1]] for line in status.splitlines() if line.startswith("│")]
    assert len(rows_) >= 5 and all(r[2] == r[3] and r[4] == "-" for r in rows_), f"FG schemas not at head:\n{status}"
    # ...and the old site's FG was on release 1.0 (inventories/lab/group_vars/fg): a real upgrade, EGI's none.
    old_fg = sql(OLD_DB, "SELECT version_num FROM fg_JobDB.alembic_version_jobdb")
    new_fg = sql(NEW_DB, "SELECT version_num FROM fg_JobDB.alembic_version_jobdb")
    assert (old_fg, new_fg) == ([["jobdb_1_0"]], [["jobdb_1_2"]]), f"FG JobDB old {old_fg}, new {new_fg}"
    egi = [sql(db, "SELECT version_num FROM egi_JobDB.alembic_version_jobdb") for db in (OLD_DB, NEW_DB)]
    assert egi == [[["jobdb_1_2"]]] * 2, f"EGI JobDB old/new {egi}: EGI keeps its release"


def _check_copied_identical() -> None:
    """Right after the migration (old databases read-only): every table identical on both sites."""
    for name in _copied():
        old, new = checksums(OLD_DB, name), checksums(NEW_DB, name)
        assert old and new == old, f"{name} differs between the sites: {old} != {new}"


def _check_copied_kept(reference: dict[str, dict[str, set[str]]]) -> None:
    """Later (the new site has run verify jobs since): every row of the old site is on the new site,
    unchanged: every catalog entry, replica, metadata value and accounting bucket."""
    for name, tables in reference.items():
        new = rows(NEW_DB, name)
        for table, old_rows in tables.items():
            missing = old_rows - new.get(table, set())
            assert not missing, (
                f"{name}.{table}: {len(missing)} rows of the old site differ or are missing: {sorted(missing)[:3]}"
            )


def _check_old_site_stopped() -> None:
    for host in OLD_HOST.values():
        active = on(host, "systemctl list-units --state=active --no-legend --plain 'dirac-*'", check=False)
        assert active.strip() == "", f"old site still runs on {host}: {active}"
        enabled = on(host, "systemctl list-unit-files --state=enabled --no-legend 'dirac-*'", check=False)
        assert enabled.strip() == "", f"old site still has enabled units on {host}: {enabled}"


def _check_old_site_guarded() -> None:
    """After stage 1, deploy and start against the old site refuse before any change and say why, through
    the kit (runbook markers) and through a plain ansible-playbook (the hosts' state); the override passes."""
    for action in ("deploy", "start"):
        proc = run(str(BIN / "dirac-kit"), "-i", str(INVENTORY), action, "--check", "--diff", "--limit", "cyfronet",
                   "--tags", "config,services", check=False)  # fmt: skip
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert f"{action} refused:" in proc.stderr and "(site cyfronet) are decommissioned" in proc.stderr
    for name in ("site.yml", "start.yml"):
        proc = playbook(name, "--check", "--diff", "--limit", "cyfronet", "--tags", "config,services", check=False)
        assert proc.returncode != 0, proc.stdout[-3000:]
        recaps = [line for line in proc.stdout.splitlines() if line.startswith("cyf-") and "changed=" in line]
        assert recaps and all("changed=0" in line for line in recaps), proc.stdout[-3000:]
        assert "is decommissioned: stage 1 cut over" in " ".join(proc.stdout.split())
    passed = playbook("start.yml", "--check", "--limit", "cyfronet", "-e",
                      "dirac_migration_site_state_override=decommissioned", check=False)  # fmt: skip
    assert "is decommissioned" not in passed.stdout, "the named override passes the hosts' guard"


# ---- the stages ---------------------------------------------------------------------------------
# One lab, in order: stage 1 up to cutover (killed twice, resumed), rollback with writes made on the
# new site, stage 1 again to its end (killed again, resumed), stage 2, a job per instance.


def test_stage1_killed_resumed_then_rolled_back(loaded_old_site: dict[str, load.LoadResult]) -> None:
    """Kill stage 1 at two random steps up to migrate-db and resume; the migrated data are identical;
    after cutover write to the new site and roll back: the old site serves with all data and those writes."""
    for step in sorted(random.sample(STAGE1_STEPS[:3], 2), key=STAGE1_STEPS.index):
        with _Clock("stage 1 (round 1, killed)"):
            _kill_during("stage1", step, "--until", "migrate-db")
    with _Clock("stage 1 (round 1, resumed)"):
        runbook("stage1", "--until", "migrate-db")
    _check_copied_identical()
    _check_reset_repopulated_upgraded(loaded_old_site, verify_jobs=False)
    with _Clock("stage 1 (round 1, cutover)"):
        runbook("stage1", "--until", "cutover")
    for instance in INSTANCES:  # writes on the new site after the cutover
        host = NEW_HOST[instance]
        login(host, instance)
        on(host, f"{DIRAC} fc add /{instance}/data/after-cutover.dat --size 7 --se IN2P3-CC-disk --pfn srm://cc/x "
                 f"&& {DIRAC} fc meta set /{instance}/data/after-cutover.dat run=99")  # fmt: skip
    with _Clock("rollback"):
        runbook("rollback")
    _check_copied_identical()  # carried back, verified
    for instance in INSTANCES:  # the old site serves: it reads the writes and takes new ones
        host = OLD_HOST[instance]
        listing = on(host, f"{DIRAC} fc ls /{instance}/data")  # ls lists directories
        assert "after-cutover.dat" in listing
        assert "99" in on(host, f"{DIRAC} fc meta show /{instance}/data/after-cutover.dat")
        on(host, f"{DIRAC} fc add /{instance}/data/after-rollback.dat --size 1 --se CYFRONET-USER --pfn srm://cyf/y")


def test_stage1_to_the_end_then_stage2(loaded_old_site: dict[str, load.LoadResult]) -> None:
    """Stage 1 again after the rollback (killed at a random later step, resumed), stage 2; checks after each."""
    step = random.choice(STAGE1_STEPS[2:])
    with _Clock("stage 1 (round 2, killed)"):
        _kill_during("stage1", step)
    started = time.monotonic()
    with _Clock("stage 1 (round 2, resumed)"):
        runbook("stage1")
    print(f"stage 1 round 2 (after a kill during {step}): {time.monotonic() - started:.0f} s")
    reference = {name: rows(OLD_DB, name) for name in _copied()}  # the old site, stopped and read-only
    _check_copied_kept(reference)
    _check_reset_repopulated_upgraded(loaded_old_site, verify_jobs=True)
    _check_old_site_stopped()
    _check_old_site_guarded()
    with _Clock("stage 2"):
        runbook("stage2")
    _check_copied_kept(reference)
    _check_reset_repopulated_upgraded(loaded_old_site, verify_jobs=True)
    _check_old_site_stopped()
    with _Clock("a job per instance"):
        for instance in INSTANCES:  # a job per instance runs to Done and shows up in accounting
            host = NEW_HOST[instance]
            login(host, instance)
            site = f"{instance.upper()}.IN2P3.fr"
            load.run_jobs(_shell(), host, instance, site, 1, 1, print, db_host=NEW_DB, ids_file="/tmp/after.txt")
            # The pilot commits the record at the job's end; reports read buckets, cached a short while.
            deadline, report = time.monotonic() + 180, ""
            while site not in report and time.monotonic() < deadline:
                time.sleep(5)
                report = on(host, f"{DIRAC} accounting report Job --group-by site --format csv")
            assert site in report, f"{instance}: the job at {site} is not in the accounting report:\n{report}"
