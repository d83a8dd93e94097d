"""Fault injection for the resumability tests: ``DIRAC_MIGRATE_FAULT=<when>:<phase>:chunk<N>``.

The engine calls `fault_point(phase, when)` at named points; when the variable matches the N-th call
of that point in this process, the process SIGKILLs itself (no cleanup, no flush: the worst case).
Phases: dump, transfer, load, verify, objects, reset, repopulate (and the cutover step's own).
``when`` is before, during or after. Unset in production, where this is one dict lookup.
"""

from __future__ import annotations

import os
import signal
import threading
from collections import Counter

ENV = "DIRAC_MIGRATE_FAULT"

_counts: Counter[tuple[str, str]] = Counter()
_lock = threading.Lock()


def fault_point(phase: str, when: str = "after") -> None:
    spec = os.environ.get(ENV)
    if not spec:
        return
    parts = spec.split(":")
    if len(parts) != 3 or parts[0] != when or parts[1] != phase:
        return
    target = parts[2].removeprefix("chunk")
    with _lock:
        _counts[(when, phase)] += 1
        hit = target.isdigit() and _counts[(when, phase)] == int(target)
    if hit:
        os.kill(os.getpid(), signal.SIGKILL)


__all__ = ["ENV", "fault_point"]
