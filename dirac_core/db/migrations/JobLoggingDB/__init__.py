"""Alembic revisions of JobLoggingDB (run by dirac_core.db.schema)."""
