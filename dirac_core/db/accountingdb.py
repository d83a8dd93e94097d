"""AccountingDB: DIRAC's accounting tables, the static catalog and the per-type tables made at run time.

Static tables (Alembic revision 1.0):

* ``ac_catalog_Types``: one row per registered ``<Setup>_<Type>`` (name, keyFields, valueFields,
  bucketsLength), as in DIRAC;
* ``ac_Leases``: named leases (owner + expiry); ``Bucketing`` elects the one DataStore that buckets.

Per registered type, created by `AccountingDB.register_type` (never by Alembic: they depend on the
Setup), with ``<Full> = <Setup>_<Type>`` (e.g. ``EGI-Production_Job``):

* ``ac_key_<Full>_<KeyField>`` (id, value): the distinct values of one key field;
* ``ac_type_<Full>``: raw records: key ids, values, startTime, endTime (epoch seconds) and
  ``bucketed`` (0 until the bucketer has spread the record over the buckets);
* ``ac_bucket_<Full>``: startTime, bucketLength, key ids, summed values and entriesInBucket.

Renaming a Setup renames every table whose name contains ``_<OldSetup>_`` right after its
``ac_key``/``ac_type``/``ac_bucket`` prefix and the catalog row (see docs/accounting.md).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Double,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import mysql, sqlite
from sqlalchemy.exc import OperationalError, ProgrammingError, SQLAlchemyError
from sqlalchemy.types import TypeEngine

from dirac_core.accounting_types import AccountingType, full_name, get_type, split_full_name
from dirac_core.db.base import BaseDB
from dirac_core.db.installed import DatabaseSpec
from dirac_core.db.types import MYSQL_TABLE_ARGS, uint
from dirac_core.errors import BadRequest, Conflict, DiracError, NotFound, ServiceUnavailable

log = logging.getLogger(__name__)

MAX_IDENTIFIER = 64  # MariaDB's limit for table and index names
CHUNK = 500

metadata = MetaData()
# Registered under the dirac_core.databases entry points (pyproject.toml).
DATABASE = DatabaseSpec("AccountingDB", "Accounting", __name__)

ac_catalog_Types = Table(  # noqa: N816 - DIRAC table name
    "ac_catalog_Types",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("keyFields", Text, nullable=False),
    Column("valueFields", Text, nullable=False),
    Column("bucketsLength", Text, nullable=False),
    **MYSQL_TABLE_ARGS,
)

ac_Leases = Table(  # noqa: N816 - DIRAC-style table name
    "ac_Leases",
    metadata,
    Column("Name", String(64), primary_key=True),
    Column("Owner", String(255), nullable=False),
    Column("Expires", Double, nullable=False),
    **MYSQL_TABLE_ARGS,
)


def _key_value_type(length: int) -> TypeEngine[str]:
    # Binary collation on MariaDB: 'Alice' and 'alice' are two users, as on SQLite.
    return String(length).with_variant(mysql.VARCHAR(length, collation="utf8mb4_bin"), "mysql", "mariadb")


def _record_id() -> TypeEngine[int]:
    return BigInteger().with_variant(mysql.BIGINT(unsigned=True), "mysql", "mariadb").with_variant(Integer, "sqlite")


def _name(name: str) -> str:
    if len(name) > MAX_IDENTIFIER:
        raise BadRequest(
            f"accounting table name {name} is longer than {MAX_IDENTIFIER} characters: use a shorter Setup"
        )
    return name


@dataclass(frozen=True)
class TypeTables:
    """The tables of one registered ``<Setup>_<Type>``."""

    full_name: str
    atype: AccountingType
    metadata: MetaData
    keys: dict[str, Table]
    records: Table
    buckets: Table


def build_type_tables(setup: str, atype: AccountingType) -> TypeTables:
    full = full_name(setup, atype.name)
    md = MetaData()
    keys = {
        key: Table(
            _name(f"ac_key_{full}_{key}"),
            md,
            Column("id", uint(), primary_key=True, autoincrement=True),
            Column("value", _key_value_type(length), nullable=False),
            UniqueConstraint("value", name="uq_value"),
            **MYSQL_TABLE_ARGS,
        )
        for key, length in atype.key_fields
    }
    values = [Column(v, Double, nullable=False, server_default="0") for v in atype.value_fields]
    records = Table(
        _name(f"ac_type_{full}"),
        md,
        Column("id", _record_id(), primary_key=True, autoincrement=True),
        *(Column(key, uint(), nullable=False) for key in atype.key_names),
        *values,
        Column("startTime", uint(), nullable=False),
        Column("endTime", uint(), nullable=False),
        Column("bucketed", SmallInteger, nullable=False, server_default="0"),
        Index(_name(f"ix_{full}_pending"), "bucketed", "id"),
        Index(_name(f"ix_{full}_start"), "startTime"),
        **MYSQL_TABLE_ARGS,
    )
    buckets = Table(
        _name(f"ac_bucket_{full}"),
        md,
        Column("startTime", uint(), nullable=False),
        Column("bucketLength", uint(), nullable=False),
        *(Column(key, uint(), nullable=False) for key in atype.key_names),
        *(Column(v, Double, nullable=False, server_default="0") for v in atype.value_fields),
        Column("entriesInBucket", Double, nullable=False, server_default="0"),
        PrimaryKeyConstraint("startTime", "bucketLength", *atype.key_names, name="pk_bucket"),
        **MYSQL_TABLE_ARGS,
    )
    return TypeTables(full, atype, md, keys, records, buckets)


def _all_tables(tables: TypeTables) -> list[Table]:
    return [*(tables.keys[key] for key in tables.atype.key_names), tables.records, tables.buckets]


def _indexes(tables: TypeTables) -> list[Index]:
    return [index for table in _all_tables(tables) for index in sorted(table.indexes, key=lambda i: str(i.name))]


def table_renames(old_setup: str, new_setup: str, atype: AccountingType) -> list[tuple[str, str]]:
    """Tables then indexes of ``<old>_<Type>`` with their names under ``<new>_<Type>``, in the same order."""
    old, new = build_type_tables(old_setup, atype), build_type_tables(new_setup, atype)
    pairs = [(a.name, b.name) for a, b in zip(_all_tables(old), _all_tables(new), strict=True)]
    return pairs + [(str(a.name), str(b.name)) for a, b in zip(_indexes(old), _indexes(new), strict=True)]


class AccountingDB(BaseDB):
    metadata = metadata

    def __init__(self, engine: Any) -> None:
        super().__init__(engine)
        self._tables: dict[str, TypeTables] = {}
        self._skipped: set[str] = set()

    @property
    def _ignore(self) -> str:
        return "IGNORE" if self.is_mysql else "OR IGNORE"

    # -- types -------------------------------------------------------------------------------
    def register_type(self, setup: str, atype: AccountingType) -> TypeTables:
        """Create the tables of ``<Setup>_<Type>`` if needed and record it in ``ac_catalog_Types``."""
        tables = build_type_tables(setup, atype)
        row = {
            "name": tables.full_name,
            "keyFields": ",".join(atype.key_names),
            "valueFields": ",".join(atype.value_fields),
            "bucketsLength": json.dumps([list(step) for step in atype.buckets_length]),
        }
        with self.engine.begin() as conn:
            existing = conn.execute(select(ac_catalog_Types).where(ac_catalog_Types.c.name == row["name"])).first()
            if existing is not None and (existing.keyFields, existing.valueFields) != (
                row["keyFields"],
                row["valueFields"],
            ):
                raise Conflict(
                    f"accounting type {row['name']} is registered with other fields ({existing.keyFields} / "
                    f"{existing.valueFields}): migrate its tables before changing the definition"
                )
        try:
            tables.metadata.create_all(self.engine, checkfirst=True)
        except (OperationalError, ProgrammingError):
            # Another DataStore created them between our check and our CREATE: check again.
            tables.metadata.create_all(self.engine, checkfirst=True)
        with self.engine.begin() as conn:
            # IGNORE: another DataStore may register the same type at the same moment.
            conn.execute(insert(ac_catalog_Types).prefix_with(self._ignore).values(row))
            conn.execute(
                update(ac_catalog_Types)
                .where(ac_catalog_Types.c.name == row["name"])
                .values(bucketsLength=row["bucketsLength"])
            )
        self._tables[tables.full_name] = tables
        return tables

    def registered_types(self) -> dict[str, dict[str, Any]]:
        """``ac_catalog_Types`` as {full name: {keyFields, valueFields, bucketsLength}}."""
        try:
            with self.engine.connect() as conn:
                rows = conn.execute(select(ac_catalog_Types).order_by(ac_catalog_Types.c.name)).all()
        except SQLAlchemyError as exc:
            raise ServiceUnavailable(
                f"AccountingDB is not ready ({type(exc).__name__}): run `dirac-core db init AccountingDB`"
            ) from exc
        return {
            row.name: {
                "keyFields": row.keyFields.split(","),
                "valueFields": row.valueFields.split(","),
                "bucketsLength": json.loads(row.bucketsLength),
            }
            for row in rows
        }

    def tables(self, setup: str, type_name: str) -> TypeTables:
        """The tables of a registered type (404 naming the registered ones otherwise)."""
        full = full_name(setup, type_name)
        if full in self._tables:
            return self._tables[full]
        registered = self.registered_types()
        if full not in registered:
            known = ", ".join(split_full_name(n)[1] for n in registered if split_full_name(n)[0] == setup)
            raise NotFound(
                f"accounting type {type_name!r} is not registered for setup {setup}: known are {known or 'none'}"
            )
        tables = build_type_tables(setup, get_type(type_name))
        self._tables[full] = tables
        return tables

    def all_tables(self) -> list[TypeTables]:
        """Every registered type dirac_core knows; others (e.g. DIRAC's Pilot, WMSHistory kept from a
        migrated DB) are skipped with a warning rather than stopping the bucketing of the rest."""
        out = []
        for name in self.registered_types():
            try:
                setup, type_name = split_full_name(name)
                out.append(self.tables(setup, type_name))
            except DiracError as exc:
                if name not in self._skipped:
                    log.warning("accounting type %s skipped: %s", name, exc)
                    self._skipped.add(name)
        return out

    def rename_setup(self, old_setup: str, new_setup: str) -> list[str]:
        """Rename every ``<old>_<Type>`` to ``<new>_<Type>``: tables, their indexes, catalog rows.

        Returns the new full names. Refused (409) when a ``<new>_<Type>`` is already registered."""
        registered = self.registered_types()
        types = [split_full_name(n)[1] for n in registered if split_full_name(n)[0] == old_setup]
        clash = [t for t in types if full_name(new_setup, t) in registered]
        if clash:
            raise Conflict(f"setup {new_setup} already has accounting types {', '.join(clash)}: nothing renamed")
        quote = self.engine.dialect.identifier_preparer.quote
        with self.engine.begin() as conn:
            for type_name in types:
                atype = get_type(type_name)
                old, new = build_type_tables(old_setup, atype), build_type_tables(new_setup, atype)
                for old_table, new_table in zip(_all_tables(old), _all_tables(new), strict=True):
                    conn.exec_driver_sql(f"ALTER TABLE {quote(old_table.name)} RENAME TO {quote(new_table.name)}")
                for old_index, new_index in zip(_indexes(old), _indexes(new), strict=True):
                    old_name, new_name = quote(str(old_index.name)), quote(str(new_index.name))
                    if self.is_mysql:
                        table = quote(new_index.table.name)  # type: ignore[union-attr]
                        conn.exec_driver_sql(f"ALTER TABLE {table} RENAME INDEX {old_name} TO {new_name}")
                    else:  # SQLite cannot rename an index: rebuild it under its new name
                        conn.exec_driver_sql(f"DROP INDEX {old_name}")
                        new_index.create(conn)
                conn.execute(
                    update(ac_catalog_Types).where(ac_catalog_Types.c.name == old.full_name).values(name=new.full_name)
                )
                self._tables.pop(old.full_name, None)
        return [full_name(new_setup, t) for t in types]

    # -- raw records -------------------------------------------------------------------------
    def insert_records(self, tables: TypeTables, records: Sequence[Mapping[str, Any]]) -> int:
        """Insert validated records (key values as strings) in ONE transaction: all or nothing."""
        return self.insert_bundle([(tables, records)])

    def insert_bundle(self, bundle: Sequence[tuple[TypeTables, Sequence[Mapping[str, Any]]]]) -> int:
        """Records of several types in ONE transaction (DIRAC's commitRegisters): all or nothing."""
        total = 0
        with self.engine.begin() as conn:
            for tables, records in bundle:
                total += self._insert(conn, tables, records)
        return total

    def _insert(self, conn: Connection, tables: TypeTables, records: Sequence[Mapping[str, Any]]) -> int:
        if not records:
            return 0
        key_names = tables.atype.key_names
        ids = {key: self._key_ids(conn, tables.keys[key], {str(r[key]) for r in records}) for key in key_names}
        rows = [
            {
                **{key: ids[key][str(r[key])] for key in key_names},
                **{v: float(r.get(v, 0)) for v in tables.atype.value_fields},
                "startTime": int(r["startTime"]),
                "endTime": int(r["endTime"]),
                "bucketed": 0,
            }
            for r in records
        ]
        for start in range(0, len(rows), CHUNK):
            conn.execute(insert(tables.records), rows[start : start + CHUNK])
        return len(rows)

    def _key_ids(self, conn: Connection, table: Table, values: set[str]) -> dict[str, int]:
        found = self._lookup(conn, table, values)
        missing = values - found.keys()
        if missing:
            # IGNORE: another DataStore may add the same value meanwhile; sorted, so that concurrent
            # commits take the unique-key locks in the same order.
            conn.execute(insert(table).prefix_with(self._ignore), [{"value": v} for v in sorted(missing)])
            # A locking read sees rows committed after this transaction's snapshot (MariaDB's
            # REPEATABLE READ would otherwise hide a value another commit just added).
            found.update(self._lookup(conn, table, missing, locking=True))
        if len(found) != len(values):
            raise ServiceUnavailable(f"{table.name}: key values changed during the commit: send the records again")
        return found

    @staticmethod
    def _lookup(conn: Connection, table: Table, values: Iterable[str], *, locking: bool = False) -> dict[str, int]:
        ordered = sorted(values)
        found: dict[str, int] = {}
        for start in range(0, len(ordered), CHUNK):
            chunk = ordered[start : start + CHUNK]
            query = select(table.c.value, table.c.id).where(table.c.value.in_(chunk))
            if locking:
                query = query.with_for_update(read=True)
            found.update({row.value: int(row.id) for row in conn.execute(query)})
        return found

    def pending_records(self, conn: Connection, tables: TypeTables, limit: int) -> list[Any]:
        records = tables.records
        query = select(records).where(records.c.bucketed == 0).order_by(records.c.id).limit(limit)
        return list(conn.execute(query).all())

    def count_records(self, tables: TypeTables, *, pending_only: bool = False) -> int:
        records = tables.records
        query = select(func.count()).select_from(records)
        if pending_only:
            query = query.where(records.c.bucketed == 0)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def short_buckets(
        self, conn: Connection, tables: TypeTables, before: int, shorter_than: int, limit: int
    ) -> list[Any]:
        """Buckets starting before `before` and shorter than `shorter_than` seconds (to compact)."""
        buckets = tables.buckets
        query = (
            select(buckets)
            .where(and_(buckets.c.startTime < before, buckets.c.bucketLength < shorter_than))
            .order_by(buckets.c.startTime)
            .limit(limit)
        )
        return list(conn.execute(query).all())

    def delete_buckets(self, conn: Connection, tables: TypeTables, rows: Sequence[Any]) -> None:
        buckets = tables.buckets
        keys = ["startTime", "bucketLength", *tables.atype.key_names]
        for row in rows:
            conn.execute(buckets.delete().where(and_(*(buckets.c[k] == getattr(row, k) for k in keys))))

    def mark_bucketed(self, conn: Connection, tables: TypeTables, ids: Sequence[int]) -> None:
        records = tables.records
        for start in range(0, len(ids), CHUNK):
            conn.execute(update(records).where(records.c.id.in_(ids[start : start + CHUNK])).values(bucketed=1))

    def add_to_buckets(self, conn: Connection, tables: TypeTables, rows: Sequence[Mapping[str, Any]]) -> None:
        """Add `rows` (startTime, bucketLength, key ids, values, entriesInBucket) to existing buckets."""
        if not rows:
            return
        buckets = tables.buckets
        summed = [*tables.atype.value_fields, "entriesInBucket"]
        if self.is_mysql:
            my_stmt = mysql.insert(buckets)
            stmt: Any = my_stmt.on_duplicate_key_update({c: buckets.c[c] + my_stmt.inserted[c] for c in summed})
        else:
            lite_stmt = sqlite.insert(buckets)
            stmt = lite_stmt.on_conflict_do_update(
                index_elements=[c.name for c in buckets.primary_key.columns],
                set_={c: buckets.c[c] + lite_stmt.excluded[c] for c in summed},
            )
        for start in range(0, len(rows), CHUNK):
            conn.execute(stmt, list(rows[start : start + CHUNK]))

    # -- leases ------------------------------------------------------------------------------
    def acquire_lease(self, name: str, owner: str, now: float, ttl: float) -> str:
        """Take or renew lease `name` for `owner` unless another owner holds an unexpired one.

        Returns the owner holding it afterwards (`owner` when acquired)."""
        with self.engine.begin() as conn:
            conn.execute(insert(ac_Leases).prefix_with(self._ignore).values(Name=name, Owner=owner, Expires=now + ttl))
            conn.execute(
                update(ac_Leases)
                .where(and_(ac_Leases.c.Name == name, (ac_Leases.c.Owner == owner) | (ac_Leases.c.Expires < now)))
                .values(Owner=owner, Expires=now + ttl)
            )
            holder = conn.execute(select(ac_Leases.c.Owner).where(ac_Leases.c.Name == name)).scalar_one()
        return str(holder)

    def release_lease(self, name: str, owner: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(ac_Leases).where(and_(ac_Leases.c.Name == name, ac_Leases.c.Owner == owner)).values(Expires=0.0)
            )

    def lease_holder(self, name: str, now: float) -> str | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(ac_Leases).where(ac_Leases.c.Name == name)).first()
        return str(row.Owner) if row is not None and row.Expires >= now else None


__all__ = ["AccountingDB", "TypeTables", "ac_Leases", "ac_catalog_Types", "build_type_tables", "metadata"]
