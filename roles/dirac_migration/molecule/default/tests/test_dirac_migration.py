"""dirac_migration's write freeze on its molecule host: writers stopped but enabled, the CS serving."""

from __future__ import annotations

import json
from typing import Any

FQDN = "mol-dirac.lab"
WRITERS = ["Framework_Auth", "WorkloadManagement_JobManager"]  # molecule.yml's placement, but the CS


def test_writers_stopped_but_enabled(host: Any) -> None:
    for unit in WRITERS:
        service = host.service(f"dirac-egi-{unit}.service")
        assert not service.is_running and service.is_enabled, unit


def test_configuration_server_keeps_serving(host: Any) -> None:
    assert host.service("dirac-egi-Configuration_Server.service").is_running
    ca = "/opt/dirac/etc/grid-security/certificates/dirac-ca-bundle.pem"
    out = host.run(f"curl -sf --cacert {ca} https://{FQDN}:9135/health")
    assert out.rc == 0 and '"ok"' in out.stdout, out.stdout + out.stderr


def test_the_product_sees_no_writer_left(host: Any) -> None:
    """The rule the playbooks and `dirac-kit ops freeze` share: nothing left to stop."""
    out = host.run("/opt/dirac/pro/bin/dirac-core writers freeze --dry-run --json")
    assert out.rc == 0 and json.loads(out.stdout)["stopped"] == [], out.stdout + out.stderr
