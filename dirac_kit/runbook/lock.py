"""One runbook run at a time per state directory, including what a killed run left running.

Ansible's workers start their own session (setsid): killing a runbook run (its process group, a
closed terminal) leaves the worker of the current task running, e.g. a nested site.yml. A re-run
started meanwhile ran the same playbook beside it (two `dirac-core db init` at once: "Duplicate key
name", seen in the lab's kill-and-resume test). The run holds an flock for its whole life and hands
the descriptor to every step command; Ansible's workers inherit it through fork, so the lock is free
only once the last of them has ended. A re-run waits for that, saying so.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_NAME = ".runbook.lock"


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
