"""The ReportGenerator logic: summaries (JSON, CSV), time series and PNG plots for any authenticated user.

Plots made by `generate_delayed_plot` are kept in a small in-memory cache and fetched with
`plot_bytes` (DIRAC's generateDelayedPlot + streamToClient).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from dirac_core.accounting.plots import render_timeseries
from dirac_core.accounting.records import to_epoch
from dirac_core.accounting.reports import ENTRIES, ReportQuery, Reports, summary_csv
from dirac_core.errors import BadRequest, NotFound

PLOT_CACHE = 64
# DIRAC report names -> the value they plot.
REPORT_ALIASES = {"numberofjobs": ENTRIES, "totalnumberofjobs": ENTRIES, "numberofoperations": ENTRIES}


def parse_time(value: Any, name: str) -> int:
    try:
        return to_epoch(value)
    except (ValueError, TypeError):
        raise BadRequest(f"{name} = {value!r}: give an ISO time (2026-01-31T12:00:00, UTC) or epoch seconds") from None


def build_query(
    type_name: Any, group_by: Any, start: Any, end: Any, conditions: Mapping[str, Any] | None = None
) -> ReportQuery:
    if not isinstance(type_name, str) or not isinstance(group_by, str):
        raise BadRequest("a report needs a type name (Job, DataOperation) and a field to group by")
    cond: dict[str, list[str]] = {}
    for key, values in (conditions or {}).items():
        listed = values if isinstance(values, list | tuple) else [values]
        cond[str(key)] = [str(v) for v in listed]
    return ReportQuery(type_name, group_by, parse_time(start, "start"), parse_time(end, "end"), cond)


class ReportGenerator:
    def __init__(self, reports: Reports) -> None:
        self.reports = reports
        self._plots: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def summary(self, query: ReportQuery) -> dict[str, Any]:
        return self.reports.summary(query)

    def summary_csv(self, query: ReportQuery) -> str:
        return summary_csv(self.reports.summary(query))

    def timeseries(self, query: ReportQuery, value: str = ENTRIES) -> dict[str, Any]:
        return self.reports.timeseries(query, REPORT_ALIASES.get(value.lower(), value))

    def plot(self, query: ReportQuery, value: str = ENTRIES) -> bytes:
        return render_timeseries(self.timeseries(query, value))

    # -- DIRAC RPC shapes --------------------------------------------------------------------
    @staticmethod
    def query_from_request(request: Any) -> tuple[ReportQuery, str]:
        """DIRAC's reportRequest: typeName, reportName, startTime, endTime, condDict, grouping."""
        if not isinstance(request, Mapping):
            raise BadRequest("reportRequest must be a dict with typeName, reportName, startTime, endTime, grouping")
        missing = [k for k in ("typeName", "startTime", "endTime", "grouping") if k not in request]
        if missing:
            raise BadRequest(f"reportRequest lacks {', '.join(missing)}")
        query = build_query(
            request["typeName"], request["grouping"], request["startTime"], request["endTime"], request.get("condDict")
        )
        return query, str(request.get("reportName") or ENTRIES)

    def get_report(self, request: Any) -> dict[str, Any]:
        query, value = self.query_from_request(request)
        ts = self.timeseries(query, value)
        data = {group: dict(zip(ts["bins"], values, strict=True)) for group, values in ts["series"].items()}
        return {"data": data, "granularity": ts["granularity"], "unit": ts["value"], "summary": self.summary(query)}

    def generate_delayed_plot(self, request: Any) -> dict[str, Any]:
        query, value = self.query_from_request(request)
        png = self.plot(query, value)
        name = hashlib.sha256(json.dumps(request, sort_keys=True, default=str).encode() + png).hexdigest()[:32] + ".png"
        with self._lock:
            self._plots[name] = png
            while len(self._plots) > PLOT_CACHE:
                self._plots.popitem(last=False)
        return {"plot": name}

    def plot_bytes(self, name: Any) -> bytes:
        with self._lock:
            png = self._plots.get(str(name))
        if png is None:
            raise NotFound(f"plot {name!r} is not (or no longer) available: call generateDelayedPlot again")
        return png
