"""Connections to the source and target servers (mysqlclient, raw bytes, UTC, LOCAL INFILE allowed)."""

from __future__ import annotations

from typing import Any

import MySQLdb
import MySQLdb.cursors
from sqlalchemy.engine import URL

from dirac_core.db.engine import read_secret_file
from dirac_core.dbmigrate.plan import Endpoint
from dirac_core.errors import ConfigError


def connect_args(endpoint: Endpoint, database: str | None = None) -> dict[str, Any]:
    args: dict[str, Any] = {"user": endpoint.user, "charset": "utf8mb4", "local_infile": 1, "connect_timeout": 15}
    if endpoint.password_file is not None:
        args["passwd"] = read_secret_file(endpoint.password_file)
    if endpoint.socket is not None:
        args["unix_socket"] = str(endpoint.socket)
    else:
        args["host"] = endpoint.host
        args["port"] = endpoint.port
    if database:
        args["db"] = database
    return args


def connect(endpoint: Endpoint, database: str | None = None, raw: bool = False, read_timeout: int | None = None) -> Any:
    """An autocommit session in UTC (TIMESTAMPs travel unshifted) with a permissive sql_mode.

    raw=True: every value comes back as the server's bytes (no int/date/str conversion) - what the
    dump and checksum paths want, since they compare bytes.
    """
    args = connect_args(endpoint, database)
    if read_timeout:
        args["read_timeout"] = read_timeout
    if raw:
        args["conv"] = {}
        args["use_unicode"] = False
    try:
        conn = MySQLdb.connect(**args)
    except MySQLdb.OperationalError as exc:
        raise ConfigError(
            f"cannot connect to {endpoint.describe()}: {exc.args[-1]}: check host/port/user/password_file in the plan"
        ) from exc
    conn.autocommit(True)
    cur = conn.cursor()
    # NO_AUTO_VALUE_ON_ZERO: a row whose AUTO_INCREMENT column is 0 keeps 0 (as mysqldump does).
    cur.execute("SET time_zone = '+00:00', sql_mode = 'NO_AUTO_VALUE_ON_ZERO', SESSION group_concat_max_len = 1048576")
    if not endpoint.log_bin:
        try:
            cur.execute("SET SESSION sql_log_bin = 0")
        except MySQLdb.OperationalError as exc:
            conn.close()
            raise ConfigError(
                f"{endpoint.describe()} refused SET sql_log_bin = 0 ({exc.args[-1]}): a replicate cutover loads "
                "the target without binlog; grant the plan's target user BINLOG ADMIN (or SUPER)"
            ) from exc
    cur.close()
    return conn


def quote(name: str) -> str:
    """A quoted identifier (backticks doubled)."""
    return "`" + name.replace("`", "``") + "`"


def text(value: Any) -> str:
    """Server bytes (raw sessions) or str as str."""
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", "surrogateescape")
    return "" if value is None else str(value)


def query(conn: Any, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    cur = conn.cursor()
    try:
        cur.execute(sql, params)
        return list(cur.fetchall()) if cur.description else []
    finally:
        cur.close()


def server_info(conn: Any) -> dict[str, Any]:
    row = query(conn, "SELECT @@version, @@log_bin, @@server_id")[0]
    return {"version": text(row[0]), "log_bin": int(row[1]) == 1, "server_id": int(row[2])}


def database_exists(conn: Any, name: str) -> bool:
    return bool(query(conn, "SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", (name,)))


def database_has_rows(conn: Any, name: str) -> bool:
    """True when any base table of `name` holds a row (exact: one indexed probe per table)."""
    tables = [
        text(r[0])
        for r in query(
            conn,
            "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s AND TABLE_TYPE = 'BASE TABLE'",
            (name,),
        )
    ]
    for t in tables:
        try:
            if query(conn, f"SELECT 1 FROM {quote(name)}.{quote(t)} LIMIT 1"):
                return True
        except MySQLdb.OperationalError as exc:
            # 1814/1812: a tablespace discarded for an import (a killed physical copy) or missing: its
            # rows are unknown, so the database counts as holding some (only --confirm or our manifest).
            if exc.args and exc.args[0] in (1812, 1814):
                return True
            raise
    return False


def database_is_empty(conn: Any, name: str) -> bool:
    """No tables, views or routines at all."""
    if query(conn, "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s LIMIT 1", (name,)):
        return False
    return not query(conn, "SELECT 1 FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = %s LIMIT 1", (name,))


def sqlalchemy_url(endpoint: Endpoint, database: str) -> URL:
    query_args: dict[str, str] = {"charset": "utf8mb4"}
    if endpoint.socket is not None:
        query_args["unix_socket"] = str(endpoint.socket)
    return URL.create(
        "mysql+mysqldb",
        username=endpoint.user,
        password=read_secret_file(endpoint.password_file) if endpoint.password_file else None,
        host=None if endpoint.socket else endpoint.host,
        port=None if endpoint.socket else endpoint.port,
        database=database,
        query=query_args,
    )


def recreate_database(endpoint: Endpoint, name: str, options: str) -> None:
    """Drop `name` on `endpoint` if it exists and create it empty with `options` (charset, collation)."""
    conn = connect(endpoint)
    try:
        if database_exists(conn, name):
            query(conn, f"DROP DATABASE {quote(name)}")
        query(conn, f"CREATE DATABASE {quote(name)} {options}")
    finally:
        conn.close()


__all__ = [
    "connect",
    "connect_args",
    "database_exists",
    "database_has_rows",
    "database_is_empty",
    "query",
    "quote",
    "recreate_database",
    "server_info",
    "sqlalchemy_url",
    "text",
]
