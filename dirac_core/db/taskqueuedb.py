"""TaskQueueDB: Waiting jobs grouped by identical requirements, the Matcher's source (DIRAC's ``tq_*`` tables).

A task queue is one requirement set (owner, group, VO, CPU time segment, sites, banned sites, platforms,
job types, tags, grid CEs); ``tq_Jobs`` lists its jobs. Matching claims one ``tq_Jobs`` row atomically:
``SELECT ... FOR UPDATE SKIP LOCKED`` + ``DELETE`` on MariaDB, a compare-and-delete on SQLite (whose
writers are serialized), so a job is never handed to two pilots.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    and_,
    delete,
    exists,
    func,
    insert,
    not_,
    or_,
    select,
)
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from dirac_core.db.base import BaseDB, inserted_id
from dirac_core.db.installed import DatabaseSpec
from dirac_core.db.types import MYSQL_TABLE_ARGS, ubigint, uint

metadata = MetaData()
# Registered under the dirac_core.databases entry points (pyproject.toml).
DATABASE = DatabaseSpec("TaskQueueDB", "WorkloadManagement", __name__)

tq_TaskQueues = Table(  # noqa: N816 - DIRAC table name
    "tq_TaskQueues",
    metadata,
    Column("TQId", uint(), primary_key=True, autoincrement=True),
    Column("Owner", String(255), nullable=False),
    Column("OwnerGroup", String(32), nullable=False),
    Column("VO", String(32), nullable=False),
    Column("CPUTime", ubigint(), nullable=False),
    Column("Priority", Float, nullable=False),
    Column("Enabled", Boolean, nullable=False, server_default="0"),
    Index("TQOwner", "Owner", "OwnerGroup", "CPUTime"),
    **MYSQL_TABLE_ARGS,
)

tq_Jobs = Table(  # noqa: N816 - DIRAC table name
    "tq_Jobs",
    metadata,
    Column("TQId", uint(), ForeignKey("tq_TaskQueues.TQId", ondelete="CASCADE"), nullable=False),
    Column("JobId", uint(), primary_key=True, autoincrement=False),
    Column("Priority", uint(), nullable=False),
    Column("RealPriority", Float, nullable=False),
    Index("TaskIndex", "TQId"),
    Index("TaskPriorityIndex", "TQId", "RealPriority"),  # release 1.1: matching without sorting the queue
    **MYSQL_TABLE_ARGS,
)

# DIRAC's multi-value requirement tables: tq_TQTo<Field>(TQId, Value).
MULTI_VALUE_FIELDS = ("Sites", "GridCEs", "BannedSites", "Platforms", "JobTypes", "Tags")


def _multi_table(field_name: str) -> Table:
    # Index names carry the field: SQLite index names are global to the database file.
    return Table(
        f"tq_TQTo{field_name}",
        metadata,
        Column("TQId", uint(), ForeignKey("tq_TaskQueues.TQId", ondelete="CASCADE"), nullable=False),
        Column("Value", String(64), nullable=False),
        PrimaryKeyConstraint("TQId", "Value"),
        Index(f"{field_name}TaskIndex", "TQId"),
        Index(f"{field_name}Index", "Value"),
        **MYSQL_TABLE_ARGS,
    )


MULTI_TABLES: dict[str, Table] = {name: _multi_table(name) for name in MULTI_VALUE_FIELDS}

# DIRAC's default CPU time segments (seconds): a TQ's CPUTime is the segment that fits the job.
CPU_SEGMENTS = (
    6 * 60,
    30 * 60,
    3600,
    6 * 3600,
    12 * 3600,
    86400,
    2 * 86400,
    3 * 86400,
    4 * 86400,
    6 * 86400,
    8 * 86400,
    10 * 86400,
    int(12.5 * 86400),
)


def fit_cpu_time(cpu_time: int) -> int:
    for segment in CPU_SEGMENTS:
        if cpu_time <= segment:
            return segment
    return CPU_SEGMENTS[-1]


@dataclass(frozen=True)
class TaskQueueDefinition:
    owner: str
    owner_group: str
    vo: str
    cpu_time: int
    sites: frozenset[str] = frozenset()
    grid_ces: frozenset[str] = frozenset()
    banned_sites: frozenset[str] = frozenset()
    platforms: frozenset[str] = frozenset()
    job_types: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()

    def multi_values(self) -> dict[str, frozenset[str]]:
        return {
            "Sites": self.sites,
            "GridCEs": self.grid_ces,
            "BannedSites": self.banned_sites,
            "Platforms": self.platforms,
            "JobTypes": self.job_types,
            "Tags": self.tags,
        }


@dataclass(frozen=True)
class QueuedJob:
    job_id: int
    definition: TaskQueueDefinition
    priority: int = 1


@dataclass(frozen=True)
class ResourceDescription:
    """What a pilot offers. Empty site/platforms/job types mean "no constraint"; tags are what it provides."""

    cpu_time: int
    site: str = ""
    grid_ce: str = ""
    platforms: tuple[str, ...] = ()
    job_types: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    vos: tuple[str, ...] = ()
    owner_groups: tuple[str, ...] = ()
    extra: dict[str, str] = field(default_factory=dict)


class TaskQueueDB(BaseDB):
    metadata = metadata

    # ---------------------------------------------------------------- insertion
    def insert_jobs(self, jobs: Sequence[QueuedJob]) -> dict[int, int]:
        """Put jobs in their task queue (found or created); returns {JobID: TQId}. One bulk insert of jobs."""
        by_definition: dict[TaskQueueDefinition, list[QueuedJob]] = defaultdict(list)
        for job in jobs:
            by_definition[job.definition].append(job)
        placed: dict[int, int] = {}
        with self.engine.begin() as conn:
            rows = []
            for definition, queued in by_definition.items():
                tq_id = self._find_or_create(conn, definition)
                for job in queued:
                    placed[job.job_id] = tq_id
                    rows.append(
                        {"TQId": tq_id, "JobId": job.job_id, "Priority": job.priority, "RealPriority": job.priority}
                    )
            if rows:
                conn.execute(insert(tq_Jobs), rows)
        return placed

    def _find_or_create(self, conn: Connection, definition: TaskQueueDefinition) -> int:
        cpu = fit_cpu_time(definition.cpu_time)
        candidates = [
            int(row[0])
            for row in conn.execute(
                select(tq_TaskQueues.c.TQId).where(
                    and_(
                        tq_TaskQueues.c.Owner == definition.owner,
                        tq_TaskQueues.c.OwnerGroup == definition.owner_group,
                        tq_TaskQueues.c["VO"] == definition.vo,
                        tq_TaskQueues.c.CPUTime == cpu,
                    )
                )
            )
        ]
        if candidates:
            values: dict[int, dict[str, set[str]]] = {tq: defaultdict(set) for tq in candidates}
            for name, table in MULTI_TABLES.items():
                for tq, value in conn.execute(select(table.c.TQId, table.c.Value).where(table.c.TQId.in_(candidates))):
                    values[int(tq)][name].add(str(value))
            wanted = definition.multi_values()
            for tq in candidates:
                if all(values[tq].get(name, set()) == set(wanted[name]) for name in MULTI_VALUE_FIELDS):
                    return tq
        tq_id = int(
            inserted_id(
                conn.execute(
                    insert(tq_TaskQueues).values(
                        Owner=definition.owner,
                        OwnerGroup=definition.owner_group,
                        VO=definition.vo,
                        CPUTime=cpu,
                        Priority=1.0,
                        Enabled=True,
                    )
                )
            )
        )
        for name, values_set in definition.multi_values().items():
            if values_set:
                conn.execute(insert(MULTI_TABLES[name]), [{"TQId": tq_id, "Value": v} for v in sorted(values_set)])
        return tq_id

    # ---------------------------------------------------------------- removal
    def delete_jobs(self, job_ids: Sequence[int]) -> int:
        if not job_ids:
            return 0
        with self.engine.begin() as conn:
            return int(conn.execute(delete(tq_Jobs).where(tq_Jobs.c.JobId.in_(list(job_ids)))).rowcount)

    def clean_empty_queues(self) -> int:
        """Delete task queues without jobs (DIRAC's cleanOrphanedTaskQueues)."""
        with self.engine.begin() as conn:
            empty = [
                int(row[0])
                for row in conn.execute(
                    select(tq_TaskQueues.c.TQId).where(not_(exists().where(tq_Jobs.c.TQId == tq_TaskQueues.c.TQId)))
                )
            ]
            if not empty:
                return 0
            for table in MULTI_TABLES.values():
                conn.execute(delete(table).where(table.c.TQId.in_(empty)))
            conn.execute(delete(tq_TaskQueues).where(tq_TaskQueues.c.TQId.in_(empty)))
            return len(empty)

    def queued_among(self, job_ids: Sequence[int]) -> set[int]:
        """Which of `job_ids` have a queue entry."""
        ids = list(job_ids)
        out: set[int] = set()
        with self.engine.connect() as conn:
            for start in range(0, len(ids), 1000):
                chunk = ids[start : start + 1000]
                out.update(
                    int(row[0]) for row in conn.execute(select(tq_Jobs.c.JobId).where(tq_Jobs.c.JobId.in_(chunk)))
                )
        return out

    def queued_job_ids(self) -> list[int]:
        with self.engine.connect() as conn:
            return [int(row[0]) for row in conn.execute(select(tq_Jobs.c.JobId).order_by(tq_Jobs.c.JobId))]

    # ---------------------------------------------------------------- matching
    def _match_conditions(self, resource: ResourceDescription) -> list[ColumnElement[bool]]:
        tq = tq_TaskQueues
        conds: list[ColumnElement[bool]] = [tq.c.CPUTime <= resource.cpu_time, tq.c.Enabled.is_(True)]

        def restricted(name: str) -> ColumnElement[bool]:
            table = MULTI_TABLES[name]
            return exists().where(table.c.TQId == tq.c.TQId)

        def allows(name: str, offered: Sequence[str]) -> ColumnElement[bool]:
            table = MULTI_TABLES[name]
            return or_(
                not_(restricted(name)),
                exists().where(and_(table.c.TQId == tq.c.TQId, table.c.Value.in_(list(offered)))),
            )

        if resource.site:
            conds.append(allows("Sites", [resource.site]))
            banned = MULTI_TABLES["BannedSites"]
            conds.append(not_(exists().where(and_(banned.c.TQId == tq.c.TQId, banned.c.Value == resource.site))))
        if resource.grid_ce:
            conds.append(allows("GridCEs", [resource.grid_ce]))
        if resource.platforms:
            conds.append(allows("Platforms", resource.platforms))
        if resource.job_types:
            conds.append(allows("JobTypes", resource.job_types))
        # Every tag a task queue requires must be offered by the resource.
        tags = MULTI_TABLES["Tags"]
        missing_tag = and_(tags.c.TQId == tq.c.TQId)
        if resource.tags:
            missing_tag = and_(missing_tag, tags.c.Value.not_in(list(resource.tags)))
        conds.append(not_(exists().where(missing_tag)))
        if resource.vos:
            conds.append(tq.c.VO.in_(list(resource.vos)))
        if resource.owner_groups:
            conds.append(tq.c.OwnerGroup.in_(list(resource.owner_groups)))
        return conds

    def match_and_claim(self, resource: ResourceDescription) -> tuple[int, int] | None:
        """Take the highest-priority job matching `resource` out of the queues; (JobID, TQId) or None.

        Highest RealPriority first, then the oldest job. One transaction per attempt on one pooled
        connection: one SELECT for the matching task queues with the best priority of each (an index
        probe per queue), then per top queue the oldest job at that priority read in TaskPriorityIndex
        order and locked with ``FOR UPDATE SKIP LOCKED`` (a row another matcher holds is skipped, so
        concurrent pilots never get the same job), then the DELETE of the chosen one.
        """
        for _round in range(3):
            with self.engine.begin() as conn:
                best = self._best_priorities(conn, resource)
                if not best:
                    return None
                top = max(best.values())
                picked = sorted(
                    found
                    for tq_id in sorted(tq for tq, priority in best.items() if priority == top)
                    if (found := self._first_job(conn, tq_id, top)) is not None
                )
                for job_id, tq_id in picked:
                    # SQLite has no row locks (writers are serialised): the DELETE is the compare-and-set.
                    if conn.execute(delete(tq_Jobs).where(tq_Jobs.c.JobId == job_id)).rowcount == 1:
                        return job_id, tq_id
        return None

    def _best_priorities(self, conn: Connection, resource: ResourceDescription) -> dict[int, float]:
        """TQId -> best RealPriority of its jobs, for the matching non-empty task queues (one statement)."""
        best_job = (
            select(func.max(tq_Jobs.c.RealPriority)).where(tq_Jobs.c.TQId == tq_TaskQueues.c.TQId).scalar_subquery()
        )
        query = select(tq_TaskQueues.c.TQId, best_job).where(and_(*self._match_conditions(resource)))
        return {int(tq_id): value for tq_id, value in conn.execute(query) if value is not None}

    def _first_job(self, conn: Connection, tq_id: int, top: float) -> tuple[int, int] | None:
        """The oldest job of `tq_id` at priority `top` nobody else holds, locked on MariaDB."""
        jobs = select(tq_Jobs.c.JobId).where(tq_Jobs.c.TQId == tq_id).order_by(tq_Jobs.c.JobId).limit(1)
        if self.is_mysql:
            jobs = jobs.with_for_update(skip_locked=True)
        # Equality keeps the index order (no sort); RealPriority holds whole numbers (JDL Priority).
        row = conn.execute(jobs.where(tq_Jobs.c.RealPriority == top)).first()
        if row is None:  # a fractional FLOAT that did not survive the round trip: compare with a margin
            row = conn.execute(jobs.where(tq_Jobs.c.RealPriority >= top - 1e-3)).first()
        return None if row is None else (int(row[0]), tq_id)
