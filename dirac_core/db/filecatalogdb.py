"""FileCatalogDB: DIRAC's File Catalog (DFC) tables, on SQLite and MariaDB.

Layout (DIRAC's DFC with the DirectoryClosure tree manager):

* ``FC_DirectoryList``: one row per directory, ``Name`` is the full path (``/vo/user/a/alice``),
  ``Parent`` the parent DirID (0 for ``/``), POSIX-like ``UID``/``GID``/``Mode``.
* ``FC_DirectoryClosure``: (ParentID, ChildID, Depth) for every ancestor/descendant pair, so subtree
  questions (size, metadata inheritance, recursive chmod) are one indexed join, never a walk.
* ``FC_Files`` (name, size, owner, status) + ``FC_FileInfo`` (GUID, checksum, mode, dates), ``FC_Replicas``
  (FileID, SEID, Status, PFN), ``FC_StorageElements``, ``FC_Users``, ``FC_Groups``.
* Metadata: ``FC_MetaFields`` (directory fields) and ``FC_FileMetaFields`` (file fields) name typed
  fields; each field's values live in its own table ``FC_Meta_<Field>`` (DirID, Value) or
  ``FC_FileMeta_<Field>`` (FileID, Value), created when the field is added (DIRAC's layout, see
  `meta_value_table`).

Path columns use a binary collation on MariaDB: LFNs are case-sensitive (``/a/File`` and ``/a/file``
are two files) and binary order makes the range scans of `subtree_bounds` exact.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Float,
    Index,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.types import TypeEngine

from dirac_core.db.base import BaseDB
from dirac_core.db.installed import DatabaseSpec
from dirac_core.db.types import MYSQL_TABLE_ARGS, datetime_col, ubigint, uint
from dirac_core.errors import BadRequest

metadata = MetaData()
# Registered under the dirac_core.databases entry points (pyproject.toml).
DATABASE = DatabaseSpec("FileCatalogDB", "DataManagement", __name__)

MAX_PATH = 255  # FC_DirectoryList.Name and FC_Files.FileName, as in DIRAC
DEFAULT_STATUS = "AprioriGood"


def path_string(length: int = MAX_PATH) -> TypeEngine[str]:
    """VARCHAR with a case-sensitive, byte-ordered collation on MariaDB (SQLite's default is binary)."""
    return String(length).with_variant(mysql.VARCHAR(length, collation="utf8mb4_bin"), "mysql", "mariadb")


FC_Users = Table(
    "FC_Users",
    metadata,
    Column("UID", uint(), primary_key=True, autoincrement=True),
    Column("UserName", String(64), nullable=False),
    Index("FC_Users_UserName", "UserName", unique=True),
    **MYSQL_TABLE_ARGS,
)

FC_Groups = Table(
    "FC_Groups",
    metadata,
    Column("GID", uint(), primary_key=True, autoincrement=True),
    Column("GroupName", String(64), nullable=False),
    Index("FC_Groups_GroupName", "GroupName", unique=True),
    **MYSQL_TABLE_ARGS,
)

FC_StorageElements = Table(
    "FC_StorageElements",
    metadata,
    Column("SEID", uint(), primary_key=True, autoincrement=True),
    Column("SEName", String(127), nullable=False),
    Column("AliasName", String(127), nullable=False, server_default=""),
    Index("FC_StorageElements_SEName", "SEName", unique=True),
    **MYSQL_TABLE_ARGS,
)

FC_DirectoryList = Table(
    "FC_DirectoryList",
    metadata,
    Column("DirID", uint(), primary_key=True, autoincrement=True),
    Column("Name", path_string(), nullable=False),
    Column("Parent", uint(), nullable=False, server_default="0"),
    Column("UID", uint(), nullable=False, server_default="0"),
    Column("GID", uint(), nullable=False, server_default="0"),
    Column("Mode", SmallInteger, nullable=False, server_default=str(0o775)),
    Column("Status", SmallInteger, nullable=False, server_default="0"),
    Column("CreationDate", datetime_col(), nullable=True),
    Column("ModificationDate", datetime_col(), nullable=True),
    Index("FC_DirectoryList_Name", "Name", unique=True),
    Index("FC_DirectoryList_Parent", "Parent"),
    **MYSQL_TABLE_ARGS,
)

FC_DirectoryClosure = Table(
    "FC_DirectoryClosure",
    metadata,
    Column("ParentID", uint(), nullable=False),
    Column("ChildID", uint(), nullable=False),
    Column("Depth", uint(), nullable=False, server_default="0"),
    PrimaryKeyConstraint("ParentID", "ChildID", name="FC_DirectoryClosure_pk"),
    Index("FC_DirectoryClosure_ChildID", "ChildID"),
    **MYSQL_TABLE_ARGS,
)

FC_Files = Table(
    "FC_Files",
    metadata,
    Column("FileID", uint(), primary_key=True, autoincrement=True),
    Column("DirID", uint(), nullable=False),
    Column("FileName", path_string(), nullable=False),
    Column("Size", ubigint(), nullable=False, server_default="0"),
    Column("UID", uint(), nullable=False, server_default="0"),
    Column("GID", uint(), nullable=False, server_default="0"),
    Column("Status", String(32), nullable=False, server_default=DEFAULT_STATUS),
    Index("FC_Files_DirName", "DirID", "FileName", unique=True),
    **MYSQL_TABLE_ARGS,
)

FC_FileInfo = Table(
    "FC_FileInfo",
    metadata,
    Column("FileID", uint(), primary_key=True, autoincrement=False),
    Column("GUID", String(36), nullable=False, server_default=""),
    Column("Checksum", String(64), nullable=False, server_default=""),
    Column("ChecksumType", String(16), nullable=False, server_default="Adler32"),
    Column("Type", String(8), nullable=False, server_default="File"),
    Column("Mode", SmallInteger, nullable=False, server_default=str(0o664)),
    Column("CreationDate", datetime_col(), nullable=True),
    Column("ModificationDate", datetime_col(), nullable=True),
    Index("FC_FileInfo_GUID", "GUID"),
    **MYSQL_TABLE_ARGS,
)

FC_Replicas = Table(
    "FC_Replicas",
    metadata,
    Column("RepID", uint(), primary_key=True, autoincrement=True),
    Column("FileID", uint(), nullable=False),
    Column("SEID", uint(), nullable=False),
    Column("Status", String(32), nullable=False, server_default=DEFAULT_STATUS),
    Column("PFN", String(1024), nullable=False, server_default=""),
    Column("CreationDate", datetime_col(), nullable=True),
    Index("FC_Replicas_FileSE", "FileID", "SEID", unique=True),
    Index("FC_Replicas_SEID", "SEID"),
    **MYSQL_TABLE_ARGS,
)

FC_MetaFields = Table(
    "FC_MetaFields",
    metadata,
    Column("MetaID", uint(), primary_key=True, autoincrement=True),
    Column("MetaName", String(64), nullable=False),
    Column("MetaType", String(128), nullable=False),
    Index("FC_MetaFields_MetaName", "MetaName", unique=True),
    **MYSQL_TABLE_ARGS,
)

FC_FileMetaFields = Table(
    "FC_FileMetaFields",
    metadata,
    Column("MetaID", uint(), primary_key=True, autoincrement=True),
    Column("MetaName", String(64), nullable=False),
    Column("MetaType", String(128), nullable=False),
    Index("FC_FileMetaFields_MetaName", "MetaName", unique=True),
    **MYSQL_TABLE_ARGS,
)

# ----------------------------------------------------------------------------- metadata value tables
META_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,47}$")
_VARCHAR = re.compile(r"^VARCHAR\((\d{1,3})\)$")
META_TYPES = ("INT", "FLOAT", "VARCHAR(n)", "DATETIME")


