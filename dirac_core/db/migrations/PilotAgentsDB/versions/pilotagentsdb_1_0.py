"""PilotAgentsDB schema release 1.0: DIRAC's PilotAgents, JobToPilotMapping, PilotOutput.

Revision ID: pilotagentsdb_1_0
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from dirac_core.db.types import MYSQL_TABLE_ARGS, bool_enum, uint

revision = "pilotagentsdb_1_0"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None
release = "1.0"


def upgrade() -> None:
    op.create_table(
        "PilotAgents",
        sa.Column("PilotID", uint(), primary_key=True, autoincrement=True),
        sa.Column("InitialJobID", uint(), nullable=False, server_default="0"),
        sa.Column("CurrentJobID", uint(), nullable=False, server_default="0"),
        sa.Column("TaskQueueID", uint(), nullable=False, server_default="0"),
        sa.Column("PilotJobReference", sa.String(255), nullable=False, server_default="Unknown"),
        sa.Column("PilotStamp", sa.String(32), nullable=False, server_default=""),
        sa.Column("DestinationSite", sa.String(128), nullable=False, server_default="NotAssigned"),
        sa.Column("Queue", sa.String(128), nullable=False, server_default="Unknown"),
        sa.Column("GridSite", sa.String(128), nullable=False, server_default="Unknown"),
        sa.Column("VO", sa.String(128), nullable=False, server_default="Unknown"),
        sa.Column("GridType", sa.String(32), nullable=False, server_default="LCG"),
        sa.Column("BenchMark", sa.Float, nullable=False, server_default="0"),
        sa.Column("SubmissionTime", sa.DateTime, nullable=True),
        sa.Column("LastUpdateTime", sa.DateTime, nullable=True),
        sa.Column("Status", sa.String(32), nullable=False, server_default="Unknown"),
        sa.Column("StatusReason", sa.String(255), nullable=False, server_default="Unknown"),
        sa.Column("AccountingSent", bool_enum("AccountingSent"), nullable=False, server_default="False"),
        **MYSQL_TABLE_ARGS,
    )
    op.create_index("PilotJobReference", "PilotAgents", ["PilotJobReference"])
    op.create_index("Status", "PilotAgents", ["Status"])
    op.create_index("Statuskey", "PilotAgents", ["GridSite", "DestinationSite", "Status"])
    op.create_table(
        "JobToPilotMapping",
        sa.Column("PilotID", uint(), nullable=False),
        sa.Column("JobID", uint(), nullable=False),
        sa.Column("StartTime", sa.DateTime, nullable=False),
        sa.PrimaryKeyConstraint("PilotID", "JobID"),
        **MYSQL_TABLE_ARGS,
    )
    op.create_index("JobID", "JobToPilotMapping", ["JobID"])
    op.create_index("PilotID", "JobToPilotMapping", ["PilotID"])
    op.create_table(
        "PilotOutput",
        sa.Column("PilotID", uint(), primary_key=True, autoincrement=False),
        sa.Column("StdOutput", sa.Text),
        sa.Column("StdError", sa.Text),
        **MYSQL_TABLE_ARGS,
    )


def downgrade() -> None:
    for table in ("PilotOutput", "JobToPilotMapping", "PilotAgents"):
        op.drop_table(table)
