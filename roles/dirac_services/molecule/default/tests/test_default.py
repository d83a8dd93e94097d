"""testinfra checks of dirac_services on the molecule host."""

from __future__ import annotations

import pytest

UNITS = ["Configuration_Server", "Framework_Auth", "WorkloadManagement_JobManager"]


@pytest.mark.parametrize("unit", UNITS)
def test_unit_enabled_and_running(host, unit):
    service = host.service(f"dirac-egi-{unit}.service")
    assert service.is_enabled and service.is_running


@pytest.mark.parametrize("port", [9135, 9140, 9132])
def test_answers_health_over_tls(host, port):
    ca = "/opt/dirac/etc/grid-security/certificates/dirac-ca-bundle.pem"
    out = host.run(f"curl -sf --cacert {ca} https://mol-dirac.lab:{port}/health")
    assert out.rc == 0 and '"ok"' in out.stdout, out.stdout + out.stderr


def test_runs_as_dirac(host):
    assert (
        host.process.filter(user="dirac", comm="dirac-core") or host.run("pgrep -u dirac -f 'dirac-core serve'").rc == 0
    )
