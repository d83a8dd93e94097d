"""DIRAC File Catalog logic (DFC semantics) over FileCatalogDB: see docs/catalog.md.

No SQL here: the tables and every query are in `dirac_core.db` (`filecatalogdb`, `filecatalog_store`,
`filecatalog_dirs`, `filecatalog_files`, `filecatalog_metadata`, `filecatalog_queries`); this package
keeps path rules, permissions, metadata semantics and DIRAC's bulk replies.
"""
