"""JobDB schema release 1.2: the submissions in progress, and the idempotency keys of recent ones.

* ``JobSubmissions``: one row per submission while it is written across JobDB, JobLoggingDB,
  TaskQueueDB and SandboxMetadataDB (State Reserved -> Visible -> Done), kept after Done only when the
  client sent an idempotency key (key -> JobIDs, per owner), so a retry gets the same JobIDs.
  ``OwnerKey`` (Owner, IdempotencyKey) is unique; ``StateLease`` finds the submissions to recover.

Each step checks what exists first, so adopting a half-upgraded DB (``db init``) is safe.

Revision ID: jobdb_1_2
Revises: jobdb_1_1
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from dirac_core.db.types import MYSQL_TABLE_ARGS, mediumtext, uint

revision = "jobdb_1_2"
down_revision: str | None = "jobdb_1_1"
branch_labels: str | None = None
depends_on: str | None = None
release = "1.2"


def upgrade() -> None:
    if "JobSubmissions" in sa.inspect(op.get_bind()).get_table_names():
        return
    op.create_table(
        "JobSubmissions",
        sa.Column("SubmissionID", uint(), primary_key=True, autoincrement=True),
        sa.Column("Owner", sa.String(64), nullable=False),
        sa.Column("OwnerGroup", sa.String(128), nullable=False),
        sa.Column("VO", sa.String(32), nullable=False),
        sa.Column("IdempotencyKey", sa.String(128), nullable=True),
        sa.Column("Fingerprint", sa.String(64), nullable=False),
        sa.Column("State", sa.String(16), nullable=False),
        sa.Column("JobIDs", mediumtext(), nullable=False),
        sa.Column("Token", sa.String(32), nullable=False),
        sa.Column("LeaseTime", sa.DateTime(), nullable=False),
        sa.Column("CreationTime", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("Owner", "IdempotencyKey", name="OwnerKey"),
        **MYSQL_TABLE_ARGS,
    )
    op.create_index("StateLease", "JobSubmissions", ["State", "LeaseTime"])


def downgrade() -> None:
    op.drop_table("JobSubmissions")
