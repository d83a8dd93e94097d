"""`dirac-core db init|status|upgrade` against a CFG file, on SQLite and MariaDB."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from click.testing import CliRunner
from sqlalchemy import inspect
from sqlalchemy.engine import URL

from dirac_core.cli.admin import _register, cli
from dirac_core.db.engine import make_engine
from dirac_core.db.jobdb import JobDB

from .conftest import WMS_DBS, db_urls


def write_cfg(path: Path, urls: dict[str, URL], min_job_id: int) -> None:
    databases = "\n".join(
        f"""        {name}
        {{
          URL = {url.render_as_string(hide_password=False)}
          {f"MinJobID = {min_job_id}" if name == "JobDB" else ""}
        }}"""
        for name, url in urls.items()
    )
    path.write_text(
        f"""DIRAC
{{
  Setup = Test
  Setups
  {{
    Test
    {{
      WorkloadManagement = Test
    }}
  }}
}}
Systems
{{
  WorkloadManagement
  {{
    Test
    {{
      Databases
      {{
{databases}
      }}
    }}
  }}
}}
""",
        encoding="utf-8",
    )


def test_db_init_status_upgrade(db_url: str | URL, tmp_path: Path) -> None:
    _register()
    urls = db_urls(db_url, tmp_path)
    cfg = tmp_path / "dirac.cfg"
    write_cfg(cfg, urls, min_job_id=70000)
    runner = CliRunner()

    status = runner.invoke(cli, ["db", "status", "--cfg", str(cfg)], catch_exceptions=False)
    assert status.exit_code == 0, status.output
    assert "jobdb_1_0, jobdb_1_1, jobdb_1_2" in status.output and "none" in status.output

    init = runner.invoke(cli, ["db", "init", "--cfg", str(cfg)], catch_exceptions=False)
    assert init.exit_code == 0, init.output
    for name in WMS_DBS:
        assert f"{name}: created" in init.output

    status = runner.invoke(cli, ["db", "status", "--cfg", str(cfg), "JobDB"], catch_exceptions=False)
    assert "jobdb_1_2 (1.2)" in status.output and "JobLoggingDB" not in status.output

    upgrade = runner.invoke(cli, ["db", "upgrade", "--cfg", str(cfg)], catch_exceptions=False)
    assert upgrade.exit_code == 0 and "JobDB: up to date at jobdb_1_2" in upgrade.output

    engine = make_engine(urls["JobDB"])
    try:
        # MinJobID from the CS applied by init: the "reset" strategy keeps new ids above the old maximum
        from dirac_core.db.jobdb import NewJob

        [job_id] = JobDB(engine).insert_jobs([NewJob("[]", "[]", {"Owner": "a"}, lambda i: f"[JobID={i};]")])
        assert job_id == 70000
    finally:
        engine.dispose()

    unknown = runner.invoke(cli, ["db", "status", "--cfg", str(cfg), "NoSuchDB"])
    assert unknown.exit_code != 0


def test_db_init_release_pin_holds_an_older_layout_and_never_downgrades(db_url: str | URL, tmp_path: Path) -> None:
    """A site staying on release 1.0 (the lab's old FG): init --release 1.0 builds and keeps 1.0; a later
    init without the pin upgrades; asking for 1.0 again then is refused, nothing is dropped."""
    _register()
    urls = db_urls(db_url, tmp_path)
    cfg = tmp_path / "dirac.cfg"
    write_cfg(cfg, urls, min_job_id=1)
    runner = CliRunner()

    def init(*extra: str) -> Any:
        return runner.invoke(cli, ["db", "init", "--cfg", str(cfg), *extra, "JobDB", "TaskQueueDB"])

    pinned = init("--release", "1.0")
    assert pinned.exit_code == 0, pinned.output
    assert "JobDB: created at jobdb_1_0" in pinned.output and "TaskQueueDB: created at taskqueuedb_1_0" in pinned.output
    again = init("--release", "1.0")
    assert again.exit_code == 0 and "JobDB: up to date at jobdb_1_0" in again.output, again.output
    engine = make_engine(urls["JobDB"])
    try:
        with engine.connect() as conn:
            assert "Issuer" not in {c["name"] for c in inspect(conn).get_columns("JobCommands")}  # 1.0's layout
    finally:
        engine.dispose()
    status = runner.invoke(cli, ["db", "status", "--cfg", str(cfg), "JobDB"])
    assert "jobdb_1_0 (1.0)" in status.output and "jobdb_1_1" in status.output  # current 1.0, 1.1 pending

    newest = init("--release", "1.1")
    assert newest.exit_code == 0 and "JobDB: upgraded at jobdb_1_1 (jobdb_1_1)" in newest.output, newest.output
    back = init("--release", "1.0")  # the error reaches the user as one line through run_cli
    assert back.exit_code != 0 and "JobDB is at jobdb_1_1" in str(back.exception)
    assert "never downgraded" in str(back.exception)

    for bad, says in (
        ("0.9", "no schema release 0.9 or older (its releases: 1.0, 1.1, 1.2)"),
        ("one", "is not a version"),
    ):
        refused = init("--release", bad)
        assert refused.exit_code != 0 and says in str(refused.exception), refused.exception
