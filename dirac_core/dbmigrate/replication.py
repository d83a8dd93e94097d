"""Catch-up through MariaDB GTID replication: the target replays the source's binlog from the snapshot.

After the bulk copy the target holds the source as it was at the snapshot's GTID position
(``binlog_snapshot_gtid_pos``). We make the target a replica of the source under a named
multi-source connection (``dirac_migrate``) starting at that position, restricted to the copied
databases with ``<connection>.replicate_wild_do_table`` (reset databases are *not* replicated), and
poll until the target has applied everything the source has written.

Secrets: the replication account's password comes from a 0600 file and is sent to the servers as
a bound parameter; it is never on a command line, in the state file or in any output.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dirac_core.db.engine import read_secret_file
from dirac_core.errors import Conflict, ServiceUnavailable

CONNECTION = "dirac_migrate"
REPLICATION_USER = "dirac_migrate_repl"


@dataclass(frozen=True)
class Endpoint:
    """A MariaDB server as the plan names it: host, port, an admin user and its 0600 password file."""

    host: str
    port: int
    user: str
    password_file: Path | None = None

    def password(self) -> str:
        return read_secret_file(self.password_file) if self.password_file else ""

    def label(self) -> str:
        return f"{self.host}:{self.port}"

    @contextlib.contextmanager
    def connect(self, database: str | None = None) -> Iterator[Any]:
        """An autocommit DBAPI connection (PyMySQL: admin statements, not bulk data)."""
        import pymysql

        try:
            conn = pymysql.connect(
                host=self.host,
                port=self.port,
                user=self.user,
                password=self.password(),
                database=database,
                charset="utf8mb4",
                autocommit=True,
                connect_timeout=10,
            )
        except pymysql.err.OperationalError as exc:
            raise ServiceUnavailable(
                f"cannot connect to MariaDB {self.label()} as {self.user}: {exc.args[-1]}; "
                "check host, port, user and password_file in the plan"
            ) from exc
        try:
            yield conn
        finally:
            conn.close()


def query(conn: Any, sql: str, args: Sequence[Any] | None = None) -> list[dict[str, Any]]:
    """Rows as dicts (column name → value)."""
    with conn.cursor() as cur:
        cur.execute(sql, args)
        if cur.description is None:
            return []
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def scalar(conn: Any, sql: str, args: Sequence[Any] | None = None) -> Any:
    with conn.cursor() as cur:
        cur.execute(sql, args)
        row = cur.fetchone()
        return None if row is None else row[0]


def execute(conn: Any, sql: str, args: Sequence[Any] | None = None) -> None:
    with conn.cursor() as cur:
        cur.execute(sql, args)


# --- GTID positions -------------------------------------------------------------------------------


def parse_gtid_pos(pos: str | None) -> dict[int, int]:
    """``"0-1-42,1-5-7"`` → ``{domain: seq_no}`` (highest seq_no per domain)."""
    result: dict[int, int] = {}
    for item in (pos or "").split(","):
        item = item.strip()
        if not item:
            continue
        domain, _server, seq = (int(part) for part in item.split("-"))
        result[domain] = max(result.get(domain, 0), seq)
    return result


def gtid_reached(applied: str | None, wanted: str | None) -> bool:
    """True when `applied` contains, per replication domain, at least the seq_no of `wanted`."""
    have = parse_gtid_pos(applied)
    return all(have.get(domain, -1) >= seq for domain, seq in parse_gtid_pos(wanted).items())


def format_gtid_pos(pos: dict[int, str]) -> str:
    """``{domain: "D-S-N"}`` → ``"D-S-N,…"`` in domain order."""
    return ",".join(pos[domain] for domain in sorted(pos))


def _gtids_by_domain(pos: str | None) -> dict[int, str]:
    result: dict[int, str] = {}
    for item in (pos or "").split(","):
        item = item.strip()
        if item:
            result[int(item.split("-")[0])] = item
    return result


def replica_start_pos(snapshot: str, target_binlog: str, target_label: str = "target") -> str:
    """The ``gtid_slave_pos`` a target with its own binlog needs to replicate from `snapshot`.

    With ``gtid_strict_mode`` MariaDB refuses a ``gtid_slave_pos`` that omits a domain of the
    target's own binlog (ERROR 1948) or lies behind it (ERROR 1947). The snapshot names where to
    start in the source's domains; the target's own domains (``gtid_binlog_pos``) are added as they
    are — the source never sends events in them, so they only record the target's own history.
    A domain both name where the target's binlog is *ahead* of the snapshot is a real collision
    (the target wrote in a domain the source uses): it is refused, not papered over.
    """
    start = _gtids_by_domain(snapshot)
    own = _gtids_by_domain(target_binlog)
    for domain, gtid in own.items():
        if domain not in start:
            start[domain] = gtid
        elif int(gtid.split("-")[2]) > int(start[domain].split("-")[2]):
            raise Conflict(
                f"target {target_label} binlog holds GTID {gtid}, ahead of the source snapshot's {start[domain]} "
                f"in replication domain {domain}: the target wrote in a domain the source uses; give every DB "
                "server its own gtid_domain_id (dirac_mariadb sets it per host) and re-copy into the target"
            )
    return format_gtid_pos(start)


def check_gtid_domains(source: Endpoint, target: Endpoint) -> None:
    """Cutover preflight: a target with a binlog must not share the source's ``gtid_domain_id``.

    The target logs its own writes (the bulk copy, reset databases) under its ``gtid_domain_id``;
    in the source's domain they would collide with the replicated stream (ERROR 1947/1950 under
    ``gtid_strict_mode``, silent divergence without it). Raises Conflict naming the fix.
    """
    with source.connect() as sconn, target.connect() as tconn:
        if not scalar(tconn, "SELECT @@log_bin"):
            return  # no binlog on the target: its writes carry no GTIDs
        source_domain = int(scalar(sconn, "SELECT @@gtid_domain_id"))
        target_domain = int(scalar(tconn, "SELECT @@gtid_domain_id"))
        if source_domain == target_domain:
            raise Conflict(
                f"source {source.label()} and target {target.label()} both use gtid_domain_id {source_domain} and the "
                "target has a binlog: their GTIDs would collide; give each DB server its own gtid_domain_id "
                "(dirac_mariadb: one per host in the inventory; by hand: SET GLOBAL gtid_domain_id = N on the "
                "target and gtid_domain_id = N in its my.cnf), then re-run"
            )


def snapshot_binlog_position(conn: Any) -> tuple[str, int]:
    """Binlog file and offset of the current ``START TRANSACTION WITH CONSISTENT SNAPSHOT``."""
    status = {r["Variable_name"].lower(): r["Value"] for r in query(conn, "SHOW STATUS LIKE 'binlog_snapshot_%'")}
    return str(status.get("binlog_snapshot_file") or ""), int(status.get("binlog_snapshot_position") or 0)


def snapshot_gtid(conn: Any) -> str:
    """The GTID position of the current ``START TRANSACTION WITH CONSISTENT SNAPSHOT`` ('' without binlog).

    MariaDB 10.11 has no ``binlog_snapshot_gtid_pos``; it exposes the snapshot's binlog file and
    offset (``Binlog_snapshot_file``/``_position``), which ``BINLOG_GTID_POS()`` turns into a GTID.
    """
    log_file, offset = snapshot_binlog_position(conn)
    if not log_file:
        return ""
    return str(scalar(conn, "SELECT BINLOG_GTID_POS(%s, %s)", (log_file, offset)) or "")


def has_binlog(source: Endpoint) -> bool:
    with source.connect() as conn:
        return bool(scalar(conn, "SELECT @@log_bin"))


def source_binlog_pos(source: Endpoint) -> str:
    with source.connect() as conn:
        return str(scalar(conn, "SELECT @@gtid_binlog_pos") or "")


# --- replica status -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplicaStatus:
    exists: bool
    io_running: str = "No"
    sql_running: str = "No"
    seconds_behind: int | None = None
    last_io_error: str = ""
    last_sql_error: str = ""
    master_host: str = ""
    master_port: int = 0
    gtid_slave_pos: str = ""

    @property
    def running(self) -> bool:
        return self.io_running == "Yes" and self.sql_running == "Yes"

    @property
    def error(self) -> str:
        return self.last_sql_error or self.last_io_error


def replica_status(target: Endpoint) -> ReplicaStatus:
    with target.connect() as conn:
        slave_pos = str(scalar(conn, "SELECT @@gtid_slave_pos") or "")
        for row in query(conn, "SHOW ALL SLAVES STATUS"):
            if row.get("Connection_name") == CONNECTION:
                return ReplicaStatus(
                    exists=True,
                    io_running=str(row.get("Slave_IO_Running") or "No"),
                    sql_running=str(row.get("Slave_SQL_Running") or "No"),
                    seconds_behind=row.get("Seconds_Behind_Master"),
                    last_io_error=str(row.get("Last_IO_Error") or ""),
                    last_sql_error=str(row.get("Last_SQL_Error") or ""),
                    master_host=str(row.get("Master_Host") or ""),
                    master_port=int(row.get("Master_Port") or 0),
                    gtid_slave_pos=slave_pos,
                )
        return ReplicaStatus(exists=False, gtid_slave_pos=slave_pos)


# --- setup ----------------------------------------------------------------------------------------


def ensure_replication_user(source: Endpoint, password_file: Path, user: str = REPLICATION_USER) -> None:
    """Create (or re-key) the source's replication account: REPLICATION SLAVE only.

    ``sql_log_bin=0`` keeps the account out of the binlog, so it is not replayed on the target.
    """
    password = read_secret_file(password_file)
    with source.connect() as conn:
        execute(conn, "SET SESSION sql_log_bin = 0")
        execute(conn, "CREATE USER IF NOT EXISTS %s@'%%' IDENTIFIED BY %s", (user, password))
        execute(conn, "ALTER USER %s@'%%' IDENTIFIED BY %s", (user, password))
        execute(conn, "GRANT REPLICATION SLAVE ON *.* TO %s@'%%'", (user,))


def drop_replication_user(source: Endpoint, user: str = REPLICATION_USER) -> None:
    with source.connect() as conn:
        execute(conn, "SET SESSION sql_log_bin = 0")
        execute(conn, "DROP USER IF EXISTS %s@'%%'", (user,))


def wild_do_tables(databases: Sequence[str]) -> str:
    r"""``replicate_wild_do_table`` value: every table of each copied DB (``_``/``%`` escaped)."""
    escaped = [db.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%") for db in databases]
    return ",".join(f"{db}.%" for db in escaped)


def rewrite_db(renames: dict[str, str]) -> str:
    """``replicate_rewrite_db`` value for databases the plan renames on the target."""
    return ",".join(f"{src}->{dst}" for src, dst in sorted(renames.items()))


def configure_replica(
    source: Endpoint,
    target: Endpoint,
    databases: Sequence[str],
    snapshot_gtid: str,
    target_names: dict[str, str],
    password_file: Path,
    source_host_for_target: str | None = None,
    user: str = REPLICATION_USER,
    say: Callable[[str], None] = print,
) -> None:
    """Make the target replicate the copied DBs from the snapshot's GTID. Safe to call again.

    If the ``dirac_migrate`` connection already exists (a re-run after a crash) its position has
    moved past the snapshot: it is only (re)started, never re-pointed — re-pointing would replay
    transactions twice.
    """
    status = replica_status(target)
    host = source_host_for_target or source.host
    if status.exists:
        if (status.master_host, status.master_port) != (host, source.port):
            raise Conflict(
                f"target {target.label()} already replicates connection '{CONNECTION}' from "
                f"{status.master_host}:{status.master_port}, not {host}:{source.port}: "
                f"run RESET SLAVE '{CONNECTION}' ALL on the target if that migration is abandoned"
            )
        say(f"replica connection '{CONNECTION}' exists (resuming at {status.gtid_slave_pos or 'start'})")
        start_replica(target)
        return
    with source.connect() as sconn, target.connect() as tconn:
        source_id = scalar(sconn, "SELECT @@server_id")
        if scalar(tconn, "SELECT @@server_id") == source_id:
            # A replica skips events carrying its own server_id: they would be silently lost.
            execute(tconn, "SET GLOBAL server_id = %s", (int(source_id) + 1000,))
            say(f"target server_id was {source_id} like the source: set to {int(source_id) + 1000}")
        running = [r for r in query(tconn, "SHOW ALL SLAVES STATUS") if r.get("Slave_SQL_Running") == "Yes"]
        if running:
            names = ", ".join(repr(r.get("Connection_name")) for r in running)
            raise Conflict(
                f"target {target.label()} is already a running replica ({names}): "
                "gtid_slave_pos cannot be set; stop those replica connections first"
            )
        # The target stays read-only for the services while it catches up (the replica thread is
        # exempt); it becomes writable only at the switch.
        execute(tconn, "SET GLOBAL read_only = ON")
        # A target with its own binlog (log_bin + gtid_strict_mode, as dirac_mariadb sets up every DB
        # server) needs its own domains in gtid_slave_pos too.
        logs = scalar(tconn, "SELECT @@log_bin")
        target_binlog = str(scalar(tconn, "SELECT @@gtid_binlog_pos") or "") if logs else ""
        start = replica_start_pos(snapshot_gtid, target_binlog, target.label())
        execute(tconn, "SET GLOBAL gtid_slave_pos = %s", (start,))
        execute(
            tconn,
            f"CHANGE MASTER '{CONNECTION}' TO MASTER_HOST = %s, MASTER_PORT = %s, MASTER_USER = %s, "
            "MASTER_PASSWORD = %s, MASTER_USE_GTID = slave_pos, MASTER_CONNECT_RETRY = 1",
            (host, source.port, user, read_secret_file(password_file)),
        )
        # Filters are checked after the rewrite: they name the databases as the target calls them.
        renames = {src: dst for src, dst in target_names.items() if dst != src}
        execute(tconn, f"SET GLOBAL {CONNECTION}.replicate_rewrite_db = %s", (rewrite_db(renames),))
        copied = [target_names.get(db, db) for db in databases]
        execute(tconn, f"SET GLOBAL {CONNECTION}.replicate_wild_do_table = %s", (wild_do_tables(copied),))
    say(f"target {target.label()} replicates {', '.join(databases)} from {source.label()} after GTID {start}")
    start_replica(target)


def start_replica(target: Endpoint) -> None:
    """Start both replica threads; a no-op when they already run."""
    if replica_status(target).running:
        return
    with target.connect() as conn:
        execute(conn, f"STOP SLAVE '{CONNECTION}'")  # one of the threads may run: START needs both stopped
        execute(conn, f"START SLAVE '{CONNECTION}'")


def stop_and_reset_replica(target: Endpoint) -> None:
    """The switch: forget the source entirely (idempotent)."""
    with target.connect() as conn:
        names = [r.get("Connection_name") for r in query(conn, "SHOW ALL SLAVES STATUS")]
        if CONNECTION in names:
            execute(conn, f"STOP SLAVE '{CONNECTION}'")
            execute(conn, f"RESET SLAVE '{CONNECTION}' ALL")


# --- waiting --------------------------------------------------------------------------------------


def wait_caught_up(
    source: Endpoint,
    target: Endpoint,
    until_gtid: str | None = None,
    timeout: float = 3600,
    interval: float = 0.2,
    say: Callable[[str], None] = print,
    progress_every: float = 5.0,
) -> ReplicaStatus:
    """Poll until lag is 0 and the target applied the source's GTID position.

    With `until_gtid` (the frozen source's final position) wait for exactly that; otherwise chase
    the source's current ``gtid_binlog_pos`` (it moves while services write) until the replica
    reports ``Seconds_Behind_Master = 0`` and has applied what the source had when we looked.
    """
    deadline = time.monotonic() + timeout
    last_report = 0.0
    while True:
        wanted = until_gtid if until_gtid is not None else source_binlog_pos(source)
        status = replica_status(target)
        if not status.exists:
            raise Conflict(f"target {target.label()} has no replica connection '{CONNECTION}': configure it first")
        if status.error:
            raise Conflict(
                f"replication from {source.label()} to {target.label()} failed: {status.error}; "
                "fix the cause, then re-run (the replica resumes where it stopped)"
            )
        lag = status.seconds_behind
        done = gtid_reached(status.gtid_slave_pos, wanted) and (until_gtid is not None or lag == 0)
        now = time.monotonic()
        if done or now - last_report >= progress_every:
            say(
                f"replication: lag {lag if lag is not None else '?'} s, applied {status.gtid_slave_pos or '-'}, "
                f"source at {wanted or '-'}"
            )
            last_report = now
        if done:
            return status
        if now > deadline:
            raise ServiceUnavailable(
                f"replica {target.label()} did not catch up with {source.label()} within {timeout:.0f}s "
                f"(applied {status.gtid_slave_pos}, source {wanted}); re-run to keep waiting"
            )
        time.sleep(interval)
