"""TaskQueueDB schema release 1.1: the matching index.

* ``tq_Jobs.TaskPriorityIndex (TQId, RealPriority)``: the Matcher reads the best priority of each
  matching task queue and then the oldest jobs at that priority straight from this index (InnoDB and
  SQLite append the primary key JobId), instead of sorting every queued job at each match.

Revision ID: taskqueuedb_1_1
Revises: taskqueuedb_1_0
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "taskqueuedb_1_1"
down_revision: str | None = "taskqueuedb_1_0"
branch_labels: str | None = None
depends_on: str | None = None
release = "1.1"


def upgrade() -> None:
    if "TaskPriorityIndex" not in {index["name"] for index in sa.inspect(op.get_bind()).get_indexes("tq_Jobs")}:
        op.create_index("TaskPriorityIndex", "tq_Jobs", ["TQId", "RealPriority"])


def downgrade() -> None:
    op.drop_index("TaskPriorityIndex", table_name="tq_Jobs")
