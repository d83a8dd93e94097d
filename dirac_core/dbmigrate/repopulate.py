"""The repopulate strategy: a new catalog DB filled from a subtree of another catalog or a listing.

The target is created with dirac_core's FileCatalogDB schema (`dirac-core db init` machinery), then:

* ``from: {database: FileCatalogDB, subtree: /eiscat.se}``: the rows of the directories under the
  subtree (and of its ancestors, so the tree stays rooted at ``/``), their files, file infos,
  replicas, and the storage elements, users and groups they use, are copied with their ids, inside
  one consistent snapshot of the source (DIRAC's DFC tables: FC_DirectoryList, FC_Files, ...). Columns
  are matched by name, so a DIRAC DFC source works. The directory closure is rebuilt from the
  ``Parent`` links. Each table is verified by row count + checksum (source rows selected by the same
  condition, target whole table). Directory/file metadata tables are not copied.
* ``from: {listing: files.csv}``: a storage listing (header ``LFN,size,checksum,SE``) becomes
  directories, files, replicas and storage elements; verified by count + checksum of (LFN, size,
  checksum, SE) computed in SQL over the loaded catalog and in Python over the listing.

A rerun after a crash redoes the whole database (it is new and ours, and small next to a copy).
"""

from __future__ import annotations

import csv
import hashlib
import time
from pathlib import Path
from typing import Any

import MySQLdb.cursors

from dirac_core.dbmigrate.chunks import hash_expr, line_expr, load_sql
from dirac_core.dbmigrate.connect import connect, query, quote, recreate_database, sqlalchemy_url, text
from dirac_core.dbmigrate.faults import fault_point
from dirac_core.dbmigrate.manifest import Manifest
from dirac_core.dbmigrate.objects import Column, SchemaDump, Table, read_columns
from dirac_core.dbmigrate.plan import DatabasePlan, Plan, PlanError

# (table, column holding the full directory path), in the order they are looked for.
_DIRECTORY_TABLES = (("FC_DirectoryList", "Name"), ("FC_DirectoryLevelTree", "DirName"), ("Directories", "Path"))
CATALOG_SPEC = "FileCatalogDB"


def directory_table(conn: Any, db: str) -> tuple[str, str]:
    """The table and column of `db` holding full directory paths (DIRAC's or dirac_core's catalog)."""
    for table, column in _DIRECTORY_TABLES:
        if query(
            conn,
            "SELECT 1 FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s AND COLUMN_NAME = %s",
            (db, table, column),
        ):
            return table, column
    names = ", ".join(f"{t}.{c}" for t, c in _DIRECTORY_TABLES)
    raise PlanError(f"{db} is not a file catalog (none of {names} exists): fix from.database")


def _like_prefix(path: str) -> str:
    escaped = path.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.rstrip("/") + "/%"


def ancestors(path: str) -> list[str]:
    """'/a/b/c' -> ['/', '/a', '/a/b'] (the directories above `path`)."""
    parts = [p for p in path.split("/") if p]
    return ["/"] + ["/" + "/".join(parts[:i]) for i in range(1, len(parts))] if parts else []


# -------------------------------------------------------------------------------------------- target
def create_catalog(plan: Plan, db: DatabasePlan) -> None:
    from dirac_core.db import schema
    from dirac_core.db.engine import make_engine
    from dirac_core.db.installed import get_database

    recreate_database(plan.target, db.target_name, "CHARACTER SET utf8mb4")
    engine = make_engine(sqlalchemy_url(plan.target, db.target_name), pool_size=1)
    try:
        schema.init(get_database(CATALOG_SPEC), engine)
    finally:
        engine.dispose()


def _columns(conn: Any, db: str, table: str) -> list[Column]:
    return read_columns(conn, db, table)


