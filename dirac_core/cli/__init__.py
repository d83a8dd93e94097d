"""Command-line entry points: `dirac` (users) and `dirac-core` (servers and admins)."""
