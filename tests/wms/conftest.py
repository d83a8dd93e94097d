"""WMS fixtures: the five WMS databases on a real backend (SQLite files or one MariaDB database)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL, make_url

from dirac_core.auth.caller import Caller, Properties
from dirac_core.db import jobdb as jobdb_module
from dirac_core.db import jobloggingdb as jobloggingdb_module
from dirac_core.db import pilotagentsdb as pilotagentsdb_module
from dirac_core.db import sandboxmetadatadb as sandboxmetadatadb_module
from dirac_core.db import taskqueuedb as taskqueuedb_module
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
from tests.support.mariadb import scratch_database

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


MODULES = (jobdb_module, jobloggingdb_module, taskqueuedb_module, sandboxmetadatadb_module, pilotagentsdb_module)


@pytest.fixture(scope="session")
def mariadb_wms_url() -> Iterator[URL]:
    """One MariaDB database with the WMS tables, created once per session (table creation is the slow
    part on MariaDB); each test starts from emptied tables (`_empty`)."""
    with scratch_database("test_wms") as url:
        engine = make_engine(url)
        for module in MODULES:
            module.metadata.create_all(engine)
        engine.dispose()
        yield url


def _empty(engine: Engine) -> None:
    with engine.begin() as conn:
        for module in MODULES:
            for table in reversed(module.metadata.sorted_tables):
                conn.execute(table.delete())
        conn.execute(text("ALTER TABLE JobJDLs AUTO_INCREMENT = 1"))  # ids from 1 again, as in a fresh DB


@pytest.fixture(params=["sqlite", "mariadb"])
def wms(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[WMS]:
    if request.param == "sqlite":
        engines = {name: make_engine(f"sqlite:///{tmp_path / (name + '.sqlite')}") for name in WMS_DBS}
    else:
        shared = make_engine(request.getfixturevalue("mariadb_wms_url"))
        _empty(shared)
        engines = dict.fromkeys(WMS_DBS, shared)
    jobdb = JobDB(engines["JobDB"])
    loggingdb = JobLoggingDB(engines["JobLoggingDB"])
    tqdb = TaskQueueDB(engines["TaskQueueDB"])
    sandboxdb = SandboxMetadataDB(engines["SandboxMetadataDB"])
    pilotdb = PilotAgentsDB(engines["PilotAgentsDB"])
    if request.param == "sqlite":
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
        for engine in set(engines.values()):
            engine.dispose()


SIMPLE_JDL = """[
    Executable = "echo.sh";
    Arguments = "hello";
    JobName = "hello";
    CPUTime = 3600;
]"""
