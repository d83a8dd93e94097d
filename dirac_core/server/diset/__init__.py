"""DIRAC's DISET transport (``dips://host:port/System/Service``): the same RPC method tables as HTTPS."""
