"""Alembic revisions of PilotAgentsDB (run by dirac_core.db.schema)."""
