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
from dirac_core.services.arguments import (
    Blob,
    Count,
    Fields,
    Flag,
    IdempotencyKey,
    JobIds,
    Names,
    PairsOrFields,
    Positive,
    Text,
)
from dirac_core.services.component import RpcMethod
from dirac_core.wms import sandbox_transfer
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
    def submit_job(
        caller: Caller,
        jdl: Text,
        job_description_format: Text | None = None,
        idempotency_key: IdempotencyKey | None = None,
    ) -> int | list[int]:
        """DIRAC's submitJob(jobDesc[, jobDescFormat]); a third argument is the optional idempotency key."""
        if job_description_format not in (None, "jdl", "JDL"):
            raise BadRequest(f"jobDescFormat {job_description_format!r}: this JobManager reads JDL only: send 'jdl'")
        ids = manager.submit(caller, jdl, idempotency_key=idempotency_key)
        # DIRAC: one JobID for a single job, the list for a parametric one.
        return ids if len(ids) > 1 else ids[0]

    def submit_job_copies(
        caller: Caller, jdl: Text, copies: Positive, idempotency_key: IdempotencyKey | None = None
    ) -> list[int]:
        return manager.submit(caller, jdl, copies, idempotency_key=idempotency_key)

    def kill_job(caller: Caller, job_ids: JobIds) -> list[int]:
        return manager.kill(caller, job_ids)

    def delete_job(caller: Caller, job_ids: JobIds) -> list[int]:
        return manager.delete(caller, job_ids)

    def reschedule_job(caller: Caller, job_ids: JobIds) -> list[int]:
        return manager.reschedule(caller, job_ids)

    def confirm_bulk_submission(caller: Caller, job_ids: JobIds) -> list[int]:
        return manager.confirm_bulk(caller, job_ids)

    def remove_job(caller: Caller, job_ids: JobIds) -> list[int]:
        return manager.remove(caller, job_ids)

    return {
        "submitJob": submit_job,
        "submitJobCopies": submit_job_copies,
        "killJob": kill_job,
        "deleteJob": delete_job,
        "rescheduleJob": reschedule_job,
        "confirmBulkSubmission": confirm_bulk_submission,
        "removeJob": remove_job,
        "getMaxParametricJobs": lambda _caller: manager.max_parametric_jobs,
    }


