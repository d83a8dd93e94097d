"""JobMonitoring searches and summaries on real databases, restricted to what the caller may see."""

from __future__ import annotations

import pytest

from dirac_core.errors import BadRequest, Forbidden

from .conftest import ADMIN, ALICE, BOB, PILOT, WMS


def test_search_paging_sorting_and_restriction(wms: WMS) -> None:
    alice_jobs = wms.manager.submit(ALICE, '[ Executable = "x"; Site = "EGI.A.fr"; ]', copies=7)
    bob_jobs = wms.manager.submit(BOB, '[ Executable = "x"; Site = "EGI.B.fr"; ]', copies=3)
    wms.manager.kill(ALICE, alice_jobs[:2])

    page = wms.monitoring.search(ALICE, {}, ["JobID", "Status"], sort=[("JobID", "ASC")], offset=2, limit=3)
    assert page["TotalRecords"] == 7
    assert [row[0] for row in page["Records"]] == alice_jobs[2:5]
    assert page["Extras"] == {"Killed": 2, "Waiting": 5}

    waiting = wms.monitoring.search(ALICE, {"Status": "Waiting"}, ["JobID"], limit=100)
    assert sorted(r[0] for r in waiting["Records"]) == alice_jobs[2:]
    everyone = wms.monitoring.search(ADMIN, {"Status": ["Waiting", "Killed"]}, ["JobID"], limit=100)
    assert everyone["TotalRecords"] == 10
    with pytest.raises(Forbidden, match="Owner = alice"):
        wms.monitoring.search(ALICE, {"Owner": "bob"})
    with pytest.raises(BadRequest, match="unknown job attribute"):
        wms.monitoring.search(ALICE, {"Colour": "red"})
    with pytest.raises(BadRequest, match="ASC or DESC"):
        wms.monitoring.search(ALICE, {}, sort=[("JobID", "UP")])
    assert len(bob_jobs) == 3


def test_summary_by_status_site_owner(wms: WMS) -> None:
    wms.manager.submit(ALICE, '[ Executable = "x"; Site = "EGI.A.fr"; ]', copies=2)
    wms.manager.submit(BOB, '[ Executable = "x"; Site = "EGI.B.fr"; ]', copies=3)
    wms.matcher.request_job(PILOT, {"CPUTime": 86400, "Site": "EGI.B.fr"})
    summary = wms.monitoring.summary(ADMIN, ["Status", "Site", "Owner"])
    assert summary == [
        {"Status": "Matched", "Site": "EGI.B.fr", "Owner": "bob", "Count": 1},
        {"Status": "Waiting", "Site": "EGI.A.fr", "Owner": "alice", "Count": 2},
        {"Status": "Waiting", "Site": "EGI.B.fr", "Owner": "bob", "Count": 2},
    ]
    assert wms.monitoring.summary(ALICE, ["Status"]) == [{"Status": "Waiting", "Count": 2}]
