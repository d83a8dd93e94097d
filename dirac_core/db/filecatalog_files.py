"""FileCatalogDB's file and replica SQL: registering and removing files, replica rows, file details
and the catalog-wide lookups (by GUID, counters).

Rows come back as plain tuples in the column order each function names; the catalog
(`dirac_core.catalog.files`, `replicas`, `lookups`) turns them into DIRAC's replies.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, NamedTuple

from sqlalchemy import Connection, and_, delete, func, insert, select, tuple_
from sqlalchemy.exc import IntegrityError

from dirac_core.db import filecatalog_queries as sql
from dirac_core.db.filecatalog_metadata import value_tables
from dirac_core.db.filecatalog_queries import chunks
from dirac_core.db.filecatalogdb import DEFAULT_STATUS, FC_DirectoryList, FC_FileInfo, FC_Files, FC_Replicas
from dirac_core.db.types import utcnow

# FileID, FileName, Size, UID, GID, Status, GUID, Checksum, ChecksumType, Mode, CreationDate, ModificationDate
FILE_DETAIL_COLUMNS = (
    FC_Files.c.FileID,
    FC_Files.c.FileName,
    FC_Files.c.Size,
    FC_Files.c.UID,
    FC_Files.c.GID,
    FC_Files.c.Status,
    FC_FileInfo.c.GUID,
    FC_FileInfo.c.Checksum,
    FC_FileInfo.c.ChecksumType,
    FC_FileInfo.c.Mode,
    FC_FileInfo.c.CreationDate,
    FC_FileInfo.c.ModificationDate,
)


class NewFile(NamedTuple):
    """One file to register (a tuple: addFile builds tens of thousands of them)."""

    dir_id: int
    name: str
    size: int
    guid: str
    checksum: str
    checksum_type: str
    se_id: int | None  # with a replica at this SE
    pfn: str


# ----------------------------------------------------------------------------- files
def insert_files(conn: Connection, files: Sequence[NewFile], uid: int, gid: int, mode: int, chunk: int) -> None:
    """FC_Files, FC_FileInfo and (where an SE is given) FC_Replicas rows of `files`, owned by uid/gid.

    Raises IntegrityError when one of them exists (the unique (DirID, FileName) index)."""
    if not files:
        return
    now = utcnow().strftime("%Y-%m-%d %H:%M:%S")
    file_rows = [(f.dir_id, f.name, f.size, uid, gid, DEFAULT_STATUS) for f in files]
    new_ids = sql.insert_many(conn, "FC_Files", ("DirID", "FileName", "Size", "UID", "GID", "Status"), file_rows)
    if new_ids is None:
        by_dir: dict[int, list[str]] = {}
        for f in files:
            by_dir.setdefault(f.dir_id, []).append(f.name)
        ids = {(row[1], row[2]): row[0] for row in file_rows_of(conn, by_dir, chunk)}
        new_ids = [ids[(f.dir_id, f.name)] for f in files]
    info_rows = []
    replica_rows = []
    for f, file_id in zip(files, new_ids, strict=True):
        info_rows.append((file_id, f.guid, f.checksum, f.checksum_type, "File", mode, now, now))
        if f.se_id is not None:
            replica_rows.append((file_id, f.se_id, DEFAULT_STATUS, f.pfn, now))
    info_columns = ("FileID", "GUID", "Checksum", "ChecksumType", "Type", "Mode", "CreationDate", "ModificationDate")
    sql.insert_many(conn, "FC_FileInfo", info_columns, info_rows)
    sql.insert_many(conn, "FC_Replicas", ("FileID", "SEID", "Status", "PFN", "CreationDate"), replica_rows)


def insert_new_files(conn: Connection, files: Sequence[NewFile], uid: int, gid: int, mode: int, chunk: int) -> bool:
    """`insert_files` in a savepoint: True when all are registered, False (none is) when one exists."""
    try:
        with conn.begin_nested():
            insert_files(conn, files, uid, gid, mode, chunk)
    except IntegrityError:
        return False
    return True


def file_rows_of(
    conn: Connection, names_by_dir: Mapping[int, Sequence[str]], chunk: int
) -> Iterator[tuple[int, int, str, int, int, int, str]]:
    """(FileID, DirID, FileName, Size, UID, GID, Status) of the existing (DirID, FileName) pairs:
    one exact SELECT per batch."""
    query = "SELECT f.FileID, f.DirID, f.FileName, f.Size, f.UID, f.GID, f.Status FROM FC_Files f WHERE "
    for where, params in sql.per_directory(conn, names_by_dir, chunk):
        for file_id, dir_id, name, size, uid, gid, status in sql.rows(conn, query + where, params):
            yield int(file_id), int(dir_id), name, int(size), int(uid), int(gid), status


def guids_and_checksums(conn: Connection, file_ids: Sequence[int], chunk: int) -> dict[int, tuple[str, str]]:
    """FileID -> (GUID, Checksum)."""
    info: dict[int, tuple[str, str]] = {}
    for part in chunks(file_ids, chunk):
        query = select(FC_FileInfo.c.FileID, FC_FileInfo.c.GUID, FC_FileInfo.c.Checksum)
        for file_id, guid, checksum in conn.execute(query.where(FC_FileInfo.c.FileID.in_(part))):
            info[int(file_id)] = (guid, checksum)
    return info


def delete_files(conn: Connection, file_ids: Sequence[int], chunk: int) -> None:
    """The files, their replicas, info and file metadata values."""
    meta_tables = value_tables(conn, file_meta=True)
    for part in chunks(file_ids, chunk):
        for table in (FC_Replicas, FC_FileInfo, *meta_tables):
            conn.execute(delete(table).where(table.c.FileID.in_(part)))
        conn.execute(delete(FC_Files).where(FC_Files.c.FileID.in_(part)))


def file_details(conn: Connection, file_ids: Sequence[int], chunk: int) -> list[Sequence[Any]]:
    """Rows of FILE_DETAIL_COLUMNS for `file_ids` (files without an FC_FileInfo row are left out)."""
    out: list[Sequence[Any]] = []
    for part in chunks(file_ids, chunk):
        query = (
            select(*FILE_DETAIL_COLUMNS)
            .join(FC_FileInfo, FC_FileInfo.c.FileID == FC_Files.c.FileID)
            .where(FC_Files.c.FileID.in_(part))
        )
        out.extend(conn.execute(query))
    return out


def files_in_directory(conn: Connection, dir_id: int) -> list[tuple[Any, ...]]:
    """Rows of FILE_DETAIL_COLUMNS of every file directly in `dir_id` (the listDirectory hot path)."""
    file_sql = (
        "SELECT f.FileID, f.FileName, f.Size, f.UID, f.GID, f.Status, i.GUID, i.Checksum, i.ChecksumType, "
        "i.Mode, i.CreationDate, i.ModificationDate FROM FC_Files f JOIN FC_FileInfo i ON i.FileID = f.FileID "
        f"WHERE f.DirID = {sql.mark(conn)}"
    )
    return sql.rows(conn, file_sql, (dir_id,))


# ----------------------------------------------------------------------------- replicas
def replicas_by_name(
    conn: Connection, names_by_dir: Mapping[int, Sequence[str]], chunk: int
) -> Iterator[tuple[int, str, int | None, str | None, str | None]]:
    """(DirID, FileName, SEID, PFN, Status) of the existing files among (DirID, FileName) pairs, one row
    per replica, or one with SEID None for a file without replicas."""
    query = (
        "SELECT f.DirID, f.FileName, r.SEID, r.PFN, r.Status FROM FC_Files f "
        "LEFT JOIN FC_Replicas r ON r.FileID = f.FileID WHERE "
    )
    for where, params in sql.per_directory(conn, names_by_dir, chunk):
        yield from sql.rows(conn, query + where, params)


def replica_statuses(conn: Connection, file_ids: Sequence[int], chunk: int) -> Iterator[tuple[int, int, str]]:
    """(FileID, SEID, Status) of every replica of `file_ids`."""
    for part in chunks(file_ids, chunk):
        query = select(FC_Replicas.c.FileID, FC_Replicas.c.SEID, FC_Replicas.c.Status)
        for file_id, se_id, status in conn.execute(query.where(FC_Replicas.c.FileID.in_(part))):
            yield int(file_id), int(se_id), str(status)


def insert_replicas(conn: Connection, replicas: Sequence[tuple[int, int, str]], chunk: int) -> None:
    """(FileID, SEID, PFN) replicas; those already there (also when added concurrently) are kept."""
    present: set[tuple[int, int]] = set()
    for part in chunks(replicas, chunk):
        query = select(FC_Replicas.c.FileID, FC_Replicas.c.SEID).where(FC_Replicas.c.FileID.in_([k[0] for k in part]))
        present.update((int(a), int(b)) for a, b in conn.execute(query))
    now = utcnow()
    new = [
        {"FileID": file_id, "SEID": se_id, "PFN": pfn, "Status": DEFAULT_STATUS, "CreationDate": now}
        for file_id, se_id, pfn in replicas
        if (file_id, se_id) not in present
    ]
    try:
        with conn.begin_nested():
            if new:
                conn.execute(insert(FC_Replicas), new)
    except IntegrityError:  # a concurrent addReplica of the same replica: it exists
        pass


def delete_replicas(conn: Connection, replicas: Sequence[tuple[int, int]], chunk: int) -> None:
    """The (FileID, SEID) replicas."""
    for part in chunks(replicas, chunk):
        conn.execute(
            delete(FC_Replicas).where(
                and_(
                    FC_Replicas.c.FileID.in_([p[0] for p in part]),
                    tuple_(FC_Replicas.c.FileID, FC_Replicas.c.SEID).in_(list(part)),
                )
            )
        )


# ----------------------------------------------------------------------------- catalog-wide lookups
def names_by_guid(conn: Connection, guids: Sequence[str], chunk: int) -> Iterator[tuple[str, str, str]]:
    """(GUID, directory, file name) of the files with one of `guids`."""
    f, i, d = FC_Files, FC_FileInfo, FC_DirectoryList
    for part in chunks(guids, chunk):
        query = (
            select(i.c.GUID, d.c.Name, f.c.FileName)
            .join(f, f.c.FileID == i.c.FileID)
            .join(d, d.c.DirID == f.c.DirID)
            .where(i.c.GUID.in_(part))
        )
        for guid, directory, name in conn.execute(query):
            yield str(guid), str(directory), str(name)


def counters(conn: Connection) -> dict[str, int]:
    """getCatalogCounters: numbers of files, replicas, directories, and of rows missing their partner."""
    f, r, i, d = FC_Files, FC_Replicas, FC_FileInfo, FC_DirectoryList

    def count(query: Any) -> int:
        return int(conn.execute(query).scalar_one())

    return {
        "Files": count(select(func.count()).select_from(f)),
        "Files w/o Replicas": count(select(func.count()).select_from(f).where(~f.c.FileID.in_(select(r.c.FileID)))),
        "Files w/o FileInfo": count(select(func.count()).select_from(f).where(~f.c.FileID.in_(select(i.c.FileID)))),
        "Replicas": count(select(func.count()).select_from(r)),
        "Replicas w/o Files": count(select(func.count()).select_from(r).where(~r.c.FileID.in_(select(f.c.FileID)))),
        "Directories": count(select(func.count()).select_from(d)),
    }
