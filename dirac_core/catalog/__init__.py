"""DIRAC File Catalog logic (DFC semantics) over FileCatalogDB: see docs/catalog.md.

The tables are `dirac_core.db.filecatalogdb` and the hand-written hot-path SQL
`dirac_core.db.filecatalog_queries`; `store` keeps the bulk-result and permission plumbing.
"""
