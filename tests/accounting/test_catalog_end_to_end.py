"""Catalog operations commit DataOperation records: the FileCatalog service with the accounting recorder.

Skips until the file catalog (DataManagement/FileCatalog) is merged.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

pytest.importorskip("dirac_core.catalog.hooks", reason="needs the file catalog (DataManagement/FileCatalog)")

from dirac_core.client.accounting import DATA_STORE, REPORT_GENERATOR, AccountingClient
from tests.support.instance import LocalInstance, running_instance

from .test_services import _wait_for

FC = "DataManagement/FileCatalog"
HOME = "/dirac_local/user/a/alice"
EXTRA = {
    "LocalSite": {"Site": "DIRAC.Catalog.org"},
    "Systems": {
        "Accounting": {"Local": {"Services": {"DataStore": {"BucketingInterval": 1, "BucketingLease": 10}}}},
        "DataManagement": {
            "Local": {
                "Services": {
                    "FileCatalog": {
                        "OperationRecorder": "dirac_core.services.catalog_recorder:catalog_recorder",
                        "AccountingFlushSeconds": 0.5,
                    }
                }
            }
        },
    },
    "Resources": {"StorageElements": {"SE-A": {"BackendType": "File"}, "SE-B": {"BackendType": "File"}}},
}


@pytest.fixture(scope="module")
def instance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalInstance]:
    tmp = tmp_path_factory.mktemp("acc-catalog")
    with running_instance(
        tmp, [FC, DATA_STORE, REPORT_GENERATOR], extra_cfg=EXTRA, before_start=[["dirac-core", "db", "init"]]
    ) as inst:
        yield inst


def test_catalog_operations_appear_as_data_operations(instance: LocalInstance) -> None:
    inst = instance
    start = datetime.now(UTC) - timedelta(hours=1)
    with inst.client(FC, user="admin", group="dirac_admin") as admin:
        admin.rpc("createDirectory", [HOME])
        files = {f"{HOME}/f{i}": {"Size": 100 + i, "SE": "SE-A", "PFN": f"file:///f{i}"} for i in range(5)}
        assert len(admin.rpc("addFile", files)["Successful"]) == 5
        replicas = {f"{HOME}/f{i}": {"SE": "SE-B", "PFN": f"file:///b{i}"} for i in range(2)}
        assert len(admin.rpc("addReplica", replicas)["Successful"]) == 2
    end = datetime.now(UTC) + timedelta(hours=1)
    with AccountingClient(report_generator=inst.client(REPORT_GENERATOR, user="alice")) as reports:

        def by_destination() -> dict[str, tuple[float, float]]:
            rows = reports.summary("DataOperation", "Destination", start, end, {"ExecutionSite": "DIRAC.Catalog.org"})
            return {
                r["Destination"]: (r["TransferTotal"], r["TransferSize"])
                for r in rows["rows"]
                if r["Destination"] != "None"
            }

        got = _wait_for(by_destination, {"SE-A": (5, 510), "SE-B": (2, 201)})
        assert got["SE-A"] == (5, 510)  # five files of 100..104 bytes on SE-A
        assert got["SE-B"][0] == 2  # two replicas on SE-B
        users = {r["User"] for r in reports.summary("DataOperation", "user", start, end)["rows"]}
        assert users == {"admin"}
