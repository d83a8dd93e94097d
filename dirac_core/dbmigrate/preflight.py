"""Checks that need the servers, all run before anything changes; plus what a dry run prints.

Refusals (each a one-line PlanError naming the database entry and the fix): a copy source that does
not exist; reset/repopulate of a database dirac_core has no schema for; reset of a target database
holding rows, or copy into a non-empty target, without --confirm (unless this state dir's manifest
shows the migration itself created it); a repopulate source catalog or subtree that is missing.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dirac_core.dbmigrate.connect import (
    connect,
    database_exists,
    database_has_rows,
    database_is_empty,
    query,
    server_info,
    text,
)
from dirac_core.dbmigrate.manifest import Manifest
from dirac_core.dbmigrate.plan import DatabasePlan, Plan, PlanError, schema_spec_name

LISTING_COLUMNS = ("LFN", "size", "checksum", "SE")


@dataclass
class Action:
    """What the run will do to one database (printed by --dry-run)."""

    db: DatabasePlan
    verb: str  # "copy", "reset", "repopulate", "resume", "nothing to do"
    details: list[str] = field(default_factory=list)
    replaces_data: bool = False


def check(plan: Plan, manifest: Manifest, confirm: bool) -> list[Action]:
    """Every check, no change; raises PlanError on the first problem."""
    from dirac_core.db.installed import all_databases

    src = connect(plan.source)
    tgt = connect(plan.target)
    try:
        src_info, tgt_info = server_info(src), server_info(tgt)
        if (plan.source.socket, plan.source.host, plan.source.port) == (
            plan.target.socket,
            plan.target.host,
            plan.target.port,
        ):
            same = {db.name for db in plan.by_strategy("copy")} & {db.target_name for db in plan.by_strategy("copy")}
            if same:
                raise PlanError(f"databases ({sorted(same)[0]}): source and target are the same server and database: "
                                "set target_name or point target at the new server")  # fmt: skip
        dump_done = manifest.get("dump") == "complete"
        actions: list[Action] = []
        for i, db in enumerate(plan.databases):
            where = f"databases[{i}] ({db.name})"
            entry = manifest.db(db.name)
            if entry is not None and entry["phase"] == "done":
                actions.append(Action(db, "nothing to do", ["finished in this state dir"]))
                continue
            owned = entry is not None
            if db.strategy == "copy":
                if db.upgrade and schema_spec_name(db) is None:
                    known = ", ".join(sorted(all_databases()))
                    raise PlanError(f"{where}.upgrade: {db.name!r} is not a DIRAC database dirac_core can upgrade: "
                                    f"name it <DBName> or <prefix>_<DBName> ({known}), or drop upgrade")  # fmt: skip
                actions.append(_check_copy(plan, src, tgt, db, where, owned, confirm, dump_done))
            else:
                # A repopulate's source is checked first: the missing subtree is the likelier mistake.
                repop = (
                    _check_repopulate(plan, src, tgt, db, where, owned, confirm)
                    if db.strategy == "repopulate"
                    else None
                )
                if schema_spec_name(db) is None:
                    known = ", ".join(sorted(all_databases()))
                    raise PlanError(f"{where}.name: unknown database {db.name!r} for {db.strategy}: "
                                    f"dirac_core has a schema for {known}")  # fmt: skip
                actions.append(repop or _check_reset(plan, src, tgt, db, where, owned, confirm))
        actions[0].details.insert(
            0,
            f"source {plan.source.describe()} MariaDB {src_info['version']} "
            f"binlog {'ON' if src_info['log_bin'] else 'OFF'}"
            f"; target {plan.target.describe()} MariaDB {tgt_info['version']}",
        )
        return actions
    finally:
        src.close()
        tgt.close()


def _target_state(tgt: Any, name: str) -> tuple[bool, bool, bool]:
    exists = database_exists(tgt, name)
    return exists, exists and not database_is_empty(tgt, name), exists and database_has_rows(tgt, name)


def _check_copy(
    plan: Plan, src: Any, tgt: Any, db: DatabasePlan, where: str, owned: bool, confirm: bool, dump_done: bool
) -> Action:
    if not database_exists(src, db.name):
        raise PlanError(f"{where}.name: database {db.name!r} not found on source {plan.source.describe()}: "
                        "fix the name or remove the entry")  # fmt: skip
    if dump_done and not owned:
        raise PlanError(f"{where}: the dump in this state dir was taken without {db.name}: "
                        "use a new --state-dir to migrate a changed plan")  # fmt: skip
    _exists, non_empty, _rows = _target_state(tgt, db.target_name)
    if non_empty and not owned and not confirm:
        raise PlanError(f"{where}: target database {db.target_name!r} on {plan.target.describe()} is not empty: "
                        "pass --confirm to replace it")  # fmt: skip
    tables = query(
        src,
        "SELECT COUNT(*), IFNULL(SUM(TABLE_ROWS), 0), IFNULL(SUM(DATA_LENGTH + INDEX_LENGTH), 0) "
        "FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s AND TABLE_TYPE = 'BASE TABLE'",
        (db.name,),
    )[0]
    details = [
        f"{int(tables[0])} tables, ~{int(text(tables[1]) or 0):,} rows, ~{int(text(tables[2]) or 0) / 1e6:,.1f} MB "
        f"-> {db.target_name}"
    ]
    if owned:
        details.append("resumes the copy recorded in the state dir")
    elif non_empty:
        details.append(f"REPLACES the existing target database {db.target_name} (--confirm given)")
    if db.upgrade:
        details.append("then upgrades the schema to dirac_core's head revision")
    if db.name == "AccountingDB" and plan.setup_rename is not None:
        details.append(f"renames ac_*_{plan.setup_rename.old}_* tables to ac_*_{plan.setup_rename.new}_*")
    return Action(db, "resume" if owned else "copy", details, replaces_data=non_empty and not owned)


def _check_reset(plan: Plan, src: Any, tgt: Any, db: DatabasePlan, where: str, owned: bool, confirm: bool) -> Action:
    _exists, _non_empty, rows = _target_state(tgt, db.target_name)
    if rows and not owned and not confirm:
        raise PlanError(f"{where}: reset would delete the rows of target database {db.target_name!r} on "
                        f"{plan.target.describe()}: pass --confirm to reset it")  # fmt: skip
    details = [f"recreates {db.target_name} empty at dirac_core's head schema"]
    if rows:
        details.append("DELETES its current rows (--confirm given)")
    if db.keep_ids_above_source:
        source = db.source_name or db.name
        found = database_exists(src, source)
        details.append(
            f"new ids start above the maxima of {source} on the source"
            if found
            else f"keep_ids_above_source: {source} not on the source, ids start at 1"
        )
    return Action(db, "reset", details, replaces_data=rows)


def _check_repopulate(
    plan: Plan, src: Any, tgt: Any, db: DatabasePlan, where: str, owned: bool, confirm: bool
) -> Action:
    assert db.repopulate is not None
    frm = db.repopulate
    _exists, non_empty, _rows = _target_state(tgt, db.target_name)
    if non_empty and not owned and not confirm:
        raise PlanError(f"{where}: target database {db.target_name!r} on {plan.target.describe()} is not empty: "
                        "pass --confirm to replace it")  # fmt: skip
    if frm.listing is not None:
        count = check_listing(frm.listing, f"{where}.from.listing")
        return Action(db, "repopulate", [f"{count:,} files from listing {frm.listing}"], non_empty)
    assert frm.database is not None and frm.subtree is not None
    if not database_exists(src, frm.database):
        raise PlanError(f"{where}.from.database: catalog {frm.database!r} not found on source "
                        f"{plan.source.describe()}: fix the name")  # fmt: skip
    if not subtree_exists(src, frm.database, frm.subtree):
        raise PlanError(f"{where}.from.subtree: directory {frm.subtree!r} not found in {frm.database}: "
                        "fix the LFN path (it is case-sensitive)")  # fmt: skip
    return Action(db, "repopulate", [f"files under {frm.subtree} of {frm.database}"], non_empty)


def subtree_exists(conn: Any, db: str, subtree: str) -> bool:
    """Does the catalog hold directory `subtree`? (DIRAC's FC_DirectoryList, full path in Name)."""
    from dirac_core.dbmigrate.repopulate import directory_table

    table, column = directory_table(conn, db)
    return bool(query(conn, f"SELECT 1 FROM `{db}`.`{table}` WHERE `{column}` = %s LIMIT 1", (subtree,)))


def check_listing(path: Path, where: str) -> int:
    """A storage listing: CSV with header LFN,size,checksum,SE; returns the number of files."""
    if not path.is_file():
        raise PlanError(f"{where}: file {path} not found: give the path of a CSV listing (LFN,size,checksum,SE)")
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None or tuple(h.strip() for h in header) != LISTING_COLUMNS:
            raise PlanError(f"{where}: {path} must start with the header line LFN,size,checksum,SE")
        count = 0
        for lineno, row in enumerate(reader, start=2):
            if len(row) != 4 or not row[0].startswith("/") or not row[1].strip().isdigit():
                raise PlanError(f"{where}: {path}:{lineno}: expected /absolute/lfn,size-in-bytes,checksum,SE")
            count += 1
    return count


__all__ = ["LISTING_COLUMNS", "Action", "check", "check_listing", "subtree_exists"]
