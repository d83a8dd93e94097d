"""Run one component as an HTTPS server (``dirac-core serve System/Service --cfg dirac.cfg``),
and over DISET (``dips://``) when ``<component section>/DisetPort`` or ``--diset-port`` is given.

The port comes from ``<component section>/Port`` (default: the component's DIRAC port), TLS from
``/DIRAC/Security``. uvicorn handles SIGTERM/SIGINT: it stops accepting, lets in-flight requests
finish (up to ``GracefulShutdownTimeout`` seconds, default 30) and exits with status 0.
"""

from __future__ import annotations

import logging
import signal
import ssl
from collections.abc import Callable
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI

from dirac_core.auth.settings import tls_settings
from dirac_core.config.cfg import Config
from dirac_core.config.paths import component_section
from dirac_core.contract.options import service_option
from dirac_core.server.app import create_app, max_request_size
from dirac_core.server.diset.service import DisetServer, DisetSettings
from dirac_core.server.engines import EngineCache
from dirac_core.server.tls import TLSInfoProtocol, server_ssl_context
from dirac_core.services.component import Component, ComponentContext
from dirac_core.x509.certs import certificate_info, load_certificate


def host_http_client_factory(config: Config) -> Callable[[str], httpx.Client]:
    """Outgoing HTTPS with the host certificate, trusting the instance CAs (a CS slave -> its master)."""

    def factory(_url: str) -> httpx.Client:
        settings = tls_settings(config)  # read when first used: components without TLS peers never need it
        context = ssl.create_default_context(
            cafile=str(settings.ca_file) if settings.ca_file else None,
            capath=str(settings.ca_path) if settings.ca_path else None,
        )
        context.load_cert_chain(str(settings.cert_file), str(settings.key_file))
        return httpx.Client(verify=context, timeout=30.0)

    return factory


def build_context(component: Component, config: Config) -> ComponentContext:
    return ComponentContext(
        config=config,
        component=component.name,
        section=component_section(config, component.name),
        engine_factory=EngineCache(config),
        extras={"http_client_factory": host_http_client_factory(config)},
    )


def serve(
    component: Component,
    config: Config,
    *,
    host: str | None = None,
    port: int | None = None,
    diset_port: int | None = None,
    log_level: str = "info",
) -> None:
    ctx = build_context(component, config)
    settings = tls_settings(config)
    server_ssl_context(settings)  # fail fast on unreadable cert/key/CA
    _warn_if_expiring(settings.cert_file)
    app = create_app(component, ctx)
    bind_host = host or ctx.declared(service_option("Host")) or str(service_option("Host").default)
    bind_port = port if port is not None else config.get_int(f"{ctx.section}/Port", component.default_port)
    grace_option = service_option("GracefulShutdownTimeout")
    grace = config.get_int(f"{ctx.section}/{grace_option.name}", int(str(grace_option.default)))
    uv_config = uvicorn.Config(
        app,
        host=bind_host,
        port=bind_port,
        http=TLSInfoProtocol,
        ssl_certfile=str(settings.cert_file),
        ssl_keyfile=str(settings.key_file),
        ssl_context_factory=lambda _config, _default: server_ssl_context(settings),
        timeout_graceful_shutdown=grace,
        log_level=log_level,
        lifespan="off",
        proxy_headers=False,
        server_header=False,
    )
    _configure_logging(log_level)
    logging.getLogger("uvicorn.error").info(
        "dirac-core serve: %s at https://%s:%d/%s", component.name, bind_host, bind_port, component.name
    )
    if diset_port is None:
        diset_port = config.get_int(f"{ctx.section}/DisetPort", 0) or None
    diset = None if diset_port is None else start_diset(app, ctx, bind_host, diset_port)
    # uvicorn re-raises the stop signal once it has drained; absorbing it makes a graceful stop exit 0.
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop_signal, lambda _signum, _frame: None)
    try:
        uvicorn.Server(uv_config).run()
    finally:
        if diset is not None:
            diset.shutdown()  # stops accepting; calls in flight end on their own (daemon threads)
            diset.server_close()
        engines = ctx.engine_factory
        if isinstance(engines, EngineCache):
            engines.dispose()


def start_diset(app: FastAPI, ctx: ComponentContext, host: str, port: int) -> DisetServer:
    """The DISET listener of the component, serving the app's RPC table with the app's authenticator."""
    settings = DisetSettings(
        component_name=app.state.component.name,
        table=app.state.rpc_table,
        authenticator=app.state.authenticator,
        ssl_context=server_ssl_context(tls_settings(ctx.config)),
        max_message_size=max_request_size(ctx),
    )
    server = DisetServer((host, port), settings)
    server.start_in_thread()
    logging.getLogger("uvicorn.error").info(
        "dirac-core serve: %s at dips://%s:%d/%s", settings.component_name, host, server.port, settings.component_name
    )
    return server


def _configure_logging(level: str) -> None:
    """dirac_core's own records (RPC audit lines, errors) next to uvicorn's, on stderr."""
    logger = logging.getLogger("dirac_core")
    logger.setLevel(level.upper())
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
        logger.propagate = False


def _warn_if_expiring(cert_file: Path, days: int = 30) -> None:
    info = certificate_info(load_certificate(cert_file))
    if info.days_left < days:
        logging.getLogger("dirac_core.server").warning(
            "host certificate %s expires in %d days: renew it (dirac-core certs host)", cert_file, info.days_left
        )
