"""Alembic revisions of SandboxMetadataDB (run by dirac_core.db.schema)."""
