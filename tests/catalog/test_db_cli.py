"""`dirac-core db init|status|upgrade EiscatFileCatalogDB`: a second catalog's DB, named by the CS
(``Module = FileCatalog``, ``Database = EiscatFileCatalogDB``), is managed like FileCatalogDB."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import URL

from dirac_core.catalog.catalog import FileCatalog
from dirac_core.cli.admin import _register, cli
from dirac_core.config.cfg import Config
from dirac_core.db.engine import make_engine
from dirac_core.services.instance_databases import instance_databases
from tests.support.mariadb import mariadb_root_url

from .conftest import ADMIN


def write_cfg(path: Path, fc_url: URL, eiscat_url: URL) -> None:
    def render(url: URL) -> str:
        return url.render_as_string(hide_password=False)

    path.write_text(
        f"""DIRAC
{{
  Setup = Test
  Setups
  {{
    Test
    {{
      DataManagement = Test
    }}
  }}
}}
Systems
{{
  DataManagement
  {{
    Test
    {{
      Services
      {{
        FileCatalog
        {{
          Port = 9197
        }}
        EiscatFileCatalog
        {{
          Module = FileCatalog
          Database = EiscatFileCatalogDB
        }}
        Other
        {{
          Module = NoSuchComponent
          Database = OrphanDB
        }}
      }}
      Databases
      {{
        FileCatalogDB
        {{
          URL = {render(fc_url)}
        }}
        EiscatFileCatalogDB
        {{
          URL = {render(eiscat_url)}
        }}
      }}
    }}
  }}
}}
""",
        encoding="utf-8",
    )


@pytest.fixture(params=["sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)])
def urls(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[URL, URL]]:
    if request.param == "sqlite":
        yield (
            URL.create("sqlite", database=str(tmp_path / "FileCatalogDB.sqlite")),
            URL.create("sqlite", database=str(tmp_path / "EiscatFileCatalogDB.sqlite")),
        )
        return
    names = [f"fcgaps_{kind}_{secrets.token_hex(4)}" for kind in ("fc", "eiscat")]
    admin = create_engine(mariadb_root_url())
    with admin.begin() as conn:
        for name in names:
            conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
    try:
        yield mariadb_root_url(names[0]), mariadb_root_url(names[1])
    finally:
        with admin.begin() as conn:
            for name in names:
                conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
        admin.dispose()


def tables(url: URL) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_catalog_instance_db_is_known_to_the_db_cli(urls: tuple[URL, URL], tmp_path: Path) -> None:
    fc_url, eiscat_url = urls
    cfg = tmp_path / "dirac.cfg"
    write_cfg(cfg, fc_url, eiscat_url)
    config = Config.from_files([cfg])
    specs = instance_databases(config)
    assert set(specs) == {"EiscatFileCatalogDB"}  # OrphanDB: its Module is no component
    assert specs["EiscatFileCatalogDB"].version_table == "alembic_version_eiscatfilecatalogdb"
    _register()
    runner = CliRunner()

    def db(*args: str) -> str:
        result = runner.invoke(cli, ["db", *args, "--cfg", str(cfg)], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    assert "EiscatFileCatalogDB" in db("status", "EiscatFileCatalogDB") and "none" in db("status")
    assert "EiscatFileCatalogDB: created at filecatalogdb_1_0" in db("init", "EiscatFileCatalogDB")
    eiscat_tables = tables(eiscat_url)
    assert {"FC_Files", "FC_Replicas", "FC_MetaFields", "alembic_version_eiscatfilecatalogdb"} <= eiscat_tables
    assert "alembic_version_filecatalogdb" not in eiscat_tables
    assert "FC_Files" not in tables(fc_url)  # only the named DB was touched

    status = db("status")
    assert "FileCatalogDB" in status and "filecatalogdb_1_0 (1.0)" in status
    assert "EiscatFileCatalogDB: up to date at filecatalogdb_1_0" in db("upgrade", "EiscatFileCatalogDB")
    both = db("init")  # every configured DB: the registered one and the instance copy
    assert "FileCatalogDB: created" in both and "EiscatFileCatalogDB: up to date" in both

    unknown = runner.invoke(cli, ["db", "init", "NopeDB", "--cfg", str(cfg)])
    message = str(unknown.exception)  # `dirac-core` prints DiracErrors as one line; CliRunner keeps them
    assert unknown.exit_code != 0 and "unknown database 'NopeDB'" in message and "EiscatFileCatalogDB" in message

    # The schema made by the CLI is the one the catalog code uses.
    engine = make_engine(eiscat_url)
    try:
        catalog = FileCatalog(engine, name="EiscatFileCatalog")
        assert catalog.directories.create(ADMIN, ["/eiscat/data"])["Successful"] == {"/eiscat/data": True}
    finally:
        engine.dispose()
