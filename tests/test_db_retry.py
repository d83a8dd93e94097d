"""Which InnoDB errors a transaction is run again after (dirac_core/db/retry.py)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy.engine import URL
from sqlalchemy.exc import OperationalError

from dirac_core.db import filecatalog_queries as sql
from dirac_core.db.engine import make_engine
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


@pytest.mark.mariadb
def test_a_real_deadlock_in_the_bulk_insert_inside_a_savepoint_is_run_again(mariadb_database: URL) -> None:
    """The catalog's multi-row INSERT (catalog/sql.py, on mysqlclient straight through the DBAPI cursor)
    is the deadlock victim inside a SAVEPOINT: InnoDB rolls the whole transaction back, the ROLLBACK TO
    SAVEPOINT fails with 1305, and retry_transient must still see a deadlock and run it again."""
    engine = make_engine(mariadb_database).execution_options(isolation_level="READ COMMITTED")
    other = make_engine(mariadb_database)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (id INT PRIMARY KEY) ENGINE=InnoDB")
    attempts: list[int] = []
    victim_waits = threading.Event()
    heavy = other.connect()
    heavy.exec_driver_sql("INSERT INTO t VALUES " + ",".join(f"({i})" for i in range(1000, 1200)))
    heavy.exec_driver_sql("INSERT INTO t VALUES (20)")

    def register() -> str:
        attempts.append(1)
        with engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO t VALUES (10)")
            with conn.begin_nested():
                if len(attempts) == 1:
                    victim_waits.set()
                    sql.insert_many(conn, "t", ("id",), [(20,)])  # waits for `heavy`, then is its victim
                else:
                    sql.insert_many(conn, "t", ("id",), [(30,)])
        return "committed"

    with ThreadPoolExecutor(1) as pool:
        result = pool.submit(retry_transient, register)
        assert victim_waits.wait(10)
        time.sleep(0.5)  # the victim now waits for row 20 of `heavy` (in either order it is a cycle)
        # Waits for the victim's row 10: a deadlock; InnoDB rolls back the lighter transaction (1 row).
        heavy.exec_driver_sql("INSERT INTO t VALUES (10)")
        heavy.rollback()
        heavy.close()
        assert result.result(timeout=60) == "committed"
    assert len(attempts) == 2
    with engine.connect() as conn:
        assert sorted(r[0] for r in conn.exec_driver_sql("SELECT id FROM t")) == [10, 30]
    engine.dispose()
    other.dispose()
