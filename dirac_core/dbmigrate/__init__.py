"""Database migration engine: reset, copy and repopulate DIRAC (or any MariaDB/MySQL) databases.

Modules, one job each:

* the plan and its checks: `plan` (the YAML plan), `preflight` (checks before anything changes);
* talking to servers: `connect` (sessions, SQLAlchemy URLs), `objects` (schema objects);
* the copy: `chunks` (primary-key ranges, the canonical row form), `copier` (dump -> transfer ->
  load -> verify), `physical` (transportable tablespaces), `deferred_indexes`, `verify`;
* the other strategies: `strategies` (reset, setup rename, upgrade), `repopulate` (a catalog subtree);
* minimal-downtime switch: `cutover`, `replication` (GTID catch-up), `binlog_delta`, `chunk_sums`,
  `freeze` (writes stopped on the source);
* running and reporting: `runner` (the whole plan), `manifest` (resumable state), `progress`,
  `report`, `faults` (fault injection for the resume tests).

See docs/dbmigrate.md.
"""
