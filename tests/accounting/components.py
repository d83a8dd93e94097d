"""A second DataStore for tests: same code, its own name, section and port (two DataStores, one DB)."""

from __future__ import annotations

from dataclasses import replace

from dirac_core.services.accounting import components

DATA_STORE, _REPORT_GENERATOR = components()
SECOND_DATA_STORE = replace(DATA_STORE, name="Accounting/DataStoreB")
