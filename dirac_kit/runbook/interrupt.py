"""SIGTERM and SIGINT during a runbook run: never a silent exit.

Without a handler a SIGTERM ended the runner at once, saying nothing, while the step's
ansible-playbook and the engine it started on the DB host ran on (seen: the old DB server stayed
read-only until the re-run). While a run holds :class:`Interruptions`, a signal is remembered and
passed on to the running step as SIGINT (Ansible's own "User interrupted execution": it stops at the
task under way); the step gets ``grace`` seconds to end, a second signal or the end of the grace
kills it. The runner then records the step as interrupted, prints what may still run and where, and
the resume command, and exits with 128 + the signal number (143 for SIGTERM, 130 for SIGINT).
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

HANDLED = (signal.SIGTERM, signal.SIGINT)


class Interrupted(Exception):
    """The run was stopped by a signal during (or before) step `step_id`."""

    def __init__(self, signum: int, step_id: str) -> None:
        super().__init__(f"interrupted by {signal.Signals(signum).name} during step {step_id}")
        self.signum = signum
        self.step_id = step_id

    @property
    def exit_code(self) -> int:
        return 128 + self.signum  # as a shell reports a process killed by that signal


class Interruptions:
    """The signal received so far (if any) and the step process it is passed on to."""

    def __init__(self, grace: float = 60.0) -> None:
        self.grace = grace
        self.signum: int | None = None
        self.received_at = 0.0
        self._proc: subprocess.Popen[Any] | None = None

    def handle(self, signum: int, _frame: FrameType | None) -> None:
        again = self.signum is not None
        if not again:
            self.signum, self.received_at = signum, time.monotonic()
        proc = self._proc
        if proc is not None and proc.poll() is None:
            if again:
                proc.kill()  # asked twice: do not wait for the task under way
            else:
                proc.send_signal(signal.SIGINT)

    def communicate(self, proc: subprocess.Popen[str]) -> tuple[str, str]:
        """``proc.communicate()`` that passes a signal on and kills the step once the grace is over."""
        self._proc = proc
        try:
            if self.signum is not None and proc.poll() is None:
                proc.send_signal(signal.SIGINT)  # the signal came while the step was starting
            while True:
                try:
                    return proc.communicate(timeout=0.5)
                except subprocess.TimeoutExpired:
                    if self.signum is not None and time.monotonic() - self.received_at > self.grace:
                        proc.kill()
        finally:
            self._proc = None


@contextmanager
def catching_signals(grace: float = 60.0) -> Iterator[Interruptions]:
    """Handle SIGTERM and SIGINT for the block (main thread only), restoring the old handlers after."""
    interruptions = Interruptions(grace)
    previous = {signum: signal.signal(signum, interruptions.handle) for signum in HANDLED}
    try:
        yield interruptions
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
