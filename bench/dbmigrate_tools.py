"""Which bulk path for `copy`: the engine's chunked TSV + LOAD DATA vs mydumper/myloader vs mariadb-dump.

Same data, same two private servers, same run (the numbers behind the choice in docs/dbmigrate.md):

- engine: `dirac-core db migrate` copy, end to end *including* its per-chunk verification;
- mydumper -t 2 | myloader -t 2 (Debian 12: mydumper 0.10, SQL INSERT files, no verification);
- mariadb-dump --single-transaction --quick | mariadb (the usual operator pipe, no verification).

    .venv/bin/python bench/dbmigrate_tools.py [--files 200000]

Figures are printed, never asserted. 127.0.0.1:3306 is not touched.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dirac_core.dbmigrate.plan import parse_plan
from dirac_core.dbmigrate.runner import Runner
from tests.support.mariadb_server import MariaDBServer

SERVER_OPTIONS = ["innodb-buffer-pool-size=512M", "innodb-log-file-size=256M"]


def build(server: MariaDBServer, files: int) -> int:
    dirs = max(1, files // 50)
    server.execute(
        "CREATE DATABASE fc",
        "USE fc",
        "CREATE TABLE FC_DirectoryList (DirID INT AUTO_INCREMENT PRIMARY KEY, Name VARCHAR(255) NOT NULL, "
        "UID SMALLINT NOT NULL, CreationDate DATETIME, UNIQUE KEY (Name))",
        "CREATE TABLE FC_Files (FileID INT AUTO_INCREMENT PRIMARY KEY, DirID INT NOT NULL, Size BIGINT UNSIGNED, "
        "FileName VARCHAR(128) NOT NULL, UNIQUE KEY (DirID, FileName))",
        "CREATE TABLE FC_FileInfo (FileID INT PRIMARY KEY, GUID CHAR(36) NOT NULL, Checksum VARCHAR(32), "
        "CreationDate DATETIME)",
        "CREATE TABLE FC_Replicas (RepID INT AUTO_INCREMENT PRIMARY KEY, FileID INT NOT NULL, SEID INT NOT NULL, "
        "UNIQUE KEY (FileID, SEID))",
        f"INSERT INTO FC_DirectoryList SELECT seq, CONCAT('/vo/run', seq DIV 100, '/d', seq), seq % 50, "
        f"'2024-01-01' + INTERVAL seq SECOND FROM seq_1_to_{dirs}",
        f"INSERT INTO FC_Files SELECT seq, 1 + seq % {dirs}, seq * 7919 % 4000000000, CONCAT('f_', seq, '.root') "
        f"FROM seq_1_to_{files}",
        "INSERT INTO FC_FileInfo SELECT seq, CONCAT_WS('-', LEFT(MD5(seq), 8), MID(MD5(seq), 9, 4), "
        "MID(MD5(seq), 13, 4), MID(MD5(seq), 17, 4), RIGHT(MD5(seq), 12)), IF(seq % 97 = 0, NULL, HEX(CRC32(seq))), "
        f"'2024-01-01' + INTERVAL seq SECOND FROM seq_1_to_{files}",
        f"INSERT INTO FC_Replicas (FileID, SEID) SELECT seq, 1 + seq % 20 FROM seq_1_to_{files}",
    )
    return sum(
        int(server.execute(f"SELECT COUNT(*) FROM fc.{t}")[0][0])
        for t in ("FC_DirectoryList", "FC_Files", "FC_FileInfo", "FC_Replicas")
    )


def timed(label: str, rows: int, fn: object) -> float:
    start = time.monotonic()
    fn()  # type: ignore[operator]
    seconds = time.monotonic() - start
    print(f"{label:<44} {seconds:7.2f} s  {rows / seconds:>10,.0f} rows/s", flush=True)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200_000)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="bench-dbmigrate-tools-", dir="/tmp"))
    src = MariaDBServer(base / "s", server_id=1, log_bin=True, extra_options=SERVER_OPTIONS).start()
    tgt = MariaDBServer(base / "t", server_id=2, log_bin=False, extra_options=SERVER_OPTIONS).start()
    try:
        rows = build(src, args.files)
        print(f"{rows:,} rows in 4 tables; load average {Path('/proc/loadavg').read_text().split()[0]}")

        def engine() -> None:
            plan = parse_plan(
                {
                    "instance": "bench",
                    "source": {"host": src.host, "port": src.port, "user": "root"},
                    "target": {"host": tgt.host, "port": tgt.port, "user": "root"},
                    "databases": [{"name": "fc", "strategy": "copy", "target_name": "fc_engine"}],
                }
            )
            runner = Runner(plan, base / "state")
            try:
                assert runner.run().passed
            finally:
                runner.close()

        def mydumper() -> None:
            out = base / "mydumper"
            conn = ["-h", src.host, "-P", str(src.port), "-u", "root"]
            subprocess.run(["mydumper", *conn, "-B", "fc", "-t", "2", "-r", "50000", "-o", str(out)], check=True)
            tconn = ["-h", tgt.host, "-P", str(tgt.port), "-u", "root"]
            subprocess.run(["myloader", *tconn, "-B", "fc_myloader", "-t", "2", "-d", str(out)], check=True)

        def dump_pipe() -> None:
            tgt.execute("CREATE DATABASE fc_dump")
            dump = subprocess.Popen(
                ["mariadb-dump", "-h", src.host, "-P", str(src.port), "-u", "root", "--single-transaction", "--quick",
                 "fc"],
                stdout=subprocess.PIPE,
            )  # fmt: skip
            subprocess.run(
                ["mariadb", "-h", tgt.host, "-P", str(tgt.port), "-u", "root", "fc_dump"], stdin=dump.stdout, check=True
            )
            assert dump.wait() == 0

        timed("engine copy incl. verification", rows, engine)
        timed("mydumper -t 2 + myloader -t 2 (no verify)", rows, mydumper)
        timed("mariadb-dump | mariadb (no verify)", rows, dump_pipe)
    finally:
        src.stop()
        tgt.stop()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
