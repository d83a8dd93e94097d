"""DIRAC RPC method tables of DataStore and ReportGenerator, with DIRAC's method names and shapes."""

from __future__ import annotations

from typing import Any

from dirac_core.accounting.datastore import DataStore
from dirac_core.accounting.report_generator import ReportGenerator
from dirac_core.auth.caller import Caller
from dirac_core.services.arguments import Fields, Text
from dirac_core.services.component import RpcMethod


def data_store_rpc(store: DataStore) -> dict[str, RpcMethod]:
    def commit(caller: Caller, type_name: Text, start: Any, end: Any, values: list[Any]) -> int:
        return store.commit_registers(caller, [[type_name, start, end, values]])

    def commit_registers(caller: Caller, entries: list[Any]) -> int:
        return store.commit_registers(caller, entries)

    def commit_records(caller: Caller, type_name: Text, records: list[Any]) -> int:
        return store.commit(caller, type_name, records)

    return {
        "commitRegisters": commit_registers,
        "commit": commit,
        "commitRecords": commit_records,
        "getRegisteredTypes": lambda _caller: store.registered_types(),
        "compactDB": lambda caller: store.run_bucketing(caller),
    }


def report_generator_rpc(generator: ReportGenerator) -> dict[str, RpcMethod]:
    def list_reports(_caller: Caller, type_name: Text) -> list[str]:
        fields = generator.reports.db.tables(generator.reports.setup, type_name).atype.value_fields
        return ["entries", *fields]

    def get_report(_caller: Caller, request: Fields) -> Any:
        return generator.get_report(request)

    def delayed_plot(_caller: Caller, request: Fields) -> Any:
        return generator.generate_delayed_plot(request)

    def stream_to_client(_caller: Caller, name: Text) -> Any:
        return generator.plot_bytes(name)

    return {
        "getReport": get_report,
        "generateDelayedPlot": delayed_plot,
        "generatePlot": delayed_plot,
        "streamToClient": stream_to_client,
        "listReports": list_reports,
    }
