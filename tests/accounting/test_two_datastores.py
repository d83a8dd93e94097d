"""Two DataStore processes on one AccountingDB (SQLite file or MariaDB): one buckets, both store."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL

from dirac_core.client.accounting import DATA_STORE, REPORT_GENERATOR, AccountingClient
from tests.support.instance import running_instance

from .conftest import _server_url

SECOND = "Accounting/DataStoreB"
FAST = {"BucketingInterval": 1, "BucketingLease": 5}


@pytest.fixture(params=["sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)])
def db_urls(request: pytest.FixtureRequest) -> Iterator[dict[tuple[str, str], URL] | None]:
    if request.param == "sqlite":
        yield None  # the instance's SQLite file, shared by both processes
        return
    name = f"accounting_{secrets.token_hex(6)}"
    admin = create_engine(_server_url())
    with admin.begin() as conn:
        conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
    try:
        yield {("Accounting", "AccountingDB"): _server_url(name)}
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
        admin.dispose()


def _record(site: str, now: int) -> dict[str, Any]:
    return {"User": "alice", "UserGroup": "dirac_user", "JobGroup": "g", "JobType": "User", "JobClass": "c",
            "ProcessingType": "p", "Site": site, "FinalMajorStatus": "Done", "FinalMinorStatus": "ok",
            "CPUTime": 10, "startTime": now - 60, "endTime": now}  # fmt: skip


def test_one_bucketer_two_datastores(tmp_path: Path, db_urls: dict[tuple[str, str], URL] | None) -> None:
    services = {"DataStore": FAST, "DataStoreB": FAST}
    with running_instance(
        tmp_path,
        [DATA_STORE, "tests.accounting.components:SECOND_DATA_STORE", REPORT_GENERATOR],
        db_urls=db_urls,
        extra_cfg={"Systems": {"Accounting": {"Local": {"Services": services}}}},
        before_start=[["dirac-core", "db", "init", "AccountingDB"]],
    ) as inst:
        now = int(time.time())
        status = {}
        for name in (DATA_STORE, SECOND):
            with inst.client(name, user="alice") as client:
                status[name] = client.request("GET", "bucketing")
                # each DataStore stores records, whoever buckets
                assert AccountingClient(client).commit("Job", [_record(f"Site-{name.rpartition('/')[2]}", now)]) == 1
        leaders = {s["leader"] for s in status.values()}
        assert len(leaders) == 1 and None not in leaders  # both see the same single leader
        assert sorted(s["is_leader"] for s in status.values()) == [False, True]

        start, end = now - 3600, now + 3600
        with AccountingClient(report_generator=inst.client(REPORT_GENERATOR, user="bob")) as reports:
            deadline = time.monotonic() + 40
            while time.monotonic() < deadline:
                rows = reports.summary("Job", "site", start, end)["rows"]
                if len(rows) == 2:
                    break
                time.sleep(0.5)
            assert {r["Site"]: r["entries"] for r in rows} == {"Site-DataStore": 1, "Site-DataStoreB": 1}

            # Stop the leader: the other DataStore takes the lease (released at stop) and buckets.
            leader = next(n for n, s in status.items() if s["is_leader"])
            other = SECOND if leader == DATA_STORE else DATA_STORE
            assert inst.processes[leader].stop() == 0
            with inst.client(other, user="alice") as client:
                AccountingClient(client).commit("Job", [_record("Site-late", now)])
                deadline = time.monotonic() + 40
                while time.monotonic() < deadline and not client.request("GET", "bucketing")["is_leader"]:
                    time.sleep(0.5)
                assert client.request("GET", "bucketing")["is_leader"]
            deadline = time.monotonic() + 40
            while time.monotonic() < deadline:
                sites = {r["Site"] for r in reports.summary("Job", "site", start, end)["rows"]}
                if "Site-late" in sites:
                    break
                time.sleep(0.5)
            assert sites == {"Site-DataStore", "Site-DataStoreB", "Site-late"}
