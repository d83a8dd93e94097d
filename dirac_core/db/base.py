"""What every DB class shares: an engine, the backend it runs on, and its schema metadata."""

from __future__ import annotations

from typing import Any

from sqlalchemy import CursorResult, Engine, MetaData, text

MAX_BIGINT = 2**63 - 1  # the largest id a BIGINT column (JobID, FileID, ...) holds


class BaseDB:
    """A DIRAC database front-end: SQLAlchemy Core over one engine (SQLite or MariaDB)."""

    metadata: MetaData

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @property
    def is_mysql(self) -> bool:
        return self.engine.dialect.name in {"mysql", "mariadb"}

    def ping(self) -> None:
        """One round trip to the database; raises when it cannot be reached (DIRAC's isOK)."""
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def create_tables(self) -> None:
        """Create the head schema (tests and `dirac-core up`); production uses `dirac-core db init`."""
        self.metadata.create_all(self.engine)


def inserted_id(result: CursorResult[Any]) -> int:
    """The autoincrement id of a single-row INSERT."""
    key = result.inserted_primary_key
    if key is None:  # pragma: no cover - only for executemany, never used with this helper
        raise RuntimeError("INSERT returned no primary key")
    return int(key[0])
