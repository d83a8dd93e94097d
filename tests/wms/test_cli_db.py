"""`dirac-core db init|status|upgrade` against a CFG file, on SQLite and MariaDB."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
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
    assert "jobdb_1_0, jobdb_1_1" in status.output and "none" in status.output

    init = runner.invoke(cli, ["db", "init", "--cfg", str(cfg)], catch_exceptions=False)
    assert init.exit_code == 0, init.output
    for name in WMS_DBS:
        assert f"{name}: created" in init.output

    status = runner.invoke(cli, ["db", "status", "--cfg", str(cfg), "JobDB"], catch_exceptions=False)
    assert "jobdb_1_1 (1.1)" in status.output and "JobLoggingDB" not in status.output

    upgrade = runner.invoke(cli, ["db", "upgrade", "--cfg", str(cfg)], catch_exceptions=False)
    assert upgrade.exit_code == 0 and "JobDB: up to date at jobdb_1_1" in upgrade.output

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
