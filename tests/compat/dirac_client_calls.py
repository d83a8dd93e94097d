"""Calls made with the real DIRAC client's own classes; runs in the DIRAC client's venv, not ours.

Prints one JSON line: {call name: the S_OK/S_ERROR dict DIRAC returned}. The pytest side
(test_dirac_client.py) asserts on it. Environment: DIRACSYSCONFIG (the client cfg),
X509_USER_PROXY (where to write the proxy), COMPAT_USER_CERT/COMPAT_USER_KEY (the user's certificate),
COMPAT_TAG (makes job names unique per run).
"""

import json
import os
import uuid
from pathlib import Path

from dirac_client_session import record, start_dirac

start_dirac()

from DIRAC.Core.Base.Client import Client  # noqa: E402
from DIRAC.Core.Utilities.ClassAd.ClassAdLight import ClassAd  # noqa: E402
from DIRAC.Interfaces.API.Dirac import Dirac  # noqa: E402
from DIRAC.Interfaces.API.Job import Job  # noqa: E402
from DIRAC.Resources.Catalog.FileCatalogClient import FileCatalogClient  # noqa: E402
from DIRAC.WorkloadManagementSystem.Client.JobManagerClient import JobManagerClient  # noqa: E402
from DIRAC.WorkloadManagementSystem.Client.JobMonitoringClient import JobMonitoringClient  # noqa: E402
from DIRAC.WorkloadManagementSystem.Client.WMSClient import WMSClient  # noqa: E402

results = {}


def call(name, method, *args):
    return record(results, name, method, *args)


def job_jdl(name):
    job = Job()
    job.setName(name)
    job.setExecutable("echo", arguments="hello world")
    job.setCPUTime(3600)
    job.setTag(["MultiProcessor", "GPU"])
    job.setInputData(["/dirac/user/a/alice/compat/in.txt"])
    return job._toJDL()


# -- WorkloadManagement -------------------------------------------------------------------------------
# DIRAC's own JDL writer, sent as is (bare words, unquoted list items, LFN:/path).
tag = os.environ["COMPAT_TAG"]  # one run per client version against the same instance
raw_jdl = job_jdl(f"compat-raw-{tag}")
results["jdl"] = {"OK": True, "Value": raw_jdl}
call("JobManager.submitJob", JobManagerClient().submitJob, raw_jdl)
# WMSClient uploads local InputSandbox files (SandboxStore streaming: not served yet), so keep the
# entries it would not upload and let it send the rest exactly as it does.
classad = ClassAd("[" + job_jdl(f"compat-wms-{tag}") + "]")
classad.insertAttributeVectorString("InputSandbox", ["LFN:/dirac/user/a/alice/compat/in.txt"])
call("WMSClient.submitJob", WMSClient().submitJob, classad.asJDL())

# Dirac().submitJob with a local input sandbox file: uploaded with SandboxStore.streamFromClient, then
# fetched back through getSandboxesAssignedToEntity and the sandbox SE (streamToClient).
Path("compat-input.txt").write_text(f"input of {tag}\n")
sandboxed = Job()
sandboxed.setName(f"compat-sb-{tag}")
sandboxed.setExecutable("cat", arguments="compat-input.txt")
sandboxed.setInputSandbox(["compat-input.txt"])
call("Dirac.submitJob.sandbox", Dirac().submitJob, sandboxed)
if results["Dirac.submitJob.sandbox"]["OK"]:
    sandboxed_id = results["Dirac.submitJob.sandbox"]["Value"]
    sandbox_rpc = Client(url="WorkloadManagement/SandboxStore")  # what SandboxStoreClient.downloadSandboxForJob calls
    call("getSandboxesAssignedToEntity", sandbox_rpc.getSandboxesAssignedToEntity, f"Job:{sandboxed_id}")
    # What DIRAC's DIPStorage does under SandboxStoreClient.downloadSandbox: receiveFile(<SE URL>/<path>).
    # (downloadSandbox itself first asks ResourceStatus for the SE's status, a service not served here.)
    locations = results["getSandboxesAssignedToEntity"].get("Value", {}).get("Input", [])
    if locations:
        from DIRAC.ConfigurationSystem.Client.PathFinder import getServiceURL
        from DIRAC.Core.Tornado.Client.ClientSelector import TransferClientSelector

        store_url = getServiceURL("WorkloadManagement/SandboxStore")
        pfn = locations[0].partition("|")[2]
        call(
            "streamToClient",
            TransferClientSelector(store_url).receiveFile,
            "fetched.tar",
            f"{store_url}{pfn}",
            "CheckSum",
        )
        fetched = []
        if results["streamToClient"]["OK"]:
            import tarfile

            with tarfile.open("fetched.tar") as tar:
                fetched = [[m.name, tar.extractfile(m).read().decode()] for m in tar.getmembers()]
        results["input-sandbox.files"] = {"OK": True, "Value": fetched}
        call(
            "streamToClient.unknown",
            TransferClientSelector(store_url).receiveFile,
            "none.tar",
            f"{store_url}/no/such.tar",
        )
        body = Path("none.tar").read_bytes().decode(errors="replace")
        results["streamToClient.unknown.body"] = {"OK": True, "Value": body}

