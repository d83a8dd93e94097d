"""Which bulk path for `copy`: the engine's chunked TSV + LOAD DATA vs mydumper/myloader vs mariadb-dump.

Same data, same two private servers, same run (the numbers behind the choice in docs/dbmigrate.md):

- engine: `dirac-core db migrate` copy, end to end *including* its per-chunk verification, with the
  default md5 row hash and with `checksum: crc32`;
- mydumper -t 2 | myloader -t 2 (Debian 12: mydumper 0.10, SQL INSERT files, no verification);
- mariadb-dump --single-transaction --quick | mariadb (the usual operator pipe, no verification).

    .venv/bin/python bench/dbmigrate_tools.py [--files 200000] [--repeat 3]

Figures are printed, never asserted. 127.0.0.1:3306 is not touched.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3, help="interleaved repetitions of each tool")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="bench-dbmigrate-tools-", dir="/tmp"))
    src = MariaDBServer(base / "s", server_id=1, log_bin=True, extra_options=SERVER_OPTIONS).start()
    tgt = MariaDBServer(base / "t", server_id=2, log_bin=False, extra_options=SERVER_OPTIONS).start()
    try:
        rows = build(src, args.files)
        print(f"{rows:,} rows in 4 tables; load average {Path('/proc/loadavg').read_text().split()[0]}")

        def engine(checksum: str) -> None:
            plan = parse_plan(
                {
                    "instance": "bench",
                    "source": {"host": src.host, "port": src.port, "user": "root"},
                    "target": {"host": tgt.host, "port": tgt.port, "user": "root"},
                    "databases": [{"name": "fc", "strategy": "copy", "target_name": "fc_copy"}],
                    "checksum": checksum,
                }
            )
            shutil.rmtree(base / "state", ignore_errors=True)
            runner = Runner(plan, base / "state")
            try:
                assert runner.run().passed
            finally:
                runner.close()

        def mydumper() -> None:
            out = base / "mydumper"
            shutil.rmtree(out, ignore_errors=True)
            conn = ["-h", src.host, "-P", str(src.port), "-u", "root"]
            subprocess.run(["mydumper", *conn, "-B", "fc", "-t", "2", "-r", "50000", "-o", str(out)], check=True)
            tconn = ["-h", tgt.host, "-P", str(tgt.port), "-u", "root"]
            subprocess.run(["myloader", *tconn, "-B", "fc_copy", "-t", "2", "-d", str(out)], check=True)

        def dump_pipe() -> None:
            tgt.execute("CREATE DATABASE fc_copy")
            dump = subprocess.Popen(
                ["mariadb-dump", "-h", src.host, "-P", str(src.port), "-u", "root", "--single-transaction", "--quick",
                 "fc"],
                stdout=subprocess.PIPE,
            )  # fmt: skip
            subprocess.run(
                ["mariadb", "-h", tgt.host, "-P", str(tgt.port), "-u", "root", "fc_copy"], stdin=dump.stdout, check=True
            )
            assert dump.wait() == 0

        runs: list[tuple[str, Callable[[], None]]] = [
            ("engine copy incl. verification (md5)", lambda: engine("md5")),
            ("engine copy incl. verification (crc32)", lambda: engine("crc32")),
            ("mydumper -t 2 + myloader -t 2 (no verify)", mydumper),
            ("mariadb-dump | mariadb (no verify)", dump_pipe),
        ]
        # Interleaved repetitions: the machine is shared, single runs swing by 2x.
        times: dict[str, list[float]] = {label: [] for label, _ in runs}
        for rep in range(args.repeat):
            for label, fn in runs if rep % 2 == 0 else runs[::-1]:
                tgt.execute("DROP DATABASE IF EXISTS fc_copy")
                start = time.monotonic()
                fn()
                times[label].append(time.monotonic() - start)
        print(f"median of {args.repeat} interleaved runs (min .. max), rows/s from the median:")
        for label, values in times.items():
            med = statistics.median(values)
            print(f"{label:<44} {med:7.2f} s ({min(values):.2f} .. {max(values):.2f})  {rows / med:>10,.0f} rows/s")
    finally:
        src.stop()
        tgt.stop()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
