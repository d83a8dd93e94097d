"""Database layer: one module per DIRAC database, SQLAlchemy Core tables, no HTTP here."""
