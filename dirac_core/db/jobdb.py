"""JobDB: DIRAC's main WMS database (jobs, JDLs, input data, parameters, heartbeats, commands).

Tables and columns follow DIRAC's ``JobDB.sql``. Schema release 1.1 adds ``JobCommands.Issuer`` (who asked
for a kill, for audit) and the ``OwnerStatus`` index that the per-owner monitoring queries use. Release 1.2
adds ``JobSubmissions``: the submissions in progress (and, for a while, those made with an idempotency key),
the bookkeeping that makes a submission across the WMS databases all-or-nothing (`dirac_core.wms.submission`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    Column,
    Engine,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    bindparam,
    delete,
    func,
    insert,
    inspect,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection, RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement

from dirac_core.db.base import BaseDB, inserted_id
from dirac_core.db.installed import DatabaseSpec
from dirac_core.db.retry import retry_transient
from dirac_core.db.types import MYSQL_TABLE_ARGS, bool_enum, datetime_col, mediumtext, uint, utcnow
from dirac_core.db.upsert import upsert_many
from dirac_core.errors import BadRequest, Conflict

metadata = MetaData()
# Registered under the dirac_core.databases entry points (pyproject.toml).
DATABASE = DatabaseSpec("JobDB", "WorkloadManagement", __name__, post_upgrade="dirac_core.wms.hooks:apply_min_job_id")

JobJDLs = Table(
    "JobJDLs",
    metadata,
    Column("JobID", uint(), primary_key=True, autoincrement=True),
    Column("JDL", mediumtext(), nullable=False),
    Column("JobRequirements", Text, nullable=False),
    Column("OriginalJDL", mediumtext(), nullable=False),
    # AUTOINCREMENT on SQLite: JobIDs are never reused, as with InnoDB's AUTO_INCREMENT.
    sqlite_autoincrement=True,
    **MYSQL_TABLE_ARGS,
)

Jobs = Table(
    "Jobs",
    metadata,
    Column("JobID", uint(), ForeignKey("JobJDLs.JobID"), primary_key=True, autoincrement=False, default=0),
    Column("JobType", String(32), nullable=False, server_default="user"),
    Column("JobGroup", String(32), nullable=False, server_default="00000000"),
    Column("Site", String(100), nullable=False, server_default="ANY"),
    Column("JobName", String(128), nullable=False, server_default="Unknown"),
    Column("Owner", String(64), nullable=False, server_default="Unknown"),
    Column("OwnerGroup", String(128), nullable=False, server_default="Unknown"),
    Column("VO", String(32), nullable=False, server_default="Unknown"),
    Column("SubmissionTime", datetime_col(), nullable=True),
    Column("RescheduleTime", datetime_col(), nullable=True),
    Column("LastUpdateTime", datetime_col(), nullable=True),
    Column("StartExecTime", datetime_col(), nullable=True),
    Column("HeartBeatTime", datetime_col(), nullable=True),
    Column("EndExecTime", datetime_col(), nullable=True),
    Column("Status", String(32), nullable=False, server_default="Received"),
    Column("MinorStatus", String(128), nullable=False, server_default="Unknown"),
    Column("ApplicationStatus", String(255), nullable=True, server_default="Unknown"),
    Column("UserPriority", Integer, nullable=False, server_default="0"),
    Column("RescheduleCounter", Integer, nullable=False, server_default="0"),
    Column("VerifiedFlag", bool_enum("VerifiedFlag"), nullable=False, server_default="False"),
    Column(
        "AccountedFlag",
        Enum("True", "False", "Failed", name="AccountedFlag", create_constraint=False),
        nullable=False,
        server_default="False",
    ),
    Index("JobType", "JobType"),
    Index("JobGroup", "JobGroup"),
    Index("Site", "Site"),
    Index("Owner", "Owner"),
    Index("OwnerGroup", "OwnerGroup"),
    Index("Status", "Status"),
    Index("MinorStatus", "MinorStatus"),
    Index("ApplicationStatus", "ApplicationStatus"),
    Index("StatusSite", "Status", "Site"),
    Index("LastUpdateTime", "LastUpdateTime"),
    Index("JobName", "JobName"),
    Index("OwnerStatus", "Owner", "Status"),  # schema 1.1
    **MYSQL_TABLE_ARGS,
)

InputData = Table(
    "InputData",
    metadata,
    Column("JobID", uint(), ForeignKey("Jobs.JobID"), nullable=False),
    Column("LFN", String(255), nullable=False, server_default=""),
    Column("Status", String(32), nullable=False, server_default="AprioriGood"),
    PrimaryKeyConstraint("JobID", "LFN"),
    **MYSQL_TABLE_ARGS,
)

JobParameters = Table(
    "JobParameters",
    metadata,
    Column("JobID", uint(), ForeignKey("Jobs.JobID"), nullable=False),
    Column("Name", String(100), nullable=False),
    Column("Value", Text, nullable=False),
    PrimaryKeyConstraint("JobID", "Name"),
    **MYSQL_TABLE_ARGS,
)

OptimizerParameters = Table(
    "OptimizerParameters",
    metadata,
    Column("JobID", uint(), ForeignKey("Jobs.JobID"), nullable=False),
    Column("Name", String(100), nullable=False),
    Column("Value", mediumtext(), nullable=False),
    PrimaryKeyConstraint("JobID", "Name"),
    **MYSQL_TABLE_ARGS,
)

AtticJobParameters = Table(
    "AtticJobParameters",
    metadata,
    Column("JobID", uint(), ForeignKey("Jobs.JobID"), nullable=False),
    Column("Name", String(100), nullable=False),
    Column("Value", Text, nullable=False),
    Column("RescheduleCycle", uint(), nullable=False),
    PrimaryKeyConstraint("JobID", "Name", "RescheduleCycle"),
    **MYSQL_TABLE_ARGS,
)

HeartBeatLoggingInfo = Table(
    "HeartBeatLoggingInfo",
    metadata,
    Column("JobID", uint(), ForeignKey("Jobs.JobID"), nullable=False),
    Column("Name", String(100), nullable=False),
    Column("Value", Text, nullable=False),
    Column("HeartBeatTime", datetime_col(), nullable=False),
    PrimaryKeyConstraint("JobID", "Name", "HeartBeatTime"),
    **MYSQL_TABLE_ARGS,
)

JobCommands = Table(
    "JobCommands",
    metadata,
    Column("JobID", uint(), ForeignKey("Jobs.JobID"), nullable=False),
    Column("Command", String(100), nullable=False),
    Column("Arguments", String(100), nullable=False),
    Column("Status", String(64), nullable=False, server_default="Received"),
    Column("ReceptionTime", datetime_col(), nullable=False),
    Column("ExecutionTime", datetime_col(), nullable=True),
    Column("Issuer", String(64), nullable=False, server_default="Unknown"),  # schema 1.1
    PrimaryKeyConstraint("JobID", "Arguments", "ReceptionTime"),
    **MYSQL_TABLE_ARGS,
)

# A submission in progress or, with an idempotency key, done (schema 1.2). Its JobIDs are reserved in
# JobJDLs; the Jobs rows (what every reader sees) are written in one transaction when all the other
# databases have their rows (State Reserved -> Visible), then the task queues are checked (-> Done).
JobSubmissions = Table(
    "JobSubmissions",
    metadata,
    Column("SubmissionID", uint(), primary_key=True, autoincrement=True),
    Column("Owner", String(64), nullable=False),
    Column("OwnerGroup", String(128), nullable=False),
    Column("VO", String(32), nullable=False),
    Column("IdempotencyKey", String(128), nullable=True),
    Column("Fingerprint", String(64), nullable=False),
    Column("State", String(16), nullable=False),
    Column("JobIDs", mediumtext(), nullable=False),
    Column("Token", String(32), nullable=False),
    Column("LeaseTime", datetime_col(), nullable=False),
    Column("CreationTime", datetime_col(), nullable=False),
    UniqueConstraint("Owner", "IdempotencyKey", name="OwnerKey"),
    Index("StateLease", "State", "LeaseTime"),
    **MYSQL_TABLE_ARGS,
)

# Attributes a client may filter, sort or group on (DIRAC's Jobs columns).
JOB_ATTRIBUTES: tuple[str, ...] = tuple(column.name for column in Jobs.columns)

# Tables with per-job rows, children first (delete order).
_CHILD_TABLES = (JobCommands, HeartBeatLoggingInfo, AtticJobParameters, OptimizerParameters, JobParameters, InputData)


@dataclass
class NewJob:
    """One job to insert. `render_jdl` gets the new JobID and returns the JDL stored in JobJDLs.JDL."""

    original_jdl: str
    requirements: str
    attributes: dict[str, Any]
    render_jdl: Callable[[int], str]
    input_data: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class StatusChange:
    """A compare-and-set of a job's status: applied only if the job is still in `expected`."""

    job_id: int
    expected: str
    status: str
    minor_status: str
    application_status: str | None = None
    site: str | None = None
    start_exec: bool = False
    end_exec: bool = False


