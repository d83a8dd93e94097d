"""DIRAC RPC method tables of the WorkloadManagement components, with DIRAC's method names and shapes.

Each method gets the caller then DIRAC's positional arguments and returns the ``Value`` of an S_OK
(JSON-able: datetimes become DIRAC's ``YYYY-MM-DD HH:MM:SS`` strings); errors are raised DiracErrors
the runtime turns into ``{"OK": false, "Message": ...}``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from dirac_core.auth.caller import Caller
from dirac_core.errors import BadRequest
from dirac_core.services.component import RpcMethod
from dirac_core.wms.access import parse_job_ids
from dirac_core.wms.job_manager import JobManager
from dirac_core.wms.job_monitoring import JobMonitoring
from dirac_core.wms.job_state_update import JobStateUpdate
from dirac_core.wms.matcher import Matcher
from dirac_core.wms.sandbox_store import SandboxStore


def jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, Mapping):
        return {key: jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    return value


def _job_id(value: Any) -> int:
    return parse_job_ids(value)[0] if not isinstance(value, list) else parse_job_ids(value[:1])[0]


def _sort_list(sort_list: Sequence[Sequence[str]] | None) -> list[tuple[str, str]]:
    if not sort_list:
        return [("JobID", "DESC")]
    try:
        return [(str(name), str(direction)) for name, direction in sort_list]
    except ValueError:
        raise BadRequest("sortList must be [[attribute, 'ASC'|'DESC'], ...]") from None


def _parse_date(raw: Any, name: str) -> datetime:
    try:
        return datetime.fromisoformat(str(raw))
    except ValueError:
        raise BadRequest(f"{name} = {raw!r}: use YYYY-MM-DD[ HH:MM:SS] (UTC)") from None


def _select(select_dict: Mapping[str, Any] | None) -> tuple[dict[str, Any], datetime | None, datetime | None]:
    """DIRAC's selectDict: attribute -> value(s), plus FromDate/ToDate on LastUpdateTime."""
    conditions = dict(select_dict or {})
    dates: list[datetime | None] = []
    for key in ("FromDate", "ToDate"):
        raw = conditions.pop(key, None)
        dates.append(_parse_date(raw, key) if raw else None)
    return conditions, dates[0], dates[1]


def job_manager_rpc(manager: JobManager) -> dict[str, RpcMethod]:
    def submit_job(caller: Caller, jdl: str) -> int | list[int]:
        ids = manager.submit(caller, jdl)
        # DIRAC: one JobID for a single job, the list for a parametric one.
        return ids if len(ids) > 1 else ids[0]

    return {
        "submitJob": submit_job,
        "submitJobCopies": lambda caller, jdl, copies: manager.submit(caller, jdl, int(copies)),
        "killJob": lambda caller, job_ids: manager.kill(caller, job_ids),
        "deleteJob": lambda caller, job_ids: manager.delete(caller, job_ids),
        "rescheduleJob": lambda caller, job_ids: manager.reschedule(caller, job_ids),
        "getMaxParametricJobs": lambda _caller: manager.max_parametric_jobs,
    }


