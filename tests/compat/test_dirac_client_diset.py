"""The real DIRAC client over DISET (dips://) against `dirac-core up`: DIRAC's TLS handshake with an
RFC proxy, its action proposal, DEncode framing and the same method tables as HTTPS."""

from __future__ import annotations

from typing import Any

import pytest

from tests.compat.conftest import CLIENT_SCRIPT, DIRAC_VERSIONS, UpInstance, install_client, run_client

pytestmark = pytest.mark.compat

DISET_SCRIPT = CLIENT_SCRIPT.with_name("dirac_client_diset_calls.py")


@pytest.fixture(scope="module", params=DIRAC_VERSIONS)
def diset_calls(
    request: pytest.FixtureRequest, dirac_up: UpInstance, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    python = install_client(request.param)
    workdir = tmp_path_factory.mktemp(f"dips-{request.param}")
    return run_client(python, dirac_up, workdir, f"dips{request.param}", script=DISET_SCRIPT, transport="dips")


def ok(results: dict[str, Any], name: str) -> Any:
    result = results[name]
    assert result["OK"], f"{name}: {result.get('Message')}"
    return result["Value"]


def test_submit_and_monitor_over_dips(diset_calls: dict[str, Any]) -> None:
    job_id = ok(diset_calls, "JobManager.submitJob")
    assert isinstance(job_id, int)
    statuses = ok(diset_calls, "getJobsStatus")
    # DEncode keeps the JobIDs integers (JSON over HTTPS turns them into strings).
    assert ok(diset_calls, "getJobsStatus.keys") == ["int"]
    assert set(statuses) == {str(job_id)} and statuses[str(job_id)]["Status"] == "Waiting"
    assert ok(diset_calls, "getJobsStatus.unknown") == {}
    assert set(ok(diset_calls, "getJobsStates")) == {str(job_id)}
    assert ok(diset_calls, "getJobs") == [str(job_id)]  # DIRAC returns the ids as strings


def test_identity_over_dips_is_the_proxys_user(diset_calls: dict[str, Any]) -> None:
    whoami = ok(diset_calls, "whoami")
    assert whoami["username"] == "alice" and not whoami["isHost"]
    assert ok(diset_calls, "ping")["name"] == "WorkloadManagement/JobMonitoring"


def test_unknown_method_is_a_dirac_error(diset_calls: dict[str, Any]) -> None:
    result = diset_calls["unknownMethod"]
    assert not result["OK"] and "unknown method 'noSuchMethod'" in result["Message"]
