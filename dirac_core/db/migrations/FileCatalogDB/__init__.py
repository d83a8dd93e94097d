"""Alembic revisions of FileCatalogDB (run by dirac_core.db.schema)."""
