"""WMS fixtures: the five WMS databases on a real backend (SQLite files or one MariaDB database)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import URL, make_url

from dirac_core.auth.caller import Caller, Properties
from dirac_core.db.engine import make_engine
from dirac_core.db.jobdb import JobDB
from dirac_core.db.jobloggingdb import JobLoggingDB
from dirac_core.db.pilotagentsdb import PilotAgentsDB
from dirac_core.db.sandboxmetadatadb import SandboxMetadataDB
from dirac_core.db.taskqueuedb import TaskQueueDB
from dirac_core.wms.job_manager import JobManager
from dirac_core.wms.job_monitoring import JobMonitoring
from dirac_core.wms.job_state_update import JobStateUpdate
from dirac_core.wms.matcher import Matcher
from dirac_core.wms.sandbox_store import SandboxStore

WMS_DBS = ("JobDB", "JobLoggingDB", "TaskQueueDB", "SandboxMetadataDB", "PilotAgentsDB")

ALICE = Caller("sub-alice", "alice", "egi", "egi_user", frozenset({Properties.NORMAL_USER}))
BOB = Caller("sub-bob", "bob", "egi", "egi_user", frozenset({Properties.NORMAL_USER}))
ADMIN = Caller("sub-admin", "admin", "egi", "dirac_admin", frozenset({Properties.JOB_ADMINISTRATOR}))
PILOT = Caller("sub-pilot", "pilot", "egi", "egi_pilot", frozenset({Properties.GENERIC_PILOT}), is_host=True)


def db_urls(db_url: str | URL, tmp_path: Path) -> dict[str, URL]:
    """One URL per WMS DB: separate SQLite files (index names are file-global), or the one MariaDB DB."""
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":
        return {name: make_url(f"sqlite:///{tmp_path / (name + '.sqlite')}") for name in WMS_DBS}
    return dict.fromkeys(WMS_DBS, url)


@dataclass
class WMS:
    engines: dict[str, Engine]
    jobdb: JobDB
    loggingdb: JobLoggingDB
    tqdb: TaskQueueDB
    sandboxdb: SandboxMetadataDB
    pilotdb: PilotAgentsDB
    manager: JobManager
    monitoring: JobMonitoring
    state: JobStateUpdate
    matcher: Matcher
    sandboxes: SandboxStore
    backend: str


@pytest.fixture
def wms(db_url: str | URL, tmp_path: Path) -> Iterator[WMS]:
    engines = {name: make_engine(url) for name, url in db_urls(db_url, tmp_path).items()}
    jobdb = JobDB(engines["JobDB"])
    loggingdb = JobLoggingDB(engines["JobLoggingDB"])
    tqdb = TaskQueueDB(engines["TaskQueueDB"])
    sandboxdb = SandboxMetadataDB(engines["SandboxMetadataDB"])
    pilotdb = PilotAgentsDB(engines["PilotAgentsDB"])
    for db in (jobdb, loggingdb, tqdb, sandboxdb, pilotdb):
        db.create_tables()
    try:
        yield WMS(
            engines,
            jobdb,
            loggingdb,
            tqdb,
            sandboxdb,
            pilotdb,
            JobManager(jobdb, loggingdb, tqdb, sandboxdb),
            JobMonitoring(jobdb, loggingdb),
            JobStateUpdate(jobdb, loggingdb),
            Matcher(jobdb, loggingdb, tqdb, pilotdb),
            SandboxStore(sandboxdb, jobdb, tmp_path / "sandboxes", max_bytes=64 * 1024),
            jobdb.engine.dialect.name,
        )
    finally:
        for engine in engines.values():
            engine.dispose()


SIMPLE_JDL = """[
    Executable = "echo.sh";
    Arguments = "hello";
    JobName = "hello";
    CPUTime = 3600;
]"""