def normalize_meta_type(raw: str) -> str:
    """DIRAC's MetaType strings: INT, FLOAT, VARCHAR(n) (n <= 255), DATETIME; 'string' means VARCHAR(128)."""
    text = str(raw).strip().upper().replace(" ", "")
    aliases = {"INTEGER": "INT", "BIGINT": "INT", "DOUBLE": "FLOAT", "STRING": "VARCHAR(128)", "STR": "VARCHAR(128)"}
    text = aliases.get(text, text)
    if text in {"INT", "FLOAT", "DATETIME", "DATE"}:
        return "DATETIME" if text == "DATE" else text
    match = _VARCHAR.match(text)
    if match and 1 <= int(match.group(1)) <= 255:
        return text
    raise BadRequest(f"metadata type {raw!r} is not supported: use one of {', '.join(META_TYPES)}")


def value_type(meta_type: str) -> TypeEngine[Any]:
    if meta_type == "INT":
        return BigInteger()
    if meta_type == "FLOAT":
        return Float().with_variant(mysql.DOUBLE(), "mysql", "mariadb")
    if meta_type == "DATETIME":
        return DateTime()
    match = _VARCHAR.match(meta_type)
    length = int(match.group(1)) if match else 128
    return String(length)


def check_meta_name(name: str) -> None:
    """A field name fit for a table name (``FC_Meta_<name>``); BadRequest naming the rule otherwise."""
    if not META_NAME.match(name):
        raise BadRequest(f"metadata field name {name!r}: use a letter then letters, digits or _ (48 at most)")


def meta_value_table(name: str, meta_type: str, *, file_meta: bool) -> Table:
    """``FC_Meta_<name>`` (DirID, Value) or ``FC_FileMeta_<name>`` (FileID, Value), with an index on Value.

    Per-field tables (DIRAC's choice) keep values typed, so ``energy > 10`` compares numbers through an
    index on one narrow table; a generic entity-attribute-value table would need a cast per row.
    """
    check_meta_name(name)
    key = "FileID" if file_meta else "DirID"
    table_name = f"FC_FileMeta_{name}" if file_meta else f"FC_Meta_{name}"
    return Table(
        table_name,
        MetaData(),
        Column(key, uint(), primary_key=True, autoincrement=False),
        Column("Value", value_type(meta_type), nullable=False),
        Index(f"{table_name}_Value", "Value"),
        **MYSQL_TABLE_ARGS,
    )


class FileCatalogDB(BaseDB):
    """The schema owner; the catalog's SQL is in the `filecatalog_*` modules beside this one, over `engine`."""

    metadata = metadata


__all__ = [
    "DEFAULT_STATUS",
    "FC_DirectoryClosure",
    "FC_DirectoryList",
    "FC_FileInfo",
    "FC_FileMetaFields",
    "FC_Files",
    "FC_Groups",
    "FC_MetaFields",
    "FC_Replicas",
    "FC_StorageElements",
    "FC_Users",
    "FileCatalogDB",
    "check_meta_name",
    "meta_value_table",
    "metadata",
    "normalize_meta_type",
]
