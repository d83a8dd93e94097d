"""Schema revisions of JobLoggingDB, oldest first: <db>_<release>.py."""
