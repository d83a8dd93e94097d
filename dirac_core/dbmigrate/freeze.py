"""Freezing writes on the source for the switch, with pluggable actions.

A :class:`Freezer` runs its actions in order to freeze and in reverse order to thaw. Every action
is idempotent (freezing twice is harmless), because a cutover killed while frozen is re-run.

- :class:`CommandAction`: operator commands, e.g. ``systemctl stop dirac-*`` given by the playbook
  (stop the services first, so they see a clean stop instead of write errors).
- :class:`ReadOnlyAction`: ``SET GLOBAL read_only = ON`` on the source, then waits for open write
  transactions to finish and kills those still open after a grace period (they roll back, so no
  committed row is lost). Accounts holding ``READ_ONLY ADMIN`` (root, ``ALL PRIVILEGES``) can still
  write under ``read_only``: DIRAC services use their own unprivileged accounts.
- :class:`WritersAction`: the writers of this host stop: every DIRAC unit but the Configuration
  Server, which keeps handing out the configuration (the new URLs at a cutover). The one rule of
  what a writer is (:func:`is_writer`), used by the migration playbooks (``dirac-core writers
  freeze`` on each host: cutover, rollback, the new site before its cutover) and by
  ``dirac-kit ops freeze``.
"""

from __future__ import annotations

import shlex
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatch
from typing import Protocol

from dirac_core.dbmigrate.replication import Endpoint, execute, query
from dirac_core.errors import ServiceUnavailable


class FreezeAction(Protocol):
    name: str

    def freeze(self, say: Callable[[str], None]) -> None: ...

    def thaw(self, say: Callable[[str], None]) -> None: ...


@dataclass
class ReadOnlyAction:
    """Source read-only + drain (then kill) open write transactions on the given databases."""

    source: Endpoint
    databases: Sequence[str]
    grace: float = 5.0
    lock_timeout: float = 60.0
    name: str = "read_only"

    def freeze(self, say: Callable[[str], None]) -> None:
        with self.source.connect() as conn:
            # read_only waits for running statements (like FLUSH TABLES WITH READ LOCK): bound the wait.
            execute(conn, "SET SESSION lock_wait_timeout = %s", (max(1, int(self.lock_timeout)),))
            try:
                execute(conn, "SET GLOBAL read_only = ON")
            except Exception as exc:
                raise ServiceUnavailable(
                    f"cannot set read_only on {self.source.label()} within {self.lock_timeout:.0f}s ({exc}): a long "
                    "statement or table lock holds it: stop that client and re-run"
                ) from exc
            own = query(conn, "SELECT CONNECTION_ID() AS id")[0]["id"]
            deadline = time.monotonic() + self.grace
            while True:
                open_writers = self._open_writers(conn, own)
                if not open_writers:
                    break
                if time.monotonic() >= deadline:
                    for thread_id, user, db in open_writers:
                        say(f"freeze: killing open write transaction of {user} on {db} (thread {thread_id})")
                        execute(conn, f"KILL CONNECTION {int(thread_id)}")
                    break
                time.sleep(0.05)
        say(f"freeze: source {self.source.label()} read_only=ON")

    def _open_writers(self, conn: object, own: int) -> list[tuple[int, str, str]]:
        # A transaction that modified rows but has not committed yet; its DB is the session's
        # default DB (the best the server tells us without parsing its statements).
        rows = query(
            conn,
            "SELECT p.ID AS id, p.USER AS user, COALESCE(p.DB, '') AS db FROM information_schema.INNODB_TRX t "
            "JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id "
            "WHERE t.trx_rows_modified > 0 AND p.ID <> %s AND p.COMMAND NOT IN ('Slave_SQL', 'Slave_IO')",
            (own,),
        )
        wanted = set(self.databases)
        return [(r["id"], r["user"], r["db"]) for r in rows if not r["db"] or r["db"] in wanted]

    def thaw(self, say: Callable[[str], None]) -> None:
        with self.source.connect() as conn:
            execute(conn, "SET GLOBAL read_only = OFF")
        say(f"thaw: source {self.source.label()} read_only=OFF")


