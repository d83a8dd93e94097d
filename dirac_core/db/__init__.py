"""Database layer: one module per DIRAC database (SQLAlchemy Core tables, its queries and its
``DATABASE`` spec, registered under the ``dirac_core.databases`` entry points; see `installed`),
plus the shared engine, retry, schema (Alembic) and column-type helpers. No HTTP, no callers here.
"""
