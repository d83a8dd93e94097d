"""Authentication (tokens, certificates) and DIRAC-style authorization (groups and properties)."""
