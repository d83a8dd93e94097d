"""Calls over DISET (dips://) with the real DIRAC client; runs in the DIRAC client's venv, not ours.

The client cfg lists dips:// URLs (conftest.client_cfg(..., "dips")). Prints one JSON line
{call name: the S_OK/S_ERROR dict DIRAC returned}, as dirac_client_calls.py does; integer dict keys
(JobIDs) are listed under "<name>.keys" as DIRAC received them, since JSON would turn them into strings.
"""

import json
import os

from dirac_client_session import record, start_dirac

start_dirac()

from DIRAC.Core.Base.Client import Client  # noqa: E402
from DIRAC.Interfaces.API.Job import Job  # noqa: E402
from DIRAC.WorkloadManagementSystem.Client.JobManagerClient import JobManagerClient  # noqa: E402
from DIRAC.WorkloadManagementSystem.Client.JobMonitoringClient import JobMonitoringClient  # noqa: E402

results = {}


def call(name, method, *args):
    record(results, name, method, *args)
    value = results[name].get("Value") if isinstance(results[name], dict) else None
    if isinstance(value, dict):
        results[f"{name}.keys"] = {"OK": True, "Value": [type(k).__name__ for k in value]}
    results[name].pop("rpcStub", None)
    return results[name]


job = Job()
job.setName(f"compat-dips-{os.environ['COMPAT_TAG']}")
job.setExecutable("echo", arguments="hello dips")
submitted = call("JobManager.submitJob", JobManagerClient().submitJob, job._toJDL())
job_ids = [submitted["Value"]] if submitted["OK"] else []
monitoring = JobMonitoringClient()
call("getJobsStatus", monitoring.getJobsStatus, job_ids)
call("getJobsStatus.unknown", monitoring.getJobsStatus, [987654321])
call("getJobsStates", monitoring.getJobsStates, job_ids)
call("getJobs", monitoring.getJobs, {"JobName": f"compat-dips-{os.environ['COMPAT_TAG']}"})
generic = Client(url="WorkloadManagement/JobMonitoring")
call("whoami", generic.whoami)  # Client turns an unknown attribute into that RPC
call("ping", generic.ping)
call("unknownMethod", generic.noSuchMethod, 1)
results["job_ids"] = {"OK": True, "Value": job_ids}
print(json.dumps(results, default=str))
