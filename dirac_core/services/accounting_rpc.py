"""DIRAC RPC method tables of DataStore and ReportGenerator, with DIRAC's method names and shapes."""

from __future__ import annotations

from typing import Any

from dirac_core.accounting.datastore import DataStore
from dirac_core.accounting.report_generator import ReportGenerator
from dirac_core.auth.caller import Caller
from dirac_core.services.component import RpcMethod


def data_store_rpc(store: DataStore) -> dict[str, RpcMethod]:
    def commit(caller: Caller, type_name: str, start: Any, end: Any, values: list[Any]) -> int:
        return store.commit_registers(caller, [[type_name, start, end, values]])

    return {
        "commitRegisters": lambda caller, entries: store.commit_registers(caller, entries),
        "commit": commit,
        "commitRecords": lambda caller, type_name, records: store.commit(caller, type_name, records),
        "getRegisteredTypes": lambda _caller: store.registered_types(),
        "compactDB": lambda caller: store.run_bucketing(caller),
    }


def report_generator_rpc(generator: ReportGenerator) -> dict[str, RpcMethod]:
    def list_reports(_caller: Caller, type_name: str) -> list[str]:
        fields = generator.reports.db.tables(generator.reports.setup, type_name).atype.value_fields
        return ["entries", *fields]

    return {
        "getReport": lambda _caller, request: generator.get_report(request),
        "generateDelayedPlot": lambda _caller, request: generator.generate_delayed_plot(request),
        "generatePlot": lambda _caller, request: generator.generate_delayed_plot(request),
        "streamToClient": lambda _caller, name: generator.plot_bytes(name),
        "listReports": list_reports,
    }
