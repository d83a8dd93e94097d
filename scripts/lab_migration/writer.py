"""Keep writing to the old AccountingDB as an unprivileged account (like a DIRAC service) until SIGTERM.

    python scripts/lab_migration/writer.py HOST LOGFILE

Each committed insert is logged with its id; refused ones (the freeze: read_only) as `refused`.
"""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path
from typing import Any

import pymysql

stopping = False


def _stop(*_: Any) -> None:
    global stopping
    stopping = True


def main(host: str, out: Path) -> None:
    signal.signal(signal.SIGTERM, _stop)
    ok = refused = 0
    conn = None
    with out.open("w") as log:
        while not stopping:
            try:
                if conn is None:
                    conn = pymysql.connect(  # the lab writer account of load_old_db.py
                        host=host,
                        user="stage_writer",
                        password="w",  # noqa: S106 - throwaway account inside the lab container only
                        database="egi_AccountingDB",
                        autocommit=True,
                    )
                with conn.cursor() as cur:
                    cur.execute(
                        "INSERT INTO ac_bucket_demo (setup, start_time, entries) VALUES ('EGI-Production', %s, 1)",
                        (int(time.time()),),
                    )
                    log.write(f"{cur.lastrowid} {time.time():.3f}\n")
                    ok += 1
            except pymysql.MySQLError as exc:
                refused += 1
                log.write(f"refused {time.time():.3f} {type(exc).__name__}\n")
                conn = None
                time.sleep(0.05)
            log.flush()
            time.sleep(0.02)
        log.write(f"# ok={ok} refused={refused}\n")


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
