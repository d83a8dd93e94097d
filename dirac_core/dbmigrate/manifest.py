"""The migration's memory: what was dumped, moved, loaded and verified, so a killed run continues.

One SQLite file ``<state-dir>/manifest.sqlite`` (WAL, synchronous=FULL): every state change is one
committed transaction, so a SIGKILL at any point leaves either the old or the new state. Files the
manifest points at are written as ``*.part`` and renamed, so a recorded file is always complete.

Chunk states: ``dumped`` (file written, source rows + checksum recorded inside the snapshot) ->
``transferred`` (file in the load area, size checked) -> ``loaded`` (range deleted and file loaded in
one target transaction) -> ``verified`` (target rows + checksum equal the source's) or ``failed``.

The cutover step reads `Manifest.snapshot()`: the binlog file/position and GTID of the dump snapshot.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CHUNK_STATES = ("dumped", "transferred", "loaded", "verified", "failed")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS dbs (
    name TEXT PRIMARY KEY, target TEXT NOT NULL, strategy TEXT NOT NULL, phase TEXT NOT NULL,
    schema_json TEXT, info TEXT NOT NULL DEFAULT '{}', updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks (
    db TEXT NOT NULL, tbl TEXT NOT NULL, idx INTEGER NOT NULL, lo TEXT, hi TEXT,
    state TEXT NOT NULL, file TEXT, bytes INTEGER, src_rows INTEGER, src_sum TEXT,
    tgt_rows INTEGER, tgt_sum TEXT, expect_sum TEXT, seconds REAL, updated REAL NOT NULL,
    PRIMARY KEY (db, tbl, idx)
);
"""


@dataclass
class ChunkRow:
    db: str
    tbl: str
    idx: int
    lo: list[str] | None
    hi: list[str] | None
    state: str
    file: str | None
    bytes: int | None
    src_rows: int | None
    src_sum: str | None
    tgt_rows: int | None
    tgt_sum: str | None
    expect_sum: str | None
    seconds: float | None

    @property
    def expected_sum(self) -> str | None:
        """What the target must hold: the source's checksum, or the one after a recorded rename."""
        return self.expect_sum or self.src_sum


