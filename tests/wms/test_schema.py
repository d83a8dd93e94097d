"""Schema management on SQLite and MariaDB: init creates head, never drops; upgrade 1.0 -> head keeps every row."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, text
from sqlalchemy.engine import URL

from dirac_core.db import schema
from dirac_core.db.engine import make_engine
from dirac_core.db.installed import all_databases, get_database
from dirac_core.db.jobdb import JobDB
from dirac_core.errors import ConfigError

from .conftest import db_urls

JOBDB = get_database("JobDB")
N_JOBS = 300  # modest: the default suite runs on a shared machine


@pytest.fixture
def engines(db_url: str | URL, tmp_path: Path) -> dict[str, Engine]:
    return {name: make_engine(url) for name, url in db_urls(db_url, tmp_path).items()}


def fill_release_1_0(engine: Engine) -> None:
    """Real rows in every JobDB table, written with the 1.0 layout (JobCommands has no Issuer)."""
    now = datetime(2026, 1, 2, 3, 4, 5)
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO JobJDLs (JobID, JDL, JobRequirements, OriginalJDL) VALUES (:i, :j, '', :j)"),
            [{"i": i, "j": f'[Executable = "job{i}";]'} for i in range(1, N_JOBS + 1)],
        )
        conn.execute(
            text(
                "INSERT INTO Jobs (JobID, Owner, OwnerGroup, VO, Status, MinorStatus, Site, SubmissionTime) "
                "VALUES (:i, :o, 'egi_user', 'egi', :s, 'm', 'EGI.A.fr', :t)"
            ),
            [
                {"i": i, "o": f"user{i % 7}", "s": ("Waiting", "Running", "Done")[i % 3], "t": now}
                for i in range(1, N_JOBS + 1)
            ],
        )
        conn.execute(
            text("INSERT INTO InputData (JobID, LFN) VALUES (:i, :l)"),
            [{"i": i, "l": f"/egi/data/{i}.dat"} for i in range(1, N_JOBS + 1)],
        )
        conn.execute(
            text("INSERT INTO JobParameters (JobID, Name, Value) VALUES (:i, 'HostName', :v)"),
            [{"i": i, "v": f"wn{i}"} for i in range(1, N_JOBS + 1)],
        )
        conn.execute(
            text(
                "INSERT INTO HeartBeatLoggingInfo (JobID, Name, Value, HeartBeatTime) "
                "VALUES (:i, 'CPUConsumed', '1', :t)"
            ),
            [{"i": i, "t": now} for i in range(1, N_JOBS + 1)],
        )
        conn.execute(
            text(
                "INSERT INTO JobCommands (JobID, Command, Arguments, Status, ReceptionTime) "
                "VALUES (:i, 'Kill', '', 'Received', :t)"
            ),
            [{"i": i, "t": now} for i in range(1, N_JOBS + 1, 10)],
        )


COUNTS = {
    "JobJDLs": N_JOBS,
    "Jobs": N_JOBS,
    "InputData": N_JOBS,
    "JobParameters": N_JOBS,
    "HeartBeatLoggingInfo": N_JOBS,
    "JobCommands": N_JOBS // 10,
}


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {table: int(conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one()) for table in COUNTS}


def test_init_creates_head_for_every_wms_db(engines: dict[str, Engine]) -> None:
    for name, engine in engines.items():
        spec = get_database(name)
        assert schema.init(spec, engine).action == "created"
        state = schema.status(spec, engine)
        assert state.current == state.head and state.pending == []
        with engine.connect() as conn:
            assert schema.missing_objects(conn, spec.load_metadata()) == []
        assert schema.init(spec, engine).action == "up to date"
    assert schema.status(JOBDB, engines["JobDB"]).label("jobdb_1_2") == "jobdb_1_2 (1.2)"


def test_upgrade_1_0_to_head_keeps_every_row(engines: dict[str, Engine]) -> None:
    engine = engines["JobDB"]
    assert schema.init(JOBDB, engine, to="jobdb_1_0").applied == ["jobdb_1_0"]
    fill_release_1_0(engine)
    before = schema.status(JOBDB, engine)
    assert (before.current, before.pending) == ("jobdb_1_0", ["jobdb_1_1", "jobdb_1_2"])
    with engine.connect() as conn:
        snapshot = conn.execute(text("SELECT * FROM Jobs ORDER BY JobID")).all()

    result = schema.upgrade(JOBDB, engine)
    assert (result.action, result.applied) == ("upgraded", ["jobdb_1_1", "jobdb_1_2"])
    assert counts(engine) == COUNTS
    with engine.connect() as conn:
        assert conn.execute(text("SELECT * FROM Jobs ORDER BY JobID")).all() == snapshot
        issuers = {row[0] for row in conn.execute(text("SELECT Issuer FROM JobCommands"))}
        assert issuers == {"Unknown"}
        assert "OwnerStatus" in {index["name"] for index in inspect(conn).get_indexes("Jobs")}
        assert "StateLease" in {index["name"] for index in inspect(conn).get_indexes("JobSubmissions")}
        assert schema.missing_objects(conn, JOBDB.load_metadata()) == []
    assert schema.status(JOBDB, engine).pending == []
    # the upgraded DB is fully usable by the current code, above the old maximum JobID
    assert JobDB(engine).max_job_id() == N_JOBS


def test_init_adopts_unversioned_tables_without_dropping(engines: dict[str, Engine]) -> None:
    engine = engines["JobDB"]
    schema.init(JOBDB, engine, to="jobdb_1_0")
    fill_release_1_0(engine)
    with engine.begin() as conn:
        conn.execute(text(f"DROP TABLE {JOBDB.version_table}"))  # as if created by hand / an older tool
        conn.execute(text("CREATE TABLE LocalNotes (Note VARCHAR(64))"))
        conn.execute(text("INSERT INTO LocalNotes VALUES ('keep me')"))
    result = schema.init(JOBDB, engine)
    assert result.action == "adopted" and result.applied == ["jobdb_1_0", "jobdb_1_1", "jobdb_1_2"]
    assert counts(engine) == COUNTS
    with engine.connect() as conn:
        assert conn.execute(text("SELECT Note FROM LocalNotes")).scalar_one() == "keep me"
    assert schema.status(JOBDB, engine).pending == []


def test_upgrade_requires_init(engines: dict[str, Engine]) -> None:
    with pytest.raises(ConfigError, match="db init JobDB"):
        schema.upgrade(JOBDB, engines["JobDB"])


def test_registry_lists_wms_dbs_with_migrations() -> None:
    specs = all_databases()
    for name in ("JobDB", "JobLoggingDB", "TaskQueueDB", "SandboxMetadataDB", "PilotAgentsDB"):
        assert specs[name].system == "WorkloadManagement"
        assert (specs[name].migrations_dir / "versions").is_dir()
    assert len({spec.version_table for spec in specs.values()}) == len(specs)


def test_revisions_build_the_same_layout_as_the_metadata(db_url: str | URL, tmp_path: Path) -> None:
    """For every registered DB: running its revisions from empty == creating its metadata (no drift)."""
    for spec in all_databases().values():
        url = db_url if not str(db_url).startswith("sqlite") else f"sqlite:///{tmp_path / (spec.name + '.sqlite')}"
        engine = make_engine(url)
        try:
            head = schema.status(spec, engine).head
            assert schema.init(spec, engine, to=head).action == "created"
            with engine.connect() as conn:
                assert schema.missing_objects(conn, spec.load_metadata()) == [], spec.name
            assert schema.status(spec, engine).pending == []
        finally:
            engine.dispose()


def test_cli_db_upgrade_moves_a_filled_1_0_jobdb_to_head(db_url: str | URL, tmp_path: Path) -> None:
    """The operator's command, `dirac-core db upgrade --cfg`, on a JobDB holding release 1.0 rows."""
    from click.testing import CliRunner

    from dirac_core.cli.admin import _register, cli

    from .test_cli_db import write_cfg

    urls = db_urls(db_url, tmp_path)
    engine = make_engine(urls["JobDB"])
    try:
        schema.init(JOBDB, engine, to="jobdb_1_0")
        fill_release_1_0(engine)
        with engine.connect() as conn:
            snapshot = conn.execute(text("SELECT * FROM Jobs ORDER BY JobID")).all()
        cfg = tmp_path / "dirac.cfg"
        write_cfg(cfg, {"JobDB": urls["JobDB"]}, min_job_id=1)
        _register()
        result = CliRunner().invoke(cli, ["db", "upgrade", "--cfg", str(cfg), "JobDB"], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        assert "jobdb_1_2" in result.output
        assert counts(engine) == COUNTS
        with engine.connect() as conn:
            assert conn.execute(text("SELECT * FROM Jobs ORDER BY JobID")).all() == snapshot
        assert schema.status(JOBDB, engine).current == "jobdb_1_2"
    finally:
        engine.dispose()
