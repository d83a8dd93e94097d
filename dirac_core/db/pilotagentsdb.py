"""PilotAgentsDB: pilots and the jobs they ran (DIRAC's ``PilotAgents``, ``JobToPilotMapping``, ``PilotOutput``)."""

from __future__ import annotations

from contextlib import nullcontext
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Float,
    Index,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    case,
    insert,
    select,
    update,
)

from dirac_core.db.base import BaseDB, inserted_id
from dirac_core.db.installed import DatabaseSpec
from dirac_core.db.types import MYSQL_TABLE_ARGS, bool_enum, datetime_col, uint, utcnow

metadata = MetaData()
# Registered under the dirac_core.databases entry points (pyproject.toml).
DATABASE = DatabaseSpec("PilotAgentsDB", "WorkloadManagement", __name__)

PilotAgents = Table(
    "PilotAgents",
    metadata,
    Column("PilotID", uint(), primary_key=True, autoincrement=True),
    Column("InitialJobID", uint(), nullable=False, server_default="0"),
    Column("CurrentJobID", uint(), nullable=False, server_default="0"),
    Column("TaskQueueID", uint(), nullable=False, server_default="0"),
    Column("PilotJobReference", String(255), nullable=False, server_default="Unknown"),
    Column("PilotStamp", String(32), nullable=False, server_default=""),
    Column("DestinationSite", String(128), nullable=False, server_default="NotAssigned"),
    Column("Queue", String(128), nullable=False, server_default="Unknown"),
    Column("GridSite", String(128), nullable=False, server_default="Unknown"),
    Column("VO", String(128), nullable=False, server_default="Unknown"),
    Column("GridType", String(32), nullable=False, server_default="LCG"),
    Column("BenchMark", Float, nullable=False, server_default="0"),
    Column("SubmissionTime", datetime_col(), nullable=True),
    Column("LastUpdateTime", datetime_col(), nullable=True),
    Column("Status", String(32), nullable=False, server_default="Unknown"),
    Column("StatusReason", String(255), nullable=False, server_default="Unknown"),
    Column("AccountingSent", bool_enum("AccountingSent"), nullable=False, server_default="False"),
    Index("PilotJobReference", "PilotJobReference"),
    Index("Status", "Status"),
    Index("Statuskey", "GridSite", "DestinationSite", "Status"),
    **MYSQL_TABLE_ARGS,
)

JobToPilotMapping = Table(
    "JobToPilotMapping",
    metadata,
    Column("PilotID", uint(), nullable=False),
    Column("JobID", uint(), nullable=False),
    Column("StartTime", datetime_col(), nullable=False),
    PrimaryKeyConstraint("PilotID", "JobID"),
    Index("JobID", "JobID"),
    Index("PilotID", "PilotID"),
    **MYSQL_TABLE_ARGS,
)

PilotOutput = Table(
    "PilotOutput",
    metadata,
    Column("PilotID", uint(), primary_key=True, autoincrement=False),
    Column("StdOutput", Text),
    Column("StdError", Text),
    **MYSQL_TABLE_ARGS,
)


class PilotAgentsDB(BaseDB):
    metadata = metadata

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        # PilotJobReference -> PilotID of the pilots this process has matched: a pilot asks for many
        # jobs, and its row is found by the UPDATE itself (no SELECT) until it is gone.
        self._pilot_ids: dict[str, int] = {}

    def record_match(
        self,
        pilot_reference: str,
        job_id: int,
        tq_id: int,
        site: str,
        vo: str,
        grid_ce: str = "",
        conn: Connection | None = None,
    ) -> int:
        """Record that `pilot_reference` took `job_id` (registering the pilot if needed); returns its PilotID.

        In its own transaction, or in the caller's `conn` (the Matcher's, when the DBs share a database).
        """
        now = utcnow()
        with nullcontext(conn) if conn is not None else self.engine.begin() as active:
            pilot_id = self._pilot_ids.get(pilot_reference)
            if pilot_id is None or not self._set_current_job(active, pilot_id, pilot_reference, job_id, tq_id, now):
                pilot_id = active.execute(
                    select(PilotAgents.c.PilotID).where(PilotAgents.c.PilotJobReference == pilot_reference)
                ).scalar()
                if pilot_id is None:
                    pilot_id = inserted_id(
                        active.execute(
                            insert(PilotAgents).values(
                                PilotJobReference=pilot_reference[:255],
                                DestinationSite=grid_ce[:128] or "NotAssigned",
                                GridSite=site[:128] or "Unknown",
                                VO=vo[:128] or "Unknown",
                                GridType="DIRAC",
                                SubmissionTime=now,
                                Status="Running",
                            )
                        )
                    )
                self._set_current_job(active, int(pilot_id), pilot_reference, job_id, tq_id, now)
            active.execute(insert(JobToPilotMapping).values(PilotID=pilot_id, JobID=job_id, StartTime=now))
        self._pilot_ids[pilot_reference] = int(pilot_id)
        return int(pilot_id)

    def _set_current_job(
        self, conn: Connection, pilot_id: int, reference: str, job_id: int, tq_id: int, now: datetime
    ) -> bool:
        """Point the pilot at its new job; False when no such pilot row (deleted meanwhile)."""
        result = conn.execute(
            update(PilotAgents)
            .where(PilotAgents.c.PilotID == pilot_id, PilotAgents.c.PilotJobReference == reference[:255])
            .values(
                CurrentJobID=job_id,
                InitialJobID=case((PilotAgents.c.InitialJobID == 0, job_id), else_=PilotAgents.c.InitialJobID),
                TaskQueueID=tq_id,
                LastUpdateTime=now,
                Status="Running",
            )
        )
        return bool(result.rowcount)

    def pilots_for_job(self, job_id: int) -> list[dict[str, Any]]:
        stmt = (
            select(PilotAgents)
            .join(JobToPilotMapping, JobToPilotMapping.c.PilotID == PilotAgents.c.PilotID)
            .where(JobToPilotMapping.c.JobID == job_id)
            .order_by(JobToPilotMapping.c.StartTime)
        )
        with self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(stmt).mappings()]

    def jobs_for_pilot(self, pilot_reference: str) -> list[int]:
        stmt = (
            select(JobToPilotMapping.c.JobID)
            .join(PilotAgents, JobToPilotMapping.c.PilotID == PilotAgents.c.PilotID)
            .where(PilotAgents.c.PilotJobReference == pilot_reference)
            .order_by(JobToPilotMapping.c.StartTime, JobToPilotMapping.c.JobID)
        )
        with self.engine.connect() as conn:
            return [int(row[0]) for row in conn.execute(stmt)]
