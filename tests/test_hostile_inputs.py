"""Hostile RPC and REST arguments over real HTTPS (issue 16 items 9, 2, 3): a 4xx naming the argument, never a 500,
and the keep-alive connection stays usable after every refusal.

One instance serves the WMS services, the FileCatalog and Accounting; each case posts a raw DIRAC RPC form
(``args`` as written, so NaN and lone surrogates reach the server) on one httpx connection, then pings on the
same connection.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime

import httpx
import pytest

from tests.support.instance import LocalInstance, running_instance

JM = "WorkloadManagement/JobManager"
JMON = "WorkloadManagement/JobMonitoring"
JSU = "WorkloadManagement/JobStateUpdate"
MATCHER = "WorkloadManagement/Matcher"
FC = "DataManagement/FileCatalog"
DS = "Accounting/DataStore"
RG = "Accounting/ReportGenerator"
JDL = '[Executable = "/bin/true"; JobName = "hostile"; CPUTime = 600;]'
SITE = "DIRAC.Local.ch"

EXTRA = {
    "Systems": {
        "WorkloadManagement": {
            "Local": {
                "Services": {
                    "JobManager": {"MaxJDLBytes": 4096, "MaxJobCopies": 20, "MaxSubmitBytes": 16384},
                }
            }
        },
        "Accounting": {
            "Local": {"Services": {"DataStore": {"MaxRecordSpanDays": 2}, "ReportGenerator": {"MaxReportSpanDays": 30}}}
        },
    },
}


@pytest.fixture(scope="module")
def inst(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalInstance]:
    tmp = tmp_path_factory.mktemp("hostile")
    with running_instance(
        tmp, [JM, JMON, JSU, MATCHER, FC, DS, RG], extra_cfg=EXTRA, before_start=[["dirac-core", "db", "init"]]
    ) as instance:
        yield instance


@pytest.fixture(scope="module")
def job_id(inst: LocalInstance) -> int:
    with inst.client(JM, user="alice") as client:
        return int(client.rpc("submitJob", JDL))


def post_rpc(
    http: httpx.Client, inst: LocalInstance, component: str, token: str, method: str, args: str
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"}
    return http.post(inst.url(component), data={"method": method, "args": args}, headers=headers)


def assert_refused(
    inst: LocalInstance, component: str, user: str, method: str, args: str, *words: str, status: int = 400
) -> None:
    """S_ERROR naming `words` with HTTP `status` (400: refused before the call; 200: DIRAC's S_ERROR from
    the method, e.g. a limit of the logic); then the same connection still answers."""
    group = {"admin": "dirac_admin", "pilot": "dirac_pilot"}.get(user)
    token = inst.token(user, group)
    with inst.http() as http:
        reply = post_rpc(http, inst, component, token, method, args)
        assert reply.status_code == status, (method, args[:80], reply.status_code, reply.text[:300])
        body = reply.json()
        assert body["OK"] is False
        for word in words:
            assert word in body["Message"], body["Message"]
        again = post_rpc(http, inst, component, token, "ping", "[]")
        assert again.status_code == 200 and again.json()["OK"] is True


BIG_ID = str(2**63)
NESTED = "(" * 2000 + "a=1" + ")" * 2000
ANDS = " AND ".join(["a=1"] * 2000)


@pytest.mark.parametrize(
    ("component", "user", "method", "args", "words", "status"),
    [
        (JMON, "admin", "getJobAttributes", f"[{BIG_ID}]", ["job_id"], 400),
        (JMON, "admin", "getJobsStatus", f"[[{BIG_ID}]]", ["job"], 400),
        (JM, "alice", "killJob", f"[{BIG_ID}]", ["job"], 400),
        (JM, "alice", "submitJob", "[1]", ["jdl"], 400),
        (JM, "alice", "submitJob", "[null]", ["jdl"], 400),
        (JM, "alice", "submitJob", "[[]]", ["jdl"], 400),
        (JM, "alice", "submitJob", "[NaN]", ["NaN"], 400),
        (JM, "alice", "submitJob", '["\\ud800"]', ["surrogate"], 400),
        (JM, "alice", "submitJobCopies", json.dumps([JDL, "abc"]), ["copies"], 400),
        (JM, "alice", "submitJobCopies", json.dumps([JDL, 1.7]), ["copies"], 400),
        (JMON, "admin", "getJobAttributes", "[true]", ["job_id"], 400),
        (JMON, "admin", "getJobAttributes", "[1.5]", ["job_id"], 400),
        (JMON, "admin", "getJobAttributes", '[1, "Status"]', ["names"], 400),
        (JMON, "admin", "getJobAttribute", "[1, {}]", ["name"], 400),
        (JMON, "admin", "getJobPageSummaryWeb", '["x"]', ["select_dict"], 400),
        (JMON, "admin", "getCounters", "[null]", ["attributes"], 400),
        (JSU, "admin", "setJobParameters", '[1, "ab"]', ["parameters"], 400),
        (MATCHER, "pilot", "requestJob", json.dumps([{"CPUTime": 1e30, "Site": SITE}]), ["CPUTime"], 200),
        (FC, "admin", "findFilesByMetadata", json.dumps([NESTED]), ["MaxQueryNesting"], 200),
        (FC, "admin", "findFilesByMetadata", json.dumps([ANDS]), ["MaxQueryConditions"], 200),
        (
            DS,
            "admin",
            "commit",
            json.dumps(
                [
                    "DataOperation",
                    1e308,
                    1e308,
                    ["put", "alice", "DIRAC.Local.ch", "SE-A", "SE-B", "file", "Successful", 1, 1, 1, 1, 1, 1, 1],
                ]
            ),
            ["startTime"],
            200,
        ),
        (JMON, "admin", "getJobAttributes", "[" * 5000 + "]" * 5000, ["args"], 400),
        (JMON, "admin", "getJobAttributes", "[" * 100 + "]" * 100, ["deeper than 32"], 400),
    ],
)
def test_bad_rpc_argument_is_a_4xx_naming_it(
    inst: LocalInstance, job_id: int, component: str, user: str, method: str, args: str, words: list[str], status: int
) -> None:
    assert_refused(inst, component, user, method, args, *words, status=status)


def test_bad_rest_job_id_is_a_4xx(inst: LocalInstance) -> None:
    token = inst.admin_token()
    with inst.http() as http:
        url = f"{inst.base_url(JMON)}/api/{JMON}/jobs/{2**63}"
        reply = http.get(url, headers={"Authorization": f"Bearer {token}"})
        assert 400 <= reply.status_code < 500, reply.text
        assert http.get(f"{inst.base_url(JMON)}/health").status_code == 200


# ------------------------------------------------------------------------------------- limits (items 2, 3)
def test_jdl_bytes_and_copies_are_bounded(inst: LocalInstance) -> None:
    big = JDL[:-1] + f' Arguments = "{"x" * 5000}";]'
    assert_refused(inst, JM, "alice", "submitJob", json.dumps([big]), "MaxJDLBytes", status=200)
    assert_refused(inst, JM, "alice", "submitJobCopies", json.dumps([JDL, 21]), "MaxJobCopies", status=200)
    mid = JDL[:-1] + f' Arguments = "{"x" * 3000}";]'  # under MaxJDLBytes, but 10 copies exceed MaxSubmitBytes
    assert_refused(inst, JM, "alice", "submitJobCopies", json.dumps([mid, 10]), "MaxSubmitBytes", status=200)
    token = inst.token("alice")
    with inst.http() as http:
        reply = http.post(
            f"{inst.base_url(JM)}/api/{JM}/jobs",
            json={"jdl": big, "copies": 1},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert reply.status_code == 413 and "MaxJDLBytes" in reply.json()["detail"], reply.text


def test_accounting_spans_are_bounded(inst: LocalInstance) -> None:
    values = ["put", "alice", "DIRAC.Local.ch", "SE-A", "SE-B", "file", "Successful", 1, 1, 1, 1, 1, 1, 1]
    year = 365 * 86400
    args = json.dumps(["DataOperation", 1_600_000_000, 1_600_000_000 + 4 * year, values])
    assert_refused(inst, DS, "admin", "commit", args, "MaxRecordSpanDays", status=200)
    token = inst.token("alice")
    with inst.http() as http:
        body = {"type": "DataOperation", "group_by": "User", "start": 0, "end": 10**11}
        reply = http.post(
            f"{inst.base_url(RG)}/api/{RG}/timeseries", json=body, headers={"Authorization": f"Bearer {token}"}
        )
        assert reply.status_code == 400 and "MaxReportSpanDays" in reply.json()["detail"], reply.text


def test_datetime_metadata_keeps_its_offset(inst: LocalInstance) -> None:
    with inst.client(FC, user="admin", group="dirac_admin") as fc:
        fc.rpc("createDirectory", ["/hostile/dt"])
        fc.rpc("addMetadataField", "Taken", "DATETIME")
        fc.rpc("setMetadata", "/hostile/dt", {"Taken": "2026-01-01T12:00:00+05:00"})
        assert fc.rpc("getDirectoryUserMetadata", "/hostile/dt")["Taken"] == datetime(2026, 1, 1, 7, 0)
