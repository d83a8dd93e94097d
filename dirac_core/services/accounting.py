"""The Accounting components: DataStore and ReportGenerator, over AccountingDB.

Ports and the DataStore's CS options (``RunBucketing``: take part in the election of the one
bucketing DataStore, ``ac_Leases``; ``BucketingInterval``, ``BucketingLease`` (> interval),
``CompactInterval``, ``MaxRecordsPerCommit``) are declared in `dirac_core.contract.components`.

Both serve the Setup ``/DIRAC/Setup``: types are registered for it at start (tables ``<Setup>_<Type>``).
"""

from __future__ import annotations

import atexit

from dirac_core.accounting.bucketing import Bucketer
from dirac_core.accounting.datastore import DataStore
from dirac_core.accounting.report_generator import ReportGenerator
from dirac_core.accounting.reports import Reports
from dirac_core.config.paths import setup_name
from dirac_core.contract.components import component_spec
from dirac_core.db.accountingdb import AccountingDB
from dirac_core.errors import ConfigError
from dirac_core.services.building import router_from, rpc_from
from dirac_core.services.component import Component, ComponentContext, declared_component
from dirac_core.services.input_limits import limit_of

SYSTEM = "Accounting"
DB = (SYSTEM, "AccountingDB")


def make_data_store(ctx: ComponentContext) -> DataStore:
    db = AccountingDB(ctx.engine(*DB))
    option = component_spec(f"{SYSTEM}/DataStore").option
    run_bucketing = ctx.bool_option(option("RunBucketing"))
    interval = ctx.number_option(option("BucketingInterval"))
    lease = ctx.number_option(option("BucketingLease"), max(120.0, interval * 4))
    if run_bucketing and lease <= interval:
        raise ConfigError(f"{ctx.section}/BucketingLease ({lease}) must be longer than BucketingInterval ({interval})")
    store = DataStore(
        db,
        setup_name(ctx.config),
        bucketer=(
            Bucketer(db, lease_seconds=lease, compact_seconds=ctx.number_option(option("CompactInterval")))
            if run_bucketing
            else None
        ),
        max_records=int(ctx.number_option(option("MaxRecordsPerCommit"))),
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
        declared_component(
            f"{SYSTEM}/DataStore",
            router_from("DataStore", make_data_store, accounting_rest.data_store_router),
            rpc_from("DataStore", make_data_store, accounting_rpc.data_store_rpc),
        ),
        declared_component(
            f"{SYSTEM}/ReportGenerator",
            router_from("ReportGenerator", make_report_generator, accounting_rest.report_generator_router),
            rpc_from("ReportGenerator", make_report_generator, accounting_rpc.report_generator_rpc),
        ),
    ]
