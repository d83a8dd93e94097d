"""AccountingDB on SQLite and MariaDB: DIRAC's tables, bulk insert, bucketing, the bucketing lease, reports."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, select

from dirac_core.accounting.bucketing import Bucketer
from dirac_core.accounting.datastore import DataStore
from dirac_core.accounting.reports import ReportQuery, Reports, summary_csv
from dirac_core.accounting_types import JOB
from dirac_core.db.accountingdb import AccountingDB, table_renames
from dirac_core.errors import BadRequest, Conflict, NotFound
from tests.wms.conftest import ALICE, PILOT

from .conftest import SETUP
from .test_records_buckets import job

HOUR = 3600


def test_dirac_table_layout(acdb: AccountingDB) -> None:
    names = set(inspect(acdb.engine).get_table_names())
    assert {"ac_catalog_Types", "ac_Leases"} <= names
    for key in JOB.key_names:
        assert f"ac_key_{SETUP}_Job_{key}" in names
    assert {f"ac_type_{SETUP}_Job", f"ac_bucket_{SETUP}_Job", f"ac_type_{SETUP}_DataOperation"} <= names
    catalog = acdb.registered_types()
    assert catalog[f"{SETUP}_Job"]["keyFields"] == list(JOB.key_names)
    assert catalog[f"{SETUP}_Job"]["bucketsLength"][0] == [86400 * 8, 3600]
    # Registering again is harmless; another Setup gets its own tables.
    acdb.register_type(SETUP, JOB)
    acdb.register_type("Other-Setup", JOB)
    assert "ac_bucket_Other-Setup_Job" in inspect(acdb.engine).get_table_names()


def test_changed_definition_is_refused(acdb: AccountingDB) -> None:
    from dataclasses import replace

    with pytest.raises(Conflict, match="registered with other fields"):
        acdb.register_type(SETUP, replace(JOB, value_fields=("CPUTime",)))


def _hour_start(now: int) -> int:
    return now - now % HOUR


def test_bucketing_and_reports_exact_totals(acdb: AccountingDB) -> None:
    now = 1_800_000_000
    h0 = _hour_start(now) - 10 * HOUR
    store = DataStore(acdb, SETUP)
    records = [
        # alice at CERN: one hour inside one bucket, and one hour across two buckets (half in each)
        job(User="alice", Site="LCG.CERN.ch", CPUTime=3600, startTime=h0, endTime=h0 + HOUR),
        job(User="alice", Site="LCG.CERN.ch", CPUTime=1000, startTime=h0 + HOUR + 1800, endTime=h0 + 2 * HOUR + 1800),
        job(User="bob", Site="LCG.IN2P3.fr", CPUTime=50, FinalMajorStatus="Failed", startTime=h0, endTime=h0 + 60),
        job(User="Alice", Site="LCG.IN2P3.fr", UserGroup="dirac_admin", CPUTime=7, startTime=h0 + 5, endTime=h0 + 5),
    ]
    assert store.commit(PILOT, "Job", records) == 4
    reports = Reports(acdb, SETUP)
    query = ReportQuery("Job", "site", h0 - HOUR, h0 + 5 * HOUR)
    assert reports.summary(query)["rows"] == []  # nothing bucketed yet
    assert Bucketer(acdb, clock=lambda: now).run_once() == 4
    assert acdb.count_records(acdb.tables(SETUP, "Job"), pending_only=True) == 0

    by_site = {r["Site"]: r for r in reports.summary(query)["rows"]}
    assert by_site["LCG.CERN.ch"]["entries"] == 2 and by_site["LCG.CERN.ch"]["CPUTime"] == 4600
    assert by_site["LCG.IN2P3.fr"]["entries"] == 2 and by_site["LCG.IN2P3.fr"]["CPUTime"] == 57
    by_user = {r["User"]: r["CPUTime"] for r in reports.summary(ReportQuery("Job", "user", h0, h0 + 5 * HOUR))["rows"]}
    assert by_user == {"alice": 4600, "bob": 50, "Alice": 7}  # case kept apart on both backends
    by_status = {
        r["FinalMajorStatus"]: r["entries"]
        for r in reports.summary(ReportQuery("Job", "status", h0, h0 + 9 * HOUR))["rows"]
    }
    assert by_status == {"Done": 3, "Failed": 1}
    by_group = reports.summary(ReportQuery("Job", "group", h0, h0 + 9 * HOUR, {"Site": ["LCG.IN2P3.fr"]}))["rows"]
    assert {r["UserGroup"]: r["entries"] for r in by_group} == {"dirac_user": 1, "dirac_admin": 1}
    # A range that ends mid-record holds only the buckets that start in it: half of the 1000 s job.
    partial = reports.summary(ReportQuery("Job", "user", h0 + HOUR, h0 + 2 * HOUR))["rows"]
    assert partial == [dict(partial[0], User="alice", entries=0.5, CPUTime=500)]

    ts = reports.timeseries(ReportQuery("Job", "user", h0, h0 + 3 * HOUR), "CPUTime")
    assert ts["granularity"] == HOUR and ts["bins"] == [h0, h0 + HOUR, h0 + 2 * HOUR]
    assert ts["series"] == {"alice": [3600, 500, 500], "bob": [50, 0, 0], "Alice": [7, 0, 0]}

    csv_text = summary_csv(reports.summary(query))
    lines = csv_text.splitlines()
    assert lines[0].startswith("Site,entries,CPUTime,NormCPUTime,ExecTime")
    assert lines[1].startswith("LCG.CERN.ch,2,4600,0,")  # ties on entries: sorted by name
    assert lines[2].startswith("LCG.IN2P3.fr,2,57,0,")


def test_bucketing_twice_counts_once(acdb: AccountingDB) -> None:
    now = 1_800_000_000
    h0 = _hour_start(now) - 3 * HOUR
    store = DataStore(acdb, SETUP)
    bucketer = Bucketer(acdb, clock=lambda: now)
    store.commit(ALICE, "Job", [job(CPUTime=10, startTime=h0, endTime=h0 + 10)])
    assert bucketer.run_once() == 1
    store.commit(ALICE, "Job", [job(CPUTime=5, startTime=h0 + 20, endTime=h0 + 30)])
    assert bucketer.run_once() == 1
    assert bucketer.run_once() == 0
    rows = Reports(acdb, SETUP).summary(ReportQuery("Job", "site", h0, h0 + HOUR))["rows"]
    assert [(r["entries"], r["CPUTime"]) for r in rows] == [(2, 15)]
    buckets = acdb.tables(SETUP, "Job").buckets
    with acdb.engine.connect() as conn:
        assert len(conn.execute(select(buckets)).all()) == 1  # same keys, same hour: one bucket row


def test_only_one_bucketing_datastore(acdb: AccountingDB) -> None:
    """Two DataStores on one DB: both store raw records, only the lease holder buckets, until it dies."""
    now = [1_800_000_000.0]
    h0 = _hour_start(int(now[0])) - 3 * HOUR
    first = DataStore(acdb, SETUP, bucketer=Bucketer(acdb, "ds-1", lease_seconds=60, clock=lambda: now[0]))
    second_db = AccountingDB(acdb.engine)
    second = DataStore(second_db, SETUP, bucketer=Bucketer(second_db, "ds-2", lease_seconds=60, clock=lambda: now[0]))
    assert first.bucketer is not None and second.bucketer is not None

    assert first.bucketer.run_once() == 0  # takes the lease (nothing pending yet)
    second.commit(ALICE, "Job", [job(startTime=h0, endTime=h0 + 1)])
    first.commit(ALICE, "Job", [job(startTime=h0, endTime=h0 + 1)])
    assert second.bucketer.run_once() == 0  # not the leader: stores, never buckets
    assert acdb.count_records(acdb.tables(SETUP, "Job"), pending_only=True) == 2
    assert first.bucketer.run_once() == 2
    assert second.bucketing_status()["leader"] == "ds-1"

    now[0] += 30  # the leader renews at each pass
    assert first.bucketer.run_once() == 0
    now[0] += 61  # ... and then stops: its lease expires, the other DataStore takes over
    second.commit(ALICE, "Job", [job(startTime=h0, endTime=h0 + 1)])
    assert second.bucketer.run_once() == 1
    assert first.bucketer.run_once() == 0
    assert acdb.lease_holder("Bucketing", now[0]) == "ds-2"
    second.stop_bucketing()  # releases: a restarted DataStore does not wait for the expiry
    assert first.bucketer.run_once() == 0 and acdb.lease_holder("Bucketing", now[0]) == "ds-1"
    rows = Reports(acdb, SETUP).summary(ReportQuery("Job", "site", h0, h0 + HOUR))["rows"]
    assert rows[0]["entries"] == 3


def test_bad_input_writes_nothing(acdb: AccountingDB) -> None:
    store = DataStore(acdb, SETUP)
    tables = acdb.tables(SETUP, "Job")
    with pytest.raises(NotFound, match="unknown accounting type 'Jobs'"):
        store.commit(ALICE, "Jobs", [job()])
    with pytest.raises(BadRequest, match="record 1: missing key field 'Site'"):
        store.commit(ALICE, "Job", [job(Site="NewSite.org"), job(Site=None)])
    with pytest.raises(BadRequest, match="record 0: value field 'CPUTime' must be a finite number >= 0"):
        store.commit(ALICE, "Job", [job(CPUTime=-5)])
    with pytest.raises(BadRequest, match="endTime is before startTime"):
        store.commit(ALICE, "Job", [job(startTime=2_000_000, endTime=1_000_000)])
    with pytest.raises(BadRequest, match="record 1"):
        store.commit_registers(ALICE, [["Job", 10, 20, ["a"] * 9 + [1] * 11], ["Job", 10, 20, ["short"]]])
    assert acdb.count_records(tables) == 0
    with acdb.engine.connect() as conn:  # no key value of the refused bundle was kept either
        assert conn.execute(select(tables.keys["Site"])).all() == []
    with pytest.raises(BadRequest, match="not after its start"):
        Reports(acdb, SETUP).summary(ReportQuery("Job", "site", 100, 100))
    with pytest.raises(BadRequest, match="has no key field 'Colour'"):
        Reports(acdb, SETUP).summary(ReportQuery("Job", "Colour", 0, 100))


def test_commit_registers_dirac_shape(acdb: AccountingDB) -> None:
    store = DataStore(acdb, SETUP)
    job_values = ["u", "g", "jg", "User", "c", "p", "S", "Done", "ok", *range(1, 12)]
    op_values = ["putAndRegister", "u", "S", "SE-A", "SE-B", "dirac_core", "Successful", 10, 1.5, 0.5, 1, 1, 1, 1]
    count = store.commit_registers(ALICE, [["Job", 100, 200, job_values], ["DataOperation", 100, 100, op_values]])
    assert count == 2
    assert acdb.count_records(acdb.tables(SETUP, "DataOperation")) == 1


def test_rename_setup_keeps_the_data(acdb: AccountingDB) -> None:
    """What the migration engine does when a Setup is renamed: every <Setup>_<Type> table follows."""
    now = 1_800_000_000
    h0 = _hour_start(now) - 3 * HOUR
    DataStore(acdb, SETUP).commit(ALICE, "Job", [job(CPUTime=42, startTime=h0, endTime=h0 + 60)])
    Bucketer(acdb, clock=lambda: now).run_once()
    renames = table_renames(SETUP, "New-Setup", JOB)
    assert (f"ac_bucket_{SETUP}_Job", "ac_bucket_New-Setup_Job") in renames
    assert (f"ix_{SETUP}_Job_pending", "ix_New-Setup_Job_pending") in renames

    assert sorted(acdb.rename_setup(SETUP, "New-Setup")) == ["New-Setup_DataOperation", "New-Setup_Job"]
    names = set(inspect(acdb.engine).get_table_names())
    assert not any(SETUP in name for name in names)
    assert "ac_key_New-Setup_Job_Site" in names
    rows = Reports(acdb, "New-Setup").summary(ReportQuery("Job", "user", h0, h0 + HOUR))["rows"]
    assert [(r["User"], r["CPUTime"]) for r in rows] == [("alice", 42)]
    with pytest.raises(NotFound):
        Reports(acdb, SETUP).summary(ReportQuery("Job", "user", h0, h0 + HOUR))
    # The old name can be registered afresh (index names do not clash), and renaming onto it is refused.
    acdb.register_type(SETUP, JOB)
    with pytest.raises(Conflict, match="already has accounting types Job"):
        acdb.rename_setup("New-Setup", SETUP)


def test_compaction_merges_aged_buckets(acdb: AccountingDB) -> None:
    """DIRAC's compactBuckets: hour buckets become 4-hour buckets once older than 8 days; totals kept."""
    t0 = 1_800_000_000 - 1_800_000_000 % (4 * HOUR)
    now = [float(t0 + 5 * HOUR)]
    bucketer = Bucketer(acdb, clock=lambda: now[0], compact_seconds=0)
    records = [
        job(User=u, CPUTime=c, startTime=t0 + h * HOUR + 10, endTime=t0 + h * HOUR + 70)
        for u, c, h in (("alice", 100, 0), ("alice", 50, 1), ("bob", 30, 3), ("alice", 7, 4))
    ]
    DataStore(acdb, SETUP).commit(ALICE, "Job", records)
    assert bucketer.run_once() == 4
    tables = acdb.tables(SETUP, "Job")

    def lengths() -> list[tuple[int, int]]:
        with acdb.engine.connect() as conn:
            rows = conn.execute(select(tables.buckets.c.startTime, tables.buckets.c.bucketLength)).all()
        return sorted((int(r[0]) - t0, int(r[1])) for r in rows)

    assert lengths() == [(0, HOUR), (HOUR, HOUR), (3 * HOUR, HOUR), (4 * HOUR, HOUR)]
    assert bucketer.compact() == 0  # all young
    now[0] += 9 * 86400  # nine days later the first four hours are one 4-hour bucket per user
    assert bucketer.compact() == 4
    assert lengths() == [(0, 4 * HOUR), (0, 4 * HOUR), (4 * HOUR, 4 * HOUR)]
    query = ReportQuery("Job", "user", t0, t0 + 8 * HOUR)
    assert {r["User"]: (r["entries"], r["CPUTime"]) for r in Reports(acdb, SETUP).summary(query)["rows"]} == {
        "alice": (3, 157),
        "bob": (1, 30),
    }
    assert Reports(acdb, SETUP).timeseries(query, "CPUTime")["series"] == {"alice": [150, 7], "bob": [30, 0]}


