"""One runbook run at a time per state directory, including what a killed run left running.

Ansible's workers start their own session (setsid): killing a runbook run (its process group, a
closed terminal) leaves the worker of the current task running, e.g. a task of deploy-new's
site.yml. A re-run started meanwhile ran the same playbook beside it (two `dirac-core db init` at
once: "Duplicate key name", seen in the lab's kill-and-resume test). The run holds an flock for its whole life and hands
the descriptor to every step command; Ansible's workers inherit it through fork, so the lock is free
only once the last of them has ended. A re-run waits for that, saying so.

An orphaned worker whose task has finished can block for ever handing the result to its dead parent:
in a pipe write (it holds the read end of that pipe itself, so the write never fails once the pipe
is full: seen with the big output of a task that ran a whole playbook), or on a futex, a
multiprocessing lock of the result queue that its dead parent held at the kill (seen in the e2e
test: four single-threaded workers of a killed deploy-new waited 15 min until stopped by hand).
Such a holder - parent gone, no child (so no task of it runs any more), asleep in one of those
waits on two polls in a row - has nothing left to do, and the waiting run stops it, saying so.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_NAME = ".runbook.lock"
# /proc/<pid>/wchan of a process blocked for good once its parent is gone: a write on a full pipe, or
# a futex wait (the kernel's name differs by version).
_DEAD_END_WAITS = {
    "pipe_write",
    "anon_pipe_write",
    "futex_wait_queue_me",
    "futex_wait_queue",
    "futex_do_wait",
}


class RunInProgress(Exception):
    """Another run (or what is left of a killed one) still holds the state directory."""


@contextmanager
def exclusive_run(
    lock_path: Path, echo: Callable[[str], None], timeout: float = 3600.0, poll: float = 2.0
) -> Iterator[int]:
    """Hold the run lock (waiting up to `timeout` s for an earlier run); yields the descriptor to pass on."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        waited = 0.0
        suspects: set[int] = set()
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if waited == 0.0:
                    echo(
                        f"waiting for an earlier run that still holds {lock_path}: a killed run's Ansible tasks "
                        f"finish first (`fuser -v {lock_path}` lists them)"
                    )
                stuck = _stuck_orphans(lock_path)
                for pid in stuck & suspects:
                    echo(f"stopping {pid}: a killed run's Ansible worker, its task finished, stuck handing "
                         "the result to its dead parent")  # fmt: skip
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                suspects = stuck
                if waited >= timeout:
                    raise RunInProgress(
                        f"{lock_path} is still held after {timeout:.0f} s: another run is going on; wait for it, "
                        f"or stop the processes `fuser -v {lock_path}` lists, then re-run"
                    ) from None
                time.sleep(poll)
                waited += poll
        if waited:
            echo(f"the earlier run ended after {waited:.0f} s of waiting; going on")
        yield fd
    finally:
        os.close(fd)


def holders(lock_path: Path) -> dict[int, str]:
    """Processes other than this one that hold the run lock, with their command lines (what a killed
    or interrupted step left running here)."""
    found = {}
    for pid in _holders(lock_path) - {os.getpid()}:
        with contextlib.suppress(OSError):
            found[pid] = (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    return found


def _holders(lock_path: Path) -> set[int]:
    """Processes with the lock file open (Linux /proc)."""
    target = str(lock_path.resolve())
    found = set()
    for fd_dir in Path("/proc").glob("[0-9]*/fd"):
        with contextlib.suppress(OSError):
            if any(str(fd.readlink()) == target for fd in fd_dir.iterdir()):
                found.add(int(fd_dir.parent.name))
    return found


def _stuck_orphans(lock_path: Path) -> set[int]:
    """Holders whose ansible-playbook parent is gone (reparented to init or a subreaper), with no
    child, asleep in a pipe write or a futex wait."""
    stuck = set()
    for pid in _holders(lock_path) - {os.getpid()}:
        proc = Path("/proc") / str(pid)
        with contextlib.suppress(OSError, ValueError, IndexError):
            ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            parent_is_ansible = b"ansible" in (Path("/proc") / str(ppid) / "cmdline").read_bytes()
            children = (proc / "task" / str(pid) / "children").read_text().split()
            if not parent_is_ansible and not children and (proc / "wchan").read_text().strip() in _DEAD_END_WAITS:
                stuck.add(pid)
    return stuck
