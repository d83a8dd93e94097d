"""JobDB schema release 1.1: who queued a job command, and the per-owner status index.

* ``JobCommands.Issuer`` (VARCHAR(64) NOT NULL DEFAULT 'Unknown'): the user or admin who asked for a
  kill, so "who killed my job?" has an answer. Existing rows get 'Unknown'.
* ``Jobs.OwnerStatus (Owner, Status)``: users list their own jobs by status (the most frequent
  JobMonitoring query); DIRAC's separate Owner and Status indexes make MariaDB merge or scan.

Each step checks what exists first, so adopting a half-upgraded DB (``db init``) is safe.

Revision ID: jobdb_1_1
Revises: jobdb_1_0
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "jobdb_1_1"
down_revision: str | None = "jobdb_1_0"
branch_labels: str | None = None
depends_on: str | None = None
release = "1.1"


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    if "Issuer" not in {column["name"] for column in inspector.get_columns("JobCommands")}:
        op.add_column("JobCommands", sa.Column("Issuer", sa.String(64), nullable=False, server_default="Unknown"))
    if "OwnerStatus" not in {index["name"] for index in inspector.get_indexes("Jobs")}:
        op.create_index("OwnerStatus", "Jobs", ["Owner", "Status"])


def downgrade() -> None:
    op.drop_index("OwnerStatus", table_name="Jobs")
    with op.batch_alter_table("JobCommands") as batch:
        batch.drop_column("Issuer")
