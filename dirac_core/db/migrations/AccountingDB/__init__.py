"""Alembic revisions of AccountingDB (run by dirac_core.db.schema)."""
