"""What every compat script does first, in the DIRAC client's venv (not ours): a proxy, DIRAC started.

Imported by dirac_client_calls.py and dirac_client_diset_calls.py, which run as scripts (their folder
is on sys.path). Environment: DIRACSYSCONFIG (the client cfg), X509_USER_PROXY (where the proxy goes),
COMPAT_USER_CERT/COMPAT_USER_KEY (the user's certificate).
"""

import os
import sys


def start_dirac():
    """An RFC proxy made by DIRAC itself from the user's certificate (as dirac-proxy-init would), then
    DIRAC initialised without a CS round trip: the served CS layout for DIRAC 9 is a separate item
    (issue 13.6), the client cfg lists the service URLs itself."""
    from DIRAC.Core.Security.X509Chain import X509Chain

    chain = X509Chain()
    for result in (
        chain.loadChainFromFile(os.environ["COMPAT_USER_CERT"]),
        chain.loadKeyFromFile(os.environ["COMPAT_USER_KEY"]),
        chain.generateProxyToFile(os.environ["X509_USER_PROXY"], 3600, diracGroup="dirac_user"),
    ):
        if not result["OK"]:
            sys.exit(f"proxy: {result['Message']}")
    import DIRAC

    if hasattr(DIRAC, "initialize"):  # DIRAC >= 8.1
        DIRAC.initialize(require_auth=False)
    else:
        from DIRAC.Core.Base.Script import parseCommandLine

        sys.argv = sys.argv[:1]
        parseCommandLine(ignoreErrors=True)


def record(results, name, method, *args):
    """Keep what DIRAC returned; a client that raises (it does on some S_ERRORs) is a failed call."""
    try:
        results[name] = method(*args)
    except Exception as exc:  # the client's own bug path: report it, keep going
        results[name] = {"OK": False, "Message": f"the DIRAC client raised {type(exc).__name__}: {exc}"}
    return results[name]