RESERVED, VISIBLE, DONE = "Reserved", "Visible", "Done"  # JobSubmissions.State
LEDGER_RECHECK = 60.0  # s between lookups of JobSubmissions while a DB is below schema 1.2


@dataclass(frozen=True)
class SubmissionRequest:
    """Who submits, under which idempotency key (None: none), what (`fingerprint`), and the holder's token."""

    owner: str
    owner_group: str
    vo: str
    key: str | None
    fingerprint: str
    token: str


@dataclass(frozen=True)
class Submission:
    submission_id: int
    request: SubmissionRequest
    state: str
    job_ids: list[int]
    lease_time: datetime

    def held_by(self, token: str) -> Submission:
        return replace(self, request=replace(self.request, token=token))


def _held_update(conn: Connection, submission: Submission, expected: str, **values: Any) -> bool:
    """Compare-and-set on a submission row: update it (and renew its lease) only while it is still in
    state `expected` under the holder's token; False when another holder moved it first."""
    changed = conn.execute(
        update(JobSubmissions)
        .where(
            and_(
                JobSubmissions.c.SubmissionID == submission.submission_id,
                JobSubmissions.c.Token == submission.request.token,
                JobSubmissions.c.State == expected,
            )
        )
        .values(**values, LeaseTime=utcnow())
    ).rowcount
    return bool(changed == 1)


