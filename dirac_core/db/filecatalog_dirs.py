"""FileCatalogDB's directory SQL: listings, subtree sizes, removal, and owner/group/mode updates of a
directory, a file or a whole subtree (through ``FC_DirectoryClosure``).

Directory detail rows are (DirID, Name, UID, GID, Mode, CreationDate, ModificationDate); the catalog
(`dirac_core.catalog.directories`, `ownership`, `lookups`) decides who may do what and shapes replies.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from sqlalchemy import Connection, delete, exists, func, select, update

from dirac_core.db.filecatalog_metadata import value_tables
from dirac_core.db.filecatalog_queries import chunks
from dirac_core.db.filecatalogdb import FC_DirectoryClosure, FC_DirectoryList, FC_FileInfo, FC_Files, FC_Replicas

_d = FC_DirectoryList
DIR_DETAIL_COLUMNS = (_d.c.DirID, _d.c.Name, _d.c.UID, _d.c.GID, _d.c.Mode, _d.c.CreationDate, _d.c.ModificationDate)


class SubtreeSize(NamedTuple):
    files: int
    size: int
    directories: int  # the directory itself included
    per_se: list[tuple[int, int, int]]  # (SEID, replicas, bytes)


def subdirectories(conn: Connection, dir_id: int) -> list[Sequence[Any]]:
    """Detail rows of the directories directly in `dir_id`."""
    return list(conn.execute(select(*DIR_DETAIL_COLUMNS).where(_d.c.Parent == dir_id)))


def directories_named(conn: Connection, names: Iterable[str]) -> dict[str, Sequence[Any]]:
    """Name -> detail row of the existing directories among `names`."""
    return {str(row[1]): row for row in conn.execute(select(*DIR_DETAIL_COLUMNS).where(_d.c.Name.in_(list(names))))}


def subtree_size(conn: Connection, dir_id: int) -> SubtreeSize:
    """Files, bytes and directories of the subtree of `dir_id`, and replicas and bytes per SE."""
    c, f, r = FC_DirectoryClosure, FC_Files, FC_Replicas
    under = c.c.ParentID == dir_id
    files, total = conn.execute(
        select(func.count(f.c.FileID), func.coalesce(func.sum(f.c.Size), 0))
        .select_from(c)
        .join(f, f.c.DirID == c.c.ChildID)
        .where(under)
    ).one()
    dirs = conn.execute(select(func.count()).select_from(c).where(under)).scalar_one()
    per_se = (
        select(r.c.SEID, func.count(r.c.RepID), func.coalesce(func.sum(f.c.Size), 0))
        .select_from(c)
        .join(f, f.c.DirID == c.c.ChildID)
        .join(r, r.c.FileID == f.c.FileID)
        .where(under)
        .group_by(r.c.SEID)
    )
    rows = [(int(se_id), int(count), int(size)) for se_id, count, size in conn.execute(per_se)]
    return SubtreeSize(int(files), int(total), int(dirs), rows)


def is_empty(conn: Connection, dir_id: int) -> bool:
    """True when no directory and no file is in `dir_id`."""
    busy = conn.execute(
        select(exists().where(_d.c.Parent == dir_id)).union_all(select(exists().where(FC_Files.c.DirID == dir_id)))
    ).scalars()
    return not any(busy)


def delete_directory(conn: Connection, dir_id: int) -> None:
    """The directory row, its closure rows and its directory metadata values (it must be empty)."""
    for table in value_tables(conn, file_meta=False):
        conn.execute(delete(table).where(table.c.DirID == dir_id))
    conn.execute(delete(FC_DirectoryClosure).where(FC_DirectoryClosure.c.ChildID == dir_id))
    conn.execute(delete(_d).where(_d.c.DirID == dir_id))


def update_entry(
    conn: Connection,
    *,
    is_dir: bool,
    ident: int,
    recursive: bool,
    only_uid: int | None,
    dir_values: Mapping[str, Any],
    file_values: Mapping[str, Any],
    info_values: Mapping[str, Any],
    chunk: int,
) -> None:
    """Set `dir_values` on the directory `ident` (and, `recursive`, on its whole subtree, files getting
    `file_values` and `info_values`), or `file_values`/`info_values` on the file `ident`; with
    `only_uid`, only the entries that user owns change."""
    d, f, i, c = FC_DirectoryList, FC_Files, FC_FileInfo, FC_DirectoryClosure
    if not is_dir:
        if file_values:
            conn.execute(update(f).where(f.c.FileID == ident).values(**file_values))
        if info_values:
            conn.execute(update(i).where(i.c.FileID == ident).values(**info_values))
        return
    dir_ids: Any = [ident]
    if recursive:
        dir_ids = select(c.c.ChildID).where(c.c.ParentID == ident).scalar_subquery()
    dir_query = update(d).where(d.c.DirID.in_(dir_ids) if recursive else d.c.DirID == ident)
    if only_uid is not None:
        dir_query = dir_query.where(d.c["UID"] == only_uid)
    conn.execute(dir_query.values(**dir_values))
    if not recursive:
        return
    files = select(f.c.FileID).join(c, c.c.ChildID == f.c.DirID).where(c.c.ParentID == ident)
    if only_uid is not None:
        files = files.where(f.c["UID"] == only_uid)
    file_ids = [int(row[0]) for row in conn.execute(files)]
    for part in chunks(file_ids, chunk):
        if file_values:
            conn.execute(update(f).where(f.c.FileID.in_(part)).values(**file_values))
        if info_values:
            conn.execute(update(i).where(i.c.FileID.in_(part)).values(**info_values))
