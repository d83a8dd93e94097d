"""Python clients of the dirac_core services over HTTPS (REST and DIRAC RPC).

They depend only on the core, so scripts, the pilot and services that call other services (the CS
refresher, the catalog's accounting recorder) all use them. `config` reads the client's cfg (service
URLs, CA bundle); `cs` is the Configuration Service client.
"""
