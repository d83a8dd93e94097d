"""Every DIRAC component dirac_core runs: DIRAC's port, the databases it opens, its CS options.

The one declaration of a component's deployment facts. `dirac_core.server.component.declared_component`
builds the runtime `Component` from it; Ansible's catalogue, the validator's option rules and the docs
tables are derived from it (``python -m dirac_core.contract --check`` says when a copy is stale).
"""

from __future__ import annotations

from dataclasses import dataclass

from dirac_core.contract.options import OptionSpec
from dirac_core.errors import NotFound


@dataclass(frozen=True)
class ComponentSpec:
    system: str
    service: str
    port: int  # DIRAC's default port of the service
    module: str  # the module that builds its REST router and RPC table
    databases: tuple[str, ...] = ()  # DBNames it opens, all under its own System
    # One placement per instance; False: may run on several hosts of an instance, once per host.
    singleton: bool = True
    description: str = ""
    options: tuple[OptionSpec, ...] = ()  # its own CS options, under .../Services/<Service>

    @property
    def name(self) -> str:
        return f"{self.system}/{self.service}"

    @property
    def database_pairs(self) -> tuple[tuple[str, str], ...]:
        return tuple((self.system, db_name) for db_name in self.databases)

    def option(self, name: str) -> OptionSpec:
        for option in self.options:
            if option.name == name:
                return option
        raise NotFound(f"{self.name} declares no option {name!r}: add it to dirac_core/contract/components.py")


_WMS = "WorkloadManagement"
_SERVICES = "dirac_core.services"

