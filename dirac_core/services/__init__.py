"""Component declarations: thin REST routers and DIRAC RPC tables over the logic layer."""