def job_monitoring_rpc(monitoring: JobMonitoring) -> dict[str, RpcMethod]:
    def logging_info(caller: Caller, job_id: Any) -> list[list[str]]:
        rows = monitoring.get_job_logging_info(caller, _job_id(job_id))
        keys = ("Status", "MinorStatus", "ApplicationStatus", "StatusTime", "Source")
        return [[row[key] for key in keys] for row in rows]

    def page_summary(
        caller: Caller,
        select_dict: Mapping[str, Any] | None = None,
        sort_list: Sequence[Sequence[str]] | None = None,
        start_item: int = 0,
        max_items: int = 100,
    ) -> dict[str, Any]:
        conditions, from_date, to_date = _select(select_dict)
        page = monitoring.search(
            caller, conditions, (), _sort_list(sort_list), int(start_item), int(max_items), from_date, to_date
        )
        return jsonable(page)  # type: ignore[no-any-return]

    def counters(caller: Caller, attributes: Sequence[str], select_dict: Mapping[str, Any] | None = None) -> Any:
        conditions, from_date, to_date = _select(select_dict)
        rows = monitoring.summary(caller, list(attributes), conditions, from_date, to_date)
        return [[{k: v for k, v in row.items() if k != "Count"}, row["Count"]] for row in rows]

    def job_stats(caller: Caller, attribute: str, select_dict: Mapping[str, Any] | None = None) -> dict[str, int]:
        conditions, from_date, to_date = _select(select_dict)
        rows = monitoring.summary(caller, [attribute], conditions, from_date, to_date)
        return {str(row[attribute]): int(row["Count"]) for row in rows}

    def distinct(attribute: str) -> RpcMethod:
        return lambda caller, select_dict=None: sorted(job_stats(caller, attribute, select_dict))

    return {
        "getJobsStatus": lambda caller, ids: monitoring.get_jobs_status(caller, ids),
        "getJobAttributes": lambda caller, job_id, names=None: jsonable(
            monitoring.get_job_attributes(caller, _job_id(job_id), names or ())
        ),
        "getJobAttribute": lambda caller, job_id, name: jsonable(
            monitoring.get_job_attributes(caller, _job_id(job_id), [name])[name]
        ),
        "getJobSummary": lambda caller, job_id: jsonable(monitoring.get_job_attributes(caller, _job_id(job_id))),
        "getJobParameters": lambda caller, ids, names=None: monitoring.get_job_parameters(caller, ids, names or ()),
        "getJobParameter": lambda caller, job_id, name: monitoring.get_job_parameters(caller, job_id, [name])[
            _job_id(job_id)
        ],
        "getJobLoggingInfo": logging_info,
        "getJobJDL": lambda caller, job_id, original=False: monitoring.get_job_jdl(caller, _job_id(job_id), original),
        "getJobHeartBeatData": lambda caller, job_id: jsonable(monitoring.get_heartbeat_data(caller, _job_id(job_id))),
        "getInputData": lambda caller, job_id: monitoring.get_input_data(caller, _job_id(job_id)),
        "getJobPageSummaryWeb": page_summary,
        "getCounters": counters,
        "getJobStats": job_stats,
        "getJobStates": distinct("Status"),
        "getSites": distinct("Site"),
        "getOwners": distinct("Owner"),
        "getJobGroups": distinct("JobGroup"),
        "getJobTypes": distinct("JobType"),
    }


def job_state_update_rpc(state: JobStateUpdate) -> dict[str, RpcMethod]:
    def set_job_status(
        caller: Caller, job_id: Any, status: str = "", minor: str = "", source: str = "Unknown", date: Any = None
    ) -> dict[str, str]:
        when = _parse_date(date, "datetime") if date else None
        return state.set_status(caller, _job_id(job_id), status, minor, "", source, when)

    def set_parameters(caller: Caller, job_id: Any, parameters: Sequence[Sequence[str]] | Mapping[str, str]) -> None:
        pairs = (
            list(parameters.items()) if isinstance(parameters, Mapping) else [(str(n), str(v)) for n, v in parameters]
        )
        state.set_parameters(caller, _job_id(job_id), pairs)

    return {
        "setJobStatus": set_job_status,
        "setJobApplicationStatus": lambda caller, job_id, app, source="Unknown": state.set_application_status(
            caller, _job_id(job_id), app, source
        ),
        "setJobParameter": lambda caller, job_id, name, value: state.set_parameters(
            caller, _job_id(job_id), [(name, str(value))]
        ),
        "setJobParameters": set_parameters,
        "sendHeartBeat": lambda caller, job_id, dynamic, static=None: state.heartbeat(
            caller, _job_id(job_id), dynamic or {}, static or {}
        ),
    }


def matcher_rpc(matcher: Matcher) -> dict[str, RpcMethod]:
    return {"requestJob": lambda caller, resource: matcher.request_job_or_fail(caller, resource)}


def sandbox_store_rpc(store: SandboxStore) -> dict[str, RpcMethod]:
    # File transfer goes over REST (/api/WorkloadManagement/SandboxStore/sandboxes); RPC lists assignments.
    return {
        "getSandboxesAssignedToJob": lambda caller, job_id, sb_type=None: store.job_sandboxes(
            caller, _job_id(job_id), sb_type
        ),
    }
