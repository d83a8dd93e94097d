"""The DataStore logic: check and store raw records; the bucketing DataStore also fills the buckets.

Every DataStore inserts raw records. Only the one holding the ``Bucketing`` lease in AccountingDB
(``ac_Leases``: owner + expiry, renewed at each pass) turns them into buckets; the others stand by
and take over when the lease of a dead bucketer expires. ``RunBucketing = no`` keeps a DataStore
out of the election altogether.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from dirac_core.accounting.bucketing import LEASE_NAME, Bucketer
from dirac_core.accounting.records import MAX_RECORD_SPAN_DAYS, MAX_RECORDS, from_values_list, validate_records
from dirac_core.accounting_types import BUILTIN_TYPES, get_type
from dirac_core.auth.caller import Caller, Properties
from dirac_core.db.accountingdb import AccountingDB, TypeTables
from dirac_core.errors import BadRequest, PayloadTooLarge, ServiceUnavailable

log = logging.getLogger(__name__)


class DataStore:
    def __init__(
        self,
        db: AccountingDB,
        setup: str,
        *,
        bucketer: Bucketer | None = None,
        max_records: int = MAX_RECORDS,
        max_span_days: int = MAX_RECORD_SPAN_DAYS,
    ) -> None:
        self.db = db
        self.setup = setup
        self.bucketer = bucketer
        self.max_records = max_records
        self.max_span_days = max_span_days
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._registered = False
        # Request threads of one DataStore must not race each other through CREATE TABLE.
        self._register_lock = threading.Lock()

    def register_types(self) -> list[str]:
        """Make sure every built-in type has its tables for this Setup (idempotent)."""
        with self._register_lock:
            return self._register_types_locked()

    def _register_types_locked(self) -> list[str]:
        try:
            names = [self.db.register_type(self.setup, atype).full_name for atype in BUILTIN_TYPES.values()]
        except SQLAlchemyError as exc:
            raise ServiceUnavailable(
                f"AccountingDB is not ready ({type(exc).__name__}): run `dirac-core db init AccountingDB`"
            ) from exc
        self._registered = True
        return names

    def try_register_types(self) -> None:
        """At start: a DB without schema yet is reported, not fatal (the first commit retries)."""
        try:
            self.register_types()
        except ServiceUnavailable as exc:
            log.warning("%s", exc)

    def _tables(self, type_name: Any) -> TypeTables:
        if not self._registered:
            self.register_types()
        if not isinstance(type_name, str):
            raise BadRequest(f"accounting type must be a name such as Job, got {type_name!r}")
        get_type(type_name)  # 404 naming the known types
        return self.db.tables(self.setup, type_name)

    # -- commits -----------------------------------------------------------------------------
    def commit(self, caller: Caller, type_name: str, records: Any) -> int:
        """Named records of one type (REST and the pilot); all stored or none."""
        tables = self._tables(type_name)
        checked = validate_records(
            tables.atype, records, max_records=self.max_records, max_span_days=self.max_span_days
        )
        count = self.db.insert_records(tables, checked)
        log.info("%s committed %d %s record(s)", caller.username, count, type_name)
        return count

    def commit_registers(self, caller: Caller, entries: Any) -> int:
        """DIRAC's commitRegisters: [(typeName, startTime, endTime, valuesList), ...]; all or none."""
        if not isinstance(entries, Sequence) or isinstance(entries, str | bytes) or not entries:
            raise BadRequest("commitRegisters expects a non-empty list of [typeName, startTime, endTime, valuesList]")
        if len(entries) > self.max_records:
            raise PayloadTooLarge(f"{len(entries)} records in one commit: send at most {self.max_records} per call")
        by_type: dict[str, list[dict[str, Any]]] = {}
        for index, entry in enumerate(entries):
            if not isinstance(entry, Sequence) or isinstance(entry, str | bytes) or len(entry) != 4:
                raise BadRequest(f"record {index}: expected [typeName, startTime, endTime, valuesList], got {entry!r}")
            type_name, start, end, values = entry
            atype = self._tables(type_name).atype
            try:
                by_type.setdefault(type_name, []).append(from_values_list(atype, start, end, values))
            except BadRequest as exc:
                raise BadRequest(f"record {index}: {exc}, nothing stored") from None
        bundle = [
            (
                self._tables(name),
                validate_records(
                    get_type(name), records, max_records=self.max_records, max_span_days=self.max_span_days
                ),
            )
            for name, records in by_type.items()
        ]
        count = self.db.insert_bundle(bundle)
        log.info("%s committed %d record(s) of %s", caller.username, count, ", ".join(sorted(by_type)))
        return count

    def registered_types(self) -> dict[str, dict[str, Any]]:
        prefix = f"{self.setup}_"
        return {
            name[len(prefix) :]: info for name, info in self.db.registered_types().items() if name.startswith(prefix)
        }

    # -- bucketing ---------------------------------------------------------------------------
    def bucketing_status(self) -> dict[str, Any]:
        holder = self.db.lease_holder(LEASE_NAME, time.time())
        me = self.bucketer.owner if self.bucketer else None
        return {"runs_bucketing": self.bucketer is not None, "owner": me, "leader": holder, "is_leader": holder == me}

    def run_bucketing(self, caller: Caller) -> dict[str, Any]:
        """One bucketing and compaction pass now (ServiceAdministrator): only the lease holder does it."""
        caller.require(Properties.SERVICE_ADMINISTRATOR)
        done = self.bucketer.run_once() if self.bucketer else 0
        compacted = self.bucketer.compact() if self.bucketer else 0
        return {"bucketed": done, "compacted": compacted, **self.bucketing_status()}

    def start_bucketing(self, interval: float) -> None:
        if self.bucketer is None or interval <= 0 or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, args=(interval,), name="accounting-bucketing", daemon=True)
        self._thread.start()

    def stop_bucketing(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None
        if self.bucketer is not None:
            self.bucketer.release()

    def _loop(self, interval: float) -> None:
        assert self.bucketer is not None
        last_error = ""
        while not self._stop.is_set():
            try:
                done = self.bucketer.run_once()
                last_error = ""
                if done:
                    log.info("bucketed %d accounting record(s)", done)
            except Exception as exc:  # a DB hiccup must not end the loop; the next pass retries
                if str(exc) != last_error:  # once per distinct problem, not every interval
                    log.exception("accounting bucketing pass failed")
                    last_error = str(exc)
            self._stop.wait(interval)
