"""GlobalReadAccess = False: every read (listDirectory, getReplicas, getFileMetadata, getDirectorySize,
getDirectoryUserMetadata, findFilesByMetadata) checks the read bit of the entry's directory."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from dirac_core.catalog.catalog import FileCatalog
from dirac_core.errors import Forbidden

from .conftest import ADMIN, ALICE, BOB, make_catalog
from .test_catalog import files

ALICE_HOME = "/vo/user/a/alice"
BOB_HOME = "/vo/user/b/bob"
PRIVATE = f"{ALICE_HOME}/private"
SHARED = f"{ALICE_HOME}/shared"


def private_catalog(engine: Engine, global_read: bool) -> FileCatalog:
    """alice owns PRIVATE (mode 700) and SHARED (755), both with 3 files tagged energy=1; bob has 2 files."""
    fc = make_catalog(engine, global_read=global_read)
    fc.directories.create(ADMIN, [ALICE_HOME, BOB_HOME])
    fc.ownership.change_owner(ADMIN, {ALICE_HOME: {"Owner": "alice", "Group": "vo_user"}})
    fc.ownership.change_owner(ADMIN, {BOB_HOME: {"Owner": "bob", "Group": "vo_user"}})
    fc.ownership.change_mode(ADMIN, {ALICE_HOME: "755", BOB_HOME: "755"})
    fc.metadata.add_field(ADMIN, "energy", "INT")
    for base, mode in ((PRIVATE, "700"), (SHARED, "755")):
        assert not fc.files.add(ALICE, files(3, base))["Failed"]
        fc.ownership.change_mode(ALICE, {base: mode})
        fc.metadata.set_values(ALICE, base, {"energy": 1})
    assert not fc.files.add(BOB, files(2, BOB_HOME))["Failed"]
    return fc


def test_reads_check_the_directory_read_bit(engine: Engine) -> None:
    fc = private_catalog(engine, global_read=False)
    secret, shared, own = f"{PRIVATE}/f00000.dat", f"{SHARED}/f00000.dat", f"{BOB_HOME}/f00000.dat"

    # Only unreadable items: 403 naming the directory. Mixed requests: per-item Failed.
    for call in (
        lambda: fc.replicas.get(BOB, [secret, f"{PRIVATE}/f00001.dat"]),
        lambda: fc.files.metadata(BOB, [secret]),
        lambda: fc.directories.size(BOB, [PRIVATE]),
        lambda: fc.directories.list_dir(BOB, [PRIVATE]),
        lambda: fc.metadata.get(BOB, secret),
        lambda: fc.metadata.get(BOB, PRIVATE),
    ):
        with pytest.raises(Forbidden, match=f"Permission denied: bob may not read {PRIVATE}"):
            call()
    denied = f"Permission denied: bob may not read {PRIVATE}"
    replicas = fc.replicas.get(BOB, [secret, shared, own, f"{SHARED}/missing"])
    assert replicas["Failed"] == {secret: denied, f"{SHARED}/missing": "No such file or directory"}
    assert set(replicas["Successful"]) == {shared, own}
    meta = fc.files.metadata(BOB, [secret, shared])
    assert meta["Failed"] == {secret: denied} and meta["Successful"][shared]["Owner"] == "alice"
    sizes = fc.directories.size(BOB, [PRIVATE, SHARED, ALICE_HOME])
    assert sizes["Failed"] == {PRIVATE: denied}
    assert sizes["Successful"][SHARED]["LogicalFiles"] == 3
    listing = fc.directories.list_dir(BOB, [PRIVATE, SHARED])
    assert listing["Failed"] == {PRIVATE: denied} and len(listing["Successful"][SHARED]["Files"]) == 3
    assert fc.metadata.get(BOB, shared) == {"energy": 1}

    # Query hits in unreadable directories are left out, not refused.
    assert fc.metadata.find(BOB, "energy=1") == sorted(files(3, SHARED))
    assert fc.metadata.find(BOB, "energy=1 OR energy=2", ALICE_HOME) == sorted(files(3, SHARED))
    assert fc.metadata.find(BOB, "energy=1", PRIVATE) == []

    # The owner and FileCatalogManagement administrators read everything.
    for caller in (ALICE, ADMIN):
        assert not fc.replicas.get(caller, [secret, shared])["Failed"]
        assert not fc.files.metadata(caller, [secret])["Failed"]
        assert fc.directories.size(caller, [PRIVATE])["Successful"][PRIVATE]["LogicalFiles"] == 3
        assert fc.metadata.find(caller, "energy=1") == sorted([*files(3, PRIVATE), *files(3, SHARED)])


def test_global_read_access_lets_everyone_read(engine: Engine) -> None:
    fc = private_catalog(engine, global_read=True)
    secret = f"{PRIVATE}/f00000.dat"
    assert not fc.replicas.get(BOB, [secret])["Failed"]
    assert not fc.files.metadata(BOB, [secret])["Failed"]
    assert fc.directories.size(BOB, [PRIVATE])["Successful"][PRIVATE]["LogicalFiles"] == 3
    assert len(fc.directories.list_dir(BOB, [PRIVATE])["Successful"][PRIVATE]["Files"]) == 3
    assert len(fc.metadata.find(BOB, "energy=1")) == 6
