"""Workload Management logic: JDL, job states, JobManager, JobMonitoring, JobStateUpdate, Matcher, SandboxStore."""
