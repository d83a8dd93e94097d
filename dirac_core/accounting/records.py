"""Check accounting records before anything is written: one bad record rejects the whole bundle.

A record is a mapping with every key field (a string), value fields (numbers >= 0, missing ones
count as 0 like DIRAC's unset fields), ``startTime`` and ``endTime`` (datetime, ISO text or epoch
seconds; naive times are UTC). DIRAC's positional shape (key values then value values, in the
type's order) is accepted by `from_values_list`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from dirac_core.accounting_types import AccountingType
from dirac_core.errors import BadRequest, PayloadTooLarge

MAX_RECORDS = 10000  # per commit; DIRAC clients send bundles of at most a few thousand
MAX_RECORD_SPAN_DAYS = 31  # default of the DataStore option MaxRecordSpanDays: a record buckets per ~15 min
MAX_EPOCH = 253402300799  # 9999-12-31T23:59:59Z: the last second a datetime (and a DB column) can hold
MAX_ERRORS_SHOWN = 5
TIME_FIELDS = ("startTime", "endTime")


def to_epoch(value: Any) -> int:
    """datetime, ISO 8601 text or epoch seconds -> integer epoch seconds (naive = UTC)."""
    if isinstance(value, bool):
        raise ValueError("a boolean is not a time")
    if isinstance(value, str):
        text = value.strip()
        value = (
            float(text) if text.replace(".", "", 1).isdigit() else datetime.fromisoformat(text.replace("Z", "+00:00"))
        )
    if isinstance(value, int | float):
        if not math.isfinite(value) or not 0 <= value <= MAX_EPOCH:
            raise ValueError(f"{value!r} is not a time: give epoch seconds from 0 to {MAX_EPOCH} (year 9999)")
        return int(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return int(value.timestamp())
    raise ValueError(f"{value!r} is not a time")


def _check_one(atype: AccountingType, record: Any, max_span_days: int) -> dict[str, Any]:
    if not isinstance(record, Mapping):
        raise ValueError(f"must be an object of fields, got {type(record).__name__}")
    allowed = {*atype.key_names, *atype.value_fields, *TIME_FIELDS}
    unknown = sorted(set(record) - allowed)
    if unknown:
        raise ValueError(f"unknown field {unknown[0]!r} (fields of {atype.name}: {', '.join(sorted(allowed))})")
    out: dict[str, Any] = {}
    for key, length in atype.key_fields:
        if key not in record or record[key] is None:
            raise ValueError(f"missing key field {key!r}")
        value = record[key]
        if not isinstance(value, str | int) or isinstance(value, bool):
            raise ValueError(f"key field {key!r} must be a string, got {type(value).__name__}")
        text = str(value)
        if len(text) > length:
            raise ValueError(f"key field {key!r} is longer than {length} characters")
        out[key] = text
    for field in atype.value_fields:
        value = record.get(field, 0)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"value field {field!r} must be a number, got {value!r}")
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"value field {field!r} must be a finite number >= 0, got {value!r}")
        out[field] = value
    for field in TIME_FIELDS:
        if field not in record:
            raise ValueError(f"missing {field}")
        try:
            out[field] = to_epoch(record[field])
        except ValueError as exc:
            raise ValueError(f"{field}: {exc}") from None
    if out["endTime"] < out["startTime"]:
        raise ValueError("endTime is before startTime")
    span = out["endTime"] - out["startTime"]
    if span > max_span_days * 86400:
        raise ValueError(
            f"spans {span / 86400:.1f} days, over the limit of {max_span_days} (DataStore option "
            "MaxRecordSpanDays): send one record per period"
        )
    return out


def validate_records(
    atype: AccountingType,
    records: Any,
    *,
    max_records: int = MAX_RECORDS,
    max_span_days: int = MAX_RECORD_SPAN_DAYS,
) -> list[dict[str, Any]]:
    """The checked records, or a 400 naming every bad record (up to a few) and the field at fault."""
    if not isinstance(records, Sequence) or isinstance(records, str | bytes):
        raise BadRequest(f"records of {atype.name} must be a list of objects")
    if not records:
        raise BadRequest(f"no records of {atype.name} given: send at least one")
    if len(records) > max_records:
        raise PayloadTooLarge(f"{len(records)} records in one commit: send at most {max_records} per call")
    good: list[dict[str, Any]] = []
    errors: list[str] = []
    for index, record in enumerate(records):
        try:
            good.append(_check_one(atype, record, max_span_days))
        except ValueError as exc:
            errors.append(f"record {index}: {exc}")
    if errors:
        shown = "; ".join(errors[:MAX_ERRORS_SHOWN])
        more = f" (and {len(errors) - MAX_ERRORS_SHOWN} more)" if len(errors) > MAX_ERRORS_SHOWN else ""
        raise BadRequest(f"{len(errors)} invalid {atype.name} record(s), nothing stored: {shown}{more}")
    return good


def from_values_list(atype: AccountingType, start: Any, end: Any, values: Any) -> dict[str, Any]:
    """DIRAC's ``(typeName, startTime, endTime, valuesList)``: keys then values, in definition order."""
    names = [*atype.key_names, *atype.value_fields]
    if not isinstance(values, Sequence) or isinstance(values, str | bytes) or len(values) != len(names):
        got = len(values) if isinstance(values, Sequence) else type(values).__name__
        raise BadRequest(f"a {atype.name} valuesList has {len(names)} items ({', '.join(names)}), got {got}")
    return {**dict(zip(names, values, strict=True)), "startTime": start, "endTime": end}