COMPONENTS: tuple[ComponentSpec, ...] = (
    ComponentSpec(
        "Configuration",
        "Server",
        9135,
        f"{_SERVICES}.configuration",
        singleton=False,
        description="DIRAC Configuration Service: serves the layered CS with versions; master/slave",
        options=(
            OptionSpec("DataDir", "path", "/opt/dirac/etc/csdata", "the current CS and csbackup/"),
            OptionSpec("Layers", "string", None, "layer set of the master; default: the runtime's --cfg files"),
            OptionSpec("PollInterval", "number", None, "poll seconds; default /DIRAC/Configuration/RefreshTime"),
            OptionSpec("BackupDir", "path", None, "where committed versions are kept; default DataDir/csbackup"),
        ),
    ),
    ComponentSpec(
        "Framework",
        "Auth",
        9140,
        f"{_SERVICES}.framework_auth",
        description="Token endpoint: device-code login via the identity provider, client credentials for hosts/pilots",
        options=(OptionSpec("IdProvider", "string", None, "name under /Resources/IdProviders; default: the only one"),),
    ),
    ComponentSpec(
        _WMS,
        "JobManager",
        9132,
        f"{_SERVICES}.workload_management",
        ("JobDB", "JobLoggingDB", "TaskQueueDB", "SandboxMetadataDB"),
        description="Submit, kill, delete and reschedule jobs",
        options=(
            OptionSpec("MaxParametricJobs", "int", "20", "jobs one parametric JDL may make"),
            OptionSpec("MaxJDLBytes", "int", "262144", "bytes of one JDL (refused above: 413 / S_ERROR)"),
            OptionSpec("MaxJobCopies", "int", "1000", "copies one submission may make (clients send 500 per request)"),
            OptionSpec("MaxSubmitBytes", "int", "16777216", "JDL bytes one submission stores: JDL size x jobs"),
            OptionSpec(
                "SubmissionLease",
                "int",
                "60",
                "seconds after which an unfinished submission (its process died) is removed or completed",
            ),
        ),
    ),
    ComponentSpec(
        _WMS,
        "JobMonitoring",
        9130,
        f"{_SERVICES}.workload_management",
        ("JobDB", "JobLoggingDB"),
        description="Job status, attributes, parameters, history, summaries",
    ),
    ComponentSpec(
        _WMS,
        "JobStateUpdate",
        9136,
        f"{_SERVICES}.workload_management",
        ("JobDB", "JobLoggingDB"),
        description="Status, parameters and heartbeats reported by pilots",
    ),
    ComponentSpec(
        _WMS,
        "Matcher",
        9170,
        f"{_SERVICES}.workload_management",
        ("JobDB", "JobLoggingDB", "TaskQueueDB", "PilotAgentsDB"),
        description="Hands Waiting jobs to pilots",
    ),
    ComponentSpec(
        _WMS,
        "SandboxStore",
        9196,
        f"{_SERVICES}.workload_management",
        ("SandboxMetadataDB", "JobDB"),
        description="Input and output sandboxes",
        options=(
            OptionSpec("BasePath", "path", None, "sandbox files; default DataDir, else <InstancePath>/sandboxes"),
            OptionSpec("MaxSandboxSizeMiB", "int", "10", "upload limit (413 above)"),
            OptionSpec("LocalSE", "string", "ProductionSandboxSE", "SE name in sandbox locations"),
        ),
    ),
    ComponentSpec(
        "DataManagement",
        "FileCatalog",
        9197,
        f"{_SERVICES}.data_management",
        ("FileCatalogDB",),
        description="DIRAC File Catalog: directories, files, replicas, metadata",
        options=(
            OptionSpec("Database", "string", "FileCatalogDB", "its DBName; a second catalog names its own"),
            OptionSpec("Module", "string", None, "for a second catalog: FileCatalog, the code it runs"),
            OptionSpec("MaxBulkSize", "int", "100000", "most LFNs one bulk call may carry"),
            OptionSpec(
                "DefaultUmask", "string", "022", "octal; a Umask of the user or group in /Registry wins", checked=False
            ),
            OptionSpec("GlobalReadAccess", "bool", "True", "everyone may read every entry; False checks read bits"),
            OptionSpec("OperationRecorder", "string", None, "module:factory of its operation recorder"),
            OptionSpec("AccountingBatchSize", "int", "100", "DataOperation records per commit to the DataStore"),
            OptionSpec("AccountingFlushSeconds", "number", "30", "longest wait before pending records are sent"),
            OptionSpec("MaxQueryNesting", "int", "32", "parentheses depth of a findFilesByMetadata query"),
            OptionSpec("MaxQueryConditions", "int", "200", "conditions in one metadata query"),
        ),
    ),
    ComponentSpec(
        "Accounting",
        "DataStore",
        9133,
        f"{_SERVICES}.accounting",
        ("AccountingDB",),
        description="Stores accounting records (Job, DataOperation) and buckets them",
        options=(
            OptionSpec("RunBucketing", "bool", "yes", "take part in the election of the one bucketing DataStore"),
            OptionSpec("BucketingInterval", "number", "30", "seconds between bucketing passes"),
            OptionSpec("BucketingLease", "number", None, "lease seconds; default max(120, 4 x interval)"),
            OptionSpec("CompactInterval", "number", "3600", "seconds between merges of aged buckets (0: never)"),
            OptionSpec("MaxRecordsPerCommit", "int", "10000", "most records one commit may carry"),
            OptionSpec("MaxRecordSpanDays", "int", "31", "days from startTime to endTime of one record"),
        ),
    ),
    ComponentSpec(
        "Accounting",
        "ReportGenerator",
        9134,
        f"{_SERVICES}.accounting",
        ("AccountingDB",),
        description="Accounting reports (JSON, CSV) and plots (PNG)",
        options=(OptionSpec("MaxReportSpanDays", "int", "3660", "days from start to end of one report"),),
    ),
)


def declared_components() -> dict[str, ComponentSpec]:
    return {spec.name: spec for spec in COMPONENTS}


def component_spec(name: str) -> ComponentSpec:
    found = declared_components().get(name)
    if found is None:
        known = ", ".join(sorted(declared_components()))
        raise NotFound(f"no component {name!r} is declared: known components are {known}")
    return found
