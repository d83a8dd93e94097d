"""Two catalogs side by side, each its own `dirac-core serve` HTTPS process and database:
FileCatalog (FileCatalogDB) and EiscatFileCatalog (``Module = FileCatalog``, EiscatFileCatalogDB).
DIRAC RPC, REST, ACLs (403 + nothing changed) and the `dirac fc` CLI against the real services."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from dirac_core.db.engine import make_engine
from dirac_core.db.filecatalogdb import FC_Files
from dirac_core.errors import BadRequest, Forbidden, PayloadTooLarge
from tests.support.instance import LocalInstance, free_port, running_instance, subprocess_env

FC = "DataManagement/FileCatalog"
EISCAT = "DataManagement/EiscatFileCatalog"


def extra_cfg(tmp_path: Path, eiscat_port: int) -> dict[str, Any]:
    return {
        "Systems": {
            "DataManagement": {
                "Local": {
                    "Services": {
                        "FileCatalog": {"MaxBulkSize": 1000},
                        "EiscatFileCatalog": {
                            "Module": "FileCatalog",
                            "Database": "EiscatFileCatalogDB",
                            "Port": eiscat_port,
                            "Host": "127.0.0.1",
                        },
                    },
                    "URLs": {"EiscatFileCatalog": f"https://127.0.0.1:{eiscat_port}/{EISCAT}"},
                    "Databases": {
                        "EiscatFileCatalogDB": {"URL": f"sqlite:///{tmp_path / 'EiscatFileCatalogDB.sqlite'}"}
                    },
                }
            }
        },
        "Resources": {
            "StorageElements": {"SE-A": {"BackendType": "File"}, "EISCAT-SE": {"BackendType": "File"}},
            "FileCatalogs": {
                "FileCatalog": {"CatalogType": "FileCatalog", "Master": "True", "AccessType": "Read-Write"},
                "EiscatFileCatalog": {"CatalogType": "FileCatalog", "CatalogURL": EISCAT, "AccessType": "Read-Write"},
            },
        },
    }


@pytest.fixture(scope="module")
def instance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalInstance]:
    tmp_path = tmp_path_factory.mktemp("catalogs")
    port = free_port()
    with running_instance(
        tmp_path, [FC], extra_cfg=extra_cfg(tmp_path, port), before_start=[["dirac-core", "db", "init"]]
    ) as inst:
        inst.ports[EISCAT] = port
        inst.start(EISCAT, EISCAT)  # `dirac-core serve DataManagement/EiscatFileCatalog`: resolved by Module
        with (
            inst.client(FC, user="admin", group="dirac_admin") as fc,
            inst.client(EISCAT, user="admin", group="dirac_admin") as eiscat,
        ):
            fc.rpc("createDirectory", ["/dirac_local/user/a/alice"])
            fc.rpc("changePathOwner", {"/dirac_local/user/a/alice": {"Owner": "alice", "Group": "dirac_user"}})
            eiscat.rpc("createDirectory", ["/eiscat/data"])
        yield inst


def count_files(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(FC_Files)).scalar_one())
    finally:
        engine.dispose()


def test_two_catalogs_have_separate_databases(instance: LocalInstance) -> None:
    config = instance.config
    fc_db = config.get("/Systems/DataManagement/Local/Databases/FileCatalogDB/URL")
    eiscat_db = config.get("/Systems/DataManagement/Local/Databases/EiscatFileCatalogDB/URL")
    home = "/dirac_local/user/a/alice"
    with instance.client(FC, user="alice") as fc, instance.client(EISCAT, user="admin", group="dirac_admin") as eiscat:
        before = (count_files(fc_db), count_files(eiscat_db))
        reply = fc.rpc("addFile", {f"{home}/one": {"Size": 1, "SE": "SE-A", "PFN": "file:///one"}})
        assert reply == {"Successful": {f"{home}/one": True}, "Failed": {}}
        reply = eiscat.rpc("addFile", {"/eiscat/data/two": {"Size": 2, "SE": "EISCAT-SE"}})
        assert reply["Successful"] == {"/eiscat/data/two": True}
        assert (count_files(fc_db), count_files(eiscat_db)) == (before[0] + 1, before[1] + 1)
        assert fc.rpc("getReplicas", [f"{home}/one"])["Successful"] == {f"{home}/one": {"SE-A": "file:///one"}}
        assert eiscat.rpc("getReplicas", [f"{home}/one"])["Failed"] == {f"{home}/one": "No such file or directory"}
        assert fc.rpc("isFile", ["/eiscat/data/two"])["Successful"] == {"/eiscat/data/two": False}
        health = instance.http().get(f"{instance.base_url(EISCAT)}/health").json()
        assert "DataManagement/EiscatFileCatalogDB" in str(health)


def test_acl_over_https_is_403_and_changes_nothing(instance: LocalInstance) -> None:
    config = instance.config
    fc_db = config.get("/Systems/DataManagement/Local/Databases/FileCatalogDB/URL")
    home = "/dirac_local/user/a/alice"
    before = count_files(fc_db)
    with instance.client(FC, user="bob") as bob:
        with pytest.raises(Forbidden, match="Permission denied"):
            bob.rpc("addFile", {f"{home}/from-bob": {"Size": 1, "SE": "SE-A"}})
        with pytest.raises(Forbidden):
            bob.request("POST", "files", json={"files": {f"{home}/from-bob-rest": {"Size": 1}}})
        with pytest.raises(Forbidden):
            bob.request("POST", "directories", json={"paths": [f"{home}/sub"]})
        with pytest.raises(Forbidden):
            bob.rpc("addMetadataField", "energy", "INT")
        assert bob.rpc("isDirectory", [f"{home}/sub"])["Successful"] == {f"{home}/sub": False}
    assert count_files(fc_db) == before


def test_bad_input_over_https(instance: LocalInstance) -> None:
    with instance.client(FC, user="alice") as fc:
        reply = fc.rpc("addFile", {"no-slash": {"Size": 1}, "/dirac_local/user/a/alice/x": {"Size": 1, "SE": "NOPE"}})
        assert "not absolute" in reply["Failed"]["no-slash"]
        assert "unknown storage element 'NOPE'" in reply["Failed"]["/dirac_local/user/a/alice/x"]
        with pytest.raises(BadRequest, match="position 8"):
            fc.rpc("findFilesByMetadata", "energy>>1", "/")
        with pytest.raises(PayloadTooLarge, match="MaxBulkSize"):
            fc.rpc("getReplicas", [f"/x/{i}" for i in range(1001)])
        with pytest.raises(PayloadTooLarge, match="MaxBulkSize"):
            fc.request("POST", "replicas/get", json={"lfns": [f"/x/{i}" for i in range(1001)]})
        with pytest.raises(BadRequest, match="unknown metadata field"):
            fc.rpc("findFilesByMetadata", "colour=red", "/")


def dirac_fc(instance: LocalInstance, token_file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**subprocess_env(), "DIRAC_CFG": str(instance.cfg_file), "DIRAC_TOKEN_FILE": str(token_file)}
    code = "from dirac_core.cli.user import main; main()"
    return subprocess.run(
        [sys.executable, "-c", code, "fc", *args], capture_output=True, text=True, env=env, check=False, timeout=60
    )


def test_cli_against_both_catalogs(instance: LocalInstance, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token = {
        "access_token": instance.token("alice"),
        "expires_at": time.time() + 3600,
        "group": "dirac_user",
        "username": "alice",
        "auth_url": "",
    }
    token_file.write_text(json.dumps(token))
    os.chmod(token_file, 0o600)  # noqa: PTH101
    home = "/dirac_local/user/a/alice"
    listing = tmp_path / "files.txt"
    listing.write_text("".join(f"{home}/cli/f{i} {100 + i} SE-A file:///f{i}\n" for i in range(5)))
    assert dirac_fc(instance, token_file, "mkdir", f"{home}/cli").returncode == 0
    added = dirac_fc(instance, token_file, "add", "--from-file", str(listing))
    assert added.returncode == 0 and "added 5 file(s)" in added.stdout, added.stderr
    ls = dirac_fc(instance, token_file, "ls", "-l", f"{home}/cli")
    assert ls.returncode == 0 and "f4" in ls.stdout and "alice" in ls.stdout and "-rw-r--r--" in ls.stdout
    reps = dirac_fc(instance, token_file, "replicas", f"{home}/cli/f2", f"{home}/cli/nope")
    assert reps.returncode == 1 and "file:///f2" in reps.stdout and "No such file" in reps.stderr
    du = dirac_fc(instance, token_file, "du", f"{home}/cli")
    assert du.returncode == 0 and "510" in du.stdout
    denied = dirac_fc(instance, token_file, "--catalog", "EiscatFileCatalog", "mkdir", "/eiscat/data/alice")
    assert denied.returncode != 0 and "Permission denied" in denied.stderr
    eiscat_ls = dirac_fc(instance, token_file, "--catalog", "EiscatFileCatalog", "ls", "/eiscat/data")
    assert eiscat_ls.returncode == 0 and "two" in eiscat_ls.stdout
    unknown = dirac_fc(instance, token_file, "--catalog", "Nope", "ls", "/")
    assert unknown.returncode != 0 and "known catalogs are" in unknown.stderr