# A parametric job: Dirac().submitJob hands it to WMSClient.submitJob, which confirms the bulk
# (confirmBulkSubmission) after JobManager.submitJob and removes the jobs (removeJob) if that fails.
parametric = Job()
parametric.setName(f"compat-param-{tag}")
parametric.setExecutable("echo", arguments="%(args)s")
parametric.setParameterSequence("args", ["one", "two", "three"], addToWorkflow=True)
call("WMSClient.submitJob.parametric", Dirac().submitJob, parametric)

job_ids = [r["Value"] for r in (results["JobManager.submitJob"], results["WMSClient.submitJob"]) if r["OK"]]
unknown = 987654321
monitoring = JobMonitoringClient()
call("getJobs", monitoring.getJobs, {"JobName": f"compat-raw-{tag}"})
call("getJobs.parametric", monitoring.getJobs, {"JobName": f"compat-param-{tag}"})
call("getJobs.none", monitoring.getJobs, {"JobName": "no-such-name"})
for method in (
    "getJobsStates",
    "getJobsStatus",
    "getJobsMinorStatus",
    "getJobsApplicationStatus",
    "getJobsSites",
    "getJobsSummary",
):
    call(method, getattr(monitoring, method), job_ids)
call("getJobsStatus.unknown", monitoring.getJobsStatus, [unknown])
call("getJobsStatus.mixed", monitoring.getJobsStatus, [*job_ids, unknown])

dirac = Dirac()
call("Dirac.getJobStatus", dirac.getJobStatus, job_ids)
call("Dirac.getJobSummary", dirac.getJobSummary, job_ids)
call("Dirac.selectJobs", lambda: dirac.selectJobs(status="Waiting"))
call("Dirac.selectJobs.none", lambda: dirac.selectJobs(status="Done", printErrors=False))
results["job_ids"] = {"OK": True, "Value": job_ids}
results["tag"] = {"OK": True, "Value": tag}

# -- DataManagement -----------------------------------------------------------------------------------
fc = FileCatalogClient()
call("FileCatalogClient.isOK", fc.isOK)
base = f"/dirac/user/a/alice/compat-{uuid.uuid4().hex[:8]}"  # the admin made /dirac/user/a/alice
lfn = f"{base}/data/file1.txt"
guid = str(uuid.uuid4()).upper()
call("createDirectory", fc.createDirectory, [f"{base}/data"])
new_file = {"PFN": f"root://se.example.org/{lfn}", "SE": "SE-A", "Size": 1234, "GUID": guid, "Checksum": "0badcafe"}
call("addFile", fc.addFile, {lfn: new_file})
call("getFileSize", fc.getFileSize, [lfn, f"{base}/missing.txt"])
call("getReplicaStatus", fc.getReplicaStatus, {lfn: "SE-A"})
call("getReplicaStatus.otherSE", fc.getReplicaStatus, {lfn: "SE-B"})
call("getLFNForGUID", fc.getLFNForGUID, [guid, "NO-SUCH-GUID"])
call("getDirectorySize", fc.getDirectorySize, [base])
call("getDirectorySize.long", fc.getDirectorySize, [base], True, False)
call("getDirectoryMetadata", fc.getDirectoryMetadata, [base, f"{base}/missing"])
call("getCatalogCounters", fc.getCatalogCounters)
call("setMetadata", fc.setMetadata, base, {"compatRun": 7})
call("getDirectoryUserMetadata.before", fc.getDirectoryUserMetadata, base)
call("removeMetadata", fc.removeMetadata, {base: ["compatRun"]})
call("getDirectoryUserMetadata.after", fc.getDirectoryUserMetadata, base)
results["base"] = {"OK": True, "Value": {"base": base, "lfn": lfn, "guid": guid}}

print(json.dumps(results, default=str))
