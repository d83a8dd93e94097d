"""A throw-away private ``mariadbd`` (own datadir, port and socket under a temp dir).

Used by the cutover tests and ``bench/db_migrate.py`` to get a replication *source* with binlog and
GTID (the shared server at 127.0.0.1:3306 has ``log_bin`` OFF and must never be reconfigured).
The server listens on 127.0.0.1 only; root has an empty password; it is stopped and its datadir
removed by :meth:`PrivateMariaDB.stop`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PrivateMariaDB:
    """One private server; ``binlog=True`` gives a GTID replication source."""

    server_id: int
    binlog: bool = True
    buffer_pool: str = "256M"
    extra: list[str] = field(default_factory=list)
    base: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="dirac-mariadb-")))
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def datadir(self) -> Path:
        return self.base / "data"

    @property
    def socket(self) -> Path:
        return self.base / "mysqld.sock"

    def start(self, timeout: float = 60) -> PrivateMariaDB:
        self.datadir.mkdir(parents=True, exist_ok=True)
        if not (self.datadir / "mysql").is_dir():
            subprocess.run(
                [
                    "mariadb-install-db",
                    "--no-defaults",
                    f"--datadir={self.datadir}",
                    "--user=root",
                    "--auth-root-authentication-method=normal",
                    "--skip-test-db",
                ],
                check=True,
                capture_output=True,
            )
        args = [
            "mariadbd",
            "--no-defaults",
            f"--datadir={self.datadir}",
            f"--socket={self.socket}",
            f"--pid-file={self.base / 'mysqld.pid'}",
            f"--log-error={self.base / 'error.log'}",
            f"--port={self.port}",
            "--bind-address=127.0.0.1",
            "--user=root",
            f"--server-id={self.server_id}",
            "--skip-name-resolve",
            f"--innodb-buffer-pool-size={self.buffer_pool}",
            "--innodb-log-file-size=256M",
            "--innodb-flush-log-at-trx-commit=2",
            "--max-connections=200",
            "--character-set-server=utf8mb4",
            "--collation-server=utf8mb4_general_ci",
            f"--secure-file-priv={self.base}",
        ]
        if self.binlog:
            args += [f"--log-bin={self.base / 'binlog' / 'mysql-bin'}", "--binlog-format=ROW", "--sync-binlog=0"]
            (self.base / "binlog").mkdir(exist_ok=True)
        args += self.extra
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                log = (self.base / "error.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"private mariadbd exited with {self.process.returncode}: {log}")
            try:
                with contextlib.closing(self.connect()):
                    return self
            except Exception:
                time.sleep(0.2)
        raise RuntimeError(f"private mariadbd on port {self.port} did not answer within {timeout}s")

    def connect(self, database: str | None = None, user: str = "root", password: str = "") -> Any:
        import pymysql

        return pymysql.connect(
            host="127.0.0.1",
            port=self.port,
            user=user,
            password=password,
            database=database,
            charset="utf8mb4",
            autocommit=True,
        )

    def execute(self, *statements: str) -> None:
        with contextlib.closing(self.connect()) as conn, conn.cursor() as cur:
            for statement in statements:
                cur.execute(statement)

    def query(self, statement: str) -> list[tuple[Any, ...]]:
        with contextlib.closing(self.connect()) as conn, conn.cursor() as cur:
            cur.execute(statement)
            return list(cur.fetchall())

    def stop(self, remove: bool = True) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        if remove:
            shutil.rmtree(self.base, ignore_errors=True)

    def password_file(self, name: str = "root.secret", password: str = "") -> Path:
        """A 0600 file holding `password`, as the migration plan wants it."""
        path = self.base / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(password)
        return path


@contextlib.contextmanager
def private_mariadb(server_id: int, binlog: bool = True, **kwargs: Any) -> Iterator[PrivateMariaDB]:
    server = PrivateMariaDB(server_id=server_id, binlog=binlog, **kwargs).start()
    try:
        yield server
    finally:
        server.stop()
