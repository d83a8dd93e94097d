"""X.509 material of an instance: its CA, host and user certificates and proxies (``dirac-core certs``).

Named for what it handles; who a caller is and what it may do is `dirac_core.auth`.
"""
