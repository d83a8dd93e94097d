"""Schema revisions of AccountingDB, oldest first: <db>_<release>.py."""
