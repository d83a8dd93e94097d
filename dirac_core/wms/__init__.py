"""Workload Management logic: JDL, job state machine, JobManager, JobMonitoring, JobStateUpdate, Matcher, SandboxStore."""
