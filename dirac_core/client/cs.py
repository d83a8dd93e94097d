"""HTTP client of Configuration/Server (its REST API), used by slaves, refreshers and admin tools.

A CS URL is DIRAC's service URL, ``https://ccdiracli07.in2p3.fr:9135/Configuration/Server``; its
REST API lives under ``/api/Configuration/Server``. TLS material and tokens are the business of the
`httpx.Client` passed in (the runtime builds it); a default client with a timeout is used otherwise.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx

from dirac_core import errors
from dirac_core.errors import DiracError, ServiceUnavailable

_BY_STATUS: dict[int, type[DiracError]] = {
    400: errors.BadRequest,
    401: errors.Unauthorized,
    403: errors.Forbidden,
    404: errors.NotFound,
    409: errors.Conflict,
    413: errors.PayloadTooLarge,
    503: errors.ServiceUnavailable,
}


def rest_base(url: str) -> str:
    parts = urlsplit(url.strip())
    path = parts.path.rstrip("/") or "/Configuration/Server"
    if path.startswith("/api/"):
        path = path[len("/api") :]
    return f"{parts.scheme}://{parts.netloc}/api{path}"


class ConfigurationClient:
    def __init__(self, url: str, http: httpx.Client | None = None, timeout: float = 10.0) -> None:
        self.url = url
        self.base = rest_base(url)
        self._http = http or httpx.Client(timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, f"{self.base}{path}", **kwargs)
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(f"cannot reach Configuration/Server {self.url}: {exc}") from exc
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail", response.text)
            except ValueError:
                detail = response.text
            raise _BY_STATUS.get(response.status_code, DiracError)(f"{self.url}: {detail}")
        return response.json()

    def get_version(self) -> str:
        return str(self._call("GET", "/version")["version"])

    def get_data_if_newer(self, version: str | None) -> tuple[str, str, str | None]:
        params = {"if_newer": version} if version else {}
        reply = self._call("GET", "/data", params=params)
        return str(reply["newestVersion"]), str(reply["hash"]), reply.get("data")

    def get_data(self) -> tuple[str, str]:
        version, _, text = self.get_data_if_newer(None)
        assert text is not None
        return version, text

    def commit(self, text: str) -> str:
        return str(self._call("POST", "/commit", json={"data": text})["version"])

    def history(self, limit: int = 100) -> list[dict[str, Any]]:
        return list(self._call("GET", "/history", params={"limit": limit}))

    def version_contents(self, version: str) -> str:
        return str(self._call("GET", "/contents", params={"version": version})["data"])

    def rollback(self, version: str) -> str:
        return str(self._call("POST", "/rollback", json={"version": version})["version"])

    def status(self) -> dict[str, Any]:
        return dict(self._call("GET", "/status"))
