"""Alembic revisions of TaskQueueDB (run by dirac_core.db.schema)."""
