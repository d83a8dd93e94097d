"""Record checks and DIRAC's bucket arithmetic (pure functions)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from dirac_core.accounting.bucketing import calculate_buckets
from dirac_core.accounting.records import from_values_list, to_epoch, validate_records
from dirac_core.accounting.reports import MAX_BINS, bin_count, bin_width
from dirac_core.accounting_types import DATA_OPERATION, JOB, check_name, full_name, split_full_name
from dirac_core.errors import BadRequest, PayloadTooLarge

NOW = 1_800_000_000  # a fixed "now": bucket lengths depend on age


def job(**over: object) -> dict[str, object]:
    record: dict[str, object] = {
        "User": "alice",
        "UserGroup": "dirac_user",
        "JobGroup": "g1",
        "JobType": "User",
        "JobClass": "Single",
        "ProcessingType": "unknown",
        "Site": "LCG.CERN.ch",
        "FinalMajorStatus": "Done",
        "FinalMinorStatus": "Execution Complete",
        "CPUTime": 100,
        "ExecTime": 120.5,
        "startTime": NOW - 7200,
        "endTime": NOW - 3600,
    }
    record.update(over)
    return record


def test_valid_record_is_normalised() -> None:
    [checked] = validate_records(
        JOB, [job(startTime="2027-01-15T08:00:00", endTime=datetime(2027, 1, 15, 9, tzinfo=UTC))]
    )
    assert checked["startTime"] == to_epoch("2027-01-15T08:00:00+00:00")
    assert checked["endTime"] - checked["startTime"] == 3600
    assert checked["NormCPUTime"] == 0  # unset values count as 0


@pytest.mark.parametrize(
    ("record", "message"),
    [
        (job(Site=None), "missing key field 'Site'"),
        ({k: v for k, v in job().items() if k != "UserGroup"}, "missing key field 'UserGroup'"),
        (job(CPUTime=-1), "value field 'CPUTime' must be a finite number >= 0"),
        (job(CPUTime="lots"), "value field 'CPUTime' must be a number"),
        (job(endTime=NOW - 9000), "endTime is before startTime"),
        (job(Colour="red"), "unknown field 'Colour'"),
        (job(startTime="yesterday"), "startTime:"),
        (job(Site="x" * 65), "longer than 64 characters"),
    ],
)
def test_bad_records_name_the_field(record: dict[str, object], message: str) -> None:
    with pytest.raises(BadRequest) as err:
        validate_records(JOB, [job(), record])
    assert "record 1: " in str(err.value) and message in str(err.value)
    assert "nothing stored" in str(err.value)


def test_too_many_records() -> None:
    with pytest.raises(PayloadTooLarge):
        validate_records(JOB, [job()] * 3, max_records=2)


def test_dirac_values_list_shape() -> None:
    values = ["u", "g", "jg", "User", "c", "p", "S", "Done", "ok", 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
    record = from_values_list(JOB, NOW - 10, NOW, values)
    assert record["Site"] == "S" and record["ProcessedEvents"] == 11 and record["endTime"] == NOW
    with pytest.raises(BadRequest, match="valuesList has 20 items"):
        from_values_list(JOB, NOW - 10, NOW, values[:-1])


def test_names() -> None:
    assert full_name("EGI-Production", "Job") == "EGI-Production_Job"
    assert split_full_name("EGI-Production_DataOperation") == ("EGI-Production", "DataOperation")
    with pytest.raises(BadRequest, match="no '_'"):
        check_name("setup", "EGI_Production")


def test_bucket_length_by_age() -> None:
    assert JOB.bucket_length_for(3600) == 3600  # < 8 days: 1 h
    assert JOB.bucket_length_for(86400 * 20) == 4 * 3600
    assert JOB.bucket_length_for(86400 * 100) == 86400
    assert JOB.bucket_length_for(86400 * 1000) == 604800
    assert DATA_OPERATION.bucket_length_for(3600) == 900  # DIRAC's default: 15 min


def test_record_spread_proportionally() -> None:
    start = NOW - NOW % 3600 - 5 * 3600 + 1800  # half past, five hours ago
    buckets = calculate_buckets(JOB, start, start + 3600, NOW)
    assert buckets == [(start - 1800, 0.5, 3600), (start + 1800, 0.5, 3600)]
    assert calculate_buckets(JOB, start, start, NOW) == [(start - 1800, 1.0, 3600)]


def test_proportions_sum_to_one_across_length_changes() -> None:
    buckets = calculate_buckets(JOB, NOW - 86400 * 500, NOW - 86400, NOW)
    assert sum(p for _s, p, _l in buckets) == pytest.approx(1.0)
    lengths = {length for _s, _p, length in buckets}
    assert lengths == {3600, 4 * 3600, 86400, 2 * 86400, 604800}
    starts = [s for s, _p, _l in buckets]
    assert starts == sorted(starts)


def test_local_instance_wires_the_catalog_recorder(tmp_path: Path) -> None:
    """`dirac-core up` with a FileCatalog and a DataStore: catalog operations become DataOperation records."""
    from dirac_core.config.cfg import Config
    from dirac_core.server.local import LocalLayout, local_config_text, prepare_credentials
    from dirac_core.services.component import Component

    layout = LocalLayout(tmp_path)
    prepare_credentials(layout)
    both = [Component("DataManagement/FileCatalog", 9197), Component("Accounting/DataStore", 9133)]
    config = Config.from_text(local_config_text(layout, both, {}))
    option = "/Systems/DataManagement/Local/Services/FileCatalog/OperationRecorder"
    assert config.get(option) == "dirac_core.services.catalog_recorder:catalog_recorder"
    alone = Config.from_text(local_config_text(layout, both[:1], {}))
    assert not alone.has(option)


def test_datastore_before_db_init(tmp_path: Path) -> None:
    """A DataStore started before `dirac-core db init` answers 503 naming the fix, then works after it."""
    from dirac_core.accounting.datastore import DataStore
    from dirac_core.accounting.reports import ReportQuery, Reports
    from dirac_core.db.accountingdb import AccountingDB
    from dirac_core.db.engine import make_engine
    from dirac_core.errors import ServiceUnavailable
    from tests.wms.conftest import ALICE

    db = AccountingDB(make_engine(f"sqlite:///{tmp_path / 'empty.sqlite'}"))
    store = DataStore(db, "Test-Setup")
    store.try_register_types()  # logged, not fatal
    with pytest.raises(ServiceUnavailable, match="dirac-core db init AccountingDB"):
        store.commit(ALICE, "Job", [job()])
    with pytest.raises(ServiceUnavailable, match="dirac-core db init AccountingDB"):
        Reports(db, "Test-Setup").summary(ReportQuery("Job", "site", 0, 10))
    db.create_tables()
    assert store.commit(ALICE, "Job", [job()]) == 1
    db.engine.dispose()


def _stepped_bin_width(start: int, end: int, base: int) -> int:
    """The former loop (one base width at a time): linear in the span, kept here as the reference."""
    width = base
    while len(range(start - start % width, end, width)) > MAX_BINS:
        width += base
    return width


@pytest.mark.parametrize("base", [900, 3600, 86400, 604800])
def test_report_bin_width_is_computed_like_the_stepped_loop(base: int) -> None:
    import random

    rng = random.Random(base)
    for _ in range(300):
        start = rng.randint(0, 2 * 10**9)
        end = start + rng.randint(1, 3 * 10**8)
        width = bin_width(start, end, base)
        assert width == _stepped_bin_width(start, end, base)
        assert bin_count(start, end, width) <= MAX_BINS


def test_report_bin_width_of_a_huge_span_is_immediate() -> None:
    import time

    began = time.perf_counter()
    width = bin_width(0, 10**14, 900)  # the stepped loop took 39 s here
    assert time.perf_counter() - began < 0.01
    assert bin_count(0, 10**14, width) <= MAX_BINS


def test_record_times_are_bounded() -> None:
    with pytest.raises(ValueError, match="year 9999"):
        to_epoch(1e308)
    record = {"startTime": 0, "endTime": 40 * 86400}
    values = {k: "x" for k in DATA_OPERATION.key_names}
    with pytest.raises(BadRequest, match="MaxRecordSpanDays"):
        validate_records(DATA_OPERATION, [{**values, **record}], max_span_days=31)
