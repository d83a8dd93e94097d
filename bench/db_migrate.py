"""Database migration figures on a FileCatalog-like DB: engine vs ``mysqldump | mysql`` vs LOAD DATA.

Builds a FileCatalogDB-like database (FC_DirectoryList, FC_Files, FC_FileInfo, FC_Replicas; about
3.5 rows per file, >= 2M rows by default) on a private source ``mariadbd`` (binlog + GTID) and
copies it to a private target ``mariadbd``, measured in the same run:

- ``mysqldump | mysql``: ``mariadb-dump --single-transaction --quick DB | mariadb DB`` (baseline);
- LOAD DATA ceiling: ``SELECT … INTO OUTFILE`` on the source host + ``LOAD DATA INFILE`` on the
  target, table by table, no engine, no verification;
- the engine, end to end including its verification, on both of its paths: logical (`physical: off`:
  dump, transfer, LOAD DATA, verify every chunk) and physical (`physical: auto`, both servers on this
  host: InnoDB tablespaces exported under `FLUSH TABLES … FOR EXPORT`, imported, every chunk verified
  against checksums computed in the snapshot opened under that lock);
- the cutover freeze window (replicate mode) with a continuous writer, at two DB sizes.

    .venv/bin/python bench/db_migrate.py [--files 600000] [--small 0.25] [--repeat 2] [--skip-dump] [--skip-freeze]

Both servers are private (own datadir/port under /tmp) and removed at the end; 127.0.0.1:3306 is
not touched. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import MySQLdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dirac_core.dbmigrate import cutover
from dirac_core.dbmigrate.manifest import Manifest
from dirac_core.dbmigrate.plan import parse_plan
from dirac_core.dbmigrate.runner import Runner
from tests.support.mariadb_server import MariaDBServer

DB = "FileCatalogDB"
TABLES = ("FC_DirectoryList", "FC_Files", "FC_FileInfo", "FC_Replicas")
SERVER_OPTIONS = ["innodb-buffer-pool-size=1G", "innodb-log-file-size=512M", "max-connections=100"]

SCHEMA = (
    """CREATE TABLE FC_DirectoryList (
        DirID INT NOT NULL AUTO_INCREMENT PRIMARY KEY, Name VARCHAR(255) NOT NULL, UID SMALLINT NOT NULL,
        GID TINYINT NOT NULL, CreationDate DATETIME, ModificationDate DATETIME, Status SMALLINT NOT NULL,
        UNIQUE KEY (Name)) ENGINE=InnoDB""",
    """CREATE TABLE FC_Files (
        FileID INT NOT NULL AUTO_INCREMENT PRIMARY KEY, DirID INT NOT NULL, Size BIGINT UNSIGNED NOT NULL,
        UID SMALLINT NOT NULL, GID TINYINT NOT NULL, Status SMALLINT NOT NULL, FileName VARCHAR(128) NOT NULL,
        UNIQUE KEY (DirID, FileName), KEY (UID, GID)) ENGINE=InnoDB""",
    """CREATE TABLE FC_FileInfo (
        FileID INT NOT NULL PRIMARY KEY, GUID CHAR(36) NOT NULL, Checksum VARCHAR(32), CheckSumType ENUM('AD','MD5'),
        Type ENUM('File','Link') NOT NULL DEFAULT 'File', CreationDate DATETIME, ModificationDate DATETIME,
        Mode SMALLINT UNSIGNED NOT NULL DEFAULT 509, UNIQUE KEY (GUID)) ENGINE=InnoDB""",
    """CREATE TABLE FC_Replicas (
        RepID INT NOT NULL AUTO_INCREMENT PRIMARY KEY, FileID INT NOT NULL, SEID INT NOT NULL,
        Status SMALLINT NOT NULL, UNIQUE KEY (FileID, SEID)) ENGINE=InnoDB""",
)


# --- servers and data --------------------------------------------------------------------------------


def admin(server: MariaDBServer, database: str | None = None) -> Any:
    conn = server.connect(database)
    conn.autocommit(True)
    return conn


def run_sql(server: MariaDBServer, *statements: str, database: str | None = None) -> list[tuple[Any, ...]]:
    with contextlib.closing(admin(server, database)) as conn:
        cur = conn.cursor()
        rows: list[tuple[Any, ...]] = []
        for statement in statements:
            cur.execute(statement)
            rows = list(cur.fetchall()) if cur.description else []
        return rows


def build(server: MariaDBServer, db: str, files: int) -> int:
    """The FileCatalog-like DB, generated server-side from the sequence engine; returns its row count."""
    dirs = max(1, files // 50)
    run_sql(server, f"DROP DATABASE IF EXISTS `{db}`", f"CREATE DATABASE `{db}`")
    run_sql(
        server,
        *SCHEMA,
        f"INSERT INTO FC_DirectoryList SELECT seq, CONCAT('/vo/data/run', seq DIV 100, '/d', seq), 1 + seq % 50, "
        f"1 + seq % 5, '2024-01-01' + INTERVAL seq SECOND, '2024-06-01' + INTERVAL seq SECOND, 1 FROM seq_1_to_{dirs}",
        f"INSERT INTO FC_Files SELECT seq, 1 + seq % {dirs}, (seq * 7919) % 4000000000, 1 + seq % 50, 1 + seq % 5, "
        f"1, CONCAT('file_', seq, '.root') FROM seq_1_to_{files}",
        "INSERT INTO FC_FileInfo SELECT seq, CONCAT_WS('-', LEFT(MD5(seq), 8), MID(MD5(seq), 9, 4), "
        "MID(MD5(seq), 13, 4), MID(MD5(seq), 17, 4), RIGHT(MD5(seq), 12)), "
        "IF(seq % 97 = 0, NULL, LPAD(HEX(CRC32(seq)), 8, '0')), "
        "IF(seq % 97 = 0, NULL, 'AD'), 'File', '2024-01-01' + INTERVAL seq SECOND, '2024-06-01' + INTERVAL seq SECOND, "
        f"509 FROM seq_1_to_{files}",
        f"INSERT INTO FC_Replicas (FileID, SEID, Status) SELECT seq, 1 + seq % 20, 1 FROM seq_1_to_{files}",
        f"INSERT INTO FC_Replicas (FileID, SEID, Status) SELECT seq, 21 + seq % 7, 1 FROM seq_1_to_{files} "
        "WHERE seq % 2 = 0",
        database=db,
    )
    return count_rows(server, db)


def count_rows(server: MariaDBServer, db: str) -> int:
    return sum(int(run_sql(server, f"SELECT COUNT(*) FROM `{db}`.`{t}`")[0][0]) for t in TABLES)


# --- the three copies ------------------------------------------------------------------------------


def mysqldump_pipe(source: MariaDBServer, target: MariaDBServer, db: str, new: str) -> float:
    run_sql(target, f"DROP DATABASE IF EXISTS `{new}`", f"CREATE DATABASE `{new}`")
    t0 = time.monotonic()
    dump = subprocess.Popen(
        ["mariadb-dump", "-h", source.host, "-P", str(source.port), "-uroot", "--single-transaction", "--quick", db],
        stdout=subprocess.PIPE,
    )
    load = subprocess.run(["mariadb", "-h", target.host, "-P", str(target.port), "-uroot", new], stdin=dump.stdout)
    assert dump.stdout is not None
    dump.stdout.close()
    if dump.wait() != 0 or load.returncode != 0:
        raise RuntimeError("mysqldump | mysql failed")
    return time.monotonic() - t0


@dataclass
class Ceiling:
    outfile: float
    load: float

    @property
    def total(self) -> float:
        return self.outfile + self.load


def load_data_ceiling(
    source: MariaDBServer, target: MariaDBServer, db: str, new: str, work: Path, parallel: int = 1
) -> Ceiling:
    """SELECT INTO OUTFILE on the source host, LOAD DATA INFILE into the target: the raw server speed.

    `parallel` loads that many tables at once (one connection each).
    """
    files = work / "ceiling"
    shutil.rmtree(files, ignore_errors=True)
    files.mkdir(parents=True)
    ddl = {t: run_sql(source, f"SHOW CREATE TABLE `{db}`.`{t}`")[0][1] for t in TABLES}
    run_sql(target, f"DROP DATABASE IF EXISTS `{new}`", f"CREATE DATABASE `{new}`")
    run_sql(target, *ddl.values(), database=new)
    t0 = time.monotonic()
    with contextlib.closing(admin(source, db)) as conn:
        cur = conn.cursor()
        cur.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT")
        for t in TABLES:
            cur.execute(f"SELECT * INTO OUTFILE '{files / t}.tsv' FROM `{t}`")
        cur.execute("COMMIT")
    t1 = time.monotonic()
    pending = list(TABLES)
    lock = threading.Lock()

    def loader() -> None:
        with contextlib.closing(admin(target, new)) as conn:
            cur = conn.cursor()
            while True:
                with lock:
                    if not pending:
                        return
                    t = pending.pop(0)
                cur.execute(f"LOAD DATA INFILE '{files / t}.tsv' INTO TABLE `{t}`")

    threads = [threading.Thread(target=loader) for _ in range(parallel)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    t2 = time.monotonic()
    shutil.rmtree(files, ignore_errors=True)
    return Ceiling(t1 - t0, t2 - t1)


@dataclass
class EngineRun:
    seconds: float
    load_seconds: float | None
    snapshot_gtid: str
    verified: bool
    how: str


def plan_for(source: MariaDBServer, target: MariaDBServer, db: str, new: str, **extra: Any) -> Any:
    endpoint_of = {"host": source.host, "port": source.port, "user": "root"}
    return parse_plan(
        {
            "instance": "bench",
            "source": endpoint_of,
            "target": {**endpoint_of, "port": target.port},
            "databases": [{"name": db, "strategy": "copy", "target_name": new}],
            **extra,
        }
    )


def engine_copy(
    source: MariaDBServer, target: MariaDBServer, db: str, new: str, work: Path, path: str = "logical"
) -> EngineRun:
    """The migration engine end to end (dump, transfer, load, verify every chunk), from a plan.

    path "logical": `physical: off` (chunked TSV + LOAD DATA LOCAL); "physical": `physical: auto`
    (both servers are on this host: InnoDB tablespaces exported, imported, every chunk verified).
    """
    plan = plan_for(source, target, db, new, physical="off" if path == "logical" else "auto")
    state = work / "engine-state"
    shutil.rmtree(state, ignore_errors=True)
    t0 = time.monotonic()
    runner = Runner(plan, state)
    try:
        report = runner.run()
        seconds = time.monotonic() - t0
        if path == "logical":
            load_stream_seconds = sum(c.seconds or 0.0 for c in runner.manifest.chunks(db))
        else:  # the physical path's load phase: DROP/CREATE/DISCARD, file copy, IMPORT TABLESPACE per table
            load_stream_seconds = sum(float(runner.manifest.get(f"import_seconds:{db}:{t}", 0.0)) for t in TABLES)
        # Secondary keys are built after the load (deferred_indexes): their build is load work too.
        for part in ("", *TABLES) if path == "logical" else ():  # per table, or at the end
            load_stream_seconds += float(runner.manifest.get(f"index_seconds:{db}:{part}", 0.0))
        gtid = str((runner.manifest.snapshot() or {}).get("gtid") or "")
        notes = (runner.manifest.db(db) or {}).get("info", {}).get("copy_path", "")
        if path == "physical" and not notes.startswith("copy path: physical"):
            raise RuntimeError(f"the engine did not take the physical path: {notes}")
        stall = float(runner.manifest.get("source_write_stall_seconds", 0.0))
    finally:
        runner.close()
    shutil.rmtree(state, ignore_errors=True)
    # Loader threads overlap; the sum of the chunks' LOAD DATA times is the one-stream equivalent,
    # comparable with the ceiling's one-table-at-a-time LOAD DATA INFILE.
    how = f"{plan.workers} loaders" if path == "logical" else f"{stall:.2f}"
    return EngineRun(seconds, load_stream_seconds, gtid, report.passed, how)


# --- freeze window under a continuous writer ----------------------------------------------------------


@dataclass
class Writer:
    """A catalog service registering files (FC_Files + FC_FileInfo + FC_Replicas per transaction)."""

    server: MariaDBServer
    db: str
    password: str
    committed: int = 0
    refused: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> Writer:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)

    def _run(self) -> None:
        n = 0
        conn = None
        while not self._stop.is_set():
            try:
                if conn is None:
                    conn = MySQLdb.connect(
                        host=self.server.host, port=self.server.port, user="dirac", passwd=self.password, db=self.db
                    )
                cur = conn.cursor()
                n += 1
                cur.execute(
                    "INSERT INTO FC_Files (DirID, Size, UID, GID, Status, FileName) VALUES (1, %s, 1, 1, 1, %s)",
                    (n, f"bench_{time.time_ns()}_{n}"),
                )
                file_id = cur.lastrowid
                cur.execute(
                    "INSERT INTO FC_FileInfo (FileID, GUID, Checksum, CheckSumType) VALUES (%s, UUID(), 'abcd', 'AD')",
                    (file_id,),
                )
                cur.execute("INSERT INTO FC_Replicas (FileID, SEID, Status) VALUES (%s, 3, 1)", (file_id,))
                conn.commit()
                self.committed += 1
            except MySQLdb.MySQLError as exc:
                if exc.args and exc.args[0] == 1290:
                    self.refused += 1
                with contextlib.suppress(Exception):
                    if conn is not None:
                        conn.close()
                conn = None
                time.sleep(0.05)
            time.sleep(0.005)


@dataclass
class FreezeRun:
    rows: int
    freeze: float
    timings: dict[str, float]
    writes: int
    refused: int
    verify: str


def freeze_window(source: MariaDBServer, target: MariaDBServer, db: str, files: int, work: Path) -> FreezeRun:
    """`dirac-core db cutover`'s code path (engine copy, catch-up, freeze, switch) with a writer running."""
    rows = build(source, db, files)
    password = "bench-writer"
    run_sql(
        source,
        "SET GLOBAL read_only = OFF",
        f"CREATE USER IF NOT EXISTS 'dirac'@'%' IDENTIFIED BY '{password}'",
        f"GRANT ALL ON `{db}`.* TO 'dirac'@'%'",
    )
    run_sql(target, "SET GLOBAL read_only = OFF", f"DROP DATABASE IF EXISTS `{db}`")
    writer = Writer(source, db, password).start()
    time.sleep(1)
    state = work / f"cutover-{db}"
    shutil.rmtree(state, ignore_errors=True)
    lines: list[str] = []
    try:
        report, result = cutover.run_plan(plan_for(source, target, db, db), state, say=lines.append)
    finally:
        writer.stop()
    manifest = Manifest(state)
    stall = float(manifest.get("source_write_stall_seconds", 0.0))  # 0 when the copy was logical
    manifest.close()
    shutil.rmtree(state, ignore_errors=True)
    missing = int(run_sql(source, f"SELECT COUNT(*) FROM `{db}`.FC_Files")[0][0]) - int(
        run_sql(target, f"SELECT COUNT(*) FROM `{db}`.FC_Files")[0][0]
    )
    ok = report.passed and not result.verify_failures and missing == 0
    verify = "PASS" if ok else f"FAIL ({missing} rows differ)"
    run_sql(source, "SET GLOBAL read_only = OFF")
    timings = {**result.timings, "copy's source write stall": stall}
    return FreezeRun(rows, result.freeze_seconds, timings, writer.committed, writer.refused, verify)


