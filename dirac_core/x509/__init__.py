"""X.509 material of an instance: its CA, host and user certificates (``dirac-core certs``)."""
