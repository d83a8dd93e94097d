"""Schema revisions of TaskQueueDB, oldest first: <db>_<release>.py."""
