"""JobLoggingDB: the status history of every job (DIRAC's ``LoggingInfo`` table).

DIRAC numbers the records of a job with a MySQL trigger (``SeqNum``); here the bulk insert computes
the next numbers itself, so the same code runs on SQLite, and retries if a concurrent writer won.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    String,
    Table,
    delete,
    func,
    insert,
    literal,
    select,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.dml import Insert

from dirac_core.db.base import BaseDB
from dirac_core.db.installed import DatabaseSpec
from dirac_core.db.retry import retry_transient
from dirac_core.db.types import MYSQL_TABLE_ARGS, datetime_col, utcnow

metadata = MetaData()
# Registered under the dirac_core.databases entry points (pyproject.toml).
DATABASE = DatabaseSpec("JobLoggingDB", "WorkloadManagement", __name__)

# DIRAC orders records by seconds since this epoch, with millisecond precision (DOUBLE(12,3)).
MAGIC_EPOC_NUMBER = 1270000000

LoggingInfo = Table(
    "LoggingInfo",
    metadata,
    Column("JobID", Integer, nullable=False),
    Column("SeqNum", Integer, nullable=False, server_default="0"),
    Column("Status", String(32), nullable=False, server_default=""),
    Column("MinorStatus", String(128), nullable=False, server_default=""),
    Column("ApplicationStatus", String(255), nullable=False, server_default=""),
    Column("StatusTime", datetime_col(), nullable=False),
    Column("StatusTimeOrder", Numeric(12, 3), nullable=False),
    Column("StatusSource", String(32), nullable=False, server_default="Unknown"),
    PrimaryKeyConstraint("JobID", "SeqNum"),
    **MYSQL_TABLE_ARGS,
)

IDEM = "idem"  # DIRAC's marker for "unchanged" in a logging record


@dataclass(frozen=True)
class LoggingRecord:
    job_id: int
    status: str = IDEM
    minor_status: str = IDEM
    application_status: str = IDEM
    source: str = "Unknown"
    date: datetime | None = None


def _row(record: LoggingRecord, seq: int, now: datetime) -> dict[str, Any]:
    when = record.date or now
    # Naive datetimes are UTC, as everywhere in DIRAC.
    stamp = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    return {
        "JobID": record.job_id,
        "SeqNum": seq,
        "Status": record.status[:32],
        "MinorStatus": record.minor_status[:128],
        "ApplicationStatus": record.application_status[:255],
        "StatusTime": stamp.replace(tzinfo=None, microsecond=0),
        "StatusTimeOrder": Decimal(f"{stamp.timestamp() - MAGIC_EPOC_NUMBER:.3f}"),
        "StatusSource": record.source[:32],
    }


class JobLoggingDB(BaseDB):
    metadata = metadata

    def add_records(self, records: Sequence[LoggingRecord], attempts: int = 5, new_jobs: bool = False) -> None:
        """Append records (one bulk insert); SeqNum continues each job's sequence.

        `new_jobs`: the jobs were just created and have no records yet (skips reading the last SeqNum).
        """
        if not records:
            return
        now = datetime.now(UTC)
        for attempt in range(attempts):
            try:
                # A deadlock on the SeqNum gap locks rolled the transaction back: run it again.
                retry_transient(lambda: self._insert(records, new_jobs, now))
                return
            except IntegrityError:  # a concurrent writer took the same SeqNum
                if attempt == attempts - 1:
                    raise

    def _insert(self, records: Sequence[LoggingRecord], new_jobs: bool, now: datetime) -> None:
        """One transaction: read each job's last SeqNum (unless `new_jobs`) and insert the records after it."""
        with self.engine.begin() as conn:
            if len(records) == 1 and not new_jobs:
                self.append(conn, records[0], attempts=1)
                return
            job_ids = sorted({record.job_id for record in records})
            last: dict[int, int] = {}
            for chunk in [] if new_jobs else _chunks(job_ids):
                last.update(
                    conn.execute(
                        select(LoggingInfo.c.JobID, func.max(LoggingInfo.c.SeqNum))
                        .where(LoggingInfo.c.JobID.in_(chunk))
                        .group_by(LoggingInfo.c.JobID)
                    ).all()
                )
            rows = []
            for record in records:
                seq = int(last.get(record.job_id) or 0) + 1
                last[record.job_id] = seq
                rows.append(_row(record, seq, now))
            conn.execute(insert(LoggingInfo), rows)

    def append(self, conn: Connection, record: LoggingRecord, attempts: int = 5) -> None:
        """One record inside the caller's transaction (a status step): its SeqNum is computed by the INSERT
        itself, no SELECT first. A duplicate SeqNum (a concurrent writer) fails only that statement on
        MariaDB and SQLite, so it is simply run again."""
        statement = self._append_one(record, datetime.now(UTC))
        for attempt in range(attempts):
            try:
                conn.execute(statement)
                return
            except IntegrityError:
                if attempt == attempts - 1:
                    raise

    @staticmethod
    def _append_one(record: LoggingRecord, now: datetime) -> Insert:
        """``INSERT INTO LoggingInfo SELECT <record>, MAX(SeqNum) + 1 ... WHERE JobID = <job>``."""
        row = _row(record, 0, now)
        next_seq = func.coalesce(func.max(LoggingInfo.c.SeqNum), 0) + 1
        values = [
            next_seq if name == "SeqNum" else literal(value, LoggingInfo.c[name].type) for name, value in row.items()
        ]
        source = select(*values).where(LoggingInfo.c.JobID == record.job_id)
        return insert(LoggingInfo).from_select(list(row), source)

    def get_logging_info(self, job_id: int) -> list[dict[str, str]]:
        """History in order, with DIRAC's 'idem' resolved to the previous value (getJobLoggingInfo)."""
        stmt = (
            select(
                LoggingInfo.c.Status,
                LoggingInfo.c.MinorStatus,
                LoggingInfo.c.ApplicationStatus,
                LoggingInfo.c.StatusTime,
                LoggingInfo.c.StatusSource,
            )
            .where(LoggingInfo.c.JobID == job_id)
            .order_by(LoggingInfo.c.StatusTimeOrder, LoggingInfo.c.SeqNum)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(stmt).all()
        history: list[dict[str, str]] = []
        status, minor, app = "Unknown", "Unknown", "Unknown"
        for row in rows:
            status = status if row[0] == IDEM else str(row[0])
            minor = minor if row[1] == IDEM else str(row[1])
            app = app if row[2] == IDEM else str(row[2])
            history.append(
                {
                    "Status": status,
                    "MinorStatus": minor,
                    "ApplicationStatus": app,
                    "StatusTime": row[3].strftime("%Y-%m-%d %H:%M:%S"),
                    "Source": str(row[4]),
                }
            )
        return history

    def delete_jobs(self, job_ids: Sequence[int]) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(LoggingInfo).where(LoggingInfo.c.JobID.in_(list(job_ids))))


__all__ = ["IDEM", "JobLoggingDB", "LoggingInfo", "LoggingRecord", "metadata", "utcnow"]


def _chunks(values: Sequence[int], size: int = 1000) -> list[list[int]]:
    return [list(values[start : start + size]) for start in range(0, len(values), size)]
