"""Physical copy of InnoDB tables (transportable tablespaces), proven by the same chunk checksums.

When the engine can read the source's datadir and write the target's (both servers on this host, same
MariaDB major.minor and InnoDB page size), InnoDB tables travel as their ``.ibd`` files instead of
being dumped row by row and reloaded:

1. a second source session runs ``FLUSH TABLES t1, t2 … FOR EXPORT`` (writes to those tables wait,
   their pages are flushed and a ``.cfg`` written next to each ``.ibd``);
2. while that lock is held, the dump session opens its ``START TRANSACTION WITH CONSISTENT SNAPSHOT``:
   for the locked tables the snapshot and the files hold the same rows, so the source checksums
   the dump session computes afterwards (per chunk, as in the logical path) prove the files; the
   snapshot's binlog/GTID position is the cutover's starting point as before;
3. the files are copied into the state dir, then ``UNLOCK TABLES`` (the source's write stall is this
   copy, about the speed of ``cp``);
4. on the target: ``CREATE TABLE`` (the source's DDL, all keys), ``DISCARD TABLESPACE``, the files
   copied into its datadir, ``IMPORT TABLESPACE`` — secondary keys and the AUTO_INCREMENT counter
   come with the file, nothing is re-inserted or re-indexed;
5. every chunk is verified against the source checksum like a loaded one.

Tables that cannot travel this way (not InnoDB, partitioned, FULLTEXT, system-versioned, a name
that is not a plain file name, a row format the target would not recreate) take the logical path,
with the reason in the report. Stream over SSH between two hosts is not implemented: there the
whole copy is logical.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import MySQLdb

from dirac_core.dbmigrate.connect import connect, query, quote, text
from dirac_core.dbmigrate.faults import fault_point
from dirac_core.dbmigrate.plan import Endpoint, Plan

_PLAIN = re.compile(r"^[A-Za-z0-9_]+$")  # on-disk name == SQL name (no @xxxx file-name encoding)


@dataclass
class PhysicalChoice:
    """Which tables of which databases move as files, and why the others do not."""

    source_dir: Path | None = None
    target_dir: Path | None = None
    off_reason: str = ""  # why no table moves physically ("" when the path is available)
    tables: dict[str, list[str]] = field(default_factory=dict)  # source db -> tables moved as files
    fallbacks: dict[str, dict[str, str]] = field(default_factory=dict)  # source db -> {table: reason}
    stall_seconds: float = 0.0  # writes to the exported tables waited this long (FLUSH … FOR EXPORT to UNLOCK)

    @property
    def any(self) -> bool:
        return any(self.tables.values())

    def note(self, db: str) -> str:
        """One line for the report: which path each table of `db` took."""
        if self.off_reason:
            return f"copy path: logical (LOAD DATA) for every table: {self.off_reason}"
        phys = self.tables.get(db, [])
        back = self.fallbacks.get(db, {})
        line = f"copy path: physical (InnoDB tablespace import) for {len(phys)} table(s)"
        if back:
            line += "; logical for " + ", ".join(f"{t} ({why})" for t, why in sorted(back.items()))
        if phys:
            line += f"; source write stall {self.stall_seconds:.2f} s (export lock)"
        return line


def _version(conn: Any) -> tuple[str, int, int, str, str, str]:
    row = query(
        conn,
        "SELECT @@version, @@innodb_page_size, @@log_bin, @@datadir, @@hostname, @@innodb_default_row_format",
    )[0]
    version = text(row[0])
    return ".".join(version.split(".")[:2]), int(row[1]), int(row[2]), text(row[3]), text(row[4]), text(row[5])


def choose(plan: Plan, src: Any, tgt: Any, jobs: list[tuple[str, str, dict[str, str]]]) -> PhysicalChoice:
    """Decide per table; `jobs` are (source db, target db, table renames). Nothing is changed."""
    if plan.physical == "off":
        return PhysicalChoice(off_reason="physical: off in the plan")
    s_ver, s_page, _, s_dir, s_host, _ = _version(src)
    t_ver, t_page, t_bin, t_dir, t_host, t_format = _version(tgt)
    here = socket.gethostname()
    source_dir, target_dir = Path(s_dir), Path(t_dir)
    reason = ""
    if s_host != here or t_host != here:
        reason = f"source ({s_host}) and target ({t_host}) are not both on this host ({here})"
    elif s_ver != t_ver or s_page != t_page:
        reason = f"source {s_ver} (page {s_page}) and target {t_ver} (page {t_page}) differ"
    elif not (_may_use(source_dir) and _may_use(target_dir)):
        reason = f"this process (uid {os.geteuid()}) may not read {source_dir} and write {target_dir}"
    elif source_dir.resolve() == target_dir.resolve():
        reason = "source and target are the same server"
    elif t_bin and plan.target.log_bin:
        # A tablespace import reaches the binlog as DDL only: the target's replicas would miss the rows.
        try:
            if query(tgt, "SHOW SLAVE HOSTS"):
                reason = "the target has replicas, which a tablespace import would not reach"
        except MySQLdb.OperationalError as exc:
            reason = f"cannot list the target's replicas ({exc.args[-1]}): grant REPLICATION MASTER ADMIN"
    if reason:
        return PhysicalChoice(off_reason=reason)
    choice = PhysicalChoice(source_dir=source_dir, target_dir=target_dir)
    for db, target_db, rename in jobs:
        choice.tables[db], choice.fallbacks[db] = [], {}
        readable = _PLAIN.match(db) is not None and os.access(source_dir / db, os.R_OK | os.X_OK)
        fulltext = {
            text(r[0])
            for r in query(
                src,
                "SELECT DISTINCT TABLE_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = %s "
                "AND INDEX_TYPE IN ('FULLTEXT', 'SPATIAL')",
                (db,),
            )
        }
        rows = query(
            src,
            "SELECT TABLE_NAME, TABLE_TYPE, IFNULL(ENGINE, ''), IFNULL(ROW_FORMAT, ''), IFNULL(CREATE_OPTIONS, '') "
            "FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s AND TABLE_TYPE IN ('BASE TABLE', "
            "'SYSTEM VERSIONED')",
            (db,),
        )
        for name_raw, ttype, engine, row_format, options in rows:
            name = text(name_raw)
            why = ""
            if text(ttype) != "BASE TABLE":
                why = "system-versioned"
            elif text(engine).lower() != "innodb":
                why = f"engine {text(engine)}"
            elif "partitioned" in text(options).lower():
                why = "partitioned"
            elif name in fulltext:
                why = "FULLTEXT/SPATIAL index"
            elif not all(_PLAIN.match(n) for n in (db, target_db, name, rename.get(name, name))):
                why = "name needs file-name encoding"
            elif "encrypted" in text(options).lower():
                why = "encrypted"
            elif not readable or not (source_dir / db / f"{name}.ibd").is_file():
                why = "not in its own tablespace file"
            elif "row_format" not in text(options).lower() and text(row_format).lower() != t_format.lower():
                why = f"row format {text(row_format)} is not the target's default {t_format}"
            if why:
                choice.fallbacks[db][name] = why
            else:
                choice.tables[db].append(name)
    return choice


def _may_use(datadir: Path) -> bool:
    """Root or the datadir's owner (mariadbd's user): its database directories are mode 0700."""
    try:
        owner = datadir.stat().st_uid
    except OSError:
        return False
    return os.geteuid() in (0, owner) and os.access(datadir, os.R_OK | os.W_OK | os.X_OK)


EXPORT_LOCK_WAIT = 10  # s: FLUSH … FOR EXPORT queued behind a long transaction also holds up writers


class ExportLock:
    """``FLUSH TABLES … FOR EXPORT`` held by its own source session until `release`."""

    def __init__(self, endpoint: Endpoint, tables: list[tuple[str, str]]) -> None:
        self.conn = connect(endpoint, raw=True)
        names = ", ".join(f"{quote(db)}.{quote(t)}" for db, t in tables)
        try:
            query(self.conn, f"SET SESSION lock_wait_timeout = {EXPORT_LOCK_WAIT}")
            query(self.conn, f"FLUSH TABLES {names} FOR EXPORT")
        except BaseException:
            self.conn.close()
            raise

    def release(self) -> None:
        try:
            query(self.conn, "UNLOCK TABLES")  # removes the .cfg files on the source
        finally:
            self.conn.close()


def lock_for_export(endpoint: Endpoint, tables: list[tuple[str, str]]) -> tuple[ExportLock | None, str]:
    """The lock, or None and why not (a missing RELOAD/LOCK TABLES grant: the copy stays logical)."""
    try:
        return ExportLock(endpoint, tables), ""
    except MySQLdb.OperationalError as exc:
        if exc.args and exc.args[0] in (1044, 1045, 1142, 1227):  # access denied variants
            return None, f"source refused FLUSH TABLES … FOR EXPORT ({exc.args[-1]}): grant RELOAD, LOCK TABLES"
        if exc.args and exc.args[0] == 1205:  # a long transaction holds the tables: do not stall writers
            return None, f"FLUSH TABLES … FOR EXPORT waited over {EXPORT_LOCK_WAIT} s for running transactions"
        raise


def stage(source_dir: Path, db: str, table: str, dest: Path) -> dict[str, Any]:
    """Copy the exported .ibd and .cfg of `db`.`table` into `dest` (``.part`` + rename); their sizes."""
    dest.mkdir(parents=True, exist_ok=True)
    sizes: dict[str, Any] = {}
    # .cfg first: it is written by FLUSH … FOR EXPORT and only exists while the lock is held
    for ext in ("cfg", "ibd"):
        src = source_dir / db / f"{table}.{ext}"
        part = dest / f"{table}.{ext}.part"
        shutil.copyfile(src, part)  # sendfile/copy_file_range: no pass through Python
        fault_point("physical", "during")
        part.replace(dest / f"{table}.{ext}")
        sizes[ext] = (dest / f"{table}.{ext}").stat().st_size
    sizes["dir"] = str(dest)
    sizes["table"] = table
    return sizes


def import_table(
    conn: Any, target_dir: Path, target_db: str, name: str, create_sql: str, staged: dict[str, Any]
) -> None:
    """(Re)create `target_db`.`name` from the source's DDL and import the staged tablespace into it.

    Idempotent from any point: the table is dropped and created again first, and the staged files are
    copied (not moved), so a kill anywhere in here is repaired by running it again.
    """
    files = Path(staged["dir"])
    table = quote(target_db) + "." + quote(name)
    for ext in ("cfg", "ibd"):
        size = (files / f"{name_of(staged)}.{ext}").stat().st_size
        if size != staged[ext]:
            raise RuntimeError(f"{files}/{name_of(staged)}.{ext} has {size} bytes, {staged[ext]} were staged: "
                               "remove the state dir and start over")  # fmt: skip
    query(conn, "SET FOREIGN_KEY_CHECKS = 0")
    query(conn, f"USE {quote(target_db)}")
    query(conn, f"DROP TABLE IF EXISTS {table}")
    query(conn, create_sql)
    query(conn, f"ALTER TABLE {table} DISCARD TABLESPACE")
    owner = (target_dir / target_db).stat()
    for ext in ("cfg", "ibd"):
        dst = target_dir / target_db / f"{name}.{ext}"
        shutil.copyfile(files / f"{name_of(staged)}.{ext}", dst)
        if os.geteuid() == 0:
            os.chown(dst, owner.st_uid, owner.st_gid)  # mariadbd's user must own what it imports
        fault_point("transfer", "during")
    try:
        query(conn, f"ALTER TABLE {table} IMPORT TABLESPACE")
    except MySQLdb.MySQLError as exc:
        raise RuntimeError(
            f"{target_db}.{name}: IMPORT TABLESPACE failed ({exc.args[-1]}): "
            "set `physical: off` in the plan and migrate with a new --state-dir"
        ) from exc
    (target_dir / target_db / f"{name}.cfg").unlink(missing_ok=True)
    fault_point("load", "during")


_REFERENCES = re.compile(r"\bREFERENCES\s+(?:`(?:[^`]|``)+`\.)?`((?:[^`]|``)+)`", re.IGNORECASE)


def foreign_key_groups(create_sql: dict[str, str]) -> dict[str, str]:
    """table -> one name per group of tables linked by foreign keys (either direction, transitively).

    DDL on such a table takes InnoDB locks on the tables linked to it: DROP TABLE of a referenced table
    locks the tables that reference it, which an IMPORT TABLESPACE running on one of them holds (1205
    after innodb_lock_wait_timeout, or a metadata-lock wait that never ends when two such DROPs cross).
    Imports of one group therefore run one after the other; separate groups still run in parallel.
    """
    parent = {name: name for name in create_sql}

    def root(name: str) -> str:
        while parent[name] != name:
            parent[name] = parent[parent[name]]
            name = parent[name]
        return name

    for name, sql in create_sql.items():
        for match in _REFERENCES.finditer(sql):
            other = match.group(1).replace("``", "`")
            if other in parent:
                parent[root(other)] = root(name)
    return {name: root(name) for name in create_sql}


def name_of(staged: dict[str, Any]) -> str:
    return str(staged["table"])


__all__ = ["ExportLock", "PhysicalChoice", "choose", "foreign_key_groups", "import_table", "lock_for_export", "stage"]