# --- main -----------------------------------------------------------------------------------------


@contextlib.contextmanager
def servers(work: Path) -> Iterator[tuple[MariaDBServer, MariaDBServer]]:
    # Own tmpdir each: temp tables in the shared /tmp were deleted under us by other jobs' cleanups.
    for name in ("source", "target"):
        (work / name / "tmp").mkdir(parents=True, exist_ok=True)
    source = MariaDBServer(
        work / "source", server_id=1, log_bin=True, extra_options=[*SERVER_OPTIONS, f"tmpdir={work / 'source' / 'tmp'}"]
    )
    target = MariaDBServer(
        work / "target",
        server_id=2,
        log_bin=False,
        extra_options=[*SERVER_OPTIONS, f"tmpdir={work / 'target' / 'tmp'}"],
    )
    try:
        for server in (source, target):
            for attempt in range(3):  # install-db can trip over another job's temp tables in /tmp
                try:
                    server.start()
                    break
                except RuntimeError:
                    if attempt == 2:
                        raise
                    shutil.rmtree(server.datadir, ignore_errors=True)
        yield source, target
    finally:
        target.stop()
        source.stop()


def rate(rows: int, seconds: float) -> str:
    return f"{rows / seconds:>10,.0f}" if seconds > 0 else "         -"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=600_000, help="files in the catalog (about 3.5 rows each)")
    parser.add_argument("--small", type=float, default=0.25, help="size of the small freeze-window DB (fraction)")
    parser.add_argument("--skip-dump", action="store_true", help="skip the mysqldump | mysql baseline")
    parser.add_argument("--skip-freeze", action="store_true", help="skip the freeze-window runs")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each copy method (interleaved; best shown)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-dbmigrate-", dir="/tmp"))
    try:
        with servers(work) as (source, target):
            t0 = time.monotonic()
            rows = build(source, DB, args.files)
            print(f"built {DB}: {rows:,} rows in {len(TABLES)} tables ({time.monotonic() - t0:.1f} s)", flush=True)
            # Each copy runs `--repeat` times, interleaved, so a load spike from other jobs on the shared
            # machine hits every method alike; the table shows the best run and all runs.
            times: dict[str, list[float]] = {}
            notes: dict[str, str] = {}
            stalls: list[str] = []

            def record(name: str, seconds: float, note: str) -> None:
                times.setdefault(name, []).append(seconds)
                notes[name] = note

            for round_ in range(1, args.repeat + 1):
                if not args.skip_dump:
                    seconds = mysqldump_pipe(source, target, DB, "bench_dump")
                    ok = count_rows(target, "bench_dump") == rows
                    record("mysqldump | mysql (baseline)", seconds, "rows ok" if ok else "ROWS DIFFER")
                    run_sql(target, "DROP DATABASE bench_dump")
                ceiling = load_data_ceiling(source, target, DB, "bench_ceiling", work)
                record("LOAD DATA ceiling, end to end", ceiling.total, "outfile + load, no verify")
                record("LOAD DATA ceiling, load phase", ceiling.load, "LOAD DATA INFILE, one table at a time")
                run_sql(target, "DROP DATABASE bench_ceiling")
                par = load_data_ceiling(source, target, DB, "bench_ceiling", work, parallel=2)
                record("LOAD DATA ceiling, 2 at once", par.total, "outfile + 2 tables loading at once")
                record("LOAD DATA ceiling, 2 at once, load", par.load, "load phase of the above")
                run_sql(target, "DROP DATABASE bench_ceiling")
                engine = engine_copy(source, target, DB, "bench_engine", work, "logical")
                verdict = "verify PASS" if engine.verified else "verify FAIL"
                record("engine logical, end to end + verify", engine.seconds, f"{engine.how}, {verdict}")
                if engine.load_seconds:
                    record("engine, load, one stream", engine.load_seconds, "chunks' LOAD DATA LOCAL s + index build")
                run_sql(target, "DROP DATABASE IF EXISTS bench_engine")
                engine = engine_copy(source, target, DB, "bench_engine", work, "physical")
                verdict = "verify PASS" if engine.verified else "verify FAIL"
                stalls.append(engine.how)  # the source's write stall: FLUSH … FOR EXPORT + copy of the files
                note = f"source write stall (s) {' '.join(stalls)}, {verdict}"
                record("engine physical, end to end + verify", engine.seconds, note)
                if engine.load_seconds:
                    record("engine physical, import, one stream", engine.load_seconds, "tablespace imports, per table")
                run_sql(target, "DROP DATABASE IF EXISTS bench_engine")
                print(f"round {round_}: " + ", ".join(f"{k} {v[-1]:.1f}s" for k, v in times.items()), flush=True)
            run_sql(source, f"DROP DATABASE `{DB}`")

            freezes = []
            for files in () if args.skip_freeze else (int(args.files * args.small), args.files):
                db = f"FileCatalogDB_{files}"
                run = freeze_window(source, target, db, files, work)
                freezes.append(run)
                print(f"freeze window at {run.rows:,} rows: {run.freeze:.2f} s", flush=True)
                run_sql(source, f"DROP DATABASE `{db}`")
                run_sql(target, f"DROP DATABASE `{db}`")

        best = {name: min(values) for name, values in times.items()}
        base = best.get("mysqldump | mysql (baseline)")
        print()
        header = f"{'copy of ' + format(rows, ',') + ' rows':<36} {'best s':>7} {'rows/s':>10} {'vs dump':>8}"
        print(f"{header}  all runs (s); note")
        for name, seconds in best.items():
            vs = f"{base / seconds:7.2f}x" if base else "       -"
            runs = " ".join(f"{v:.1f}" for v in times[name])
            print(f"{name:<36} {seconds:7.1f} {rate(rows, seconds)} {vs}  {runs}; {notes[name]}")
        if base:
            for name in ("engine logical, end to end + verify", "engine physical, end to end + verify"):
                if name in best:
                    ratio = base / best[name]
                    verdict = "met" if ratio >= 3 else "NOT met"
                    print(f"{name.split(',')[0]} vs mysqldump | mysql: {ratio:.2f}x (target >= 3x: {verdict})")
        for name in ("engine, load, one stream", "engine physical, import, one stream"):
            if name in best:
                share = best["LOAD DATA ceiling, load phase"] / best[name]
                what = "logical load" if name.startswith("engine,") else "physical import"
                print(f"engine {what} rate vs LOAD DATA ceiling load rate (one stream each): {share:.0%}")
        print()
        print(
            f"{'freeze window (replicate mode)':<34} {'rows':>10} {'freeze s':>9} {'writes':>7} {'refused':>8}  phases"
        )
        for run in freezes:
            phases = ", ".join(f"{k} {v:.2f}s" for k, v in run.timings.items())
            print(
                f"{'continuous writer':<34} {run.rows:>10,} {run.freeze:9.2f} {run.writes:>7} {run.refused:>8}  "
                f"{phases}; verify {run.verify}"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
