"""Schema revisions of FileCatalogDB, oldest first: <db>_<release>.py."""
