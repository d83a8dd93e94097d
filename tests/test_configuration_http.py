"""Configuration/Server over HTTP: the REST router, a slave following its master between two real
uvicorn servers, and the client-side ConfigurationRefresher hot-refreshing a process's config.

The runtime (app factory, TLS, auth) is built elsewhere; this file mounts the component's router
the way the runtime does (``/api/Configuration/Server``) with a test caller set on
``request.state.caller``, over plain HTTP on free ports.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient

from dirac_core.auth.caller import Caller, Properties
from dirac_core.client.cs import ConfigurationClient
from dirac_core.config.cfg import Config
from dirac_core.config.layers import LayeredConfig
from dirac_core.cs.refresher import ConfigurationRefresher
from dirac_core.errors import BadRequest, Conflict, DiracError
from dirac_core.services.component import ComponentContext
from dirac_core.services.configuration import COMPONENT, configuration_server
from dirac_core.services.installed import get_component

EXAMPLES = Path(__file__).resolve().parent.parent / "etc" / "examples"
PREFIX = "/api/Configuration/Server"
POLL = 0.2
CALLERS = {
    "admin": Caller("sub-admin", "adirac", "biomed", "dirac_admin", frozenset({Properties.CS_ADMINISTRATOR})),
    "user": Caller("sub-user", "sjourdan", "biomed", "biomed_user", frozenset({Properties.NORMAL_USER})),
}


def host_layer(data_dir: Path, master: bool, master_url: str | None = None) -> str:
    master_server = f"    MasterServer = {master_url}\n" if master_url else ""
    return (
        "DIRAC\n{\n  Configuration\n  {\n"
        f"    Master = {'yes' if master else 'no'}\n{master_server}"
        "  }\n}\n"
        "Systems\n{\n  Configuration\n  {\n    Production\n    {\n      Services\n      {\n"
        f"        Server\n        {{\n          DataDir = {data_dir}\n          PollInterval = {POLL}\n"
        "        }\n      }\n    }\n  }\n}\n"
    )


def make_context(root: Path, master: bool, master_url: str | None = None) -> ComponentContext:
    layers = root / "layers"
    layers.mkdir(parents=True)
    shutil.copy(EXAMPLES / "shared.cfg", layers / "00-shared.cfg")
    shutil.copy(EXAMPLES / "egi.cfg", layers / "10-egi.cfg")
    (layers / "90-host.cfg").write_text(host_layer(root / "data", master, master_url))

    def no_db(system: str, db_name: str) -> Any:
        raise AssertionError("Configuration/Server needs no database")

    return ComponentContext(
        config=LayeredConfig.load([layers]).config(),
        component=COMPONENT.name,
        section="/Systems/Configuration/Production/Services/Server",
        engine_factory=no_db,
    )


def make_app(ctx: ComponentContext) -> FastAPI:
    """What the runtime does for this component, minus TLS and real authentication."""
    assert COMPONENT.build_router is not None
    app = FastAPI()
    app.include_router(COMPONENT.build_router(ctx), prefix=PREFIX)

    @app.middleware("http")
    async def test_caller(request: Request, call_next: Callable[[Request], Any]) -> Response:
        who = request.headers.get("x-test-caller", "admin")
        if who in CALLERS:
            request.state.caller = CALLERS[who]
        response: Response = await call_next(request)
        return response

    @app.exception_handler(DiracError)
    async def dirac_error(_request: Request, exc: DiracError) -> JSONResponse:
        return JSONResponse({"detail": exc.message}, status_code=exc.http_status)

    return app


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """A real uvicorn server on a free port (socket bound before start: no race on the port)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        yield f"http://127.0.0.1:{port}/Configuration/Server"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def client(url: str, who: str = "admin") -> ConfigurationClient:
    return ConfigurationClient(url, httpx.Client(headers={"x-test-caller": who}, timeout=5))


def wait_for(predicate: Callable[[], bool], timeout: float) -> float:
    start = time.monotonic()
    while not predicate():
        assert time.monotonic() - start < timeout, "condition not reached in time"
        time.sleep(0.02)
    return time.monotonic() - start


def test_component_is_registered() -> None:
    assert get_component("Configuration/Server").default_port == 9135
    assert COMPONENT.build_rpc is not None


def test_router_reads_commits_and_authorization(tmp_path: Path) -> None:
    ctx = make_context(tmp_path, master=True)
    with TestClient(make_app(ctx)) as http:
        info = http.get(f"{PREFIX}/version").json()
        assert info["master"] is True and info["name"] == "EGI-Production"
        data = http.get(f"{PREFIX}/data").json()
        assert data["newestVersion"] == info["version"] and "Setup = EGI-Production" in data["data"]
        assert http.get(f"{PREFIX}/data", params={"if_newer": info["version"]}).json()["data"] is None
        assert http.get(f"{PREFIX}/version", headers={"x-test-caller": "none"}).status_code == 401

        edited = data["data"].replace("Version = 8.0.50", "Version = 8.0.51")
        refused = http.post(f"{PREFIX}/commit", json={"data": edited}, headers={"x-test-caller": "user"})
        assert refused.status_code == 403 and "CSAdministrator" in refused.json()["detail"]
        committed = http.post(f"{PREFIX}/commit", json={"data": edited})
        assert committed.status_code == 200
        new_version = committed.json()["version"]
        history = http.get(f"{PREFIX}/history").json()
        assert [h["version"] for h in history] == [new_version, info["version"]]
        old = http.get(f"{PREFIX}/contents", params={"version": info["version"]}).json()["data"]
        assert "Version = 8.0.50" in old


