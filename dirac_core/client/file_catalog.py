"""Python client of a File Catalog service (DIRAC RPC method names), used by ``dirac fc``.

Which catalog: ``/Resources/FileCatalogs/<Name>`` lists them (DIRAC's layout); ``CatalogURL`` (e.g.
``DataManagement/EiscatFileCatalog``) names the service, default ``DataManagement/<Name>``. Without
``--catalog`` the catalog with ``Master = True`` is used, else ``FileCatalog``. Bulk calls are split into
batches (`batch_size`) and their Successful/Failed maps merged, so callers never hit MaxBulkSize.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from dirac_core.client.config import ca_bundle, load_client_config, service_url
from dirac_core.client.http import ServiceClient
from dirac_core.config.cfg import Config
from dirac_core.errors import ConfigError

DEFAULT_CATALOG = "FileCatalog"
CATALOGS = "/Resources/FileCatalogs"


def catalog_names(config: Config) -> list[str]:
    return config.sections(CATALOGS)


def default_catalog(config: Config) -> str:
    for name in catalog_names(config):
        if (config.get(f"{CATALOGS}/{name}/Master", "False") or "").lower() in {"true", "yes", "1"}:
            return name
    names = catalog_names(config)
    return names[0] if names else DEFAULT_CATALOG


def catalog_component(config: Config, name: str) -> str:
    names = catalog_names(config)
    if names and name not in names:
        raise ConfigError(f"catalog {name!r} is not in {CATALOGS}: known catalogs are {', '.join(names)}")
    url = config.get(f"{CATALOGS}/{name}/CatalogURL", None) if names else None
    return url or f"DataManagement/{name}"


class FileCatalogClient:
    def __init__(self, client: ServiceClient, name: str = DEFAULT_CATALOG, batch_size: int = 10_000) -> None:
        self.client = client
        self.name = name
        self.batch_size = batch_size

    @classmethod
    def from_config(
        cls, catalog: str | None = None, cfg_file: str | Path | None = None, *, token: str | None = None
    ) -> FileCatalogClient:
        """A client for `catalog` from the client cfg, with the `dirac login` token (or `token`)."""
        from dirac_core.client.login import load_token

        config = load_client_config(cfg_file)
        name = catalog or default_catalog(config)
        url = service_url(config, catalog_component(config, name))
        token = token or load_token().access_token
        return cls(ServiceClient(url, token=token, ca_bundle=ca_bundle(config)), name)

    def __enter__(self) -> FileCatalogClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.client.close()

    # -- bulk plumbing -----------------------------------------------------------------------
    def _batches(self, items: Iterable[Any] | Mapping[str, Any]) -> list[Any]:
        """`items` cut into lists (or dicts, for a mapping) of at most `batch_size`."""
        if isinstance(items, Mapping):
            pairs = list(items.items())
            return [dict(pairs[i : i + self.batch_size]) for i in range(0, len(pairs), self.batch_size)]
        seq = list(items)
        return [seq[i : i + self.batch_size] for i in range(0, len(seq), self.batch_size)]

    def _bulk(self, method: str, items: Iterable[Any] | Mapping[str, Any], *extra: Any) -> dict[str, dict[str, Any]]:
        merged: dict[str, dict[str, Any]] = {"Successful": {}, "Failed": {}}
        for batch in self._batches(items):
            reply = self.client.rpc(method, batch, *extra)
            merged["Successful"].update(reply.get("Successful", {}))
            merged["Failed"].update(reply.get("Failed", {}))
        return merged

    def _rest_bulk(
        self, path: str, key: str, items: Iterable[Any] | Mapping[str, Any], **extra: Any
    ) -> dict[str, dict[str, Any]]:
        """Like `_bulk` over REST: JSON bodies skip the form encoding of DIRAC RPC (about 2x faster
        for 10k-file batches, see docs/catalog.md)."""
        merged: dict[str, dict[str, Any]] = {"Successful": {}, "Failed": {}}
        for batch in self._batches(items):
            reply = self.client.request("POST", path, json={key: batch, **extra})
            merged["Successful"].update(reply.get("Successful", {}))
            merged["Failed"].update(reply.get("Failed", {}))
        return merged

    # -- operations (the three bulk hot paths over REST, the rest with DIRAC's RPC names) -----------
    def add_files(self, files: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
        return self._rest_bulk("files", "files", files)

    def remove_files(self, lfns: Iterable[str]) -> dict[str, dict[str, Any]]:
        return self._rest_bulk("files/remove", "paths", lfns)

    def get_replicas(self, lfns: Iterable[str], all_status: bool = False) -> dict[str, dict[str, Any]]:
        return self._rest_bulk("replicas/get", "lfns", lfns, all_status=all_status)

    def add_replicas(self, replicas: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
        return self._bulk("addReplica", replicas)

    def remove_replicas(self, replicas: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
        return self._bulk("removeReplica", replicas)

    def file_metadata(self, lfns: Iterable[str]) -> dict[str, dict[str, Any]]:
        return self._bulk("getFileMetadata", lfns)

    def create_directories(self, paths: Iterable[str]) -> dict[str, dict[str, Any]]:
        return self._bulk("createDirectory", paths)

    def list_directories(self, paths: Iterable[str]) -> dict[str, dict[str, Any]]:
        return self._bulk("listDirectory", paths)

    def directory_size(self, paths: Iterable[str]) -> dict[str, dict[str, Any]]:
        return self._bulk("getDirectorySize", paths)

    def change_mode(self, modes: Mapping[str, Any], recursive: bool = False) -> dict[str, dict[str, Any]]:
        return self._bulk("changePathMode", modes, recursive)

    def change_owner(self, owners: Mapping[str, Any], recursive: bool = False) -> dict[str, dict[str, Any]]:
        return self._bulk("changePathOwner", owners, recursive)

    def metadata_fields(self) -> dict[str, dict[str, str]]:
        return self.client.rpc("getMetadataFields")  # type: ignore[no-any-return]

    def add_metadata_field(self, name: str, meta_type: str, kind: str = "-d") -> str:
        return str(self.client.rpc("addMetadataField", name, meta_type, kind))

    def set_metadata(self, path: str, values: Mapping[str, Any]) -> None:
        self.client.rpc("setMetadata", path, dict(values))

    def get_metadata(self, path: str) -> dict[str, Any]:
        return self.client.rpc("getDirectoryUserMetadata", path)  # type: ignore[no-any-return]

    def find(self, query: str | Mapping[str, Any], path: str = "/") -> list[str]:
        return list(self.client.rpc("findFilesByMetadata", query, path))
