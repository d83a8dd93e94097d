"""Service runtime: one ASGI process per DIRAC component, HTTPS, REST + DIRAC RPC (`serve`, `app`,
`rpc`, `tls`, `limits`, `engines`), second instances of a service (`modules`) and a whole local
instance (`up`, `local`). The components it runs are declared in `dirac_core.services`.
"""
