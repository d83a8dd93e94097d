"""The run lock and what a killed run leaves holding it (dirac_kit/runbook/lock.py).

Real processes, as a killed `runbook run` leaves them: an orphan (its parent gone) that inherited the
locked descriptor and blocks for ever, either on a futex (a lock of the dead parent's result queue)
or writing to a full pipe. A waiting run must stop those, and only those: an orphan whose task still
runs (it has a child) is waited for.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from dirac_kit.runbook.lock import RunInProgress, exclusive_run

# The "killed run": takes the lock, forks a holder that outlives it (double fork: the holder's parent
# is gone), prints the holder's pid and exits. The holder then blocks as told.
_KILLED_RUN = textwrap.dedent(
    """
    import fcntl, os, subprocess, sys, threading, time
    lock, how = sys.argv[1], sys.argv[2]
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX)
    if os.fork() == 0:
        if os.fork() == 0:
            os.setsid()  # as Ansible's workers do
            print(os.getpid(), flush=True)
            null = os.open(os.devnull, os.O_RDWR)
            for std in (0, 1, 2):  # the caller reads our output to its end
                os.dup2(null, std)
            if how == "futex":
                held = threading.Lock()
                held.acquire()
                held.acquire()  # never released: a single thread asleep on a futex
            elif how == "pipe":
                r, w = os.pipe()
                os.write(w, b"x" * (1 << 20))  # blocks once the pipe is full; nobody reads
            else:  # a task still running: the worker waits for its child
                subprocess.run(["sleep", "30"])
            os._exit(0)
        os._exit(0)
    os.wait()
    """
)


def _orphan(lock: Path, how: str) -> int:
    out = subprocess.run(
        [sys.executable, "-c", _KILLED_RUN, str(lock), how], capture_output=True, text=True, timeout=30, check=True
    )
    pid = int(out.stdout.split()[0])
    time.sleep(0.3)  # let it reach its wait
    return pid


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    return status != "Z"


@pytest.mark.parametrize("how", ["futex", "pipe"])
def test_a_killed_runs_stuck_orphan_is_stopped_and_the_run_goes_on(tmp_path: Path, how: str) -> None:
    lock = tmp_path / ".runbook.lock"
    pid = _orphan(lock, how)
    said: list[str] = []
    started = time.monotonic()
    try:
        with exclusive_run(lock, said.append, timeout=30, poll=0.2) as fd:
            assert fd >= 0
    finally:
        if _alive(pid):
            os.kill(pid, 9)
    assert time.monotonic() - started < 20
    assert any(f"stopping {pid}" in line for line in said), said
    assert not _alive(pid)


def test_an_orphan_whose_task_still_runs_is_waited_for(tmp_path: Path) -> None:
    lock = tmp_path / ".runbook.lock"
    pid = _orphan(lock, "task")
    said: list[str] = []
    try:
        with pytest.raises(RunInProgress, match="still held"), exclusive_run(lock, said.append, timeout=2, poll=0.2):
            pass
        assert _alive(pid), "an orphan with a running task must not be stopped"
        assert not any("stopping" in line for line in said), said
    finally:
        os.killpg(pid, 9)
