"""Run one job payload in its own working directory with CPU and wall-clock limits.

The executor knows nothing about HTTP: the pilot gives it a heartbeat callback that returns True
when the WMS asked to kill the job, so a kill reaches the payload within one heartbeat.
"""

from __future__ import annotations

import contextlib
import os
import resource
import shlex
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

# Grace period between SIGTERM and SIGKILL when a payload is stopped.
_TERM_GRACE_SECONDS = 5.0


@dataclass(frozen=True)
class Payload:
    executable: str
    arguments: str
    workdir: Path
    cpu_seconds: int  # 0 = no limit
    wall_seconds: int  # 0 = no limit
    stdout_name: str = "std.out"
    stderr_name: str = "std.err"
    environment: tuple[tuple[str, str], ...] = ()  # added to the pilot's environment (DIRACJOBID, ...)


@dataclass(frozen=True)
class Heartbeat:
    cpu_seconds: float
    wall_seconds: float
    rss_kib: int


@dataclass(frozen=True)
class Outcome:
    exit_code: int | None
    reason: str  # completed, failed, killed, cpu-limit, wall-limit, not-executable (loop: abandoned)
    cpu_seconds: float
    wall_seconds: float

    @property
    def succeeded(self) -> bool:
        return self.reason == "completed"


HeartbeatCallback = Callable[[Heartbeat], bool]


def _limit_cpu(cpu_seconds: int) -> Callable[[], None]:
    def apply() -> None:
        os.setsid()  # own process group, so a kill stops the payload's children too
        if cpu_seconds > 0:
            resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 5))

    return apply


def _children_usage() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _stat_fields(pid: int) -> list[str]:
    # The command name may contain spaces and parentheses; the fields start after the last ')'.
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _group_cpu(pgid: int) -> float:
    """CPU of the payload's whole process group: live members plus the children they reaped.

    rusage only counts children once they are reaped, which is too late for a heartbeat.
    """
    ticks = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = _stat_fields(int(entry.name))
        except (OSError, IndexError):
            continue  # the process ended while we looked
        if int(fields[2]) == pgid:
            ticks += sum(int(value) for value in fields[11:15])  # utime, stime, cutime, cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=_TERM_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        proc.wait()


def run_payload(payload: Payload, on_heartbeat: HeartbeatCallback, heartbeat_seconds: float) -> Outcome:
    """Run the payload; call `on_heartbeat` every `heartbeat_seconds`; stop it if that returns True."""
    command = [payload.executable, *shlex.split(payload.arguments)]
    executable = payload.workdir / payload.executable
    # A sandbox script gets its x bit; an absolute path (/bin/echo) is the system's, left alone.
    if not Path(payload.executable).is_absolute() and executable.is_file():
        executable.chmod(executable.stat().st_mode | 0o100)
        command[0] = str(executable)
    cpu_before = _children_usage()
    start = time.monotonic()
    with (
        (payload.workdir / payload.stdout_name).open("wb") as out,
        (payload.workdir / payload.stderr_name).open("wb") as err,
    ):
        try:
            proc = subprocess.Popen(
                command,
                cwd=payload.workdir,
                stdout=out,
                stderr=err,
                env={**os.environ, **dict(payload.environment)},
                preexec_fn=_limit_cpu(payload.cpu_seconds),
            )
        except OSError as exc:
            err.write(f"cannot start {payload.executable}: {exc}\n".encode())
            return Outcome(None, "not-executable", 0.0, 0.0)
        reason = ""
        next_beat = start + heartbeat_seconds
        while proc.poll() is None:
            now = time.monotonic()
            if payload.wall_seconds and now - start > payload.wall_seconds:
                reason = "wall-limit"
                _stop_group(proc)
                break
            if now >= next_beat:
                next_beat = now + heartbeat_seconds
                beat = Heartbeat(_group_cpu(proc.pid), now - start, _rss_kib(proc.pid))
                if on_heartbeat(beat):
                    reason = "killed"
                    _stop_group(proc)
                    break
            # wait() returns as soon as the payload ends: short jobs do not wait for a poll tick.
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=min(0.2, heartbeat_seconds))
    wall = time.monotonic() - start
    cpu = _children_usage() - cpu_before
    code = proc.returncode
    return Outcome(code, reason or _classify_exit(code, cpu, payload.cpu_seconds), cpu, wall)


def _classify_exit(code: int | None, cpu: float, cpu_limit: int) -> str:
    # The kernel sends SIGXCPU at the soft CPU limit and SIGKILL at the hard one.
    if code == -signal.SIGXCPU or (code == -signal.SIGKILL and cpu_limit and cpu >= cpu_limit):
        return "cpu-limit"
    return "completed" if code == 0 else "failed"
