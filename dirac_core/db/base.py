"""What every DB class shares: an engine, the backend it runs on, and its schema metadata."""

from __future__ import annotations

from sqlalchemy import Engine, MetaData


class BaseDB:
    """A DIRAC database front-end: SQLAlchemy Core over one engine (SQLite or MariaDB)."""

    metadata: MetaData

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @property
    def is_mysql(self) -> bool:
        return self.engine.dialect.name in {"mysql", "mariadb"}

    def create_tables(self) -> None:
        """Create the head schema (tests and `dirac-core up`); production uses `dirac-core db init`."""
        self.metadata.create_all(self.engine)
