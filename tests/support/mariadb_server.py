"""A private, throw-away ``mariadbd`` for tests that need a second server (migration, replication).

The shared server at 127.0.0.1:3306 is never touched: this one gets its own datadir, port, socket and
pid file under a temporary directory, binary logging options of the caller's choosing, and a root
account without password over both the socket and TCP (``--auth-root-authentication-method=normal``).

    with MariaDBServer(tmp_path, server_id=2, log_bin=True) as server:
        conn = MySQLdb.connect(**server.connect_args())

``stop()`` shuts it down cleanly (SIGTERM, wait), then removes the datadir unless ``keep=True``.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlalchemy.engine import URL

MARIADBD = shutil.which("mariadbd") or "/usr/sbin/mariadbd"
INSTALL_DB = shutil.which("mariadb-install-db") or "/usr/bin/mariadb-install-db"


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM (mariadbd's clean shutdown) when the starting process dies."""
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def free_port() -> int:
    """A TCP port nobody listens on right now (the kernel's pick for an ephemeral bind)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class MariaDBServer:
    """One private mariadbd. Options are plain mariadbd long options (without the leading ``--``)."""

    base_dir: Path | None = None
    server_id: int = 2
    log_bin: bool = True
    binlog_format: str = "ROW"
    gtid_strict_mode: bool = True
    gtid_domain_id: int | None = None
    extra_options: list[str] = field(default_factory=list)
    port: int = 0
    keep: bool = False
    startup_timeout: float = 60.0

    def __post_init__(self) -> None:
        if self.base_dir is None:
            self.base_dir = Path(tempfile.mkdtemp(prefix="mariadbd-", dir="/tmp"))
        self.base_dir = Path(self.base_dir)
        self.datadir = self.base_dir / "data"
        self.socket = self.base_dir / "mariadbd.sock"
        self.pid_file = self.base_dir / "mariadbd.pid"
        self.log_file = self.base_dir / "mariadbd.err"
        self.tmpdir = self.base_dir / "tmp"
        self.host = "127.0.0.1"
        self._proc: subprocess.Popen[bytes] | None = None

    # -- lifecycle --------------------------------------------------------------------------------
    def options(self) -> list[str]:
        opts = [
            "--no-defaults",  # never read /etc/mysql: the shared server's config is not ours
            f"--datadir={self.datadir}",
            f"--socket={self.socket}",
            f"--pid-file={self.pid_file}",
            f"--log-error={self.log_file}",
            f"--port={self.port}",
            "--bind-address=127.0.0.1",
            f"--tmpdir={self.tmpdir}",  # not /tmp: other jobs' /tmp cleanups must not eat our temp tables
            f"--server-id={self.server_id}",
            "--skip-name-resolve",
            "--local-infile=1",
            "--character-set-server=utf8mb4",
            "--collation-server=utf8mb4_general_ci",
            "--innodb-buffer-pool-size=128M",
            "--innodb-log-file-size=64M",
            "--innodb-flush-log-at-trx-commit=2",  # a test server: durability of the last second is moot
            "--max-allowed-packet=256M",
            "--log-bin-trust-function-creators=1",  # lets non-SUPER definers replay functions with binlog on
        ]
        if os.geteuid() == 0:
            opts.append("--user=root")
        if self.log_bin:
            opts += [
                f"--log-bin={self.datadir.parent / 'binlog'}",
                f"--binlog-format={self.binlog_format}",
                "--log-slave-updates=1",
            ]
            if self.gtid_strict_mode:
                opts.append("--gtid-strict-mode=1")
            if self.gtid_domain_id is not None:
                opts.append(f"--gtid-domain-id={self.gtid_domain_id}")
        return opts + [f"--{opt.removeprefix('--')}" for opt in self.extra_options]

    def start(self) -> MariaDBServer:
        assert self.base_dir is not None
        if self._proc is not None:
            return self
        if not self.port:
            self.port = free_port()
        if not (self.datadir / "mysql").is_dir():
            self.datadir.mkdir(parents=True, exist_ok=True)
            install = [
                INSTALL_DB,
                "--no-defaults",
                f"--datadir={self.datadir}",
                "--auth-root-authentication-method=normal",  # root@localhost without password
                "--skip-test-db",
                "--skip-name-resolve",
            ]
            if os.geteuid() == 0:
                install.append("--user=root")
            done = subprocess.run(install, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise RuntimeError(f"mariadb-install-db failed ({done.returncode}): {done.stderr[-2000:]}")
        self.tmpdir.mkdir(parents=True, exist_ok=True)
        self._proc = subprocess.Popen(
            [MARIADBD, *self.options()],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # a Ctrl-C on pytest must not kill it before stop() runs
            preexec_fn=_die_with_parent,  # but a killed pytest must not leave it running
        )
        self._wait_ready()
        self._grant_tcp_root()
        return self

    def _wait_ready(self) -> None:
        import MySQLdb

        deadline = time.monotonic() + self.startup_timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise RuntimeError(f"mariadbd exited with {self._proc.returncode}: {self.error_log_tail()}")
            try:
                MySQLdb.connect(unix_socket=str(self.socket), user="root").close()
                return
            except MySQLdb.OperationalError as exc:
                last = exc
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"mariadbd did not accept connections in {self.startup_timeout}s ({last})")

    def _grant_tcp_root(self) -> None:
        # install-db creates root@localhost only; tests and the engine connect over TCP to 127.0.0.1.
        # SET sql_log_bin=0: these grants stay out of the binlog (GTID positions start clean for tests).
        self.execute(
            "SET sql_log_bin=0",
            "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY ''",
            "GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION",
            "CREATE USER IF NOT EXISTS 'root'@'%' IDENTIFIED BY ''",
            "GRANT ALL PRIVILEGES ON *.* TO 'root'@'%' WITH GRANT OPTION",
            "FLUSH PRIVILEGES",
        )

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # mariadbd's clean shutdown
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        if not self.keep and self.base_dir is not None:
            shutil.rmtree(self.base_dir, ignore_errors=True)

    def restart(self) -> None:
        """Stop and start on the same datadir and port (e.g. to change options)."""
        keep, self.keep = self.keep, True
        try:
            self.stop()
        finally:
            self.keep = keep
        self.start()

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def __enter__(self) -> MariaDBServer:
        return self.start()

    def __exit__(self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None) -> None:
        self.stop()

    # -- access -----------------------------------------------------------------------------------
    def connect_args(self, database: str | None = None, tcp: bool = True) -> dict[str, Any]:
        args: dict[str, Any] = {"user": "root", "passwd": "", "charset": "utf8mb4", "local_infile": 1}
        if tcp:
            args.update(host=self.host, port=self.port)
        else:
            args["unix_socket"] = str(self.socket)
        if database:
            args["db"] = database
        return args

    def connect(self, database: str | None = None) -> Any:
        import MySQLdb

        return MySQLdb.connect(**self.connect_args(database))

    def url(self, database: str | None = None) -> URL:
        return URL.create(
            "mysql+mysqldb",
            username="root",
            password="",
            host=self.host,
            port=self.port,
            database=database,
            query={"charset": "utf8mb4"},
        )

    def execute(self, *statements: str) -> list[tuple[Any, ...]]:
        """Run statements on one autocommit connection (over the socket); rows of the last one."""
        import MySQLdb

        conn = MySQLdb.connect(unix_socket=str(self.socket), user="root", charset="utf8mb4")
        try:
            conn.autocommit(True)
            cur = conn.cursor()
            rows: list[tuple[Any, ...]] = []
            for stmt in statements:
                cur.execute(stmt)
                rows = list(cur.fetchall()) if cur.description else []
            return rows
        finally:
            conn.close()

    def error_log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no error log)"


__all__ = ["MariaDBServer", "free_port"]