def test_rpc_table_uses_dirac_names_and_formats(tmp_path: Path) -> None:
    import base64
    import zlib

    ctx = make_context(tmp_path, master=True)
    assert COMPONENT.build_rpc is not None
    rpc = COMPONENT.build_rpc(ctx)
    admin = CALLERS["admin"]
    version = rpc["getVersion"](admin)
    text = zlib.decompress(base64.b64decode(rpc["getCompressedData"](admin))).decode()
    assert f"Version = {version}" in text
    assert rpc["getCompressedDataIfNewer"](admin, version) == {"newestVersion": version}
    assert rpc["writeEnabled"](admin) is True
    new = rpc["commitNewData"](admin, base64.b64encode(zlib.compress(text.replace("8.0.50", "8.0.53").encode())))
    assert rpc["getCommitHistory"](admin)[0] == ["adirac", new]
    assert rpc["rollbackToVersion"](admin, version) > new
    with pytest.raises(BadRequest, match="base64"):
        rpc["commitNewData"](admin, "not base64 zlib")


def test_slave_follows_master_and_refuses_writes(tmp_path: Path) -> None:
    master_ctx = make_context(tmp_path / "master", master=True)
    with serve(make_app(master_ctx)) as master_url:
        slave_ctx = make_context(tmp_path / "slave", master=False, master_url=master_url)
        with serve(make_app(slave_ctx)) as slave_url:
            to_master, to_slave = client(master_url), client(slave_url)
            first = to_master.get_version()
            assert to_slave.get_version() == first
            assert to_slave.status()["masterServer"] == master_url

            _, text = to_master.get_data()
            new = to_master.commit(text.replace("Version = 8.0.50", "Version = 8.0.51"))
            assert new > first
            delay = wait_for(lambda: to_slave.get_version() == new, timeout=10 * POLL + 2)
            print(f"slave served version {new} {delay:.3f}s after the commit (poll interval {POLL}s)")
            assert delay < POLL + 1.0, f"slave took {delay:.2f}s for a {POLL}s poll interval"
            assert "Version = 8.0.51" in to_slave.get_data()[1]

            with pytest.raises(Conflict, match=f"commit to the master {master_url}"):
                to_slave.commit(to_slave.get_data()[1])
            # slave's copy survives a restart of the slave logic while the master is up
            assert (tmp_path / "slave" / "data" / "slave-copy.cfg").read_text() == to_slave.get_data()[1]


def test_bad_commits_keep_master_and_slave_on_the_old_version(tmp_path: Path) -> None:
    master_ctx = make_context(tmp_path / "master", master=True)
    with serve(make_app(master_ctx)) as master_url:
        slave_ctx = make_context(tmp_path / "slave", master=False, master_url=master_url)
        with serve(make_app(slave_ctx)) as slave_url:
            to_master, to_slave = client(master_url), client(slave_url)
            version, text = to_master.get_data()
            master_hash = configuration_server(master_ctx).snapshot().hash

            malformed = text + "Broken\n{\n"
            with pytest.raises(BadRequest, match=rf"<commit by adirac>:{len(text.splitlines()) + 1}: .*never closed"):
                to_master.commit(malformed)
            invalid = text.replace("Port = 9130", "Port = 99999")
            line = invalid.splitlines().index("          Port = 99999") + 1
            with pytest.raises(BadRequest, match=rf"<commit by adirac>:{line}: error: .*JobMonitoring/Port"):
                to_master.commit(invalid)

            time.sleep(3 * POLL)
            assert to_master.get_data() == (version, text)
            assert configuration_server(master_ctx).snapshot().hash == master_hash
            assert to_slave.get_version() == version


def test_refresher_hot_reloads_with_local_layer_on_top(tmp_path: Path) -> None:
    master_ctx = make_context(tmp_path / "master", master=True)
    with serve(make_app(master_ctx)) as master_url:
        local = Config.from_text(
            "Operations\n{\n  Defaults\n  {\n    EMail\n    {\n      Production = me@host\n    }\n  }\n}\n", "host.cfg"
        )
        seen: list[Config] = []
        refresher = ConfigurationRefresher(
            ["http://127.0.0.1:1/Configuration/Server", master_url],  # first one is down: fail over
            local,
            interval=POLL,
            on_change=seen.append,
            client_factory=lambda url: client(url),
        )
        try:
            assert refresher.refresh() is True
            assert seen[-1].get("/Operations/Defaults/EMail/Production") == "me@host"  # local wins
            assert seen[-1].get("/Operations/Defaults/Pilot/Version") == "8.0.50"
            refresher.start()
            to_master = client(master_url)
            _, text = to_master.get_data()
            new = to_master.commit(text.replace("Version = 8.0.50", "Version = 8.0.54"))
            wait_for(lambda: refresher.version == new, timeout=10 * POLL + 2)
            assert seen[-1].get("/Operations/Defaults/Pilot/Version") == "8.0.54"
            assert len(seen) == 2
        finally:
            refresher.stop()