def job_monitoring_rpc(monitoring: JobMonitoring) -> dict[str, RpcMethod]:
    def logging_info(caller: Caller, job_id: JobIds) -> list[list[str]]:
        rows = monitoring.get_job_logging_info(caller, _job_id(job_id))
        keys = ("Status", "MinorStatus", "ApplicationStatus", "StatusTime", "Source")
        return [[row[key] for key in keys] for row in rows]

    def page_summary(
        caller: Caller,
        select_dict: Fields | None = None,
        sort_list: list[list[Text]] | None = None,
        start_item: Count = 0,
        max_items: Count = 100,
    ) -> dict[str, Any]:
        conditions, from_date, to_date = _select(select_dict)
        page = monitoring.search(
            caller, conditions, (), _sort_list(sort_list), start_item, max_items, from_date, to_date
        )
        return jsonable(page)  # type: ignore[no-any-return]

    def counters(caller: Caller, attributes: Names, select_dict: Fields | None = None) -> Any:
        conditions, from_date, to_date = _select(select_dict)
        rows = monitoring.summary(caller, list(attributes), conditions, from_date, to_date)
        return [[{k: v for k, v in row.items() if k != "Count"}, row["Count"]] for row in rows]

    def job_stats(caller: Caller, attribute: Text, select_dict: Fields | None = None) -> dict[str, int]:
        conditions, from_date, to_date = _select(select_dict)
        rows = monitoring.summary(caller, [attribute], conditions, from_date, to_date)
        return {str(row[attribute]): int(row["Count"]) for row in rows}

    def distinct(attribute: str) -> RpcMethod:
        def values(caller: Caller, select_dict: Fields | None = None) -> list[str]:
            return sorted(job_stats(caller, attribute, select_dict))

        return values

    def bulk_attributes(*names: str) -> RpcMethod:
        """DIRAC's getJobs<Attribute>(jobIDs): {JobID: {name: value}}, unknown ids left out."""

        def attributes(caller: Caller, job_ids: JobIds) -> Any:
            return jsonable(monitoring.get_jobs_attributes(caller, job_ids, names))

        return attributes

    def get_jobs(caller: Caller, attr_dict: Fields | None = None, cut_date: Text | None = None) -> list[str]:
        # DIRAC returns the ids as strings (JobDB.selectJobs); cutDate: last update at or after it.
        newer = _parse_date(cut_date, "cutDate") if cut_date else None
        return [str(job_id) for job_id in monitoring.select_job_ids(caller, attr_dict or {}, newer)]

    def job_attributes(caller: Caller, job_id: JobIds, names: Names | None = None) -> Any:
        return jsonable(monitoring.get_job_attributes(caller, _job_id(job_id), names or ()))

    def job_attribute(caller: Caller, job_id: JobIds, name: Text) -> Any:
        return jsonable(monitoring.get_job_attributes(caller, _job_id(job_id), [name])[name])

    def job_summary(caller: Caller, job_id: JobIds) -> Any:
        return jsonable(monitoring.get_job_attributes(caller, _job_id(job_id)))

    def job_parameters(caller: Caller, job_ids: JobIds, names: Names | None = None) -> Any:
        return monitoring.get_job_parameters(caller, job_ids, names or ())

    def job_parameter(caller: Caller, job_id: JobIds, name: Text) -> Any:
        return monitoring.get_job_parameters(caller, job_id, [name])[_job_id(job_id)]

    def job_jdl(caller: Caller, job_id: JobIds, original: Flag = False) -> str:
        return monitoring.get_job_jdl(caller, _job_id(job_id), original)

    def heartbeat_data(caller: Caller, job_id: JobIds) -> Any:
        return jsonable(monitoring.get_heartbeat_data(caller, _job_id(job_id)))

    def input_data(caller: Caller, job_id: JobIds) -> Any:
        return monitoring.get_input_data(caller, _job_id(job_id))

    return {
        "getJobs": get_jobs,
        # getJobsStatus also carries MinorStatus/ApplicationStatus (a superset of DIRAC's {"Status"}).
        "getJobsStatus": bulk_attributes("Status", "MinorStatus", "ApplicationStatus"),
        "getJobsStates": bulk_attributes("Status", "MinorStatus", "ApplicationStatus"),
        "getJobsMinorStatus": bulk_attributes("MinorStatus"),
        "getJobsApplicationStatus": bulk_attributes("ApplicationStatus"),
        "getJobsSites": bulk_attributes("Site"),
        "getJobsSummary": bulk_attributes(),
        "getJobAttributes": job_attributes,
        "getJobAttribute": job_attribute,
        "getJobSummary": job_summary,
        "getJobParameters": job_parameters,
        "getJobParameter": job_parameter,
        "getJobLoggingInfo": logging_info,
        "getJobJDL": job_jdl,
        "getJobHeartBeatData": heartbeat_data,
        "getInputData": input_data,
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
        caller: Caller,
        job_id: JobIds,
        status: Text = "",
        minor: Text = "",
        source: Text = "Unknown",
        date: Any = None,
    ) -> dict[str, str]:
        when = _parse_date(date, "datetime") if date else None
        return state.set_status(caller, _job_id(job_id), status, minor, "", source, when)

    def set_parameters(caller: Caller, job_id: JobIds, parameters: PairsOrFields) -> None:
        pairs = (
            [(str(n), str(v)) for n, v in parameters.items()]
            if isinstance(parameters, Mapping)
            else [(str(n), str(v)) for n, v in parameters]
        )
        state.set_parameters(caller, _job_id(job_id), pairs)

    def set_application_status(caller: Caller, job_id: JobIds, app: Text, source: Text = "Unknown") -> Any:
        return state.set_application_status(caller, _job_id(job_id), app, source)

    def set_parameter(caller: Caller, job_id: JobIds, name: Text, value: Any) -> None:
        state.set_parameters(caller, _job_id(job_id), [(name, str(value))])

    def heartbeat(caller: Caller, job_id: JobIds, dynamic: Fields | None, static: Fields | None = None) -> Any:
        return state.heartbeat(caller, _job_id(job_id), dynamic or {}, static or {})

    return {
        "setJobStatus": set_job_status,
        "setJobApplicationStatus": set_application_status,
        "setJobParameter": set_parameter,
        "setJobParameters": set_parameters,
        "sendHeartBeat": heartbeat,
    }


def matcher_rpc(matcher: Matcher) -> dict[str, RpcMethod]:
    def request_job(caller: Caller, resource: Fields) -> dict[str, Any]:
        return matcher.request_job_or_fail(caller, resource)

    return {"requestJob": request_job}


def sandbox_store_rpc(store: SandboxStore) -> dict[str, RpcMethod]:
    """DIRAC's TornadoSandboxStore methods (files travel inside the RPC, as DIRAC's Tornado client sends them);
    our REST routes (/api/WorkloadManagement/SandboxStore/sandboxes) stream large files instead."""

    def stream_from_client(caller: Caller, file_id: Any, _token: Any, file_size: Count, data: Blob) -> str:
        return sandbox_transfer.receive(store, caller, file_id, file_size, data).location

    def stream_to_client(caller: Caller, file_id: Text, _token: Any = "") -> bytes:
        # Sent raw when the client asks rawContent (TornadoClient.receiveFile), JEncoded bytes otherwise.
        return store.read(caller, sandbox_transfer.location_of(store, file_id))

    def assigned_to_entity(caller: Caller, entity_id: Text) -> dict[str, list[str]]:
        return sandbox_transfer.assigned_to_entity(store, caller, entity_id)

    def assigned_to_job(caller: Caller, job_id: JobIds, sb_type: Text | None = None) -> list[str]:
        # Our older name and shape (a flat list, optionally of one type); kept for existing callers.
        return store.job_sandboxes(caller, _job_id(job_id), sb_type)

    return {
        "streamFromClient": stream_from_client,
        "streamToClient": stream_to_client,
        "getSandboxesAssignedToEntity": assigned_to_entity,
        "getSandboxesAssignedToJob": assigned_to_job,
    }
