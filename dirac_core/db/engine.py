"""Build SQLAlchemy engines for DIRAC databases from the CS.

A database section (``/Systems/<System>/<Instance>/Databases/<DBName>``) holds either ``URL``
(e.g. ``sqlite:////opt/dirac/db/JobDB.sqlite``, the embedded default) or DIRAC's
``Host``/``Port``/``User``/``DBName`` plus ``PasswordFile`` (a 0600 file: passwords are never
inlined in CFG files or command lines).
"""

from __future__ import annotations

import importlib.util
import stat
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url

from dirac_core.config.cfg import Config
from dirac_core.config.paths import database_section
from dirac_core.errors import ConfigError


def mysql_driver() -> str:
    """mysqlclient (C) when installed, else PyMySQL. See bench/db_driver.py for the measurement."""
    return "mysqldb" if importlib.util.find_spec("MySQLdb") else "pymysql"


def read_secret_file(path: Path) -> str:
    """Read a secret from a file that only its owner may read."""
    if not path.is_file():
        raise ConfigError(f"secret file {path} not found: create it with mode 0600")
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise ConfigError(f"secret file {path} has mode {mode:04o}: run chmod 0600 {path}")
    return path.read_text(encoding="utf-8").strip()


def url_from_section(config: Config, section: str) -> URL:
    if config.has(f"{section}/URL"):
        return make_url(config.get(f"{section}/URL"))
    if not config.has(f"{section}/Host"):
        raise ConfigError(f"{section}: set URL (sqlite) or Host/Port/User/DBName/PasswordFile (MariaDB)")
    password_file = config.get(f"{section}/PasswordFile", None)
    password = read_secret_file(Path(password_file)) if password_file else None
    return URL.create(
        f"mysql+{mysql_driver()}",
        username=config.get(f"{section}/User"),
        password=password,
        host=config.get(f"{section}/Host"),
        port=config.get_int(f"{section}/Port", 3306),
        database=config.get(f"{section}/DBName"),
        query={"charset": "utf8mb4"},
    )


def database_url(config: Config, system: str, db_name: str) -> URL:
    return url_from_section(config, database_section(config, system, db_name))


def make_engine(url: str | URL, **kwargs: Any) -> Engine:
    """Engine with settings that matter for DIRAC's workloads on both backends."""
    url = make_url(url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        _sqlite_transactions(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_recycle", 3600)
    kwargs.setdefault("pool_size", 10)
    return create_engine(url, **kwargs)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the services of `dirac-core up` read while another process writes.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


# Statements after which pysqlite's own handling would have begun a transaction, plus SAVEPOINT and DDL.
_SQLITE_WRITES = frozenset({"INSERT", "UPDATE", "DELETE", "REPLACE", "SAVEPOINT", "CREATE", "DROP", "ALTER"})


def _sqlite_transactions(engine: Engine) -> None:
    """Real transactions and SAVEPOINTs on SQLite: the documented SQLAlchemy pysqlite workaround.

    pysqlite begins a transaction only before INSERT/UPDATE/DELETE, so a SAVEPOINT that comes first
    opens a transaction of its own and its RELEASE commits it: begin_nested() committed at once and
    survived the outer rollback. Here pysqlite's handling is off (isolation_level None) and the
    BEGIN is emitted by these hooks. It is emitted lazily, as BEGIN IMMEDIATE before the first write
    of the SQLAlchemy transaction: reads before it take no lock (readers never wait for a writer, as
    with WAL before), and the write lock is taken up front with the busy timeout, so a transaction
    that read first is never refused later with SQLITE_BUSY for a stale snapshot.
    """

    @event.listens_for(engine, "connect")
    def _no_pysqlite_transactions(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin_at_first_write(conn: Connection) -> None:
        conn.info["sqlite_begin_pending"] = True

    @event.listens_for(engine, "before_cursor_execute")
    def _begin(conn: Connection, cursor: Any, statement: str, *_args: Any) -> None:
        if conn.info.get("sqlite_begin_pending") and statement.lstrip().split(None, 1)[0].upper() in _SQLITE_WRITES:
            conn.info["sqlite_begin_pending"] = False
            cursor.execute("BEGIN IMMEDIATE")

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _end(conn: Connection) -> None:
        conn.info["sqlite_begin_pending"] = False
