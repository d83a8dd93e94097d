"""Spread raw records over time buckets, DIRAC style, by the one DataStore holding the bucketing lease.

A record from ``startTime`` to ``endTime`` adds to every bucket it overlaps the fraction of its
duration that falls in that bucket (values and ``entriesInBucket``). Bucket lengths grow with the
age of the bucket (`AccountingType.buckets_length`), so recent data has fine resolution.
"""

from __future__ import annotations

import itertools
import logging
import os
import socket
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from dirac_core.accounting_types import AccountingType
from dirac_core.db.accountingdb import AccountingDB, TypeTables

log = logging.getLogger(__name__)

LEASE_NAME = "Bucketing"
DEFAULT_LEASE_SECONDS = 60.0
BATCH = 5000
DEFAULT_COMPACT_SECONDS = 3600.0


def calculate_buckets(atype: AccountingType, start: int, end: int, now: int) -> list[tuple[int, float, int]]:
    """DIRAC's calculateBuckets: [(bucket start, proportion of the record, bucket length)]."""
    length = atype.bucket_length_for(now - start)
    bucket_start = start - start % length
    if start == end:
        return [(bucket_start, 1.0, length)]
    total = end - start
    out: list[tuple[int, float, int]] = []
    covered = start  # everything before `covered` is already in an earlier bucket
    while covered < end:
        overlap = min(bucket_start + length, end) - covered
        out.append((bucket_start, overlap / total, length))
        covered = bucket_start + length
        # The next bucket is younger: its length follows its own age, aligned to that length. When the
        # lengths do not divide each other the aligned start is earlier than `covered`; the part before
        # `covered` stays counted in the previous bucket only.
        length = atype.bucket_length_for(now - covered)
        bucket_start = covered - covered % length
    return out


def bucket_rows(tables: TypeTables, records: list[Any], now: int) -> list[dict[str, Any]]:
    """Contributions of `records` to buckets, summed per (startTime, bucketLength, key ids)."""
    atype = tables.atype
    sums: dict[tuple[int, ...], list[float]] = defaultdict(lambda: [0.0] * (len(atype.value_fields) + 1))
    for record in records:
        keys = tuple(int(getattr(record, key)) for key in atype.key_names)
        values = [float(getattr(record, field)) for field in atype.value_fields]
        for bucket_start, proportion, length in calculate_buckets(atype, record.startTime, record.endTime, now):
            acc = sums[(bucket_start, length, *keys)]
            for i, value in enumerate(values):
                acc[i] += value * proportion
            acc[-1] += proportion
    return _rows(atype, sums)


def compacted_rows(tables: TypeTables, buckets: list[Any], now: int) -> tuple[list[Any], list[dict[str, Any]]]:
    """DIRAC's compactBuckets: buckets shorter than their age calls for, re-spread into longer ones.

    Returns (the buckets to delete, the rows to add)."""
    atype = tables.atype
    old = [b for b in buckets if atype.bucket_length_for(now - b.startTime) > b.bucketLength]
    sums: dict[tuple[int, ...], list[float]] = defaultdict(lambda: [0.0] * (len(atype.value_fields) + 1))
    for bucket in old:
        keys = tuple(int(getattr(bucket, key)) for key in atype.key_names)
        end = bucket.startTime + bucket.bucketLength
        for start, proportion, length in calculate_buckets(atype, bucket.startTime, end, now):
            acc = sums[(start, length, *keys)]
            for i, field in enumerate(atype.value_fields):
                acc[i] += float(getattr(bucket, field)) * proportion
            acc[-1] += float(bucket.entriesInBucket) * proportion
    return old, _rows(atype, sums)


def _rows(atype: AccountingType, sums: dict[tuple[int, ...], list[float]]) -> list[dict[str, Any]]:
    rows = []
    for ident, acc in sums.items():
        row: dict[str, Any] = {"startTime": ident[0], "bucketLength": ident[1]}
        row.update(zip(atype.key_names, ident[2:], strict=True))
        row.update(zip(atype.value_fields, acc[:-1], strict=True))
        row["entriesInBucket"] = acc[-1]
        rows.append(row)
    return rows


def default_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Bucketer:
    """Buckets pending records while it holds the lease; any other Bucketer on the DB stands by."""

    def __init__(
        self,
        db: AccountingDB,
        owner: str | None = None,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        clock: Callable[[], float] = time.time,
        compact_seconds: float = DEFAULT_COMPACT_SECONDS,
    ) -> None:
        self.db = db
        self.owner = owner or default_owner()
        self.lease_seconds = lease_seconds
        self.clock = clock
        self.compact_seconds = compact_seconds
        self._last_compaction = clock()  # not at start: compaction is the slow, rare part

    def holds_lease(self) -> bool:
        return self.db.acquire_lease(LEASE_NAME, self.owner, self.clock(), self.lease_seconds) == self.owner

    def run_once(self, batch: int = BATCH) -> int:
        """One pass over every registered type; returns the number of records bucketed (0 without lease)."""
        if not self.holds_lease():
            return 0
        done = 0
        for tables in self.db.all_tables():
            while True:
                count = self._bucket_batch(tables, batch)
                done += count
                if count < batch:
                    break
        if self.compact_seconds > 0 and self.clock() - self._last_compaction >= self.compact_seconds:
            self.compact()
        return done

    def compact(self, batch: int = BATCH) -> int:
        """Merge buckets that aged into a longer bucket length (lease holder only); returns buckets merged."""
        if not self.holds_lease():
            return 0
        now = int(self.clock())
        self._last_compaction = now
        merged = 0
        for tables in self.db.all_tables():
            steps = tables.atype.buckets_length
            # Buckets older than step i-1's maximum age must be at least step i's length.
            for (max_age, _short), (_age, length) in itertools.pairwise(steps):
                while True:
                    with self.db.engine.begin() as conn:
                        candidates = self.db.short_buckets(conn, tables, now - max_age, length, batch)
                        old, rows = compacted_rows(tables, candidates, now)
                        self.db.delete_buckets(conn, tables, old)
                        self.db.add_to_buckets(conn, tables, rows)
                    merged += len(old)
                    if len(candidates) < batch or not old:
                        break
        return merged

    def _bucket_batch(self, tables: TypeTables, batch: int) -> int:
        with self.db.engine.begin() as conn:
            records = self.db.pending_records(conn, tables, batch)
            if not records:
                return 0
            # Bucket and mark in one transaction: a crash leaves the records pending, never counted twice.
            self.db.add_to_buckets(conn, tables, bucket_rows(tables, records, int(self.clock())))
            self.db.mark_bucketed(conn, tables, [int(r.id) for r in records])
        return len(records)

    def release(self) -> None:
        self.db.release_lease(LEASE_NAME, self.owner)
