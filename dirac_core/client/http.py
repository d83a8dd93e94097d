"""Python client of one dirac_core service: DIRAC HTTPS RPC and the REST API.

``ServiceClient("https://host:9132/WorkloadManagement/JobManager", token=...)`` posts RPC calls to
that URL exactly as DIRAC's TornadoClient does (form fields ``method`` and JEncoded ``args``) and
REST calls under ``https://host:9132/api/WorkloadManagement/JobManager``. One ``httpx.Client`` keeps
connections alive between calls. Failures raise the `DiracError` subclass the server raised.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

import httpx

from dirac_core import jencode
from dirac_core.errors import (
    BadRequest,
    DiracError,
    ServiceUnavailable,
    error_class_named,
    error_for_status,
)

# Above this many bytes of JEncoded args an RPC call goes as multipart/form-data: urlencoding a
# 2 MB JSON list percent-escapes most bytes (a ~0.3 s per-byte quote on the client plus the unquote on
# the server per 10k catalog entries); a multipart part carries the JSON as it is. DIRAC's Tornado
# servers and ours read both forms.
MULTIPART_THRESHOLD = 64 * 1024


def rpc_form(method: str, args: list[Any], threshold: int = MULTIPART_THRESHOLD) -> dict[str, Any]:
    """httpx keyword arguments of one RPC POST: ``data`` (urlencoded) or ``data`` + ``files`` (multipart)."""
    encoded = jencode.encode(args)
    if len(encoded) <= threshold:
        return {"data": {"method": method, "args": encoded}}
    # A part without filename is a plain form field on the server (a str, not an upload).
    return {"data": {"method": method}, "files": {"args": (None, encoded.encode())}}


def make_ssl_context(cert: tuple[str, str] | None = None, ca_bundle: str | None = None) -> ssl.SSLContext:
    """Client TLS context: verify the server against `ca_bundle` (else the system CAs), present `cert`."""
    context = ssl.create_default_context(cafile=ca_bundle) if ca_bundle else ssl.create_default_context()
    if cert is not None:
        context.load_cert_chain(certfile=cert[0], keyfile=cert[1])
    return context


def split_service_url(url: str) -> tuple[str, str]:
    """``https://h:p/System/Service`` -> (``https://h:p``, ``System/Service``)."""
    parts = urlsplit(url)
    path = parts.path.strip("/")
    if parts.scheme not in {"https", "http"} or not parts.netloc or path.count("/") != 1:
        raise BadRequest(f"service URL {url!r} must look like https://host:port/System/Service")
    return f"{parts.scheme}://{parts.netloc}", path


