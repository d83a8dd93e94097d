"""Workload Management logic: job states, JobManager, JobMonitoring, JobStateUpdate, Matcher, SandboxStore.

JDL parsing is core (`dirac_core.jdl`); the tables and queries are in `dirac_core.db` (JobDB, ...).
"""
