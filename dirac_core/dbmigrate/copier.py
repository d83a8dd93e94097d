"""The copy strategy: dump -> transfer -> load -> verify, per primary-key chunk, resumable.

One dumper thread holds the source snapshot (``START TRANSACTION WITH CONSISTENT SNAPSHOT``; its binlog
file/position and GTID go into the manifest for the cutover step) and writes every chunk of every
copied database to an escaped-TSV file together with its row count and checksum. Loader threads
pick chunks up as soon as they are dumped, move them to the load area, load them with
``LOAD DATA LOCAL INFILE`` (delete of the key range + load in one transaction: reloading is
idempotent) and verify them against the source's checksum.

If the process dies before the dump is complete, the next run cannot reopen that snapshot: it drops
what it loaded and dumps again from a new one. Once the dump is complete, a rerun only finishes the
chunks that are not verified yet.
"""

from __future__ import annotations

import hashlib
import queue
import re
import shutil
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import MySQLdb
import MySQLdb.cursors

from dirac_core.dbmigrate import objects as obj
from dirac_core.dbmigrate import physical
from dirac_core.dbmigrate.chunks import Chunk, KeyValue, dump_sql, load_sql, plan_chunks, range_chunks
from dirac_core.dbmigrate.connect import connect, database_exists, query, quote, text
from dirac_core.dbmigrate.deferred_indexes import add_missing, split_create
from dirac_core.dbmigrate.faults import fault_point
from dirac_core.dbmigrate.manifest import ChunkRow, Manifest
from dirac_core.dbmigrate.plan import DatabasePlan, Plan
from dirac_core.dbmigrate.progress import NullProgress, Progress
from dirac_core.dbmigrate.verify import chunk_checksum, fingerprint

FETCH_ROWS = 10_000
LOAD_ATTEMPTS = 5
LOAD_TIMEOUT = 1800  # s: a stalled load fails (and a rerun resumes) instead of hanging forever


@dataclass
class CopyTarget:
    """One database being copied: its plan entry and the table renames applied on the target."""

    plan: DatabasePlan
    rename: dict[str, str] = field(default_factory=dict)  # source table -> target table

    @property
    def name(self) -> str:
        return self.plan.name

    @property
    def target(self) -> str:
        return self.plan.target_name


def _safe(name: str) -> str:
    digest = hashlib.sha1(name.encode(), usedforsecurity=False).hexdigest()[:8]
    return f"{re.sub(r'[^A-Za-z0-9_.-]', '_', name)[:60]}-{digest}"


