"""Who is calling and what may they do: tokens, the OIDC IdP client, DIRAC's Registry (users, groups,
properties) and the FastAPI dependencies that give a route its `Caller`. `lab_idp` is the built-in
identity provider of the lab and tests. X.509 certificates themselves are `dirac_core.x509`.
"""
