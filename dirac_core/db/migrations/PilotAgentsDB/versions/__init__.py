"""Schema revisions of PilotAgentsDB, oldest first: <db>_<release>.py."""
