"""SandboxMetadataDB schema release 1.0: DIRAC's sb_Owners, sb_SandBoxes, sb_EntityMapping.

Revision ID: sandboxmetadatadb_1_0
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from dirac_core.db.types import MYSQL_TABLE_ARGS, uint

revision = "sandboxmetadatadb_1_0"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None
release = "1.0"


def upgrade() -> None:
    op.create_table(
        "sb_Owners",
        sa.Column("OwnerId", uint(), primary_key=True, autoincrement=True),
        sa.Column("Owner", sa.String(64), nullable=False),
        sa.Column("OwnerGroup", sa.String(64), nullable=False),
        sa.Column("VO", sa.String(64), nullable=False),
        sa.UniqueConstraint("Owner", "OwnerGroup", "VO", name="unique_owner_group_vo"),
        **MYSQL_TABLE_ARGS,
    )
    op.create_table(
        "sb_SandBoxes",
        sa.Column("SBId", uint(), primary_key=True, autoincrement=True),
        sa.Column("OwnerId", uint(), nullable=False),
        sa.Column("SEName", sa.String(64), nullable=False),
        sa.Column("SEPFN", sa.String(512), nullable=False),
        sa.Column("Bytes", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("RegistrationTime", sa.DateTime, nullable=False),
        sa.Column("LastAccessTime", sa.DateTime, nullable=False),
        sa.Column("Assigned", sa.Boolean, nullable=False, server_default="0"),
        sa.UniqueConstraint("SEName", "SEPFN", name="Location"),
        **MYSQL_TABLE_ARGS,
    )
    op.create_index("SBOwner", "sb_SandBoxes", ["OwnerId"])
    op.create_table(
        "sb_EntityMapping",
        sa.Column("SBId", uint(), nullable=False),
        sa.Column("EntityId", sa.String(128), nullable=False),
        sa.Column("Type", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("SBId", "EntityId", "Type", name="Mapping"),
        **MYSQL_TABLE_ARGS,
    )
    op.create_index("Entity", "sb_EntityMapping", ["EntityId"])
    op.create_index("SBIndex", "sb_EntityMapping", ["SBId"])


def downgrade() -> None:
    for table in ("sb_EntityMapping", "sb_SandBoxes", "sb_Owners"):
        op.drop_table(table)


