"""One SQLAlchemy engine per (System, DBName) per process, built lazily from the CS."""

from __future__ import annotations

import threading

from sqlalchemy import Engine

from dirac_core.config.cfg import Config
from dirac_core.db.engine import database_url, make_engine


class EngineCache:
    """Callable as ``ComponentContext.engine_factory``; thread-safe, engines live as long as the process."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._engines: dict[tuple[str, str], Engine] = {}
        self._lock = threading.Lock()

    def __call__(self, system: str, db_name: str) -> Engine:
        key = (system, db_name)
        with self._lock:
            engine = self._engines.get(key)
            if engine is None:
                engine = make_engine(database_url(self.config, system, db_name))
                self._engines[key] = engine
            return engine

    def dispose(self) -> None:
        with self._lock:
            for engine in self._engines.values():
                engine.dispose()
            self._engines.clear()
