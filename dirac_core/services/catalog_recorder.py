"""The file catalog's ``OperationRecorder`` factory: DataOperation records to the Accounting DataStore.

Set in the catalog service section (``/Systems/DataManagement/<Instance>/Services/FileCatalog``)::

    OperationRecorder = dirac_core.services.catalog_recorder:catalog_recorder

The catalog service then commits DataOperation records with its host certificate to the DataStore
named by ``/Systems/Accounting/<Instance>/URLs/DataStore``, in batches (``AccountingBatchSize``)
and at least every ``AccountingFlushSeconds`` by a background thread (both declared with their
defaults in `dirac_core.contract.components`). The site recorded
as Source and ExecutionSite is ``/LocalSite/Site`` (default ``DIRAC.Local.local``).
"""

from __future__ import annotations

import atexit
import logging
import threading
from typing import Any

from dirac_core.client.accounting import DATA_STORE, AccountingClient, DataOperationRecorder
from dirac_core.client.config import ca_bundle, service_url
from dirac_core.client.http import ServiceClient
from dirac_core.contract.components import component_spec
from dirac_core.services.component import ComponentContext

log = logging.getLogger(__name__)
_OPTION = component_spec("DataManagement/FileCatalog").option  # it runs inside the catalog service


class _LazyStore:
    """One keep-alive client to the DataStore, made at the first flush (the DataStore may start later)."""

    def __init__(self, ctx: ComponentContext) -> None:
        self.ctx = ctx
        self._client: AccountingClient | None = None
        self._lock = threading.Lock()

    def commit(self, type_name: str, records: list[dict[str, Any]]) -> Any:
        with self._lock:
            if self._client is None:
                config = self.ctx.config
                cert = (config.get("/DIRAC/Security/CertFile"), config.get("/DIRAC/Security/KeyFile"))
                url = service_url(config, DATA_STORE)
                self._client = AccountingClient(ServiceClient(url, cert=cert, ca_bundle=ca_bundle(config), timeout=30))
            client = self._client
        return client.commit(type_name, records)

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None


def catalog_recorder(ctx: ComponentContext) -> DataOperationRecorder:
    def number(name: str) -> float:
        default = float(str(_OPTION(name).default))
        try:
            return float(ctx.option(name, str(default)) or default)
        except ValueError:
            log.warning("%s/%s is not a number: using %s", ctx.section, name, default)
            return default

    flush_seconds = number("AccountingFlushSeconds")
    store = _LazyStore(ctx)
    stop = threading.Event()

    def close() -> None:
        stop.set()
        store.close()

    recorder = DataOperationRecorder(
        store.commit,
        site=ctx.config.get("/LocalSite/Site", "DIRAC.Local.local"),
        batch_size=int(number("AccountingBatchSize")),
        max_delay=flush_seconds,
        on_close=close,
    )

    def flush_loop() -> None:
        while not stop.wait(flush_seconds):
            recorder.flush()

    threading.Thread(target=flush_loop, name="accounting-flush", daemon=True).start()
    atexit.register(recorder.close)
    return recorder