def test_unknown_catalog_types_do_not_stop_bucketing(acdb: AccountingDB) -> None:
    """A DB migrated from DIRAC may list types dirac_core does not define (Pilot, WMSHistory...)."""
    from dirac_core.db.accountingdb import ac_catalog_Types

    with acdb.engine.begin() as conn:
        conn.execute(
            ac_catalog_Types.insert().values(
                name="LHCb-Production_WMSHistory",
                keyFields="Status",
                valueFields="Jobs",
                bucketsLength="[[86400, 900]]",
            )
        )
    now = 1_800_000_000
    DataStore(acdb, SETUP).commit(ALICE, "Job", [job(startTime=now - 100, endTime=now - 50)])
    assert Bucketer(acdb, clock=lambda: now).run_once() == 1
    assert sorted(t.full_name for t in acdb.all_tables()) == [f"{SETUP}_DataOperation", f"{SETUP}_Job"]


def test_concurrent_commits_with_new_key_values(acdb: AccountingDB) -> None:
    """Several DataStore threads adding the same new key values at once: every record stored, no error."""
    import threading

    store = DataStore(acdb, SETUP)
    errors: list[str] = []

    def worker() -> None:
        for round_ in range(12):
            try:
                store.commit(ALICE, "Job", [job(Site=f"S{round_}-{i}", User=f"u{round_}") for i in range(5)])
            except Exception as exc:
                errors.append(repr(exc))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    tables = acdb.tables(SETUP, "Job")
    assert acdb.count_records(tables) == 4 * 12 * 5
    with acdb.engine.connect() as conn:
        assert len(conn.execute(select(tables.keys["Site"])).all()) == 12 * 5
