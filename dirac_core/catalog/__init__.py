"""DIRAC File Catalog logic (DFC semantics) over FileCatalogDB: see docs/catalog.md."""