# --------------------------------------------------------------------------------------------- subtree
def subtree_conditions(src_db: str, subtree: str) -> dict[str, tuple[str, list[Any]]]:
    """Per FC table, the WHERE selecting the subtree's rows on the source (directories incl. ancestors)."""
    d = f"{quote(src_db)}.FC_DirectoryList"
    anc = ancestors(subtree)
    marks = ", ".join(["%s"] * len(anc)) or "NULL"
    dir_cond = f"(Name = %s OR Name LIKE %s OR Name IN ({marks}))"
    dir_params: list[Any] = [subtree, _like_prefix(subtree), *anc]
    dirs = f"SELECT DirID FROM {d} WHERE {dir_cond}"
    files = f"SELECT FileID FROM {quote(src_db)}.FC_Files WHERE DirID IN ({dirs})"
    return {
        "FC_DirectoryList": (dir_cond, dir_params),
        "FC_Files": (f"DirID IN ({dirs})", dir_params),
        "FC_FileInfo": (f"FileID IN ({files})", dir_params),
        "FC_Replicas": (f"FileID IN ({files})", dir_params),
        "FC_StorageElements": (
            f"SEID IN (SELECT SEID FROM {quote(src_db)}.FC_Replicas WHERE FileID IN ({files}))",
            dir_params,
        ),
        "FC_Users": (
            f"UID IN (SELECT UID FROM {d} WHERE {dir_cond}) OR UID IN (SELECT UID FROM {quote(src_db)}.FC_Files "
            f"WHERE DirID IN ({dirs}))",
            dir_params + dir_params,
        ),
        "FC_Groups": (
            f"GID IN (SELECT GID FROM {d} WHERE {dir_cond}) OR GID IN (SELECT GID FROM {quote(src_db)}.FC_Files "
            f"WHERE DirID IN ({dirs}))",
            dir_params + dir_params,
        ),
    }


