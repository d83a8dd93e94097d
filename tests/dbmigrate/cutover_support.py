"""Helpers for the cutover tests: a small snapshot copy, a continuous writer, the cutover driver.

The copy here is deliberately simple (SHOW CREATE TABLE + SELECT/INSERT inside one consistent
snapshot): the cutover tests exercise replication, freeze and switch, not the bulk engine.
Run as a module it is the cutover subprocess the SIGKILL tests kill and re-run.
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pymysql

from dirac_core.dbmigrate import cutover
from dirac_core.dbmigrate.replication import Endpoint, snapshot_gtid


def connect(endpoint: Endpoint, database: str | None = None) -> Any:
    return pymysql.connect(
        host=endpoint.host,
        port=endpoint.port,
        user=endpoint.user,
        password=endpoint.password(),
        database=database,
        charset="utf8mb4",
        autocommit=True,
    )


def snapshot_copy(
    source: Endpoint, target: Endpoint, databases: list[str], renames: dict[str, str] | None = None
) -> str:
    """Copy `databases` from one consistent snapshot; return its ``binlog_snapshot_gtid_pos``."""
    with contextlib.closing(connect(source)) as sconn, contextlib.closing(connect(target)) as tconn:
        scur, tcur = sconn.cursor(), tconn.cursor()
        scur.execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        scur.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT")
        gtid = snapshot_gtid(sconn)
        for db in databases:
            new = (renames or {}).get(db, db)
            tcur.execute(f"CREATE DATABASE IF NOT EXISTS `{new}`")
            scur.execute(f"SHOW FULL TABLES FROM `{db}` WHERE Table_type = 'BASE TABLE'")
            for table, _kind in scur.fetchall():
                scur.execute(f"SHOW CREATE TABLE `{db}`.`{table}`")
                ddl = scur.fetchone()[1]
                tcur.execute(f"DROP TABLE IF EXISTS `{new}`.`{table}`")
                tcur.execute(f"USE `{new}`")
                tcur.execute(ddl)
                scur.execute(f"SELECT * FROM `{db}`.`{table}`")
                rows = scur.fetchall()
                if rows:
                    marks = ",".join(["%s"] * len(rows[0]))
                    tcur.executemany(f"INSERT INTO `{new}`.`{table}` VALUES ({marks})", rows)
        scur.execute("COMMIT")
    return gtid


@dataclass
class Writer:
    """Inserts (and updates) rows into ``<db>.FC_Files`` as an unprivileged service would."""

    endpoint: Endpoint
    database: str
    interval: float = 0.002
    committed: set[int] = field(default_factory=set)
    refused: int = 0
    errors: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> Writer:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        conn = None
        n = 0
        while not self._stop.is_set():
            try:
                if conn is None:
                    conn = connect(self.endpoint, self.database)
                with conn.cursor() as cur:
                    n += 1
                    cur.execute(
                        "INSERT INTO FC_Files (LFN, Size, Checksum) VALUES (%s, %s, %s)",
                        (f"/vo/w/{n}", n, None if n % 7 == 0 else f"{n:08x}"),
                    )
                    new_id = cur.lastrowid
                    if n % 10 == 0:
                        cur.execute("UPDATE FC_Files SET Size = Size + 1 WHERE FileID = %s", (new_id // 2,))
                self.committed.add(int(new_id))
            except pymysql.err.MySQLError as exc:
                code = exc.args[0] if exc.args else 0
                if code == 1290:  # read_only: the freeze; a service would retry against the new DB
                    self.refused += 1
                else:
                    self.errors.append(str(exc))
                with contextlib.suppress(Exception):
                    if conn is not None:
                        conn.close()
                conn = None
                time.sleep(0.05)
            time.sleep(self.interval)
        if conn is not None:
            conn.close()


def spec_from_json(data: dict[str, Any]) -> cutover.CutoverSpec:
    def endpoint(d: dict[str, Any]) -> Endpoint:
        return Endpoint(d["host"], d["port"], d["user"], Path(d["password_file"]) if d.get("password_file") else None)

    return cutover.CutoverSpec(
        source=endpoint(data["source"]),
        target=endpoint(data["target"]),
        databases=data["databases"],
        workdir=Path(data["workdir"]),
        mode=data.get("mode", "replicate"),
    )


def main() -> None:
    data = json.loads(sys.argv[1])
    spec = spec_from_json(data)
    result = cutover.run(spec, lambda: snapshot_copy(spec.source, spec.target, spec.databases))
    print(json.dumps({"freeze_seconds": result.freeze_seconds, "mode": result.mode}))


if __name__ == "__main__":
    main()
