"""AccountingDB schema release 1.0: the static tables ac_catalog_Types and ac_Leases.

The per-type tables (``ac_key_<Setup>_<Type>_<Key>``, ``ac_type_<Setup>_<Type>``,
``ac_bucket_<Setup>_<Type>``) are created when a type is registered for a Setup
(`dirac_core.db.accountingdb.AccountingDB.register_type`), as DIRAC does.

Revision ID: accountingdb_1_0
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from dirac_core.db.types import MYSQL_TABLE_ARGS

revision = "accountingdb_1_0"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None
release = "1.0"


def upgrade() -> None:
    op.create_table(
        "ac_catalog_Types",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("keyFields", sa.Text, nullable=False),
        sa.Column("valueFields", sa.Text, nullable=False),
        sa.Column("bucketsLength", sa.Text, nullable=False),
        **MYSQL_TABLE_ARGS,
    )
    op.create_table(
        "ac_Leases",
        sa.Column("Name", sa.String(64), primary_key=True),
        sa.Column("Owner", sa.String(255), nullable=False),
        sa.Column("Expires", sa.Double, nullable=False),
        **MYSQL_TABLE_ARGS,
    )


def downgrade() -> None:
    for table in ("ac_Leases", "ac_catalog_Types"):
        op.drop_table(table)