def repopulate_subtree(plan: Plan, db: DatabasePlan, manifest: Manifest) -> list[str]:
    assert db.repopulate is not None and db.repopulate.database and db.repopulate.subtree
    src_db, subtree = db.repopulate.database, db.repopulate.subtree
    work = manifest.state_dir / "repopulate" / db.target_name
    work.mkdir(parents=True, exist_ok=True)
    src = connect(plan.source, raw=True)
    tgt = connect(plan.target, raw=True)
    notes: list[str] = []
    try:
        query(tgt, "SET FOREIGN_KEY_CHECKS = 0, UNIQUE_CHECKS = 0")
        query(src, "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        query(src, "START TRANSACTION WITH CONSISTENT SNAPSHOT")
        tables: list[Table] = []
        for name, (cond, params) in subtree_conditions(src_db, subtree).items():
            src_cols = {c.name: c for c in _columns(src, src_db, name) if not c.generated}
            tgt_cols = [c for c in _columns(tgt, db.target_name, name) if not c.generated]
            cols = [src_cols[c.name] for c in tgt_cols if c.name in src_cols]
            if not src_cols:
                notes.append(f"{name}: not in {src_db}, left empty")
                continue
            table = Table(name=name, create_sql="", columns=cols, key=[])
            tables.append(table)
            fq = f"{quote(src_db)}.{quote(name)}"
            count, checksum = query(
                src, f"SELECT COUNT(*), IFNULL(SUM({hash_expr(table)}), 0) FROM {fq} WHERE {cond}", params
            )[0]
            path = work / f"{name}.tsv"
            cur = src.cursor(MySQLdb.cursors.SSCursor)  # streamed: a subtree may hold millions of rows
            try:
                cur.execute(f"SELECT {line_expr(cols)} FROM {fq} WHERE {cond}", params)
                with path.open("wb") as fh:
                    while batch := cur.fetchmany(10_000):
                        fh.write(b"\n".join([r[0] for r in batch]) + b"\n")
            finally:
                cur.close()
            manifest.add_dumped(
                db.name, name, 0, None, None, str(path), path.stat().st_size, int(count), text(checksum), 0.0
            )
            fault_point("repopulate", "during")
            query(tgt, "START TRANSACTION")
            query(tgt, f"DELETE FROM {quote(db.target_name)}.{quote(name)}")
            query(tgt, load_sql(db.target_name, table, str(path)))
            query(tgt, "COMMIT")
            manifest.set_chunk(db.name, name, 0, "loaded")
            rows, tsum = query(
                tgt, f"SELECT COUNT(*), IFNULL(SUM({hash_expr(table)}), 0) FROM {quote(db.target_name)}.{quote(name)}"
            )[0]
            ok = int(rows) == int(count) and text(tsum) == text(checksum)
            manifest.set_chunk(db.name, name, 0, "verified" if ok else "failed", tgt_rows=int(rows), tgt_sum=text(tsum))
        query(src, "COMMIT")
        closure = rebuild_closure(tgt, db.target_name)
        notes.append(f"{closure} directory closure rows rebuilt; directory/file metadata not copied")
    finally:
        src.close()
        tgt.close()
    _record_tables(manifest, db, tables)
    return notes


def rebuild_closure(conn: Any, db: str) -> int:
    """FC_DirectoryClosure (ParentID, ChildID, Depth; self at depth 0) from FC_DirectoryList.Parent."""
    has = query(
        conn,
        "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s AND TABLE_NAME = 'FC_DirectoryClosure'",
        (db,),
    )
    if not has:
        return 0
    parent = {int(r[0]): int(r[1]) for r in query(conn, f"SELECT DirID, Parent FROM {quote(db)}.FC_DirectoryList")}
    rows: list[tuple[int, int, int]] = []
    for child in parent:
        node, depth, seen = child, 0, set()
        while node and node in parent and node not in seen:
            seen.add(node)
            rows.append((node, child, depth))
            node, depth = parent[node], depth + 1
    query(conn, f"DELETE FROM {quote(db)}.FC_DirectoryClosure")
    cur = conn.cursor()
    cur.executemany(f"INSERT INTO {quote(db)}.FC_DirectoryClosure (ParentID, ChildID, Depth) VALUES (%s, %s, %s)", rows)
    cur.close()
    return len(rows)


def _record_tables(manifest: Manifest, db: DatabasePlan, tables: list[Table]) -> None:
    dump = SchemaDump(database=db.name, create_database="", tables=tables)
    manifest.set_db(
        db.name,
        target=db.target_name,
        strategy="repopulate",
        phase="repopulating",
        schema={"dump": dump.to_json(), "fingerprint": {}, "rename": {}},
    )


# --------------------------------------------------------------------------------------------- listing
def read_listing(path: Path) -> list[tuple[str, int, str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        next(reader)
        return [(r[0].strip(), int(r[1]), r[2].strip(), r[3].strip()) for r in reader]


def listing_checksum(rows: list[tuple[str, int, str, str]]) -> tuple[int, str]:
    """Count and SUM of the first 64 bits of MD5('LFN\\tsize\\tchecksum\\tSE'), as `LISTING_SQL` computes it."""
    total = 0
    for lfn, size, checksum, se in rows:
        digest = hashlib.md5(f"{lfn}\t{size}\t{checksum}\t{se}".encode(), usedforsecurity=False).hexdigest()
        total += int(digest[:16], 16)
    return len(rows), str(total)


LISTING_SQL = (
    "SELECT COUNT(*), IFNULL(SUM(CAST(CONV(LEFT(MD5(CONCAT_WS('\\t', "
    "IF(d.Name = '/', CONCAT('/', f.FileName), CONCAT(d.Name, '/', f.FileName)), f.Size, i.Checksum, s.SEName)), 16), "
    "16, 10) AS UNSIGNED)), 0) FROM {db}.FC_Replicas r JOIN {db}.FC_Files f ON f.FileID = r.FileID "
    "JOIN {db}.FC_DirectoryList d ON d.DirID = f.DirID JOIN {db}.FC_FileInfo i ON i.FileID = f.FileID "
    "JOIN {db}.FC_StorageElements s ON s.SEID = r.SEID"
)


def repopulate_listing(plan: Plan, db: DatabasePlan, manifest: Manifest) -> list[str]:
    assert db.repopulate is not None and db.repopulate.listing is not None
    rows = read_listing(db.repopulate.listing)
    dirs: dict[str, int] = {"/": 1}
    parents: dict[int, int] = {1: 0}
    files: dict[str, tuple[int, int, str, int, str]] = {}  # lfn -> (FileID, DirID, name, size, checksum)
    ses: dict[str, int] = {}
    replicas: list[tuple[int, int]] = []
    for lfn, size, checksum, se in rows:
        directory, _, name = lfn.rpartition("/")
        directory = directory or "/"
        for path in [*ancestors(directory), directory] if directory != "/" else []:
            if path not in dirs:
                dirs[path] = len(dirs) + 1
                up = path.rpartition("/")[0] or "/"
                parents[dirs[path]] = dirs[up]
        if lfn in files:
            known = files[lfn]
            if (known[3], known[4]) != (size, checksum):
                raise PlanError(f"{db.repopulate.listing}: {lfn} is listed with two sizes/checksums: fix the listing")
        else:
            files[lfn] = (len(files) + 1, dirs[directory], name, size, checksum)
        seid = ses.setdefault(se, len(ses) + 1)
        replicas.append((files[lfn][0], seid))
    now = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
    tgt = connect(plan.target)
    t = quote(db.target_name)
    try:
        query(tgt, "START TRANSACTION")
        cur = tgt.cursor()
        cur.executemany(
            f"INSERT INTO {t}.FC_DirectoryList (DirID, Name, Parent, CreationDate, ModificationDate) "
            "VALUES (%s, %s, %s, %s, %s)",
            [(i, p, parents[i], now, now) for p, i in dirs.items()],
        )
        cur.executemany(
            f"INSERT INTO {t}.FC_StorageElements (SEID, SEName) VALUES (%s, %s)", [(i, n) for n, i in ses.items()]
        )
        cur.executemany(
            f"INSERT INTO {t}.FC_Files (FileID, DirID, FileName, Size) VALUES (%s, %s, %s, %s)",
            [(f[0], f[1], f[2], f[3]) for f in files.values()],
        )
        cur.executemany(
            f"INSERT INTO {t}.FC_FileInfo (FileID, Checksum, CreationDate, ModificationDate) VALUES (%s, %s, %s, %s)",
            [(f[0], f[4], now, now) for f in files.values()],
        )
        cur.executemany(f"INSERT INTO {t}.FC_Replicas (FileID, SEID) VALUES (%s, %s)", replicas)
        cur.close()
        fault_point("repopulate", "during")
        query(tgt, "COMMIT")
        closure = rebuild_closure(tgt, db.target_name)
        count, checksum = listing_checksum(rows)
        got = query(tgt, LISTING_SQL.format(db=t))[0]
    finally:
        tgt.close()
    table = Table(name="listing", create_sql="", columns=[], key=[])
    _record_tables(manifest, db, [table])
    manifest.add_dumped(db.name, "listing", 0, None, None, str(db.repopulate.listing), 0, count, checksum, 0.0)
    ok = int(got[0]) == count and text(got[1]) == checksum
    manifest.set_chunk(
        db.name, "listing", 0, "verified" if ok else "failed", tgt_rows=int(got[0]), tgt_sum=text(got[1])
    )
    return [f"{len(files):,} files, {len(dirs):,} directories, {len(ses)} SEs, {closure} closure rows from the listing"]


def repopulate(plan: Plan, db: DatabasePlan, manifest: Manifest) -> list[str]:
    """Create the catalog and fill it; returns notes for the report."""
    assert db.repopulate is not None
    manifest.set_db(db.name, target=db.target_name, strategy="repopulate", phase="repopulating")
    manifest.forget_chunks(db.name)
    create_catalog(plan, db)
    if db.repopulate.listing is not None:
        return repopulate_listing(plan, db, manifest)
    return repopulate_subtree(plan, db, manifest)


__all__ = ["ancestors", "directory_table", "rebuild_closure", "repopulate"]
