"""Client side of the CS: keep a process's configuration in step with Configuration/Server.

`ConfigurationRefresher` polls ``getVersion`` on the CS servers (in order, failing over), downloads
the CS when the version changes, merges the host-local layers on top (local wins, as DIRAC's
localCFG over remoteCFG) and hands the new `Config` to a callback, so services hot-refresh.
A download that does not parse is ignored: the process keeps its current configuration.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

from diraccfg import CFG

from dirac_core.client.cs import ConfigurationClient
from dirac_core.config.cfg import Config
from dirac_core.config.locator import parse_cfg
from dirac_core.cs.content import text_hash
from dirac_core.errors import DiracError, ServiceUnavailable

log = logging.getLogger(__name__)

ClientFactory = Callable[[str], ConfigurationClient]


class ConfigurationRefresher:
    def __init__(
        self,
        servers: Sequence[str],
        local: Config | None = None,
        interval: float = 300.0,
        on_change: Callable[[Config], None] | None = None,
        client_factory: ClientFactory = ConfigurationClient,
    ) -> None:
        if not servers:
            raise ServiceUnavailable("no CS server to refresh from: set /DIRAC/Configuration/Servers")
        self.servers = list(servers)
        self.local = local or Config()
        self.interval = interval
        self.on_change = on_change
        self._clients = [client_factory(url) for url in self.servers]
        self.version: str | None = None
        self.config: Config | None = None
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def from_config(
        cls, local: Config, on_change: Callable[[Config], None] | None = None, **kwargs: object
    ) -> ConfigurationRefresher:
        """Servers and poll interval from DIRAC's /DIRAC/Configuration/Servers and RefreshTime."""
        return cls(
            local.get_list("/DIRAC/Configuration/Servers"),
            local,
            float(local.get_int("/DIRAC/Configuration/RefreshTime", 300)),
            on_change,
            **kwargs,  # type: ignore[arg-type]
        )

    def refresh(self) -> bool:
        """One poll; True when a new configuration was loaded (and the callback called)."""
        failures = []
        for client in self._clients:
            try:
                return self._refresh_from(client)
            except ServiceUnavailable as exc:
                failures.append(str(exc))
        self.last_error = "; ".join(failures)
        log.warning("CS refresh failed on every server: %s", self.last_error)
        return False

    def _refresh_from(self, client: ConfigurationClient) -> bool:
        if client.get_version() == self.version:
            return False
        newest, digest, text = client.get_data_if_newer(self.version)
        if text is None:
            return False
        if text_hash(text) != digest:
            self.last_error = f"CS version {newest} from {client.url} failed its hash check: kept the current one"
            return False
        try:
            remote, _ = parse_cfg(text, f"{client.url}@{newest}")
        except DiracError as exc:
            self.last_error = f"{exc}: kept the current configuration"
            log.error("%s", self.last_error)
            return False
        merged: CFG = remote.mergeWith(self.local.cfg)
        self.config = Config(merged, [f"{client.url}@{newest}", *self.local.sources])
        self.version = newest
        self.last_error = None
        if self.on_change is not None:
            self.on_change(self.config)
        return True

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="cs-refresher", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.refresh()
            except Exception:  # keep polling whatever a callback raised; log it
                log.exception("CS refresh callback failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        for client in self._clients:
            client.close()