@dataclass
class CommandAction:
    """Run operator commands to freeze/thaw (e.g. stop/start the DIRAC services writing to the DB)."""

    freeze_commands: Sequence[str]
    thaw_commands: Sequence[str] = ()
    timeout: float = 300
    name: str = "commands"

    def freeze(self, say: Callable[[str], None]) -> None:
        self._run(self.freeze_commands, say)

    def thaw(self, say: Callable[[str], None]) -> None:
        self._run(self.thaw_commands, say)

    def _run(self, commands: Sequence[str], say: Callable[[str], None]) -> None:
        for command in commands:
            say(f"run: {command}")
            done = subprocess.run(shlex.split(command), capture_output=True, text=True, timeout=self.timeout)
            if done.returncode != 0:
                raise ServiceUnavailable(
                    f"freeze command {command!r} failed with exit code {done.returncode}: "
                    f"{(done.stderr or done.stdout).strip()[:300]}; fix it and re-run the cutover"
                )


UNIT_GLOB = "dirac-*.service"  # systemd units of DIRAC components (dirac_services)
CS_UNIT_SUFFIX = "-Configuration_Server.service"


def is_writer(unit: str, instance: str | None = None) -> bool:
    """A DIRAC unit that may write: every component unit (of `instance`, if given) but the CS."""
    pattern = f"dirac-{instance}-*.service" if instance else UNIT_GLOB
    return fnmatch(unit, pattern) and not unit.endswith(CS_UNIT_SUFFIX)


def _systemctl(*args: str) -> str:
    done = subprocess.run(["systemctl", *args], capture_output=True, text=True, check=False, timeout=300)
    if done.returncode != 0:
        raise ServiceUnavailable(f"systemctl {' '.join(args)} failed: {(done.stderr or done.stdout).strip()[:300]}")
    return done.stdout


def running_writers(instance: str | None = None) -> list[str]:
    """The writer units of this host that run now, sorted."""
    listing = _systemctl("list-units", "--state=active", "--no-legend", "--plain", UNIT_GLOB)
    units = {line.split()[0] for line in listing.splitlines() if line.strip()}
    return sorted(unit for unit in units if is_writer(unit, instance))


@dataclass
class WritersAction:
    """Stop the writer units of this host (thaw starts exactly those again); the units stay enabled."""

    instance: str | None = None
    dry_run: bool = False
    stopped: list[str] = field(default_factory=list)
    name: str = "writers"

    def freeze(self, say: Callable[[str], None]) -> None:
        self.stopped = running_writers(self.instance)
        for unit in self.stopped:
            say(f"freeze: {'would stop' if self.dry_run else 'stopping'} {unit}")
        if self.stopped and not self.dry_run:
            _systemctl("stop", *self.stopped)

    def thaw(self, say: Callable[[str], None]) -> None:
        for unit in self.stopped:
            say(f"thaw: {'would start' if self.dry_run else 'starting'} {unit}")
        if self.stopped and not self.dry_run:
            _systemctl("start", *self.stopped)


@dataclass
class Freezer:
    actions: list[FreezeAction] = field(default_factory=list)

    def freeze(self, say: Callable[[str], None] = print) -> None:
        for action in self.actions:
            action.freeze(say)

    def thaw(self, say: Callable[[str], None] = print) -> None:
        for action in reversed(self.actions):
            action.thaw(say)


def default_freezer(
    source: Endpoint,
    databases: Sequence[str],
    stop_commands: Sequence[str] = (),
    start_commands: Sequence[str] = (),
    grace: float = 5.0,
) -> Freezer:
    """Stop-services commands first (if any), then read_only on the source."""
    actions: list[FreezeAction] = []
    if stop_commands or start_commands:
        actions.append(CommandAction(stop_commands, start_commands))
    actions.append(ReadOnlyAction(source, databases, grace))
    return Freezer(actions)