def _submission(row: Mapping[str, Any] | RowMapping) -> Submission:
    request = SubmissionRequest(
        str(row["Owner"]),
        str(row["OwnerGroup"]),
        str(row["VO"]),
        None if row["IdempotencyKey"] is None else str(row["IdempotencyKey"]),
        str(row["Fingerprint"]),
        str(row["Token"]),
    )
    ids = [int(i) for i in str(row["JobIDs"]).split(",") if i]
    return Submission(int(row["SubmissionID"]), request, str(row["State"]), ids, row["LeaseTime"])


def check_attributes(names: Iterable[str]) -> list[str]:
    names = list(names)
    unknown = [name for name in names if name not in JOB_ATTRIBUTES]
    if unknown:
        raise BadRequest(f"unknown job attribute(s) {', '.join(unknown)}: use one of {', '.join(JOB_ATTRIBUTES)}")
    return names


class JobDB(BaseDB):
    metadata = metadata

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self._ledger_seen = False
        self._ledger_checked = float("-inf")

    def has_submission_ledger(self) -> bool:
        """Whether this DB has JobSubmissions (schema 1.2). A site held at an older schema release (FG at
        1.0 on the old site until it moves) submits as releases before 1.2 did: not recoverable after a
        crash mid-submission, and idempotency keys are not remembered. Looked up again every minute
        until present, so a `db upgrade` is picked up without a restart."""
        if self._ledger_seen:
            return True
        now = time.monotonic()
        if now - self._ledger_checked >= LEDGER_RECHECK:
            self._ledger_checked = now
            with self.engine.connect() as conn:
                self._ledger_seen = inspect(conn).has_table(JobSubmissions.name)
        return self._ledger_seen

    # ---------------------------------------------------------------- job ids
    def ensure_min_job_id(self, floor: int) -> None:
        """Make the next JobID at least `floor` (the migration "reset" keeps new ids above the old maximum)."""
        if floor <= 1:
            return
        with self.engine.begin() as conn:
            if self.is_mysql:
                current = conn.execute(
                    text(
                        "SELECT AUTO_INCREMENT FROM information_schema.TABLES "
                        "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'JobJDLs'"
                    )
                ).scalar()
                if current is None or int(current) < floor:
                    # InnoDB keeps max(floor, MAX(JobID)+1) and persists it across restarts (MariaDB >= 10.2.4).
                    conn.execute(text(f"ALTER TABLE JobJDLs AUTO_INCREMENT = {int(floor)}"))
                return
            seq = conn.execute(text("SELECT seq FROM sqlite_sequence WHERE name = 'JobJDLs'")).scalar()
            if seq is None:
                conn.execute(
                    text("INSERT INTO sqlite_sequence (name, seq) VALUES ('JobJDLs', :seq)"), {"seq": floor - 1}
                )
            elif int(seq) < floor - 1:
                conn.execute(text("UPDATE sqlite_sequence SET seq = :seq WHERE name = 'JobJDLs'"), {"seq": floor - 1})

    # ---------------------------------------------------------------- insert
    def insert_jobs(self, jobs: Sequence[NewJob]) -> list[int]:
        """Insert jobs in one transaction with one bulk statement per table; returns the new JobIDs in order."""
        if not jobs:
            return []
        with self.engine.begin() as conn:
            job_ids = self._insert_jdls(conn, jobs)
            self._insert_job_rows(conn, job_ids, jobs)
        return job_ids

    def _insert_jdls(self, conn: Connection, jobs: Sequence[NewJob]) -> list[int]:
        """JobJDLs rows (the JobIDs, in order): a job without its Jobs row is nobody's to see yet."""
        result = conn.execute(
            insert(JobJDLs).returning(JobJDLs.c.JobID, sort_by_parameter_order=True),
            [{"JDL": "", "JobRequirements": job.requirements, "OriginalJDL": job.original_jdl} for job in jobs],
        )
        job_ids = [int(row[0]) for row in result]
        self._set_final_jdls(conn, job_ids, jobs)
        return job_ids

    @staticmethod
    def _insert_job_rows(conn: Connection, job_ids: Sequence[int], jobs: Sequence[NewJob]) -> None:
        """The Jobs and InputData rows of jobs whose JobJDLs rows exist."""
        now = utcnow()
        conn.execute(
            insert(Jobs),
            [
                {**job.attributes, "JobID": job_id, "SubmissionTime": now, "LastUpdateTime": now}
                for job_id, job in zip(job_ids, jobs, strict=True)
            ],
        )
        input_rows = [
            {"JobID": job_id, "LFN": lfn, "Status": "AprioriGood"}
            for job_id, job in zip(job_ids, jobs, strict=True)
            for lfn in dict.fromkeys(job.input_data)
        ]
        if input_rows:
            conn.execute(insert(InputData), input_rows)

    # ---------------------------------------------------------------- submissions (schema 1.2)
    def reserve_submission(self, request: SubmissionRequest, jobs: Sequence[NewJob]) -> Submission | None:
        """Reserve JobIDs for `jobs` (JobJDLs rows, invisible) and record the submission as Reserved, in one
        transaction. None when the owner already has a submission with this idempotency key."""
        now = utcnow()
        if not self.has_submission_ledger():
            ids = retry_transient(lambda: self._in_transaction(lambda conn: self._insert_jdls(conn, jobs)))
            return Submission(0, replace(request, key=None), RESERVED, list(ids), now)

        def reserve(conn: Connection) -> Submission:
            submission_id = inserted_id(
                conn.execute(
                    insert(JobSubmissions).values(
                        Owner=request.owner,
                        OwnerGroup=request.owner_group,
                        VO=request.vo,
                        IdempotencyKey=request.key,
                        Fingerprint=request.fingerprint,
                        State=RESERVED,
                        JobIDs="",
                        Token=request.token,
                        LeaseTime=now,
                        CreationTime=now,
                    )
                )
            )
            job_ids = self._insert_jdls(conn, jobs)
            conn.execute(
                update(JobSubmissions)
                .where(JobSubmissions.c.SubmissionID == submission_id)
                .values(JobIDs=",".join(map(str, job_ids)))
            )
            return Submission(submission_id, request, RESERVED, job_ids, now)

        try:
            return cast(Submission, retry_transient(lambda: self._in_transaction(reserve)))
        except IntegrityError:
            if request.key is None or self.find_submission(request.owner, request.key) is None:
                raise
            return None

    def find_submission(self, owner: str, key: str) -> Submission | None:
        if not self.has_submission_ledger():
            return None
        with self.engine.connect() as conn:
            row = (
                conn.execute(
                    select(JobSubmissions).where(
                        and_(JobSubmissions.c.Owner == owner, JobSubmissions.c.IdempotencyKey == key)
                    )
                )
                .mappings()
                .first()
            )
        return None if row is None else _submission(row)

    def unfinished_submissions(self, leased_before: datetime, limit: int = 100) -> list[Submission]:
        """Reserved or Visible submissions whose holder has not renewed its lease since `leased_before`."""
        if not self.has_submission_ledger():
            return []
        stmt = (
            select(JobSubmissions)
            .where(and_(JobSubmissions.c.State.in_([RESERVED, VISIBLE]), JobSubmissions.c.LeaseTime <= leased_before))
            .order_by(JobSubmissions.c.SubmissionID)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [_submission(row) for row in conn.execute(stmt).mappings()]

    def take_over_submission(self, submission: Submission, token: str) -> bool:
        """Become the holder of `submission` (compare-and-set on its token): False if someone else moved it."""
        with self.engine.begin() as conn:
            return _held_update(conn, submission, submission.state, Token=token)

    def make_visible(self, submission: Submission, jobs: Sequence[NewJob]) -> None:
        """Reserved -> Visible and the jobs' Jobs and InputData rows, in one transaction; Conflict (nothing
        written) when the submission is no longer this holder's (its lease ran out and it was taken over)."""

        def flip(conn: Connection) -> None:
            if submission.submission_id:  # 0: no ledger (schema before 1.2)
                self._move_submission(conn, submission, RESERVED, VISIBLE)
            self._insert_job_rows(conn, submission.job_ids, jobs)

        retry_transient(lambda: self._in_transaction(flip))

    def finish_submission(self, submission: Submission) -> None:
        """Visible -> Done; a submission without idempotency key has nothing left to remember: its row goes."""
        if not submission.submission_id:
            return

        def finish(conn: Connection) -> None:
            self._move_submission(conn, submission, VISIBLE, DONE)
            if submission.request.key is None:
                conn.execute(delete(JobSubmissions).where(JobSubmissions.c.SubmissionID == submission.submission_id))

        retry_transient(lambda: self._in_transaction(finish))

    def remove_reserved(self, submission: Submission) -> None:
        """Give up a Reserved submission: its JobJDLs rows (no Jobs rows exist) and its row."""

        def remove(conn: Connection) -> None:
            if submission.submission_id:
                self._move_submission(conn, submission, RESERVED, RESERVED)
            for chunk in _chunks(submission.job_ids):
                conn.execute(delete(JobJDLs).where(JobJDLs.c.JobID.in_(chunk)))
            if submission.submission_id:
                conn.execute(delete(JobSubmissions).where(JobSubmissions.c.SubmissionID == submission.submission_id))

        retry_transient(lambda: self._in_transaction(remove))

    @staticmethod
    def _move_submission(conn: Connection, submission: Submission, expected: str, state: str) -> None:
        if not _held_update(conn, submission, expected, State=state):
            raise Conflict(
                f"submission {submission.submission_id} was taken over after its lease ran out: "
                "nothing more was written, submit again with the same Idempotency-Key"
            )

    def purge_submissions(self, done_before: datetime) -> int:
        """Forget Done submissions (their idempotency keys) older than `done_before`."""
        if not self.has_submission_ledger():
            return 0
        with self.engine.begin() as conn:
            return int(
                conn.execute(
                    delete(JobSubmissions).where(
                        and_(JobSubmissions.c.State == DONE, JobSubmissions.c.LeaseTime < done_before)
                    )
                ).rowcount
            )

    def _set_final_jdls(self, conn: Connection, job_ids: Sequence[int], jobs: Sequence[NewJob]) -> None:
        """Write each job's final JDL (it names the JobID, known only after the insert)."""
        if self.is_mysql:
            # One multi-row INSERT ... ON DUPLICATE KEY UPDATE instead of one UPDATE round trip per job.
            # The rows exist (inserted above, same transaction): only JDL is written, so the other
            # NOT NULL columns get '' rather than their texts sent (and escaped) a second time.
            rows = [
                {"JobID": job_id, "JDL": job.render_jdl(job_id), "JobRequirements": "", "OriginalJDL": ""}
                for job_id, job in zip(job_ids, jobs, strict=True)
            ]
            upsert_many(conn, JobJDLs, rows, ["JDL"])
            return
        conn.execute(  # SQLite runs in-process: executemany costs no round trips
            update(JobJDLs).where(JobJDLs.c.JobID == bindparam("b_id")).values(JDL=bindparam("b_jdl")),
            [{"b_id": job_id, "b_jdl": job.render_jdl(job_id)} for job_id, job in zip(job_ids, jobs, strict=True)],
        )

    # ---------------------------------------------------------------- reads
    def get_attributes(
        self, job_ids: Sequence[int], names: Sequence[str] = JOB_ATTRIBUTES
    ) -> dict[int, dict[str, Any]]:
        names = check_attributes(names)
        columns = [Jobs.c.JobID, *(Jobs.c[name] for name in names if name != "JobID")]
        out: dict[int, dict[str, Any]] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(job_ids):
                for row in conn.execute(select(*columns).where(Jobs.c.JobID.in_(chunk))).mappings():
                    out[int(row["JobID"])] = {name: row[name] for name in names}
        return out

    def get_jdl(self, job_id: int, original: bool = False) -> str | None:
        column = JobJDLs.c.OriginalJDL if original else JobJDLs.c.JDL
        with self.engine.connect() as conn:
            value = conn.execute(select(column).where(JobJDLs.c.JobID == job_id)).scalar()
        return None if value is None else str(value)

    def get_input_data(self, job_id: int) -> list[str]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(InputData.c.LFN).where(InputData.c.JobID == job_id).order_by(InputData.c.LFN))
            return [str(row[0]) for row in rows]

    def _conditions(
        self,
        conditions: Mapping[str, str | int | Sequence[str | int]],
        from_date: datetime | None,
        to_date: datetime | None,
    ) -> list[ColumnElement[bool]]:
        check_attributes(conditions)
        clauses: list[ColumnElement[bool]] = []
        for name, value in conditions.items():
            if isinstance(value, (list, tuple, set)):
                clauses.append(Jobs.c[name].in_(list(value)))
            else:
                clauses.append(Jobs.c[name] == value)
        if from_date is not None:
            clauses.append(Jobs.c.LastUpdateTime >= from_date)
        if to_date is not None:
            clauses.append(Jobs.c.LastUpdateTime <= to_date)
        return clauses

    def search(
        self,
        conditions: Mapping[str, str | int | Sequence[str | int]],
        columns: Sequence[str] = JOB_ATTRIBUTES,
        sort: Sequence[tuple[str, str]] = (("JobID", "DESC"),),
        offset: int = 0,
        limit: int = 100,
        from_date: datetime | None = None,
        to_date: datetime | None = None,
    ) -> tuple[int, list[dict[str, Any]]]:
        """Jobs matching all conditions (value or list of values), sorted and paged; returns (total, page)."""
        check_attributes(columns)
        check_attributes(name for name, _ in sort)
        if limit < 0 or offset < 0:
            raise BadRequest("offset and limit must be >= 0")
        where = and_(literal(True), *self._conditions(conditions, from_date, to_date))
        order = []
        for name, direction in sort:
            if direction.upper() not in {"ASC", "DESC"}:
                raise BadRequest(f"sort direction {direction!r} for {name}: use ASC or DESC")
            order.append(Jobs.c[name].desc() if direction.upper() == "DESC" else Jobs.c[name].asc())
        with self.engine.connect() as conn:
            total = int(conn.execute(select(func.count()).select_from(Jobs).where(where)).scalar() or 0)
            rows = conn.execute(
                select(*(Jobs.c[name] for name in columns)).where(where).order_by(*order).offset(offset).limit(limit)
            ).mappings()
            return total, [dict(row) for row in rows]

    def select_job_ids(
        self, conditions: Mapping[str, str | int | Sequence[str | int]], from_date: datetime | None = None
    ) -> list[int]:
        """Every JobID matching the conditions (DIRAC's JobDB.selectJobs), ascending."""
        where = and_(literal(True), *self._conditions(conditions, from_date, None))
        with self.engine.connect() as conn:
            return [int(row[0]) for row in conn.execute(select(Jobs.c.JobID).where(where).order_by(Jobs.c.JobID))]

    def counters(
        self,
        group_by: Sequence[str],
        conditions: Mapping[str, str | int | Sequence[str | int]],
        from_date: datetime | None = None,
        to_date: datetime | None = None,
    ) -> list[tuple[dict[str, Any], int]]:
        """DIRAC's getCounters: number of jobs per distinct combination of `group_by` attributes."""
        check_attributes(group_by)
        if not group_by:
            raise BadRequest("give at least one attribute to group by, e.g. Status")
        cols = [Jobs.c[name] for name in group_by]
        where = and_(literal(True), *self._conditions(conditions, from_date, to_date))
        stmt = select(*cols, func.count().label("n")).where(where).group_by(*cols).order_by(*cols)
        with self.engine.connect() as conn:
            return [({name: row[name] for name in group_by}, int(row["n"])) for row in conn.execute(stmt).mappings()]

    # ---------------------------------------------------------------- status
    def apply_status_changes(self, changes: Sequence[StatusChange], conn: Connection | None = None) -> None:
        """Apply compare-and-set status changes; Conflict (nothing applied) if any job moved meanwhile.

        Changes that differ only by JobID (a bulk submission, a kill of many jobs) are one
        ``UPDATE ... WHERE JobID IN (...) AND Status = <expected>`` per 1000 jobs, not one round trip per job.
        """
        if not changes:
            return
        now = utcnow()
        groups: dict[tuple[Any, ...], list[int]] = {}
        for change in changes:
            key = (
                change.expected,
                change.status,
                change.minor_status[:128],
                None if change.application_status is None else change.application_status[:255],
                change.site,
                change.start_exec,
                change.end_exec,
            )
            groups.setdefault(key, []).append(change.job_id)

        def run(connection: Connection) -> None:
            updated = 0
            for (expected, status, minor, app, site, start, end), job_ids in groups.items():
                values: dict[str, Any] = {"Status": status, "MinorStatus": minor, "LastUpdateTime": now}
                for column, value in (("ApplicationStatus", app), ("Site", site)):
                    if value is not None:
                        values[column] = value
                if start:
                    values["StartExecTime"] = now
                if end:
                    values["EndExecTime"] = now
                for chunk in _chunks(job_ids):
                    stmt = update(Jobs).where(Jobs.c.JobID.in_(chunk), Jobs.c.Status == expected).values(values)
                    updated += connection.execute(stmt).rowcount
            if updated != len(changes):
                raise Conflict(
                    f"{len(changes) - updated} of {len(changes)} job(s) changed status meanwhile: "
                    "nothing was applied, read the status again and retry"
                )

        if conn is not None:
            run(conn)
        else:
            retry_transient(lambda: self._in_transaction(run))

    def _in_transaction(self, work: Callable[[Connection], Any]) -> Any:
        with self.engine.begin() as conn:
            return work(conn)

    def change_and_read(
        self, change: StatusChange, names: Sequence[str], with_jdl: bool = False, conn: Connection | None = None
    ) -> dict[str, Any]:
        """Apply one status change and read the job's attributes `names` (and ``JDL``) in one transaction
        (its own, or the caller's `conn`).

        The Matcher's Waiting -> Matched step: one connection and commit instead of three. Conflict
        (nothing applied) when the job is no longer in ``change.expected``.
        """
        names = check_attributes(names)
        columns = [Jobs.c[name] for name in names]
        query = select(*columns, *([JobJDLs.c.JDL] if with_jdl else []))
        if with_jdl:
            query = query.select_from(Jobs.outerjoin(JobJDLs, JobJDLs.c.JobID == Jobs.c.JobID))
        with nullcontext(conn) if conn is not None else self.engine.begin() as active:
            self.apply_status_changes([change], active)
            row = active.execute(query.where(Jobs.c.JobID == change.job_id)).one()
        out = {name: row[index] for index, name in enumerate(names)}
        if with_jdl:
            out["JDL"] = "" if row[-1] is None else str(row[-1])
        return out

    def set_application_status(self, job_id: int, application_status: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(Jobs)
                .where(Jobs.c.JobID == job_id)
                .values(ApplicationStatus=application_status[:255], LastUpdateTime=utcnow())
            )

    # ---------------------------------------------------------------- parameters
    def set_parameters(self, rows: Sequence[tuple[int, str, str]]) -> None:
        """Insert or overwrite (JobID, Name, Value) job parameters in one statement."""
        self._upsert(
            JobParameters,
            [{"JobID": job_id, "Name": name[:100], "Value": str(value)} for job_id, name, value in rows],
            ["Value"],
        )

    def _upsert(self, table: Table, rows: list[dict[str, Any]], update_columns: list[str]) -> None:
        if not rows:
            return
        retry_transient(lambda: self._in_transaction(lambda conn: upsert_many(conn, table, rows, update_columns)))

    def get_parameters(self, job_ids: Sequence[int], names: Sequence[str] = ()) -> dict[int, dict[str, str]]:
        out: dict[int, dict[str, str]] = {job_id: {} for job_id in job_ids}
        with self.engine.connect() as conn:
            for chunk in _chunks(job_ids):
                stmt = select(JobParameters.c.JobID, JobParameters.c.Name, JobParameters.c.Value).where(
                    JobParameters.c.JobID.in_(chunk)
                )
                if names:
                    stmt = stmt.where(JobParameters.c.Name.in_(list(names)))
                for job_id, name, value in conn.execute(stmt):
                    out[int(job_id)][str(name)] = str(value)
        return out

    def get_attic_parameters(self, job_id: int) -> dict[int, dict[str, str]]:
        out: dict[int, dict[str, str]] = {}
        with self.engine.connect() as conn:
            stmt = select(AtticJobParameters).where(AtticJobParameters.c.JobID == job_id)
            for row in conn.execute(stmt).mappings():
                out.setdefault(int(row["RescheduleCycle"]), {})[str(row["Name"])] = str(row["Value"])
        return out

    # ---------------------------------------------------------------- heartbeats and commands
    def add_heartbeat(self, job_id: int, dynamic_data: Mapping[str, object], revive_from: str | None) -> bool:
        """Record a heartbeat; if the job is in `revive_from` (Stalled) it goes back to Running. Returns revived."""
        return bool(
            retry_transient(
                lambda: self._in_transaction(lambda conn: self._heartbeat(conn, job_id, dynamic_data, revive_from))
            )
        )

    @staticmethod
    def _heartbeat(conn: Connection, job_id: int, dynamic_data: Mapping[str, object], revive_from: str | None) -> bool:
        now = utcnow()
        conn.execute(update(Jobs).where(Jobs.c.JobID == job_id).values(HeartBeatTime=now, LastUpdateTime=now))
        revived = False
        if revive_from is not None:
            revived = (
                conn.execute(
                    update(Jobs)
                    .where(and_(Jobs.c.JobID == job_id, Jobs.c.Status == revive_from))
                    .values(Status="Running", MinorStatus="Job Resumed")
                ).rowcount
                == 1
            )
        rows = [
            {"JobID": job_id, "Name": str(name)[:100], "Value": str(value), "HeartBeatTime": now}
            for name, value in dynamic_data.items()
        ]
        upsert_many(conn, HeartBeatLoggingInfo, rows, ["Value"])
        return revived

    def get_heartbeat_data(self, job_id: int) -> list[tuple[str, str, datetime]]:
        with self.engine.connect() as conn:
            stmt = (
                select(HeartBeatLoggingInfo.c.Name, HeartBeatLoggingInfo.c.Value, HeartBeatLoggingInfo.c.HeartBeatTime)
                .where(HeartBeatLoggingInfo.c.JobID == job_id)
                .order_by(HeartBeatLoggingInfo.c.HeartBeatTime, HeartBeatLoggingInfo.c.Name)
            )
            return [(str(n), str(v), t) for n, v, t in conn.execute(stmt)]

    def add_commands(self, commands: Sequence[tuple[int, str, str]], issuer: str, conn: Connection) -> None:
        """Queue (JobID, Command, Arguments) for pilots; a command already pending is not queued twice."""
        if not commands:
            return
        pending = {
            (int(j), str(c), str(a))
            for j, c, a in conn.execute(
                select(JobCommands.c.JobID, JobCommands.c.Command, JobCommands.c.Arguments).where(
                    and_(JobCommands.c.JobID.in_([c[0] for c in commands]), JobCommands.c.Status == "Received")
                )
            )
        }
        now = utcnow()
        rows = [
            {
                "JobID": job_id,
                "Command": command,
                "Arguments": arguments,
                "Status": "Received",
                "ReceptionTime": now,
                "Issuer": issuer[:64],
            }
            for job_id, command, arguments in dict.fromkeys(commands)
            if (job_id, command, arguments) not in pending
        ]
        upsert_many(conn, JobCommands, rows, ["Command", "Status", "Issuer"])

    def pop_pending_commands(self, job_id: int) -> dict[str, str]:
        """DIRAC's getJobCommand + setJobCommandStatus(Sent): commands waiting for the pilot of `job_id`."""
        with self.engine.begin() as conn:
            rows = conn.execute(
                select(JobCommands.c.Command, JobCommands.c.Arguments).where(
                    and_(JobCommands.c.JobID == job_id, JobCommands.c.Status == "Received")
                )
            ).all()
            if rows:
                conn.execute(
                    update(JobCommands)
                    .where(and_(JobCommands.c.JobID == job_id, JobCommands.c.Status == "Received"))
                    .values(Status="Sent", ExecutionTime=utcnow())
                )
        return {str(command): str(arguments) for command, arguments in rows}

    def get_commands(self, job_id: int) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            stmt = select(JobCommands).where(JobCommands.c.JobID == job_id).order_by(JobCommands.c.ReceptionTime)
            return [dict(row) for row in conn.execute(stmt).mappings()]

    # ---------------------------------------------------------------- reschedule and removal
    def reschedule(self, job_id: int, expected: str, cycle: int, site: str) -> None:
        """Move parameters to the attic, clear heartbeats and put the job back to Received (compare-and-set)."""
        now = utcnow()
        with self.engine.begin() as conn:
            moved = conn.execute(
                update(Jobs)
                .where(and_(Jobs.c.JobID == job_id, Jobs.c.Status == expected))
                .values(
                    Status="Received",
                    MinorStatus="Job Rescheduled",
                    ApplicationStatus="Unknown",
                    RescheduleCounter=Jobs.c.RescheduleCounter + 1,
                    RescheduleTime=now,
                    LastUpdateTime=now,
                    Site=site,
                    StartExecTime=None,
                    EndExecTime=None,
                    HeartBeatTime=None,
                )
            ).rowcount
            if moved != 1:
                raise Conflict(f"job {job_id} left status {expected} meanwhile: nothing was rescheduled, retry")
            conn.execute(
                insert(AtticJobParameters).from_select(
                    ["JobID", "Name", "Value", "RescheduleCycle"],
                    select(
                        JobParameters.c.JobID, JobParameters.c.Name, JobParameters.c.Value, literal(cycle, uint())
                    ).where(JobParameters.c.JobID == job_id),
                )
            )
            for table in (JobParameters, OptimizerParameters, HeartBeatLoggingInfo):
                conn.execute(delete(table).where(table.c.JobID == job_id))

    def remove_jobs(self, job_ids: Sequence[int]) -> int:
        """Physically remove jobs and all their rows (DIRAC's removeJobFromDB)."""
        removed = 0
        with self.engine.begin() as conn:
            for chunk in _chunks(job_ids):
                for table in _CHILD_TABLES:
                    conn.execute(delete(table).where(table.c.JobID.in_(chunk)))
                removed += conn.execute(delete(Jobs).where(Jobs.c.JobID.in_(chunk))).rowcount
                conn.execute(delete(JobJDLs).where(JobJDLs.c.JobID.in_(chunk)))
        return removed

    def max_job_id(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.max(JobJDLs.c.JobID))).scalar() or 0)


def _chunks(values: Sequence[int], size: int = 1000) -> Iterable[list[int]]:
    values = list(values)
    for start in range(0, len(values), size):
        yield values[start : start + size]
