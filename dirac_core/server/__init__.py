"""Service runtime: one ASGI process per DIRAC component, HTTPS, REST + DIRAC RPC."""