class ServiceClient:
    """Calls one service. Use as a context manager or call `close()`."""

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        cert: tuple[str, str] | None = None,
        ca_bundle: str | None = None,
        timeout: float = 60.0,
    ) -> None:
        self.url = url.rstrip("/")
        origin, self.service = split_service_url(self.url)
        self.api_base = f"{origin}/api/{self.service}"
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(verify=make_ssl_context(cert, ca_bundle), timeout=timeout, headers=headers)

    def __enter__(self) -> ServiceClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- DIRAC RPC ---------------------------------------------------------------------------
    def rpc(self, method: str, *args: Any) -> Any:
        """Call `method` with positional args; returns ``Value`` of the reply or raises."""
        response = self._send("POST", self.url, **rpc_form(method, list(args)))
        try:
            reply = jencode.decode(response.content)
        except DiracError:
            reply = None
        if isinstance(reply, dict) and "OK" in reply:
            if reply["OK"]:
                return reply.get("Value")
            message = str(reply.get("Message", "unknown error"))
            cls = error_class_named(reply.get("ErrorType"))
            raise cls(message) if cls else error_for_status(response.status_code, message)
        if response.status_code >= 400:
            raise error_for_status(response.status_code, _error_text(response))
        raise DiracError(f"{self.url}: reply to {method} is not a DIRAC return structure: {response.text[:200]}")

    def receive_file(self, destination: str | Path | IO[bytes], *args: Any, method: str = "streamToClient") -> int:
        """DIRAC's ``receiveFile``: call `method` with ``rawContent`` and stream the bytes to `destination`."""
        data = {"method": method, "args": jencode.encode(list(args)), "rawContent": "True"}
        request = self._http.build_request("POST", self.url, data=data)
        try:
            response = self._http.send(request, stream=True)
        except httpx.TransportError as exc:
            raise _unreachable(self.url, exc) from exc
        try:
            if response.headers.get("content-type", "").startswith("application/json"):
                response.read()
                reply = jencode.decode(response.content)
                message = str(reply.get("Message", "unknown error")) if isinstance(reply, dict) else response.text
                cls = error_class_named(reply.get("ErrorType")) if isinstance(reply, dict) else None
                raise cls(message) if cls else error_for_status(response.status_code, message)
            if response.status_code >= 400:
                response.read()
                raise error_for_status(response.status_code, _error_text(response))
            if isinstance(destination, str | Path):
                with Path(destination).open("wb") as out:
                    return _copy(response, out)
            return _copy(response, destination)
        finally:
            response.close()

    # -- REST --------------------------------------------------------------------------------
    def request(
        self,
        http_method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        files: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """REST call under ``/api/<System>/<Service>``; returns decoded JSON, else text."""
        response = self._send(
            http_method, self._api_url(path), json=json, params=params, files=files, content=content, headers=headers
        )
        if response.status_code >= 400:
            raise error_for_status(response.status_code, _error_text(response))
        if not response.content:
            return None
        if response.headers.get("content-type", "").startswith("application/json"):
            return response.json()
        return response.text

    def download(
        self, path: str, destination: str | Path | IO[bytes], *, params: Mapping[str, Any] | None = None
    ) -> int:
        """Stream a REST GET to a file (path or open binary file); returns the byte count."""
        with self.stream("GET", path, params=params) as response:
            if isinstance(destination, str | Path):
                with Path(destination).open("wb") as out:
                    return _copy(response, out)
            return _copy(response, destination)

    @contextmanager
    def stream(
        self, http_method: str, path: str, *, params: Mapping[str, Any] | None = None, content: bytes | None = None
    ) -> Iterator[httpx.Response]:
        """An open streaming response (status already checked): iterate `iter_bytes()`."""
        request = self._http.build_request(http_method, self._api_url(path), params=params, content=content)
        try:
            response = self._http.send(request, stream=True)
        except httpx.TransportError as exc:
            raise ServiceUnavailable(
                f"cannot reach {self.api_base}: {exc}: check the URL and that the service runs"
            ) from exc
        try:
            if response.status_code >= 400:
                response.read()
                raise error_for_status(response.status_code, _error_text(response))
            yield response
        finally:
            response.close()

    # -- plumbing ----------------------------------------------------------------------------
    def _api_url(self, path: str) -> str:
        return f"{self.api_base}/{path.lstrip('/')}" if path else self.api_base

    def _send(self, http_method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._http.request(http_method, url, **kwargs)
        except httpx.TransportError as exc:
            raise _unreachable(url, exc) from exc


def _unreachable(url: str, exc: Exception) -> ServiceUnavailable:
    return ServiceUnavailable(f"cannot reach {url}: {exc}: check the URL and that the service is running")


def _copy(response: httpx.Response, out: IO[bytes]) -> int:
    total = 0
    for chunk in response.iter_bytes():
        out.write(chunk)
        total += len(chunk)
    return total


def _error_text(response: httpx.Response) -> str:
    """The server's one-line message: ``detail`` (REST), ``Message`` (RPC) or the raw text."""
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}: {response.text[:300]}"
    if isinstance(body, dict):
        for key in ("detail", "Message", "error_description", "error"):
            if isinstance(body.get(key), str):
                return str(body[key])
    return f"HTTP {response.status_code}: {str(body)[:300]}"
