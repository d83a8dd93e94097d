"""Run one transaction again after an InnoDB deadlock or lock wait timeout.

InnoDB rolls the whole transaction back on 1213 (deadlock) and, with innodb_rollback_on_timeout or
for the statement, on 1205: running it again is safe and is what MariaDB's message asks for. Only a
transaction the caller owns from begin to commit may be retried this way; a statement inside
someone else's transaction must let the error go up to the owner.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import OperationalError

TRANSIENT_ERRORS = (1205, 1213)  # lock wait timeout, deadlock
ATTEMPTS = 5

T = TypeVar("T")


def is_transient(exc: OperationalError) -> bool:
    """A deadlock or lock wait timeout, also when it surfaces as the error that followed it (a deadlock
    inside a SAVEPOINT rolls the whole transaction back: the ROLLBACK TO SAVEPOINT then fails, 1305)."""
    seen: BaseException | None = exc
    while seen is not None:
        orig = getattr(seen, "orig", None)
        if isinstance(seen, OperationalError) and orig is not None and orig.args and orig.args[0] in TRANSIENT_ERRORS:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def retry_transient(transaction: Callable[[], T], attempts: int = ATTEMPTS) -> T:
    """`transaction()` (which begins and commits its own transaction), again after a transient error."""
    for attempt in range(1, attempts + 1):
        try:
            return transaction()
        except OperationalError as exc:
            if not is_transient(exc) or attempt == attempts:
                raise
            time.sleep(0.05 * attempt)  # let the other transaction finish first
    raise AssertionError("unreachable")  # the loop returns or raises
