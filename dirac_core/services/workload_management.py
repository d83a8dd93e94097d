"""The WorkloadManagement components: JobManager, JobMonitoring, JobStateUpdate, Matcher, SandboxStore.

Each component builds its logic object from the `ComponentContext` (CS options and DB engines) and
exposes it twice: a REST router (`dirac_core.services.wms_rest`) and DIRAC's RPC method names
(`dirac_core.services.wms_rpc`).

Ports, databases and the services' CS options are declared in `dirac_core.contract.components`
(docs/configuration.md lists them). Also read: ``/Operations/Defaults/JobScheduling/MaxRescheduling``
(3) and ``/Systems/WorkloadManagement/<Instance>/Databases/JobDB/MinJobID`` (new JobIDs start at
least there; applied at start and by ``db init``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dirac_core.config.paths import database_section
from dirac_core.contract.components import component_spec
from dirac_core.contract.options import OptionSpec, service_option
from dirac_core.db.jobdb import JobDB
from dirac_core.db.jobloggingdb import JobLoggingDB
from dirac_core.db.pilotagentsdb import PilotAgentsDB
from dirac_core.db.sandboxmetadatadb import SandboxMetadataDB
from dirac_core.db.taskqueuedb import TaskQueueDB
from dirac_core.services.building import router_from, rpc_from
from dirac_core.services.component import Component, ComponentContext, declared_component
from dirac_core.services.input_limits import limit_of
from dirac_core.wms.hooks import apply_min_job_id
from dirac_core.wms.job_manager import MAX_RESCHEDULING, JobManager
from dirac_core.wms.job_monitoring import JobMonitoring
from dirac_core.wms.job_state_update import JobStateUpdate
from dirac_core.wms.matcher import Matcher
from dirac_core.wms.sandbox_store import SandboxStore

SYSTEM = "WorkloadManagement"
JOB_MANAGER = f"{SYSTEM}/JobManager"


def _db(ctx: ComponentContext, name: str) -> Any:
    engine = ctx.engine(SYSTEM, name)
    return {
        "JobDB": JobDB,
        "JobLoggingDB": JobLoggingDB,
        "TaskQueueDB": TaskQueueDB,
        "SandboxMetadataDB": SandboxMetadataDB,
        "PilotAgentsDB": PilotAgentsDB,
    }[name](engine)


def _option(service: str, name: str) -> OptionSpec:
    return component_spec(f"{SYSTEM}/{service}").option(name)


def make_job_manager(ctx: ComponentContext) -> JobManager:
    jobdb: JobDB = _db(ctx, "JobDB")
    apply_min_job_id(ctx.config, database_section(ctx.config, SYSTEM, "JobDB"), jobdb.engine)
    manager = JobManager(
        jobdb,
        _db(ctx, "JobLoggingDB"),
        _db(ctx, "TaskQueueDB"),
        _db(ctx, "SandboxMetadataDB"),
        max_parametric_jobs=ctx.int_option(_option("JobManager", "MaxParametricJobs")),
        max_rescheduling=ctx.config.get_int("/Operations/Defaults/JobScheduling/MaxRescheduling", MAX_RESCHEDULING),
        max_jdl_bytes=limit_of(ctx, "MaxJDLBytes", JOB_MANAGER),
        max_copies=limit_of(ctx, "MaxJobCopies", JOB_MANAGER),
        max_submit_bytes=limit_of(ctx, "MaxSubmitBytes", JOB_MANAGER),
        submission_lease=limit_of(ctx, "SubmissionLease", JOB_MANAGER),
    )
    # Submissions a killed process left half written: removed or completed once their lease runs out.
    manager.writer.start_recovery(interval=max(1.0, manager.submission_lease / 2))
    return manager


def make_job_monitoring(ctx: ComponentContext) -> JobMonitoring:
    return JobMonitoring(_db(ctx, "JobDB"), _db(ctx, "JobLoggingDB"))


def make_job_state_update(ctx: ComponentContext) -> JobStateUpdate:
    return JobStateUpdate(_db(ctx, "JobDB"), _db(ctx, "JobLoggingDB"))


def make_matcher(ctx: ComponentContext) -> Matcher:
    return Matcher(_db(ctx, "JobDB"), _db(ctx, "JobLoggingDB"), _db(ctx, "TaskQueueDB"), _db(ctx, "PilotAgentsDB"))


def make_sandbox_store(ctx: ComponentContext) -> SandboxStore:
    # BasePath (DIRAC's option) if set, else the component's DataDir (each `dirac-core up` instance and
    # test has its own), else <InstancePath>/sandboxes of a host installation.
    root = ctx.config.get("/LocalSite/InstancePath", "/opt/dirac")
    local_se = _option("SandboxStore", "LocalSE")
    base_path = ctx.declared(_option("SandboxStore", "BasePath"))
    base = Path(base_path or ctx.declared(service_option("DataDir")) or f"{root}/sandboxes")
    return SandboxStore(
        _db(ctx, "SandboxMetadataDB"),
        _db(ctx, "JobDB"),
        base,
        max_bytes=ctx.int_option(_option("SandboxStore", "MaxSandboxSizeMiB")) * 1024 * 1024,
        se_name=ctx.declared(local_se) or str(local_se.default),
    )


def components() -> list[Component]:
    from dirac_core.services import wms_rest, wms_rpc

    return [
        declared_component(
            f"{SYSTEM}/JobManager",
            router_from("JobManager", make_job_manager, wms_rest.job_manager_router),
            rpc_from("JobManager", make_job_manager, wms_rpc.job_manager_rpc),
        ),
        declared_component(
            f"{SYSTEM}/JobMonitoring",
            router_from("JobMonitoring", make_job_monitoring, wms_rest.job_monitoring_router),
            rpc_from("JobMonitoring", make_job_monitoring, wms_rpc.job_monitoring_rpc),
        ),
        declared_component(
            f"{SYSTEM}/JobStateUpdate",
            router_from("JobStateUpdate", make_job_state_update, wms_rest.job_state_update_router),
            rpc_from("JobStateUpdate", make_job_state_update, wms_rpc.job_state_update_rpc),
        ),
        declared_component(
            f"{SYSTEM}/Matcher",
            router_from("Matcher", make_matcher, wms_rest.matcher_router),
            rpc_from("Matcher", make_matcher, wms_rpc.matcher_rpc),
        ),
        declared_component(
            f"{SYSTEM}/SandboxStore",
            router_from("SandboxStore", make_sandbox_store, wms_rest.sandbox_store_router),
            rpc_from("SandboxStore", make_sandbox_store, wms_rpc.sandbox_store_rpc),
        ),
    ]
