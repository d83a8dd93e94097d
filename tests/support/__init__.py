"""Helpers for end-to-end tests: real instances of dirac_core in subprocesses (see docs/runtime.md)."""
