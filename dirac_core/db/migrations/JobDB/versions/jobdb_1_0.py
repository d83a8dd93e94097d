"""JobDB schema release 1.0: DIRAC's JobDB.sql layout.

Revision ID: jobdb_1_0
Revises: (none)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from dirac_core.db.types import MYSQL_TABLE_ARGS, bool_enum, mediumtext, uint

revision = "jobdb_1_0"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None
release = "1.0"


def upgrade() -> None:
    op.create_table(
        "JobJDLs",
        sa.Column("JobID", uint(), primary_key=True, autoincrement=True),
        sa.Column("JDL", mediumtext(), nullable=False),
        sa.Column("JobRequirements", sa.Text, nullable=False),
        sa.Column("OriginalJDL", mediumtext(), nullable=False),
        sqlite_autoincrement=True,
        **MYSQL_TABLE_ARGS,
    )
    op.create_table(
        "Jobs",
        sa.Column("JobID", uint(), sa.ForeignKey("JobJDLs.JobID"), primary_key=True, autoincrement=False),
        sa.Column("JobType", sa.String(32), nullable=False, server_default="user"),
        sa.Column("JobGroup", sa.String(32), nullable=False, server_default="00000000"),
        sa.Column("Site", sa.String(100), nullable=False, server_default="ANY"),
        sa.Column("JobName", sa.String(128), nullable=False, server_default="Unknown"),
        sa.Column("Owner", sa.String(64), nullable=False, server_default="Unknown"),
        sa.Column("OwnerGroup", sa.String(128), nullable=False, server_default="Unknown"),
        sa.Column("VO", sa.String(32), nullable=False, server_default="Unknown"),
        sa.Column("SubmissionTime", sa.DateTime, nullable=True),
        sa.Column("RescheduleTime", sa.DateTime, nullable=True),
        sa.Column("LastUpdateTime", sa.DateTime, nullable=True),
        sa.Column("StartExecTime", sa.DateTime, nullable=True),
        sa.Column("HeartBeatTime", sa.DateTime, nullable=True),
        sa.Column("EndExecTime", sa.DateTime, nullable=True),
        sa.Column("Status", sa.String(32), nullable=False, server_default="Received"),
        sa.Column("MinorStatus", sa.String(128), nullable=False, server_default="Unknown"),
        sa.Column("ApplicationStatus", sa.String(255), nullable=True, server_default="Unknown"),
        sa.Column("UserPriority", sa.Integer, nullable=False, server_default="0"),
        sa.Column("RescheduleCounter", sa.Integer, nullable=False, server_default="0"),
        sa.Column("VerifiedFlag", bool_enum("VerifiedFlag"), nullable=False, server_default="False"),
        sa.Column(
            "AccountedFlag",
            sa.Enum("True", "False", "Failed", name="AccountedFlag", create_constraint=False),
            nullable=False,
            server_default="False",
        ),
        **MYSQL_TABLE_ARGS,
    )
    for name, columns in (
        ("JobType", ["JobType"]),
        ("JobGroup", ["JobGroup"]),
        ("Site", ["Site"]),
        ("Owner", ["Owner"]),
        ("OwnerGroup", ["OwnerGroup"]),
        ("Status", ["Status"]),
        ("MinorStatus", ["MinorStatus"]),
        ("ApplicationStatus", ["ApplicationStatus"]),
        ("StatusSite", ["Status", "Site"]),
        ("LastUpdateTime", ["LastUpdateTime"]),
        ("JobName", ["JobName"]),
    ):
        op.create_index(name, "Jobs", columns)
    op.create_table(
        "InputData",
        sa.Column("JobID", uint(), sa.ForeignKey("Jobs.JobID"), nullable=False),
        sa.Column("LFN", sa.String(255), nullable=False, server_default=""),
        sa.Column("Status", sa.String(32), nullable=False, server_default="AprioriGood"),
        sa.PrimaryKeyConstraint("JobID", "LFN"),
        **MYSQL_TABLE_ARGS,
    )
    for table, value_type in (("JobParameters", sa.Text()), ("OptimizerParameters", mediumtext())):
        op.create_table(
            table,
            sa.Column("JobID", uint(), sa.ForeignKey("Jobs.JobID"), nullable=False),
            sa.Column("Name", sa.String(100), nullable=False),
            sa.Column("Value", value_type, nullable=False),
            sa.PrimaryKeyConstraint("JobID", "Name"),
            **MYSQL_TABLE_ARGS,
        )
    op.create_table(
        "AtticJobParameters",
        sa.Column("JobID", uint(), sa.ForeignKey("Jobs.JobID"), nullable=False),
        sa.Column("Name", sa.String(100), nullable=False),
        sa.Column("Value", sa.Text, nullable=False),
        sa.Column("RescheduleCycle", uint(), nullable=False),
        sa.PrimaryKeyConstraint("JobID", "Name", "RescheduleCycle"),
        **MYSQL_TABLE_ARGS,
    )
    op.create_table(
        "HeartBeatLoggingInfo",
        sa.Column("JobID", uint(), sa.ForeignKey("Jobs.JobID"), nullable=False),
        sa.Column("Name", sa.String(100), nullable=False),
        sa.Column("Value", sa.Text, nullable=False),
        sa.Column("HeartBeatTime", sa.DateTime, nullable=False),
        sa.PrimaryKeyConstraint("JobID", "Name", "HeartBeatTime"),
        **MYSQL_TABLE_ARGS,
    )
    op.create_table(
        "JobCommands",
        sa.Column("JobID", uint(), sa.ForeignKey("Jobs.JobID"), nullable=False),
        sa.Column("Command", sa.String(100), nullable=False),
        sa.Column("Arguments", sa.String(100), nullable=False),
        sa.Column("Status", sa.String(64), nullable=False, server_default="Received"),
        sa.Column("ReceptionTime", sa.DateTime, nullable=False),
        sa.Column("ExecutionTime", sa.DateTime, nullable=True),
        sa.PrimaryKeyConstraint("JobID", "Arguments", "ReceptionTime"),
        **MYSQL_TABLE_ARGS,
    )


def downgrade() -> None:
    for table in (
        "JobCommands",
        "HeartBeatLoggingInfo",
        "AtticJobParameters",
        "OptimizerParameters",
        "JobParameters",
        "InputData",
        "Jobs",
        "JobJDLs",
    ):
        op.drop_table(table)
