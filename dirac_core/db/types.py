"""Column types that give DIRAC's MySQL layout on MariaDB and a faithful equivalent on SQLite.

DIRAC declares ids as ``INT(11) UNSIGNED``, JDLs as ``MEDIUMTEXT`` and flags as ``ENUM('True','False')``;
SQLite gets ``INTEGER``/``TEXT``/``VARCHAR`` with the same values.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Enum, Integer, Text
from sqlalchemy.dialects import mysql
from sqlalchemy.types import TypeEngine

# Every table DIRAC creates is InnoDB + utf8mb4; SQLite ignores these keyword arguments.
MYSQL_TABLE_ARGS: dict[str, Any] = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"}


def uint() -> TypeEngine[int]:
    return Integer().with_variant(mysql.INTEGER(unsigned=True), "mysql", "mariadb")


def ubigint() -> TypeEngine[int]:
    return BigInteger().with_variant(mysql.BIGINT(unsigned=True), "mysql", "mariadb")


def mediumtext() -> TypeEngine[str]:
    return Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")


def datetime_col() -> TypeEngine[datetime]:
    return DateTime()


def bool_enum(name: str) -> Enum:
    """DIRAC's ``ENUM('True','False')`` flag, kept as the strings 'True'/'False'."""
    return Enum("True", "False", name=name, native_enum=True, create_constraint=False)


def utcnow() -> datetime:
    """Naive UTC, as DIRAC stores DATETIME columns (UTC_TIMESTAMP())."""
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)
