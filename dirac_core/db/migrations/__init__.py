"""Alembic revisions per DIRAC database: migrations/<DBName>/versions/*.py."""
