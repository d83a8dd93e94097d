"""Reports over the buckets of AccountingDB: totals grouped by one key field, CSV, and time series.

A report covers the buckets that overlap ``[start, end)`` (epoch seconds, UTC), each counted whole:
the bucket is the finest resolution kept. Records are in reports once the bucketing DataStore has
bucketed them, as in DIRAC.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, func, select

from dirac_core.accounting_types import AccountingType
from dirac_core.db.accountingdb import AccountingDB, TypeTables
from dirac_core.errors import BadRequest

ENTRIES = "entries"  # number of records (jobs, operations): DIRAC's entriesInBucket
DIGITS = 6  # bucket sums are floats; the proportional split leaves noise below this
MAX_BINS = 400  # time series bins per report (plots stay readable, replies small)
MAX_REPORT_SPAN_DAYS = 3660  # default of the ReportGenerator option MaxReportSpanDays


@dataclass(frozen=True)
class ReportQuery:
    type_name: str
    group_by: str
    start: int
    end: int
    conditions: Mapping[str, Sequence[str]] = field(default_factory=dict)

    def check(self) -> None:
        if self.end <= self.start:
            raise BadRequest(f"report end {self.end} is not after its start {self.start}: give end > start")


class Reports:
    def __init__(self, db: AccountingDB, setup: str, max_span_days: int = MAX_REPORT_SPAN_DAYS) -> None:
        self.db = db
        self.setup = setup
        self.max_span_days = max_span_days

    def _tables(self, query: ReportQuery) -> tuple[TypeTables, str]:
        query.check()
        if query.end - query.start > self.max_span_days * 86400:
            raise BadRequest(
                f"report spans {(query.end - query.start) / 86400:.0f} days, over the limit of {self.max_span_days} "
                "(ReportGenerator option MaxReportSpanDays): ask for a shorter period"
            )
        tables = self.db.tables(self.setup, query.type_name)
        return tables, tables.atype.key_field(query.group_by)

    def _where(self, tables: TypeTables, query: ReportQuery) -> Any:
        buckets = tables.buckets
        # Buckets overlapping the range, counted whole: a bucket is the finest resolution there is.
        clauses = [buckets.c.startTime < query.end, buckets.c.startTime + buckets.c.bucketLength > query.start]
        for name, values in query.conditions.items():
            key = tables.atype.key_field(name)
            if isinstance(values, str):
                values = [values]
            keys = tables.keys[key]
            clauses.append(buckets.c[key].in_(select(keys.c.id).where(keys.c.value.in_([str(v) for v in values]))))
        return and_(*clauses)

    def summary(self, query: ReportQuery) -> dict[str, Any]:
        """Totals per value of `group_by`, largest number of entries first."""
        tables, group_key = self._tables(query)
        atype = tables.atype
        buckets, keys = tables.buckets, tables.keys[group_key]
        fields = [ENTRIES, *atype.value_fields]
        sums = [func.sum(buckets.c.entriesInBucket), *(func.sum(buckets.c[v]) for v in atype.value_fields)]
        stmt = (
            select(keys.c.value, *sums)
            .select_from(buckets.join(keys, buckets.c[group_key] == keys.c.id))
            .where(self._where(tables, query))
            .group_by(keys.c.value)
        )
        with self.db.engine.connect() as conn:
            result = conn.execute(stmt).all()
        rows = [
            {group_key: row[0], **{f: round(float(v or 0), DIGITS) for f, v in zip(fields, row[1:], strict=True)}}
            for row in result
        ]
        rows.sort(key=lambda r: (-r[ENTRIES], r[group_key]))
        return {
            "setup": self.setup,
            "type": atype.name,
            "group_by": group_key,
            "start": query.start,
            "end": query.end,
            "fields": fields,
            "rows": rows,
        }

    def timeseries(self, query: ReportQuery, value: str = ENTRIES) -> dict[str, Any]:
        """Per bin of the coarsest bucket length in range: {group value: [sum per bin]}."""
        tables, group_key = self._tables(query)
        atype = tables.atype
        column = _value_column(atype, value)
        buckets, keys = tables.buckets, tables.keys[group_key]
        stmt = (
            select(buckets.c.startTime, buckets.c.bucketLength, keys.c.value, func.sum(buckets.c[column]))
            .select_from(buckets.join(keys, buckets.c[group_key] == keys.c.id))
            .where(self._where(tables, query))
            .group_by(buckets.c.startTime, buckets.c.bucketLength, keys.c.value)
        )
        with self.db.engine.connect() as conn:
            result = conn.execute(stmt).all()
        base = max((int(r[1]) for r in result), default=atype.buckets_length[0][1])
        granularity = bin_width(query.start, query.end, base)
        first = query.start - query.start % granularity
        bins = list(range(first, query.end, granularity))
        series: dict[str, list[float]] = {}
        for start, _length, group, total in result:
            index = min(max((int(start) - first) // granularity, 0), len(bins) - 1)
            values = series.setdefault(str(group), [0.0] * len(bins))
            values[index] += float(total or 0)
        for values in series.values():
            values[:] = [round(v, DIGITS) for v in values]
        ordered = dict(sorted(series.items(), key=lambda item: (-sum(item[1]), item[0])))
        return {
            "setup": self.setup,
            "type": atype.name,
            "group_by": group_key,
            "value": value,
            "start": query.start,
            "end": query.end,
            "granularity": granularity,
            "bins": bins,
            "series": ordered,
        }


def bin_count(start: int, end: int, width: int) -> int:
    return -(-(end - (start - start % width)) // width)


def bin_width(start: int, end: int, base: int) -> int:
    """The smallest multiple of `base` that cuts [start, end) into at most MAX_BINS aligned bins.

    A year at 15 minutes is 35k bars: widen to whole multiples. Counted, not stepped one width at a
    time: `low` cannot have fewer bins than span/width, and `high` always fits (aligning the first
    bin adds at most one), so only the few multiples between them are tried.
    """
    span = end - start
    low = max(1, -(-span // (base * MAX_BINS)))
    high = max(1, -(-span // (base * (MAX_BINS - 1))))
    for multiple in range(low, high):
        if bin_count(start, end, base * multiple) <= MAX_BINS:
            return base * multiple
    return base * high


def _value_column(atype: AccountingType, value: str) -> str:
    if value.lower() == ENTRIES:
        return "entriesInBucket"
    for name in atype.value_fields:
        if name.lower() == value.lower():
            return name
    raise BadRequest(f"{atype.name} has no value {value!r}: plot {ENTRIES} or one of {', '.join(atype.value_fields)}")


def summary_csv(report: Mapping[str, Any]) -> str:
    """The summary as CSV: the grouping field, then entries and every value field."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    header = [report["group_by"], *report["fields"]]
    writer.writerow(header)
    for row in report["rows"]:
        writer.writerow([_cell(row[name]) for name in header])
    return out.getvalue()


def _cell(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
