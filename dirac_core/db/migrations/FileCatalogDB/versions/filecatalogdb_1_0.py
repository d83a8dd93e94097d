"""FileCatalogDB schema release 1.0: DIRAC's DFC tables with the DirectoryClosure tree.

Per-field metadata value tables (FC_Meta_<Field>, FC_FileMeta_<Field>) are created by the service when
a field is added, not by revisions.

Revision ID: filecatalogdb_1_0
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

from dirac_core.db.types import MYSQL_TABLE_ARGS, datetime_col, ubigint, uint

revision = "filecatalogdb_1_0"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None
release = "1.0"


def _path() -> sa.types.TypeEngine[str]:
    return sa.String(255).with_variant(mysql.VARCHAR(255, collation="utf8mb4_bin"), "mysql", "mariadb")


def upgrade() -> None:
    op.create_table(
        "FC_Users",
        sa.Column("UID", uint(), primary_key=True, autoincrement=True),
        sa.Column("UserName", sa.String(64), nullable=False),
        **MYSQL_TABLE_ARGS,
    )
    op.create_index("FC_Users_UserName", "FC_Users", ["UserName"], unique=True)
    op.create_table(
        "FC_Groups",
        sa.Column("GID", uint(), primary_key=True, autoincrement=True),
        sa.Column("GroupName", sa.String(64), nullable=False),
        **MYSQL_TABLE_ARGS,
    )
    op.create_index("FC_Groups_GroupName", "FC_Groups", ["GroupName"], unique=True)
    op.create_table(
        "FC_StorageElements",
        sa.Column("SEID", uint(), primary_key=True, autoincrement=True),
        sa.Column("SEName", sa.String(127), nullable=False),
        sa.Column("AliasName", sa.String(127), nullable=False, server_default=""),
        **MYSQL_TABLE_ARGS,
    )
    op.create_index("FC_StorageElements_SEName", "FC_StorageElements", ["SEName"], unique=True)
    op.create_table(
        "FC_DirectoryList",
        sa.Column("DirID", uint(), primary_key=True, autoincrement=True),
        sa.Column("Name", _path(), nullable=False),
        sa.Column("Parent", uint(), nullable=False, server_default="0"),
        sa.Column("UID", uint(), nullable=False, server_default="0"),
        sa.Column("GID", uint(), nullable=False, server_default="0"),
        sa.Column("Mode", sa.SmallInteger, nullable=False, server_default=str(0o775)),
        sa.Column("Status", sa.SmallInteger, nullable=False, server_default="0"),
        sa.Column("CreationDate", datetime_col(), nullable=True),
        sa.Column("ModificationDate", datetime_col(), nullable=True),
        **MYSQL_TABLE_ARGS,
    )
    op.create_index("FC_DirectoryList_Name", "FC_DirectoryList", ["Name"], unique=True)
    op.create_index("FC_DirectoryList_Parent", "FC_DirectoryList", ["Parent"])
    op.create_table(
        "FC_DirectoryClosure",
        sa.Column("ParentID", uint(), nullable=False),
        sa.Column("ChildID", uint(), nullable=False),
        sa.Column("Depth", uint(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("ParentID", "ChildID", name="FC_DirectoryClosure_pk"),
        **MYSQL_TABLE_ARGS,
    )
    op.create_index("FC_DirectoryClosure_ChildID", "FC_DirectoryClosure", ["ChildID"])
    op.create_table(
        "FC_Files",
        sa.Column("FileID", uint(), primary_key=True, autoincrement=True),
        sa.Column("DirID", uint(), nullable=False),
        sa.Column("FileName", _path(), nullable=False),
        sa.Column("Size", ubigint(), nullable=False, server_default="0"),
        sa.Column("UID", uint(), nullable=False, server_default="0"),
        sa.Column("GID", uint(), nullable=False, server_default="0"),
        sa.Column("Status", sa.String(32), nullable=False, server_default="AprioriGood"),
        **MYSQL_TABLE_ARGS,
    )
    op.create_index("FC_Files_DirName", "FC_Files", ["DirID", "FileName"], unique=True)
    op.create_table(
        "FC_FileInfo",
        sa.Column("FileID", uint(), primary_key=True, autoincrement=False),
        sa.Column("GUID", sa.String(36), nullable=False, server_default=""),
        sa.Column("Checksum", sa.String(64), nullable=False, server_default=""),
        sa.Column("ChecksumType", sa.String(16), nullable=False, server_default="Adler32"),
        sa.Column("Type", sa.String(8), nullable=False, server_default="File"),
        sa.Column("Mode", sa.SmallInteger, nullable=False, server_default=str(0o664)),
        sa.Column("CreationDate", datetime_col(), nullable=True),
        sa.Column("ModificationDate", datetime_col(), nullable=True),
        **MYSQL_TABLE_ARGS,
    )
    op.create_index("FC_FileInfo_GUID", "FC_FileInfo", ["GUID"])
    op.create_table(
        "FC_Replicas",
        sa.Column("RepID", uint(), primary_key=True, autoincrement=True),
        sa.Column("FileID", uint(), nullable=False),
        sa.Column("SEID", uint(), nullable=False),
        sa.Column("Status", sa.String(32), nullable=False, server_default="AprioriGood"),
        sa.Column("PFN", sa.String(1024), nullable=False, server_default=""),
        sa.Column("CreationDate", datetime_col(), nullable=True),
        **MYSQL_TABLE_ARGS,
    )
    op.create_index("FC_Replicas_FileSE", "FC_Replicas", ["FileID", "SEID"], unique=True)
    op.create_index("FC_Replicas_SEID", "FC_Replicas", ["SEID"])
    for table in ("FC_MetaFields", "FC_FileMetaFields"):
        op.create_table(
            table,
            sa.Column("MetaID", uint(), primary_key=True, autoincrement=True),
            sa.Column("MetaName", sa.String(64), nullable=False),
            sa.Column("MetaType", sa.String(128), nullable=False),
            **MYSQL_TABLE_ARGS,
        )
        op.create_index(f"{table}_MetaName", table, ["MetaName"], unique=True)


def downgrade() -> None:
    for table in (
        "FC_FileMetaFields",
        "FC_MetaFields",
        "FC_Replicas",
        "FC_FileInfo",
        "FC_Files",
        "FC_DirectoryClosure",
        "FC_DirectoryList",
        "FC_StorageElements",
        "FC_Groups",
        "FC_Users",
    ):
        op.drop_table(table)
