"""Schema revisions of SandboxMetadataDB, oldest first: <db>_<release>.py."""
