"""Which InnoDB errors a transaction is run again after (dirac_core/db/retry.py)."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import OperationalError

from dirac_core.db.retry import is_transient, retry_transient


def _error(code: int, message: str) -> OperationalError:
    return OperationalError("stmt", {}, Exception(code, message))


def test_a_deadlock_behind_a_lost_savepoint_is_transient_other_errors_are_not() -> None:
    """The catalog's bulk add hit a deadlock inside a SAVEPOINT; InnoDB rolled everything back and the
    ROLLBACK TO SAVEPOINT failed with 1305, which is what reached the caller (make test, CI run)."""
    deadlock = _error(1213, "Deadlock found when trying to get lock")
    try:
        try:
            raise deadlock
        except OperationalError:
            raise _error(1305, "SAVEPOINT sa_savepoint_3 does not exist") from None
    except OperationalError as lost_savepoint:
        lost_savepoint.__context__ = deadlock  # what SQLAlchemy's rollback leaves behind
        assert is_transient(lost_savepoint)
    assert is_transient(_error(1205, "Lock wait timeout exceeded"))
    assert not is_transient(_error(1305, "SAVEPOINT sa_savepoint_3 does not exist"))
    assert not is_transient(_error(1146, "Table doesn't exist"))


def test_retry_runs_again_after_a_deadlock_and_gives_up_on_other_errors() -> None:
    calls: list[int] = []

    def twice() -> str:
        calls.append(1)
        if len(calls) == 1:
            raise _error(1213, "Deadlock found when trying to get lock")
        return "committed"

    assert retry_transient(twice) == "committed" and len(calls) == 2

    def broken() -> None:
        calls.append(1)
        raise _error(1146, "Table doesn't exist")

    calls.clear()
    with pytest.raises(OperationalError):
        retry_transient(broken)
    assert len(calls) == 1
