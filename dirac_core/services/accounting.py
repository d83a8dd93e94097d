"""The Accounting components: DataStore (9133) and ReportGenerator (9134), over AccountingDB.

CS options (``/Systems/Accounting/<Instance>/Services/DataStore``):

* ``RunBucketing`` (yes): take part in the election of the one bucketing DataStore (``ac_Leases``);
* ``BucketingInterval`` (30 s): how often the bucketing DataStore buckets pending records;
* ``BucketingLease`` (120 s): how long a bucketer's lease lasts without renewal (> interval);
* ``CompactInterval`` (3600 s): how often the bucketing DataStore merges aged buckets (0: never);
* ``MaxRecordsPerCommit`` (10000);
* ``MaxRecordSpanDays`` (31): longest time one record may span (each spans buckets of ~15 min).

``Services/ReportGenerator/MaxReportSpanDays`` (3660): the longest period one report may cover.

Both serve the Setup ``/DIRAC/Setup``: types are registered for it at start (tables ``<Setup>_<Type>``).
"""

from __future__ import annotations

import atexit

from dirac_core.accounting.bucketing import Bucketer
from dirac_core.accounting.datastore import DataStore
from dirac_core.accounting.records import MAX_RECORDS
from dirac_core.accounting.report_generator import ReportGenerator
from dirac_core.accounting.reports import Reports
from dirac_core.config.paths import setup_name
from dirac_core.db.accountingdb import AccountingDB
from dirac_core.errors import ConfigError
from dirac_core.services.building import router_from, rpc_from
from dirac_core.services.component import Component, ComponentContext
from dirac_core.services.input_limits import limit_of

SYSTEM = "Accounting"
DB = (SYSTEM, "AccountingDB")


def _float_option(ctx: ComponentContext, name: str, default: float) -> float:
    raw = ctx.option(name, str(default))
    try:
        return float(raw or default)
    except ValueError:
        raise ConfigError(f"{ctx.section}/{name} = {raw!r} is not a number") from None


def make_data_store(ctx: ComponentContext) -> DataStore:
    db = AccountingDB(ctx.engine(*DB))
    run_bucketing = (ctx.option("RunBucketing", "yes") or "yes").lower() in {"yes", "true", "1", "on"}
    interval = _float_option(ctx, "BucketingInterval", 30.0)
    lease = _float_option(ctx, "BucketingLease", max(120.0, interval * 4))
    if run_bucketing and lease <= interval:
        raise ConfigError(f"{ctx.section}/BucketingLease ({lease}) must be longer than BucketingInterval ({interval})")
    store = DataStore(
        db,
        setup_name(ctx.config),
        bucketer=(
            Bucketer(db, lease_seconds=lease, compact_seconds=_float_option(ctx, "CompactInterval", 3600.0))
            if run_bucketing
            else None
        ),
        max_records=int(_float_option(ctx, "MaxRecordsPerCommit", MAX_RECORDS)),
        max_span_days=limit_of(ctx, "MaxRecordSpanDays", f"{SYSTEM}/DataStore"),
    )
    store.try_register_types()
    store.start_bucketing(interval)
    # serve() returns after a graceful stop: hand the lease over at once instead of letting it expire.
    atexit.register(store.stop_bucketing)
    return store


def make_report_generator(ctx: ComponentContext) -> ReportGenerator:
    db = AccountingDB(ctx.engine(*DB))
    max_span = limit_of(ctx, "MaxReportSpanDays", f"{SYSTEM}/ReportGenerator")
    return ReportGenerator(Reports(db, setup_name(ctx.config), max_span))


def components() -> list[Component]:
    from dirac_core.services import accounting_rest, accounting_rpc

    return [
        Component(
            f"{SYSTEM}/DataStore",
            9133,
            (DB,),
            router_from("DataStore", make_data_store, accounting_rest.data_store_router),
            rpc_from("DataStore", make_data_store, accounting_rpc.data_store_rpc),
            "Stores accounting records (Job, DataOperation) and buckets them",
        ),
        Component(
            f"{SYSTEM}/ReportGenerator",
            9134,
            (DB,),
            router_from("ReportGenerator", make_report_generator, accounting_rest.report_generator_router),
            rpc_from("ReportGenerator", make_report_generator, accounting_rpc.report_generator_rpc),
            "Accounting reports (JSON, CSV) and plots (PNG)",
        ),
    ]
