"""Schema revisions of JobDB, oldest first: <db>_<release>.py."""
