"""The WorkloadManagement components: JobManager, JobMonitoring, JobStateUpdate, Matcher, SandboxStore.

Each component builds its logic object from the `ComponentContext` (CS options and DB engines) and
exposes it twice: a REST router (`dirac_core.services.wms_rest`) and DIRAC's RPC method names
(`dirac_core.services.wms_rpc`).

CS options (``/Systems/WorkloadManagement/<Instance>/...``):

* ``Services/JobManager/MaxParametricJobs`` (20), ``/Operations/Defaults/JobScheduling/MaxRescheduling`` (3)
* ``Services/JobManager/MaxJDLBytes``, ``MaxJobCopies``, ``MaxSubmitBytes``: see `dirac_core.services.input_limits`
* ``Databases/JobDB/MinJobID``: new JobIDs start at least there (applied at start and by ``db init``)
* ``Services/SandboxStore/BasePath`` (``DataDir``, else ``<DIRAC root>/sandboxes``), ``MaxSandboxSizeMiB`` (10),
  ``LocalSE``
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dirac_core.config.paths import database_section
from dirac_core.db.jobdb import JobDB
from dirac_core.db.jobloggingdb import JobLoggingDB
from dirac_core.db.pilotagentsdb import PilotAgentsDB
from dirac_core.db.sandboxmetadatadb import SandboxMetadataDB
from dirac_core.db.taskqueuedb import TaskQueueDB
from dirac_core.errors import ConfigError
from dirac_core.services.building import router_from, rpc_from
from dirac_core.services.component import Component, ComponentContext
from dirac_core.services.input_limits import limit_of
from dirac_core.wms.hooks import apply_min_job_id
from dirac_core.wms.job_manager import MAX_PARAMETRIC_JOBS, MAX_RESCHEDULING, JobManager
from dirac_core.wms.job_monitoring import JobMonitoring
from dirac_core.wms.job_state_update import JobStateUpdate
from dirac_core.wms.matcher import Matcher
from dirac_core.wms.sandbox_store import DEFAULT_MAX_MIB, DEFAULT_SE_NAME, SandboxStore

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


def _int_option(ctx: ComponentContext, name: str, default: int) -> int:
    raw = ctx.option(name, str(default))
    try:
        return int(raw or default)
    except ValueError:
        raise ConfigError(f"{ctx.section}/{name} = {raw!r} is not an integer") from None


def make_job_manager(ctx: ComponentContext) -> JobManager:
    jobdb: JobDB = _db(ctx, "JobDB")
    apply_min_job_id(ctx.config, database_section(ctx.config, SYSTEM, "JobDB"), jobdb.engine)
    return JobManager(
        jobdb,
        _db(ctx, "JobLoggingDB"),
        _db(ctx, "TaskQueueDB"),
        _db(ctx, "SandboxMetadataDB"),
        max_parametric_jobs=_int_option(ctx, "MaxParametricJobs", MAX_PARAMETRIC_JOBS),
        max_rescheduling=ctx.config.get_int("/Operations/Defaults/JobScheduling/MaxRescheduling", MAX_RESCHEDULING),
        max_jdl_bytes=limit_of(ctx, "MaxJDLBytes", JOB_MANAGER),
        max_copies=limit_of(ctx, "MaxJobCopies", JOB_MANAGER),
        max_submit_bytes=limit_of(ctx, "MaxSubmitBytes", JOB_MANAGER),
    )


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
    base = Path(ctx.option("BasePath", None) or ctx.option("DataDir", None) or f"{root}/sandboxes")
    return SandboxStore(
        _db(ctx, "SandboxMetadataDB"),
        _db(ctx, "JobDB"),
        base,
        max_bytes=_int_option(ctx, "MaxSandboxSizeMiB", DEFAULT_MAX_MIB) * 1024 * 1024,
        se_name=ctx.option("LocalSE", DEFAULT_SE_NAME) or DEFAULT_SE_NAME,
    )


def components() -> list[Component]:
    from dirac_core.services import wms_rest, wms_rpc

    return [
        Component(
            f"{SYSTEM}/JobManager",
            9132,
            ((SYSTEM, "JobDB"), (SYSTEM, "JobLoggingDB"), (SYSTEM, "TaskQueueDB"), (SYSTEM, "SandboxMetadataDB")),
            router_from("JobManager", make_job_manager, wms_rest.job_manager_router),
            rpc_from("JobManager", make_job_manager, wms_rpc.job_manager_rpc),
            "Submit, kill, delete and reschedule jobs",
        ),
        Component(
            f"{SYSTEM}/JobMonitoring",
            9130,
            ((SYSTEM, "JobDB"), (SYSTEM, "JobLoggingDB")),
            router_from("JobMonitoring", make_job_monitoring, wms_rest.job_monitoring_router),
            rpc_from("JobMonitoring", make_job_monitoring, wms_rpc.job_monitoring_rpc),
            "Job status, attributes, parameters, history, summaries",
        ),
        Component(
            f"{SYSTEM}/JobStateUpdate",
            9136,
            ((SYSTEM, "JobDB"), (SYSTEM, "JobLoggingDB")),
            router_from("JobStateUpdate", make_job_state_update, wms_rest.job_state_update_router),
            rpc_from("JobStateUpdate", make_job_state_update, wms_rpc.job_state_update_rpc),
            "Status, parameters and heartbeats reported by pilots",
        ),
        Component(
            f"{SYSTEM}/Matcher",
            9170,
            ((SYSTEM, "JobDB"), (SYSTEM, "JobLoggingDB"), (SYSTEM, "TaskQueueDB"), (SYSTEM, "PilotAgentsDB")),
            router_from("Matcher", make_matcher, wms_rest.matcher_router),
            rpc_from("Matcher", make_matcher, wms_rpc.matcher_rpc),
            "Hands Waiting jobs to pilots",
        ),
        Component(
            f"{SYSTEM}/SandboxStore",
            9196,
            ((SYSTEM, "SandboxMetadataDB"), (SYSTEM, "JobDB")),
            router_from("SandboxStore", make_sandbox_store, wms_rest.sandbox_store_router),
            rpc_from("SandboxStore", make_sandbox_store, wms_rpc.sandbox_store_rpc),
            "Input and output sandboxes",
        ),
    ]
