"""Database migration engine: reset, copy and repopulate DIRAC (or any MariaDB/MySQL) databases.

Modules, one job each: `plan` (the YAML plan), `connect` (sessions), `objects` (schema objects),
`chunks` (primary-key ranges and the canonical row form), `manifest` (resumable state), `copier`
(dump -> transfer -> load -> verify), `strategies` (reset, repopulate, setup rename, upgrade),
`preflight` (checks before anything changes), `runner` (the whole plan), `report`, `faults`.
See docs/dbmigrate.md.
"""
