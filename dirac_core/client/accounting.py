"""Clients of the Accounting services: `AccountingClient` over HTTPS and the catalog's `DataOperationRecorder`.

with AccountingClient.from_config(use_certificate=True) as accounting:   # hosts and pilots
    accounting.commit("Job", [record])
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from dirac_core.client.http import ServiceClient
from dirac_core.errors import BadRequest

log = logging.getLogger(__name__)

DATA_STORE = "Accounting/DataStore"
REPORT_GENERATOR = "Accounting/ReportGenerator"


def _jsonable(record: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value.isoformat() if isinstance(value, datetime) else value for key, value in record.items()}


class AccountingClient:
    """Commit records to a DataStore and read reports from a ReportGenerator (either may be absent)."""

    def __init__(self, data_store: ServiceClient | None = None, report_generator: ServiceClient | None = None) -> None:
        self.data_store = data_store
        self.report_generator = report_generator

    @classmethod
    def from_config(cls, cfg_file: str | Path | None = None, *, use_certificate: bool = False) -> AccountingClient:
        """Both services from the client cfg (``/Systems/Accounting/<Instance>/URLs``)."""
        from dirac_core.client.config import service_client

        return cls(
            service_client(DATA_STORE, cfg_file=cfg_file, use_certificate=use_certificate),
            service_client(REPORT_GENERATOR, cfg_file=cfg_file, use_certificate=use_certificate),
        )

    def __enter__(self) -> AccountingClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        for client in (self.data_store, self.report_generator):
            if client is not None:
                client.close()

    def _store(self) -> ServiceClient:
        if self.data_store is None:
            raise BadRequest(f"no {DATA_STORE} URL given to this AccountingClient")
        return self.data_store

    def _reports(self) -> ServiceClient:
        if self.report_generator is None:
            raise BadRequest(f"no {REPORT_GENERATOR} URL given to this AccountingClient")
        return self.report_generator

    # -- DataStore ---------------------------------------------------------------------------
    def commit(self, type_name: str, records: Sequence[Mapping[str, Any]]) -> int:
        """Store named records of one type (all or nothing); returns how many were stored."""
        body = {"type": type_name, "records": [_jsonable(r) for r in records]}
        reply = self._store().request("POST", "records", json=body)
        return int(reply["inserted"])

    def commit_registers(self, entries: Sequence[Sequence[Any]]) -> int:
        """DIRAC's RPC shape: [(typeName, startTime, endTime, valuesList), ...]."""
        return int(self._store().rpc("commitRegisters", [list(e) for e in entries]))

    # -- ReportGenerator ---------------------------------------------------------------------
    @staticmethod
    def _query(
        type_name: str, group_by: str, start: Any, end: Any, conditions: Mapping[str, Any] | None, value: str
    ) -> dict[str, Any]:
        def when(t: Any) -> Any:
            return t.isoformat() if isinstance(t, datetime) else t

        return {
            "type": type_name,
            "group_by": group_by,
            "start": when(start),
            "end": when(end),
            "conditions": dict(conditions or {}),
            "value": value,
        }

    def summary(
        self, type_name: str, group_by: str, start: Any, end: Any, conditions: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        body = self._query(type_name, group_by, start, end, conditions, "entries")
        return dict(self._reports().request("POST", "summary", json=body))

    def summary_csv(
        self, type_name: str, group_by: str, start: Any, end: Any, conditions: Mapping[str, Any] | None = None
    ) -> str:
        body = self._query(type_name, group_by, start, end, conditions, "entries")
        return str(self._reports().request("POST", "summary", json=body, params={"format": "csv"}))

    def timeseries(
        self,
        type_name: str,
        group_by: str,
        start: Any,
        end: Any,
        conditions: Mapping[str, Any] | None = None,
        value: str = "entries",
    ) -> dict[str, Any]:
        body = self._query(type_name, group_by, start, end, conditions, value)
        return dict(self._reports().request("POST", "timeseries", json=body))

    def plot(
        self,
        type_name: str,
        group_by: str,
        start: Any,
        end: Any,
        conditions: Mapping[str, Any] | None = None,
        value: str = "entries",
    ) -> bytes:
        """The PNG bytes of a stacked time series plot."""
        query = self._query(type_name, group_by, start, end, conditions, value)
        params: dict[str, Any] = {k: query[k] for k in ("type", "group_by", "start", "end", "value")}
        params["condition"] = [f"{k}={v}" for k, vs in query["conditions"].items() for v in _listed(vs)]
        with self._reports().stream("GET", "plot", params=params) as response:
            return b"".join(response.iter_bytes())


def _listed(values: Any) -> list[Any]:
    return list(values) if isinstance(values, list | tuple) else [values]


class DataOperationRecorder:
    """What the file catalog calls after each operation: DataOperation records, batched, best effort.

    `record` never raises into the catalog: records are buffered and sent by `flush` (at
    `batch_size` records, after `max_delay` seconds, or on `close`); a failed send keeps them for the
    next flush, up to `max_buffer` (the oldest are dropped beyond, with a warning).
    """

    def __init__(
        self,
        commit: Callable[[str, list[dict[str, Any]]], Any],
        *,
        site: str = "DIRAC.Local.local",
        protocol: str = "FileCatalog",
        batch_size: int = 100,
        max_delay: float = 30.0,
        max_buffer: int = 10000,
        clock: Callable[[], float] = time.time,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self._commit = commit
        self._on_close = on_close
        self.site = site
        self.protocol = protocol
        self.batch_size = batch_size
        self.max_delay = max_delay
        self.max_buffer = max_buffer
        self.clock = clock
        self._buffer: list[dict[str, Any]] = []
        self._oldest: float | None = None
        self._lock = threading.Lock()
        self.sent = 0
        self.dropped = 0

    def record(
        self, operation: str, user: str, group: str, se: str, files: int, size: int, ok: int, failed: int
    ) -> None:
        """One catalog operation on `files` files (`ok` succeeded, `failed` failed) touching SE `se`.

        `group` is accepted for the catalog's protocol; DIRAC's DataOperation type has no group key."""
        try:
            now = int(self.clock())
            entry = {
                "OperationType": str(operation),
                "User": str(user or "unknown"),
                "ExecutionSite": self.site,
                "Source": self.site,
                "Destination": str(se or "None"),
                "Protocol": self.protocol,
                "FinalStatus": "Successful" if not failed else "Failed",
                "TransferSize": max(int(size), 0),
                "TransferTime": 0.0,
                "RegistrationTime": 0.0,
                "TransferOK": max(int(ok), 0),
                "TransferTotal": max(int(files), 0),
                "RegistrationOK": max(int(ok), 0),
                "RegistrationTotal": max(int(ok), 0) + max(int(failed), 0),
                "startTime": now,
                "endTime": now,
            }
            with self._lock:
                self._buffer.append(entry)
                if self._oldest is None:
                    self._oldest = self.clock()
                due = len(self._buffer) >= self.batch_size or self.clock() - self._oldest >= self.max_delay
            if due:
                self.flush()
        except Exception:  # accounting must never break a catalog operation
            log.exception("DataOperation record for %s not kept", operation)

    def flush(self) -> int:
        """Send what is buffered; returns the number sent (0 on failure: the records are kept)."""
        with self._lock:
            batch, self._buffer, self._oldest = self._buffer, [], None
        if not batch:
            return 0
        try:
            self._commit("DataOperation", batch)
        except Exception as exc:
            with self._lock:
                self._buffer = batch + self._buffer
                overflow = len(self._buffer) - self.max_buffer
                if overflow > 0:
                    del self._buffer[:overflow]
                    self.dropped += overflow
                self._oldest = self.clock()
            log.warning("%d DataOperation record(s) not sent, kept for the next flush: %s", len(batch), exc)
            return 0
        self.sent += len(batch)
        return len(batch)

    def close(self) -> None:
        """Send what is left, then release the connection (if the owner gave `on_close`)."""
        self.flush()
        if self._on_close is not None:
            try:
                self._on_close()
            except Exception:
                log.exception("closing the DataOperation recorder failed")

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._buffer)