class Manifest:
    def __init__(self, state_dir: Path) -> None:
        self.state_dir = Path(state_dir)
        # The state holds dumps of the databases: the operator's alone (0700 dir, 0600 manifest;
        # SQLite gives its -wal and -shm files the manifest's mode).
        self.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.path = self.state_dir / "manifest.sqlite"
        os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    # -- meta --------------------------------------------------------------------------------------
    def get(self, key: str, default: Any = None) -> Any:
        with self._lock:
            row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return default if row is None else json.loads(row[0])

    def set(self, key: str, value: Any) -> None:
        with self._tx() as c:
            c.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, json.dumps(value)))

    def snapshot(self) -> dict[str, Any] | None:
        """Where the dump snapshot sits in the source's binlog: {gtid, file, pos, log_bin, taken_at}.

        None until the dump has started. ``gtid``/``file`` are empty when the source has no binlog
        (then only a frozen cutover is possible).
        """
        value = self.get("snapshot")
        return value if isinstance(value, dict) else None

    # -- databases ---------------------------------------------------------------------------------
    def db(self, name: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT name, target, strategy, phase, schema_json, info FROM dbs WHERE name = ?", (name,)
            ).fetchone()
        if row is None:
            return None
        return {
            "name": row[0],
            "target": row[1],
            "strategy": row[2],
            "phase": row[3],
            "schema": json.loads(row[4]) if row[4] else None,
            "info": json.loads(row[5]),
        }

    def set_db(
        self,
        name: str,
        *,
        target: str,
        strategy: str,
        phase: str,
        schema: dict[str, Any] | None = None,
        info: dict[str, Any] | None = None,
    ) -> None:
        old = self.db(name)
        schema_json = (
            json.dumps(schema) if schema is not None else (json.dumps(old["schema"]) if old and old["schema"] else None)
        )
        merged = {**(old["info"] if old else {}), **(info or {})}
        with self._tx() as c:
            c.execute(
                "INSERT OR REPLACE INTO dbs (name, target, strategy, phase, schema_json, info, updated) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (name, target, strategy, phase, schema_json, json.dumps(merged), time.time()),
            )

    def set_phase(self, name: str, phase: str, **info: Any) -> None:
        with self._tx() as c:
            row = c.execute("SELECT info FROM dbs WHERE name = ?", (name,)).fetchone()
            merged = {**(json.loads(row[0]) if row else {}), **info}
            c.execute(
                "UPDATE dbs SET phase = ?, info = ?, updated = ? WHERE name = ?",
                (phase, json.dumps(merged), time.time(), name),
            )

    def dbs(self) -> list[dict[str, Any]]:
        with self._lock:
            names = [r[0] for r in self._conn.execute("SELECT name FROM dbs ORDER BY rowid")]
        return [d for d in (self.db(n) for n in names) if d is not None]

    # -- chunks ------------------------------------------------------------------------------------
    def forget_chunks(self, db: str) -> None:
        with self._tx() as c:
            c.execute("DELETE FROM chunks WHERE db = ?", (db,))

    def add_dumped(
        self,
        db: str,
        tbl: str,
        idx: int,
        lo: list[str] | None,
        hi: list[str] | None,
        file: str,
        size: int,
        rows: int,
        checksum: str,
        seconds: float,
    ) -> None:
        with self._tx() as c:
            c.execute(
                "INSERT OR REPLACE INTO chunks (db, tbl, idx, lo, hi, state, file, bytes, src_rows, src_sum, seconds, "
                "updated) VALUES (?, ?, ?, ?, ?, 'dumped', ?, ?, ?, ?, ?, ?)",
                (db, tbl, idx, json.dumps(lo), json.dumps(hi), file, size, rows, checksum, seconds, time.time()),
            )

    def set_chunk(self, db: str, tbl: str, idx: int, state: str, **fields: Any) -> None:
        if state not in CHUNK_STATES:
            raise ValueError(f"unknown chunk state {state!r}")
        allowed = {"file", "tgt_rows", "tgt_sum", "expect_sum", "seconds"}
        bad = set(fields) - allowed
        if bad:
            raise ValueError(f"unknown chunk fields {sorted(bad)}")
        sets = "".join(f", {k} = ?" for k in fields)
        with self._tx() as c:
            c.execute(
                f"UPDATE chunks SET state = ?, updated = ?{sets} WHERE db = ? AND tbl = ? AND idx = ?",
                (state, time.time(), *fields.values(), db, tbl, idx),
            )

    def chunks(self, db: str | None = None, tbl: str | None = None, states: tuple[str, ...] = ()) -> list[ChunkRow]:
        sql = (
            "SELECT db, tbl, idx, lo, hi, state, file, bytes, src_rows, src_sum, tgt_rows, tgt_sum, expect_sum, "
            "seconds "
            "FROM chunks WHERE 1 = 1"
        )
        params: list[Any] = []
        if db is not None:
            sql += " AND db = ?"
            params.append(db)
        if tbl is not None:
            sql += " AND tbl = ?"
            params.append(tbl)
        if states:
            sql += f" AND state IN ({', '.join('?' for _ in states)})"
            params.extend(states)
        sql += " ORDER BY db, tbl, idx"
        with self._lock:
            rows = self._conn.execute(sql, params).fetchall()
        return [
            ChunkRow(r[0], r[1], r[2], json.loads(r[3]) if r[3] else None, json.loads(r[4]) if r[4] else None, *r[5:])
            for r in rows
        ]

    def export_json(self) -> Path:
        """A human-readable copy of the manifest (written atomically) next to the SQLite file."""
        data = {
            "snapshot": self.snapshot(),
            "dump": self.get("dump"),
            "databases": self.dbs(),
            "chunks": [c.__dict__ for c in self.chunks()],
        }
        for db in data["databases"]:
            db.pop("schema", None)
        return write_atomic(self.state_dir / "manifest.json", json.dumps(data, indent=1, default=str))


def write_atomic(path: Path, content: str | bytes) -> Path:
    """Write to ``path.part``, fsync, rename: readers see the old file or the whole new one."""
    tmp = path.with_name(path.name + ".part")
    with tmp.open("wb") as fh:
        fh.write(content.encode() if isinstance(content, str) else content)
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(path)
    return path


__all__ = ["CHUNK_STATES", "ChunkRow", "Manifest", "write_atomic"]
