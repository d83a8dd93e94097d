"""Names that collide in the catalog: metadata fields equal up to case, directories under files."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, insert

from dirac_core.catalog.catalog import FileCatalog
from dirac_core.db import filecatalogdb
from dirac_core.db.engine import make_engine
from dirac_core.db.filecatalogdb import FC_MetaFields
from dirac_core.errors import BadRequest, Conflict

from .conftest import ADMIN, ALICE, BOB, make_catalog
from .test_catalog import counts

HOME = "/vo/user/a/alice"
BOBS = "/vo/user/b/bob"


def test_metadata_fields_equal_up_to_case_are_one_name(catalog: FileCatalog) -> None:
    md = catalog.metadata
    md.add_field(ADMIN, "energy", "INT")
    for name, kind in (("Energy", "-d"), ("ENERGY", "-d"), ("eNeRgY", "-f")):
        with pytest.raises(Conflict, match="'energy'"):
            md.add_field(ADMIN, name, "INT", kind)
    assert md.fields(refresh=True) == {"DirectoryMetaFields": {"energy": "INT"}, "FileMetaFields": {}}
    md.set_values(ALICE, HOME, {"energy": 5})
    with pytest.raises(BadRequest, match="unknown metadata field 'Energy'"):
        md.set_values(BOB, BOBS, {"Energy": 99})
    assert md.get(BOB, BOBS) == {}
    with pytest.raises(BadRequest, match="unknown metadata field 'ENERGY'"):
        md.delete_field(ADMIN, "ENERGY")  # delete takes the exact name only
    assert md.get(ALICE, HOME) == {"energy": 5}
    assert md.find(ALICE, "energy = 5") == []  # the field and its table are intact (no file yet)
    md.delete_field(ADMIN, "energy")
    assert md.fields(refresh=True) == {"DirectoryMetaFields": {}, "FileMetaFields": {}}
    assert md.get(ALICE, HOME) == {}


def test_a_file_field_and_a_directory_field_equal_up_to_case_collide(catalog: FileCatalog) -> None:
    md = catalog.metadata
    md.add_field(ADMIN, "Quality", "FLOAT", "-f")
    with pytest.raises(Conflict, match="'Quality'"):
        md.add_field(ADMIN, "quality", "FLOAT", "-d")
    assert md.add_field(ADMIN, "Quality", "float", "-f").endswith("already exists")


def test_no_directory_under_a_file(catalog: FileCatalog, engine: Engine) -> None:
    f1 = f"{HOME}/f1"
    assert catalog.files.add(ALICE, {f1: {"Size": 1}})["Successful"] == {f1: True}
    before = counts(engine)
    reply = catalog.directories.create(ALICE, [f"{f1}/sub", f"{f1}/a/b", f"{HOME}/ok"])
    assert reply["Successful"] == {f"{HOME}/ok": True}
    assert set(reply["Failed"]) == {f"{f1}/sub", f"{f1}/a/b"}
    assert all(f"{f1} exists and is a file" in reason for reason in reply["Failed"].values())
    reply = catalog.files.add(ALICE, {f"{f1}/x": {"Size": 2}, f"{f1}/y/z": {"Size": 3}})
    assert reply["Successful"] == {}
    assert set(reply["Failed"]) == {f"{f1}/x", f"{f1}/y/z"}
    assert all(f"{f1} exists and is a file" in reason for reason in reply["Failed"].values())
    dirs, *rest = counts(engine)
    assert (dirs, *rest) == (before[0] + 1, *before[1:])  # only HOME/ok was created
    assert catalog.files.is_file(ALICE, [f1, f"{f1}/x"])["Successful"] == {f1: True, f"{f1}/x": False}
    paths = [f1, f"{f1}/sub", f"{f1}/a"]
    assert catalog.directories.is_directory(ALICE, paths)["Successful"] == dict.fromkeys(paths, False)


def test_no_file_or_directory_where_the_other_is(catalog: FileCatalog, engine: Engine) -> None:
    catalog.directories.create(ALICE, [f"{HOME}/run1"])
    catalog.files.add(ALICE, {f"{HOME}/f1": {"Size": 1}})
    before = counts(engine)
    reply = catalog.files.add(ALICE, {f"{HOME}/run1": {"Size": 1}})
    assert reply["Failed"] == {f"{HOME}/run1": f"{HOME}/run1 exists and is a directory"}
    reply = catalog.directories.create(ALICE, [f"{HOME}/f1"])
    assert reply["Failed"] == {f"{HOME}/f1": f"{HOME}/f1 exists and is a file"}
    assert counts(engine) == before


def test_deleting_a_legacy_twin_keeps_the_shared_values(tmp_path: Path) -> None:
    """An SQLite catalog written before the clash check may hold `energy` and `ENERGY`, one table."""
    engine = make_engine(f"sqlite:///{tmp_path / 'FileCatalogDB.sqlite'}")
    filecatalogdb.metadata.create_all(engine)
    fc = make_catalog(engine)
    fc.directories.create(ADMIN, ["/vo/data"])
    fc.metadata.add_field(ADMIN, "energy", "INT")
    fc.metadata.set_values(ADMIN, "/vo/data", {"energy": 7})
    with engine.begin() as conn:
        conn.execute(insert(FC_MetaFields).values(MetaName="ENERGY", MetaType="INT"))
    fc.metadata.delete_field(ADMIN, "ENERGY")
    assert fc.metadata.get(ADMIN, "/vo/data") == {"energy": 7}
    engine.dispose()
