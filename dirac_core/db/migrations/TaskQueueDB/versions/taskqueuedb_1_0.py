"""TaskQueueDB schema release 1.0: DIRAC's tq_TaskQueues, tq_Jobs and tq_TQTo<Field> tables.

Revision ID: taskqueuedb_1_0
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from dirac_core.db.types import MYSQL_TABLE_ARGS, ubigint, uint

revision = "taskqueuedb_1_0"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None
release = "1.0"

FIELDS = ("Sites", "GridCEs", "BannedSites", "Platforms", "JobTypes", "Tags")


def upgrade() -> None:
    op.create_table(
        "tq_TaskQueues",
        sa.Column("TQId", uint(), primary_key=True, autoincrement=True),
        sa.Column("Owner", sa.String(255), nullable=False),
        sa.Column("OwnerGroup", sa.String(32), nullable=False),
        sa.Column("VO", sa.String(32), nullable=False),
        sa.Column("CPUTime", ubigint(), nullable=False),
        sa.Column("Priority", sa.Float, nullable=False),
        sa.Column("Enabled", sa.Boolean, nullable=False, server_default="0"),
        **MYSQL_TABLE_ARGS,
    )
    op.create_index("TQOwner", "tq_TaskQueues", ["Owner", "OwnerGroup", "CPUTime"])
    op.create_table(
        "tq_Jobs",
        sa.Column("TQId", uint(), sa.ForeignKey("tq_TaskQueues.TQId", ondelete="CASCADE"), nullable=False),
        sa.Column("JobId", uint(), primary_key=True, autoincrement=False),
        sa.Column("Priority", uint(), nullable=False),
        sa.Column("RealPriority", sa.Float, nullable=False),
        **MYSQL_TABLE_ARGS,
    )
    op.create_index("TaskIndex", "tq_Jobs", ["TQId"])
    for field in FIELDS:
        op.create_table(
            f"tq_TQTo{field}",
            sa.Column("TQId", uint(), sa.ForeignKey("tq_TaskQueues.TQId", ondelete="CASCADE"), nullable=False),
            sa.Column("Value", sa.String(64), nullable=False),
            sa.PrimaryKeyConstraint("TQId", "Value"),
            **MYSQL_TABLE_ARGS,
        )
        op.create_index(f"{field}TaskIndex", f"tq_TQTo{field}", ["TQId"])
        op.create_index(f"{field}Index", f"tq_TQTo{field}", ["Value"])


def downgrade() -> None:
    for field in FIELDS:
        op.drop_table(f"tq_TQTo{field}")
    op.drop_table("tq_Jobs")
    op.drop_table("tq_TaskQueues")