class Copier:
    def __init__(
        self,
        plan: Plan,
        manifest: Manifest,
        progress: Progress | None = None,
        renamer: Callable[[str, list[str]], dict[str, str]] | None = None,
    ) -> None:
        self.plan = plan
        self.manifest = manifest
        self.progress = progress or NullProgress()
        self.renamer = renamer
        self.dump_dir = manifest.state_dir / "dump"
        self.load_dir = manifest.state_dir / "load"
        self.phys_dir = manifest.state_dir / "physical"
        # (db, table) -> staged tablespace files of a table that moves physically (see physical.py)
        self._phys: dict[tuple[str, str], dict[str, Any]] = {}
        self._phys_target: Path | None = None
        self._choice = physical.PhysicalChoice(off_reason="not chosen yet")
        self._tables: dict[tuple[str, str], obj.Table] = {}
        self._errors: list[BaseException] = []
        self._local = threading.local()
        # One loader per table at a time: a range DELETE next to a running LOAD DATA LOCAL on the same
        # table was seen to stall both for good on MariaDB 10.11; tables still load in parallel.
        self._table_locks: dict[tuple[str, str], threading.Lock] = {}
        self._dumped: set[tuple[str, str]] = set()  # tables whose every chunk is in the manifest
        self._locks_guard = threading.Lock()
        self._fk_groups: dict[str, dict[str, str]] = {}  # db -> table -> its foreign-key group
        self._import_locks: dict[tuple[str, str], threading.Lock] = {}

    # ------------------------------------------------------------------------------------------ run
    def run(self, dbs: list[DatabasePlan]) -> None:
        if not dbs:
            return
        jobs = [CopyTarget(db) for db in dbs]
        work: queue.Queue[tuple[str, str, int] | None] = queue.Queue()
        dumping = self.manifest.get("dump") != "complete"
        loaders = max(1, self.plan.workers)
        threads: list[threading.Thread] = []
        if dumping:
            self._fresh_start(jobs)
            threads.append(
                threading.Thread(target=self._guard, args=(self._dump_all, jobs, work, loaders), daemon=True)
            )
        else:
            self._load_schemas(jobs)
            self._dumped = set(self._tables)
            self._reset_physical(jobs)
            pending = [c for job in jobs for c in self.manifest.chunks(job.name) if c.state != "verified"]
            for job in jobs:
                for tbl in self._table_names(job.name):
                    rows = self.manifest.chunks(job.name, tbl)
                    self.progress.table(job.name, tbl, sum(c.src_rows or 0 for c in rows))
                    self.progress.advance(job.name, tbl, sum(c.src_rows or 0 for c in rows if c.state == "verified"))
            for c in pending:
                work.put((c.db, c.tbl, c.idx))
            for _ in range(loaders):
                work.put(None)
        threads += [
            threading.Thread(target=self._guard, args=(self._load_worker, work), daemon=True) for _ in range(loaders)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if self._errors:
            raise self._errors[0]
        for job in jobs:
            self._finish(job)

    def _guard(self, fn: Callable[..., None], *args: Any) -> None:
        try:
            fn(*args)
        except BaseException as exc:  # re-raised by run() once every thread has stopped
            self._errors.append(exc)

    def _fresh_start(self, jobs: list[CopyTarget]) -> None:
        """Forget a dump that was not completed: its snapshot is gone with the killed process."""
        self.manifest.set("dump", "started")
        for job in jobs:
            self.manifest.forget_chunks(job.name)
            self.manifest.set(f"physical_loaded:{job.name}", [])
            for base in (self.dump_dir, self.load_dir, self.phys_dir):
                shutil.rmtree(base / _safe(job.name), ignore_errors=True)

    def _reset_physical(self, jobs: list[CopyTarget]) -> None:
        """A physically copied table with an unverified chunk is imported again, every chunk re-verified."""
        for job in jobs:
            loaded = set(self.manifest.get(f"physical_loaded:{job.name}", []))
            for db, tbl in [k for k in self._phys if k[0] == job.name]:
                rows = self.manifest.chunks(db, tbl)
                if any(c.state != "verified" for c in rows):
                    loaded.discard(tbl)
                    for c in rows:
                        self.manifest.set_chunk(db, tbl, c.idx, "dumped")
            self.manifest.set(f"physical_loaded:{job.name}", sorted(loaded))

    def _table_names(self, db: str) -> list[str]:
        return [name for (d, name) in self._tables if d == db]

    def _load_schemas(self, jobs: list[CopyTarget]) -> None:
        for job in jobs:
            entry = self.manifest.db(job.name)
            if entry is None or entry["schema"] is None:
                raise RuntimeError(f"{job.name}: the manifest has no schema although the dump is complete: "
                                   "start over with a new --state-dir")  # fmt: skip
            dump = obj.SchemaDump.from_json(entry["schema"]["dump"])
            job.rename = dict(entry["schema"].get("rename", {}))
            for table in dump.tables:
                self._tables[(job.name, table.name)] = table
            for tbl, staged in entry["schema"].get("physical", {}).items():
                self._phys[(job.name, tbl)] = staged
            if entry["schema"].get("physical_target_dir"):
                self._phys_target = Path(entry["schema"]["physical_target_dir"])
        self._jobs = {job.name: job for job in jobs}

    # ----------------------------------------------------------------------------------------- dump
    def _dump_all(self, jobs: list[CopyTarget], work: queue.Queue[tuple[str, str, int] | None], loaders: int) -> None:
        self._jobs = {job.name: job for job in jobs}
        src = connect(self.plan.source, raw=True)
        tgt = connect(self.plan.target, raw=True)
        try:
            query(src, "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            if self.renamer is not None:
                for job in jobs:
                    names = query(src, "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s "
                                  "ORDER BY TABLE_NAME", (job.name,))  # fmt: skip
                    job.rename = self.renamer(job.name, [text(n[0]) for n in names])
            choice = physical.choose(self.plan, src, tgt, [(j.name, j.target, j.rename) for j in jobs])
            lock: physical.ExportLock | None = None
            stall_from = time.monotonic()  # writes to the exported tables wait from FLUSH … FOR EXPORT on
            if choice.any:
                lock, why = physical.lock_for_export(
                    self.plan.source, [(db, t) for db, tables in choice.tables.items() for t in tables]
                )
                if lock is None:
                    choice = physical.PhysicalChoice(off_reason=why)
            try:
                # Opened while the exported tables are write-locked: the snapshot holds exactly the rows
                # of their files, so the checksums computed in it below prove the copied files.
                query(src, "START TRANSACTION WITH CONSISTENT SNAPSHOT")
                self.manifest.set("snapshot", snapshot_position(src))
                if lock is not None:
                    assert choice.source_dir is not None  # set whenever a table was chosen
                    for db, tables in choice.tables.items():
                        for tbl in tables:
                            dest = self.phys_dir / _safe(db)
                            self._phys[(db, tbl)] = physical.stage(choice.source_dir, db, tbl, dest)
            finally:
                if lock is not None:
                    lock.release()
                    # the source's write stall: flush of the tables' dirty pages, snapshot, copy of the files
                    choice.stall_seconds = time.monotonic() - stall_from
                    self.manifest.set("source_write_stall_seconds", choice.stall_seconds)
            self._phys_target = choice.target_dir
            self._choice = choice
            for job in jobs:
                self._dump_database(src, tgt, job, work)
            query(src, "COMMIT")
            self.manifest.set("dump", "complete")
        finally:
            src.close()
            tgt.close()
            for _ in range(loaders):
                work.put(None)

    def _dump_database(
        self, src: Any, tgt: Any, job: CopyTarget, work: queue.Queue[tuple[str, str, int] | None]
    ) -> None:
        dump = obj.read_schema(src, job.name)
        for table in dump.tables:
            # crc32v2: the crc32 row hash without length prefixes on numbers and dates (chunks.crc_input)
            table.checksum = "crc32v2" if self.plan.checksum == "crc32" else self.plan.checksum
        if self.renamer is not None:
            job.rename = self.renamer(job.name, [t.name for t in dump.tables])
        source_print = fingerprint(src, job.name, job.rename)
        staged = {tbl: files for (db, tbl), files in self._phys.items() if db == job.name}
        self.manifest.set_db(
            job.name,
            target=job.target,
            strategy="copy",
            phase="dumping",
            schema={
                "dump": dump.to_json(),
                "fingerprint": source_print,
                "rename": job.rename,
                "physical": staged,
                "physical_target_dir": str(self._phys_target) if staged else "",
            },
            info={"copy_path": self._choice.note(job.name)},
        )
        # The target is ours now (preflight refused a non-empty one without --confirm): start it clean.
        if database_exists(tgt, job.target):
            query(tgt, f"DROP DATABASE {quote(job.target)}")
        obj.create_database(tgt, dump, job.target)
        obj.create_tables(tgt, dump, job.target, job.rename, defer_indexes=True)
        for table in dump.tables:
            self._tables[(job.name, table.name)] = table
            self.progress.table(job.name, table.name, table.rows_estimate)
        chunk_rows = job.plan.chunk_rows or self.plan.chunk_rows
        plans = {
            table.name: (range_chunks if (job.name, table.name) in self._phys else plan_chunks)(
                src, job.name, table, chunk_rows
            )
            for table in dump.tables
        }
        totals = dict.fromkeys(plans, 0)
        # Round-robin over the tables: loaders (one per table at a time) then work on several tables at
        # once instead of queueing behind the table being dumped.
        for rank in range(max((len(c) for c in plans.values()), default=0)):
            for table in dump.tables:
                chunks = plans[table.name]
                if rank < len(chunks):
                    dump_one = self._checksum_chunk if (job.name, table.name) in self._phys else self._dump_chunk
                    totals[table.name] += dump_one(src, job, table, chunks[rank])
                    if rank == len(chunks) - 1:
                        self._dumped.add((job.name, table.name))  # before its last chunk is queued
                    work.put((job.name, table.name, chunks[rank].index))
                    if rank == len(chunks) - 1:
                        self.progress.table(job.name, table.name, totals[table.name])
        self.manifest.set_phase(job.name, "dumped")

    def _dump_chunk(self, src: Any, job: CopyTarget, table: obj.Table, chunk: Chunk) -> int:
        start = time.monotonic()
        where, params = chunk.where(table)
        path = self.dump_dir / _safe(job.name) / _safe(table.name) / f"{chunk.index:06d}.tsv"
        path.parent.mkdir(parents=True, exist_ok=True)
        part = path.with_name(path.name + ".part")
        rows = 0
        total = 0
        cur = src.cursor(MySQLdb.cursors.SSCursor)
        try:
            cur.execute(f"{dump_sql(job.name, table)} WHERE {where}", params or None)
            with part.open("wb") as fh:
                while batch := cur.fetchmany(FETCH_ROWS):
                    fh.write(b"\n".join([r[0] for r in batch]))
                    fh.write(b"\n")
                    rows += len(batch)
                    total += sum([int(r[1]) for r in batch])
                    fault_point("dump", "during")
                # No fsync: a killed process leaves the page cache intact, and after a power loss the
                # size recorded below no longer matches, which the transfer step detects.
        finally:
            cur.close()
        part.replace(path)
        self._record_dumped(job, table, chunk, path, path.stat().st_size, rows, str(total), start)
        return rows

    def _record_dumped(
        self,
        job: CopyTarget,
        table: obj.Table,
        chunk: Chunk,
        path: Path,
        size: int,
        rows: int,
        checksum: str,
        start: float,
    ) -> None:
        """Mark a chunk dumped in the manifest (its file, size, source rows and checksum, time taken)."""
        self.manifest.add_dumped(
            job.name,
            table.name,
            chunk.index,
            chunk.lo.to_json() if chunk.lo else None,
            chunk.hi.to_json() if chunk.hi else None,
            str(path),
            size,
            rows,
            checksum,
            time.monotonic() - start,
        )
        fault_point("dump", "after")

    def _checksum_chunk(self, src: Any, job: CopyTarget, table: obj.Table, chunk: Chunk) -> int:
        """A physically copied table's chunk: only its rows and checksum, inside the snapshot."""
        start = time.monotonic()
        rows, checksum = chunk_checksum(src, job.name, table, chunk)
        fault_point("dump", "during")
        staged = self._phys[(job.name, table.name)]
        self._record_dumped(
            job, table, chunk, Path(staged["dir"]) / f"{table.name}.ibd", int(staged["ibd"]), rows, checksum, start
        )
        return rows

    # ---------------------------------------------------------------------------------------- load
    def _target(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.plan.target, raw=True, read_timeout=LOAD_TIMEOUT)
            # Checks the source already enforced; off, LOAD DATA runs at full speed in any table order.
            query(conn, "SET FOREIGN_KEY_CHECKS = 0, UNIQUE_CHECKS = 0")
            # READ COMMITTED: the range DELETE takes no gap locks, so parallel chunk loads of one table
            # do not deadlock each other (retried anyway, below).
            query(conn, "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
            self._local.conn = conn
        return conn

    def _load_worker(self, work: queue.Queue[tuple[str, str, int] | None]) -> None:
        try:
            while (item := work.get()) is not None:
                if self._errors:
                    continue
                db, tbl, idx = item
                self.process_chunk(db, tbl, idx)
        finally:
            conn = getattr(self._local, "conn", None)
            if conn is not None:
                conn.close()
                self._local.conn = None

    def process_chunk(self, db: str, tbl: str, idx: int) -> None:
        """Advance one chunk to verified (or failed), from whatever state the manifest has."""
        row = next(c for c in self.manifest.chunks(db, tbl) if c.idx == idx)
        job = self._jobs[db]
        table = self._tables[(db, tbl)]
        chunk = Chunk(idx, KeyValue.from_json(row.lo), KeyValue.from_json(row.hi))
        if (db, tbl) in self._phys:
            with self._table_lock(db, tbl):
                self._import(job, table)
                self._verify(job, table, chunk, row)
            return
        if row.state == "dumped":
            row = self._transfer(job, table, row)
        with self._table_lock(db, tbl):
            if row.state in ("transferred", "failed"):
                row = self._load(job, table, chunk, row)
            if row.state == "loaded":
                self._verify(job, table, chunk, row)
            # The table's last chunk: build its secondary keys now, while other tables still load
            # (`_finish` adds whatever is still missing, e.g. when this check raced the dumper).
            if (db, tbl) in self._dumped and all(c.state == "verified" for c in self.manifest.chunks(db, tbl)):
                clauses = split_create(table.create_sql)[1]
                if clauses:
                    start = time.monotonic()
                    add_missing(self._target(), job.target, job.rename.get(tbl, tbl), clauses)
                    self.manifest.set(f"index_seconds:{db}:{tbl}", time.monotonic() - start)
                    fault_point("indexes", "after")

    def _import(self, job: CopyTarget, table: obj.Table) -> None:
        """Import the table's staged tablespace once (under the table lock); a rerun after a kill redoes it."""
        key = f"physical_loaded:{job.name}"
        if table.name in self.manifest.get(key, []):
            return
        assert self._phys_target is not None
        start = time.monotonic()
        name = job.rename.get(table.name, table.name)
        sql = table.create_sql
        if name != table.name:
            sql = sql.replace(f"CREATE TABLE {quote(table.name)}", f"CREATE TABLE {quote(name)}", 1)
        conn = self._target()
        try:
            with self._import_lock(job.name, table.name):  # not beside a table linked by a foreign key
                staged = self._phys[(job.name, table.name)]
                physical.import_table(conn, self._phys_target, job.target, name, sql, staged)
        finally:
            query(conn, "SET FOREIGN_KEY_CHECKS = 0")
        with self._locks_guard:  # two loaders may finish imports of two tables at once
            self.manifest.set(key, sorted({*self.manifest.get(key, []), table.name}))
        self.manifest.set(f"import_seconds:{job.name}:{table.name}", time.monotonic() - start)
        fault_point("load", "after")

    def _import_lock(self, db: str, tbl: str) -> threading.Lock:
        """The lock shared by the tables of `db` linked to `tbl` by foreign keys (physical.foreign_key_groups)."""
        with self._locks_guard:
            groups = self._fk_groups.get(db)
            if groups is None:
                tables = {name: table.create_sql for (d, name), table in self._tables.items() if d == db}
                groups = self._fk_groups[db] = physical.foreign_key_groups(tables)
            return self._import_locks.setdefault((db, groups.get(tbl, tbl)), threading.Lock())

    def _table_lock(self, db: str, tbl: str) -> threading.Lock:
        with self._locks_guard:
            return self._table_locks.setdefault((db, tbl), threading.Lock())

    def _transfer(self, job: CopyTarget, table: obj.Table, row: ChunkRow) -> ChunkRow:
        """Move the chunk file into the load area (a rename on one host; the place for rsync on two)."""
        assert row.file is not None
        src = Path(row.file)
        dst = self.load_dir / _safe(job.name) / _safe(table.name) / src.name
        dst.parent.mkdir(parents=True, exist_ok=True)
        if not (dst.exists() and dst.stat().st_size == row.bytes):
            fault_point("transfer", "during")
            src.replace(dst)  # one state dir, one filesystem: an atomic rename, no second copy
        if dst.stat().st_size != row.bytes:
            raise RuntimeError(f"{job.name}.{table.name} chunk {row.idx}: {dst} has {dst.stat().st_size} bytes, "
                               f"{row.bytes} were dumped: remove {self.manifest.state_dir} and start over")  # fmt: skip
        self.manifest.set_chunk(job.name, table.name, row.idx, "transferred", file=str(dst))
        src.unlink(missing_ok=True)
        fault_point("transfer", "after")
        row.state, row.file = "transferred", str(dst)
        return row

    def _load(self, job: CopyTarget, table: obj.Table, chunk: Chunk, row: ChunkRow) -> ChunkRow:
        assert row.file is not None
        start = time.monotonic()
        conn = self._target()
        name = job.rename.get(table.name, table.name)
        where, params = chunk.where(table)
        for attempt in range(1, LOAD_ATTEMPTS + 1):
            query(conn, "START TRANSACTION")
            try:
                query(conn, f"DELETE FROM {quote(job.target)}.{quote(name)} WHERE {where}", params or None)
                query(conn, load_sql(job.target, table, row.file, name))
                fault_point("load", "during")
                query(conn, "COMMIT")
                fault_point("load", "after")  # committed, manifest not told: the rerun reloads the range
                break
            except MySQLdb.OperationalError as exc:
                query(conn, "ROLLBACK")
                if exc.args[0] not in (1205, 1213) or attempt == LOAD_ATTEMPTS:  # lock wait timeout, deadlock
                    raise
                time.sleep(0.2 * attempt)
            except BaseException:
                query(conn, "ROLLBACK")
                raise
        self.manifest.set_chunk(job.name, table.name, row.idx, "loaded", seconds=time.monotonic() - start)
        row.state = "loaded"
        return row

    def _verify(self, job: CopyTarget, table: obj.Table, chunk: Chunk, row: ChunkRow) -> None:
        name = job.rename.get(table.name, table.name)
        rows, checksum = chunk_checksum(self._target(), job.target, table, chunk, name)
        fault_point("verify", "during")
        ok = rows == row.src_rows and checksum == row.expected_sum
        self.manifest.set_chunk(
            job.name, table.name, row.idx, "verified" if ok else "failed", tgt_rows=rows, tgt_sum=checksum
        )
        self.progress.advance(job.name, table.name, rows)
        fault_point("verify", "after")

    # -------------------------------------------------------------------------------------- finish
    def _finish(self, job: CopyTarget) -> None:
        """Views, routines, triggers, events, then the schema comparison; only once every chunk verified."""
        entry = self.manifest.db(job.name)
        if entry is None or entry["phase"] in ("copied", "done"):
            return
        chunks = self.manifest.chunks(job.name)
        if any(c.state != "verified" for c in chunks):
            self.manifest.set_phase(job.name, "failed")
            return
        dump = obj.SchemaDump.from_json(entry["schema"]["dump"])
        self._add_deferred_indexes(job, dump)
        conn = connect(self.plan.target, raw=True)
        try:
            obj.create_post_objects(conn, dump, job.target)
            fault_point("objects", "after")
            diffs = schema_diffs(conn, entry, job.target)
        finally:
            conn.close()
        for base in (self.dump_dir, self.load_dir, self.phys_dir):
            shutil.rmtree(base / _safe(job.name), ignore_errors=True)
        self.manifest.set_phase(job.name, "copied", schema_diffs=diffs)

    def _add_deferred_indexes(self, job: CopyTarget, dump: obj.SchemaDump) -> None:
        """The secondary keys left out for the load, one ALTER per table, `workers` tables at once."""
        todo = [(job.rename.get(t.name, t.name), split_create(t.create_sql)[1]) for t in dump.tables]
        todo = [(name, clauses) for name, clauses in todo if clauses]
        if not todo:
            return

        def add(item: tuple[str, list[str]]) -> None:
            conn = connect(self.plan.target, raw=True, read_timeout=LOAD_TIMEOUT)
            try:
                add_missing(conn, job.target, item[0], item[1])
            finally:
                conn.close()
            fault_point("indexes", "after")

        start = time.monotonic()
        with ThreadPoolExecutor(max(1, self.plan.workers)) as pool:
            list(pool.map(add, todo))
        # Part of the load phase (the ceiling loads into indexed tables): the benchmark adds it back.
        self.manifest.set(f"index_seconds:{job.name}:", time.monotonic() - start)


def schema_diffs(conn: Any, entry: dict[str, Any], target_db: str) -> list[str]:
    from dirac_core.dbmigrate.verify import compare_schemas

    return compare_schemas(entry["schema"]["fingerprint"], fingerprint(conn, target_db))


def snapshot_position(conn: Any) -> dict[str, Any]:
    """Binlog file/position and GTID of the snapshot just opened on `conn` (empty without binlog)."""
    status = {text(k): text(v) for k, v in query(conn, "SHOW STATUS LIKE 'binlog_snapshot_%'")}
    log_bin = int(query(conn, "SELECT @@log_bin")[0][0]) == 1
    file = status.get("Binlog_snapshot_file", "") if log_bin else ""
    pos = int(status.get("Binlog_snapshot_position", "0") or 0) if log_bin else 0
    gtid = ""
    if file:
        gtid = text(query(conn, "SELECT BINLOG_GTID_POS(%s, %s)", (file, pos))[0][0])
    server = query(conn, "SELECT @@server_id, @@version")[0]
    return {
        "log_bin": log_bin,
        "file": file,
        "pos": pos,
        "gtid": gtid,
        "server_id": int(server[0]),
        "version": text(server[1]),
        "taken_at": time.time(),
    }


__all__ = ["Copier", "CopyTarget", "snapshot_position"]
