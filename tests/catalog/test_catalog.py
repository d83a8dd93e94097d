"""File Catalog logic on SQLite and MariaDB: DFC semantics, bulk replies, ACLs, bad input."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from dirac_core.catalog.catalog import FileCatalog
from dirac_core.db.filecatalogdb import FC_DirectoryList, FC_FileInfo, FC_Files, FC_Replicas
from dirac_core.errors import BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge

from .conftest import ADMIN, ALICE, BOB, CAROL, make_catalog

HOME = "/vo/user/a/alice"


def files(n: int, base: str = HOME, se: str = "SE-A", size: int = 10) -> dict[str, dict[str, Any]]:
    return {
        f"{base}/f{i:05d}.dat": {
            "Size": size + i,
            "SE": se,
            "PFN": f"root://se/{base}/f{i}",
            "GUID": f"g{i}",
            "Checksum": "ad",
        }
        for i in range(n)
    }


def counts(engine: Engine) -> tuple[int, int, int, int]:
    with engine.connect() as conn:
        return tuple(  # type: ignore[return-value]
            conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (FC_DirectoryList, FC_Files, FC_FileInfo, FC_Replicas)
        )


def test_mkdir_is_recursive_and_owned_by_the_caller(catalog: FileCatalog) -> None:
    reply = catalog.directories.create(ALICE, [f"{HOME}/run1/raw", f"{HOME}/run1/"])
    assert reply == {"Successful": {f"{HOME}/run1/raw": True, f"{HOME}/run1/": True}, "Failed": {}}
    listing = catalog.directories.list_dir(ALICE, [f"{HOME}/run1"])["Successful"][f"{HOME}/run1"]
    meta = listing["SubDirs"][f"{HOME}/run1/raw"]
    assert (meta["Owner"], meta["OwnerGroup"], meta["Mode"]) == ("alice", "vo_user", 0o755)  # 775 & ~022
    assert catalog.directories.is_directory(ALICE, [HOME, f"{HOME}/nope"])["Successful"] == {
        HOME: True,
        f"{HOME}/nope": False,
    }


def test_a_new_catalog_lists_an_empty_root(engine: Engine) -> None:
    fc = make_catalog(engine)
    assert fc.directories.list_dir(ALICE, ["/"]) == {
        "Successful": {"/": {"Files": {}, "SubDirs": {}, "Links": {}}},
        "Failed": {},
    }


def test_umask_from_the_callers_identity(engine: Engine) -> None:
    fc = make_catalog(engine, umask=lambda caller: 0o077 if caller.username == "alice" else 0o002)
    fc.directories.create(ADMIN, ["/x"])
    fc.ownership.change_mode(ADMIN, {"/x": 0o777})
    fc.directories.create(ALICE, ["/x/a"])
    fc.directories.create(BOB, ["/x/b"])
    fc.files.add(ALICE, {"/x/a/f": {"Size": 1}})
    subdirs = fc.directories.list_dir(ADMIN, ["/x"])["Successful"]["/x"]["SubDirs"]
    assert subdirs["/x/a"]["Mode"] == 0o700 and subdirs["/x/b"]["Mode"] == 0o775
    assert fc.files.metadata(ALICE, ["/x/a/f"])["Successful"]["/x/a/f"]["Mode"] == 0o600


def test_add_files_list_and_get_replicas(catalog: FileCatalog) -> None:
    batch = files(50)
    reply = catalog.files.add(ALICE, batch)
    assert reply["Failed"] == {} and set(reply["Successful"]) == set(batch)
    listing = catalog.directories.list_dir(ALICE, [HOME])["Successful"][HOME]
    assert set(listing["Files"]) == set(batch)
    meta = listing["Files"][f"{HOME}/f00003.dat"]["MetaData"]
    assert (meta["Size"], meta["Owner"], meta["OwnerGroup"], meta["GUID"], meta["Mode"]) == (
        13,
        "alice",
        "vo_user",
        "g3",
        0o644,
    )
    replicas = catalog.replicas.get(BOB, [*batch, f"{HOME}/missing"])
    assert replicas["Failed"] == {f"{HOME}/missing": "No such file or directory"}
    assert replicas["Successful"][f"{HOME}/f00007.dat"] == {"SE-A": f"root://se/{HOME}/f7"}
    assert len(replicas["Successful"]) == 50


def test_add_replica_remove_replica_and_file(catalog: FileCatalog, engine: Engine) -> None:
    catalog.files.add(ALICE, files(3))
    lfn = f"{HOME}/f00001.dat"
    assert catalog.replicas.add(ALICE, {lfn: {"SE": "SE-B", "PFN": "srm://b/f1"}})["Successful"] == {lfn: True}
    assert catalog.replicas.add(ALICE, {lfn: {"SE": "SE-B"}})["Successful"] == {lfn: True}  # already there
    assert catalog.replicas.get(ALICE, [lfn])["Successful"][lfn] == {
        "SE-A": f"root://se/{HOME}/f1",
        "SE-B": "srm://b/f1",
    }
    assert catalog.replicas.remove(ALICE, {lfn: {"SE": "SE-A"}})["Successful"] == {lfn: True}
    assert catalog.replicas.get(ALICE, [lfn])["Successful"][lfn] == {"SE-B": "srm://b/f1"}
    before = counts(engine)
    reply = catalog.files.remove(ALICE, [lfn, f"{HOME}/never-existed"])
    assert reply == {"Successful": {lfn: True, f"{HOME}/never-existed": True}, "Failed": {}}
    assert counts(engine) == (before[0], before[1] - 1, before[2] - 1, before[3] - 1)
    assert catalog.files.is_file(ALICE, [lfn])["Successful"] == {lfn: False}


def test_duplicates_and_bad_input_are_per_item(catalog: FileCatalog, engine: Engine) -> None:
    catalog.files.add(ALICE, files(2))
    before = counts(engine)
    again = files(2)
    again[f"{HOME}/f00001.dat"]["Size"] = 999
    bad: dict[str, Any] = {
        "relative/path": {"Size": 1},
        f"{HOME}/../etc": {"Size": 1},
        f"{HOME}//double": {"Size": 1},
        f"{HOME}/neg": {"Size": -1},
        f"{HOME}/huge": {"Size": 1 << 64},
        f"{HOME}/longpfn": {"Size": 1, "SE": "SE-A", "PFN": "p" * 2000},
        f"{HOME}/nosize": {"SE": "SE-A"},
        f"{HOME}/badse": {"Size": 1, "SE": "NO-SUCH-SE"},
        f"{HOME}/notdict": 5,
        HOME: {"Size": 1},
        f"{HOME}/" + "x" * 300: {"Size": 1},
    }
    reply = catalog.files.add(ALICE, {**again, **bad})
    assert reply["Successful"] == {f"{HOME}/f00000.dat": True}  # identical re-registration succeeds (DIRAC)
    failed = reply["Failed"]
    assert "different Size" in failed[f"{HOME}/f00001.dat"]
    assert "not absolute" in failed["relative/path"]
    assert "'..'" in failed[f"{HOME}/../etc"] and "empty" in failed[f"{HOME}//double"]
    assert "Size" in failed[f"{HOME}/neg"] and "Size" in failed[f"{HOME}/nosize"] and "2**63" in failed[f"{HOME}/huge"]
    assert "unknown storage element 'NO-SUCH-SE'" in failed[f"{HOME}/badse"]
    assert "dict" in failed[f"{HOME}/notdict"] and "is a directory" in failed[HOME]
    assert "limit is 255" in failed[f"{HOME}/" + "x" * 300]
    assert "PFN is longer" in failed[f"{HOME}/longpfn"]
    assert counts(engine) == before  # nothing half-written
    assert (
        "unknown storage element"
        in catalog.replicas.add(ALICE, {f"{HOME}/f00000.dat": {"SE": "X"}})["Failed"][f"{HOME}/f00000.dat"]
    )
    assert catalog.replicas.add(ALICE, {f"{HOME}/nofile": {"SE": "SE-A"}})["Failed"] == {
        f"{HOME}/nofile": f"No such file or directory: {HOME}/nofile"
    }


def test_bulk_size_limit(engine: Engine) -> None:
    fc = make_catalog(engine, max_bulk=10)
    with pytest.raises(PayloadTooLarge, match="MaxBulkSize"):
        fc.files.add(ADMIN, files(11, "/a"))
    with pytest.raises(PayloadTooLarge):
        fc.replicas.get(ADMIN, [f"/a/{i}" for i in range(11)])
    with pytest.raises(BadRequest, match="no LFNs"):
        fc.replicas.get(ADMIN, [])


def test_writing_outside_your_directories_is_forbidden_and_changes_nothing(
    catalog: FileCatalog, engine: Engine
) -> None:
    catalog.files.add(ALICE, files(3))
    before = counts(engine)
    with pytest.raises(Forbidden, match="Permission denied: bob may not"):
        catalog.files.add(BOB, files(5))
    with pytest.raises(Forbidden):
        catalog.files.add(BOB, files(2, "/vo/data/bob"))  # /vo/data is admin's, 755
    with pytest.raises(Forbidden):
        catalog.directories.create(BOB, [f"{HOME}/evil"])
    with pytest.raises(Forbidden):
        catalog.files.remove(BOB, [f"{HOME}/f00000.dat"])
    with pytest.raises(Forbidden):
        catalog.replicas.add(BOB, {f"{HOME}/f00000.dat": {"SE": "SE-B"}})
    with pytest.raises(Forbidden):
        catalog.replicas.remove(BOB, {f"{HOME}/f00000.dat": {"SE": "SE-A"}})
    with pytest.raises(Forbidden):
        catalog.ownership.change_mode(BOB, {HOME: "777"})
    with pytest.raises(Forbidden):
        catalog.ownership.change_owner(ALICE, {HOME: "bob"})  # only administrators chown
    with pytest.raises(Forbidden):
        catalog.metadata.set_values(BOB, HOME, {"x": 1})
    assert counts(engine) == before
    # A mixed request: the allowed items are written, the others fail per item.
    mixed = catalog.files.add(BOB, {"/vo/user/b/bob/ok": {"Size": 1}, f"{HOME}/no": {"Size": 1}})
    assert mixed["Successful"] == {"/vo/user/b/bob/ok": True}
    assert mixed["Failed"][f"{HOME}/no"].startswith("Permission denied")
    # Group write lets a group member in; the admin may do anything.
    catalog.ownership.change_mode(ALICE, {HOME: "775"})
    assert catalog.files.add(BOB, {f"{HOME}/from-bob": {"Size": 1}})["Successful"]
    with pytest.raises(Forbidden):
        catalog.files.add(CAROL, {f"{HOME}/from-carol": {"Size": 1}})
    assert catalog.files.add(ADMIN, {f"{HOME}/from-admin": {"Size": 1}})["Successful"]


def test_chmod_chown_recursive(catalog: FileCatalog) -> None:
    catalog.files.add(ALICE, files(2, f"{HOME}/sub"))
    assert catalog.ownership.change_mode(ALICE, {HOME: "750"}, recursive=True)["Successful"] == {HOME: True}
    listing = catalog.directories.list_dir(ALICE, [f"{HOME}/sub"])["Successful"][f"{HOME}/sub"]
    assert {m["MetaData"]["Mode"] for m in listing["Files"].values()} == {0o750}
    reply = catalog.ownership.change_owner(ADMIN, {HOME: {"Owner": "carol", "Group": "vo_prod"}}, recursive=True)
    assert reply["Successful"] == {HOME: True}
    meta = catalog.files.metadata(ALICE, [f"{HOME}/sub/f00000.dat"])["Successful"][f"{HOME}/sub/f00000.dat"]
    assert (meta["Owner"], meta["OwnerGroup"]) == ("carol", "vo_prod")
    bad = catalog.ownership.change_mode(ADMIN, {HOME: "99", "/nowhere": "755"})["Failed"]
    assert "octal" in bad[HOME] and "No such file" in bad["/nowhere"]


def test_directory_size_and_remove_directory(catalog: FileCatalog) -> None:
    catalog.files.add(ALICE, files(4, f"{HOME}/d1"))
    catalog.files.add(ALICE, files(2, f"{HOME}/d1/d2", se="SE-B", size=100))
    catalog.replicas.add(ALICE, {f"{HOME}/d1/f00000.dat": {"SE": "SE-B"}})
    size = catalog.directories.size(ALICE, [f"{HOME}/d1", "/nowhere"])
    info = size["Successful"][f"{HOME}/d1"]
    assert (info["LogicalFiles"], info["LogicalSize"], info["LogicalDirectories"]) == (6, 10 + 11 + 12 + 13 + 201, 1)
    assert info["PhysicalSize"]["SE-A"] == {"Files": 4, "Size": 46}
    assert info["PhysicalSize"]["SE-B"] == {"Files": 3, "Size": 211}
    assert "No such file" in size["Failed"]["/nowhere"]
    assert "not empty" in catalog.directories.remove(ALICE, [f"{HOME}/d1/d2"])["Failed"][f"{HOME}/d1/d2"]
    catalog.files.remove(ALICE, list(files(2, f"{HOME}/d1/d2")))
    assert catalog.directories.remove(ALICE, [f"{HOME}/d1/d2"])["Successful"] == {f"{HOME}/d1/d2": True}
    assert catalog.directories.is_directory(ALICE, [f"{HOME}/d1/d2"])["Successful"] == {f"{HOME}/d1/d2": False}


def test_metadata_fields_values_and_queries(catalog: FileCatalog) -> None:
    md = catalog.metadata
    with pytest.raises(Forbidden):
        md.add_field(ALICE, "energy", "INT")
    md.add_field(ADMIN, "energy", "INT")
    md.add_field(ADMIN, "type", "VARCHAR(32)")
    md.add_field(ADMIN, "quality", "FLOAT", "-f")
    assert md.add_field(ADMIN, "energy", "int").endswith("already exists")
    with pytest.raises(Conflict):
        md.add_field(ADMIN, "energy", "FLOAT")
    with pytest.raises(BadRequest, match="not supported"):
        md.add_field(ADMIN, "bad", "BLOB")
    with pytest.raises(BadRequest, match="field name"):
        md.add_field(ADMIN, "1; DROP TABLE x", "INT")
    assert md.fields()["FileMetaFields"] == {"quality": "FLOAT"}
    for run, (energy, kind) in enumerate([(5, "raw"), (20, "raw"), (30, "reco")]):
        base = f"{HOME}/run{run}"
        catalog.files.add(ALICE, files(3, base))
        md.set_values(ALICE, base, {"energy": energy, "type": kind})
        md.set_values(ALICE, f"{base}/f00001.dat", {"quality": 0.5 + run})
    with pytest.raises(Conflict, match="already set on"):
        md.set_values(ALICE, HOME, {"energy": 1})
    with pytest.raises(BadRequest, match="unknown metadata field 'nope'"):
        md.set_values(ALICE, HOME, {"nope": 1})
    with pytest.raises(BadRequest, match="not a valid INT"):
        md.set_values(ALICE, f"{HOME}/run0", {"energy": "high"})
    with pytest.raises(BadRequest, match="set on files"):
        md.set_values(ALICE, f"{HOME}/run0", {"quality": 1.0})
    with pytest.raises(NotFound):
        md.set_values(ALICE, f"{HOME}/nothing", {"energy": 1})
    md.set_values(ALICE, f"{HOME}/run0", {"energy": 6})  # overwrite
    assert md.get(ALICE, f"{HOME}/run1/f00001.dat") == {"energy": 20, "type": "raw", "quality": 1.5}

    def find(query: Any, path: str = "/") -> set[str]:
        return set(md.find(ALICE, query, path))

    run = {r: {f"{HOME}/run{r}/f{i:05d}.dat" for i in range(3)} for r in range(3)}
    assert find("energy>10 AND type=raw") == run[1]
    assert find("energy>10") == run[1] | run[2]
    assert find("energy<=6 OR type=reco") == run[0] | run[2]
    assert find("type in (raw, reco) AND energy != 20") == run[0] | run[2]
    assert find("type=raw,reco AND NOT_A=1" if False else "type=raw,reco") == run[0] | run[1] | run[2]
    assert find("quality>1") == {f"{HOME}/run1/f00001.dat", f"{HOME}/run2/f00001.dat"}
    assert find("quality>1 AND type=raw") == {f"{HOME}/run1/f00001.dat"}
    assert find({"energy": {">": 10}, "type": "raw"}) == run[1]
    assert find("energy>0", f"{HOME}/run2") == run[2]
    assert find("energy>100") == set()
    with pytest.raises(BadRequest, match="unknown metadata field 'colour'"):
        find("colour=red")
    with pytest.raises(BadRequest, match="position"):
        find("energy>>1")
    with pytest.raises(BadRequest, match="not a valid INT"):
        find("energy>high")
    with pytest.raises(NotFound):
        find("energy>1", "/no/such/dir")
    catalog.files.remove(ALICE, [f"{HOME}/run1/f00001.dat"])
    assert find("quality>1") == {f"{HOME}/run2/f00001.dat"}


class Recorder:
    def __init__(self) -> None:
        self.records: list[tuple[str, str, str, str, int, int, int, int]] = []

    def record(
        self, operation: str, user: str, group: str, se: str, files: int, size: int, ok: int, failed: int
    ) -> None:
        self.records.append((operation, user, group, se, files, size, ok, failed))


def test_operations_are_recorded_per_se(catalog: FileCatalog) -> None:
    recorder = Recorder()
    catalog.set_recorder(recorder)
    batch = files(3)  # sizes 10, 11, 12 on SE-A
    batch[f"{HOME}/b.dat"] = {"Size": 100, "SE": "SE-B"}
    batch[f"{HOME}/bad"] = {"Size": -1, "SE": "SE-B"}
    catalog.files.add(ALICE, batch)
    catalog.replicas.add(ALICE, {f"{HOME}/b.dat": {"SE": "SE-C"}})
    catalog.files.remove(ALICE, [f"{HOME}/b.dat"])
    by_op = {(r[0], r[3]): r for r in recorder.records}
    assert by_op[("addFile", "SE-A")] == ("addFile", "alice", "vo_user", "SE-A", 3, 33, 3, 0)
    assert by_op[("addFile", "SE-B")] == ("addFile", "alice", "vo_user", "SE-B", 2, 100, 1, 1)
    assert by_op[("addReplica", "SE-C")] == ("addReplica", "alice", "vo_user", "SE-C", 1, 100, 1, 0)
    assert by_op[("removeFile", "")] == ("removeFile", "alice", "vo_user", "", 1, 100, 1, 0)
    assert len(recorder.records) == 4
