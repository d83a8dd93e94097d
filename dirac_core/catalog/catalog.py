"""One File Catalog instance: the operations of DIRAC's FileCatalog service over one FileCatalogDB.

The service adapters (`dirac_core.services.fc_rest`, `fc_rpc`) and the tests use this class; each
operation lives in its own module (directories, files, replicas, metadata, ownership, lookups).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Engine

from dirac_core.catalog.directories import Directories
from dirac_core.catalog.files import Files
from dirac_core.catalog.hooks import OperationRecorder
from dirac_core.catalog.lookups import Lookups
from dirac_core.catalog.metadata import Metadata
from dirac_core.catalog.ownership import Ownership
from dirac_core.catalog.permissions import UmaskPolicy
from dirac_core.catalog.query import QueryLimits
from dirac_core.catalog.replicas import Replicas
from dirac_core.catalog.store import DEFAULT_MAX_BULK, CatalogStore
from dirac_core.db.filecatalogdb import FileCatalogDB


class FileCatalog:
    def __init__(
        self,
        engine: Engine,
        *,
        name: str = "FileCatalog",
        known_ses: Iterable[str] | None = None,
        max_bulk: int = DEFAULT_MAX_BULK,
        umask: UmaskPolicy | None = None,
        recorder: OperationRecorder | None = None,
        global_read: bool = True,
        query_limits: QueryLimits | None = None,
    ) -> None:
        self.name = name
        self.db = FileCatalogDB(engine)
        self.store = CatalogStore(
            engine, known_ses=known_ses, max_bulk=max_bulk, umask=umask, recorder=recorder, global_read=global_read
        )
        self.directories = Directories(self.store)
        self.files = Files(self.store, self.directories)
        self.replicas = Replicas(self.store)
        self.metadata = Metadata(self.store, query_limits or QueryLimits())
        self.ownership = Ownership(self.store)
        self.lookups = Lookups(self.store, self.directories, self.files)

    def set_recorder(self, recorder: OperationRecorder) -> None:
        """Plug in the accounting (DataOperation records) after construction."""
        self.store.recorder = recorder
