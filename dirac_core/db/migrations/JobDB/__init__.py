"""Alembic revisions of JobDB (run by dirac_core.db.schema)."""
