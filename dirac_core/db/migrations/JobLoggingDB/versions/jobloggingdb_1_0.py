"""JobLoggingDB schema release 1.0: DIRAC's LoggingInfo table (SeqNum numbered by the application).

Revision ID: jobloggingdb_1_0
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from dirac_core.db.types import MYSQL_TABLE_ARGS

revision = "jobloggingdb_1_0"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None
release = "1.0"


def upgrade() -> None:
    op.create_table(
        "LoggingInfo",
        sa.Column("JobID", sa.Integer, nullable=False),
        sa.Column("SeqNum", sa.Integer, nullable=False, server_default="0"),
        sa.Column("Status", sa.String(32), nullable=False, server_default=""),
        sa.Column("MinorStatus", sa.String(128), nullable=False, server_default=""),
        sa.Column("ApplicationStatus", sa.String(255), nullable=False, server_default=""),
        sa.Column("StatusTime", sa.DateTime, nullable=False),
        sa.Column("StatusTimeOrder", sa.Numeric(12, 3), nullable=False),
        sa.Column("StatusSource", sa.String(32), nullable=False, server_default="Unknown"),
        sa.PrimaryKeyConstraint("JobID", "SeqNum"),
        **MYSQL_TABLE_ARGS,
    )


def downgrade() -> None:
    op.drop_table("LoggingInfo")


