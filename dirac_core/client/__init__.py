"""Python client for dirac_core services (usable from scripts and notebooks)."""
