"""FastAPI dependency giving routers the authenticated caller.

The runtime's authentication middleware verifies the token or certificate and sets
``request.state.caller``; routers only declare ``caller: Caller = Depends(current_caller)``.
"""

from __future__ import annotations

from fastapi import Request

from dirac_core.auth.caller import Caller
from dirac_core.errors import Unauthorized


def current_caller(request: Request) -> Caller:
    caller = getattr(request.state, "caller", None)
    if not isinstance(caller, Caller):
        raise Unauthorized("no credentials: log in with `dirac login`")
    return caller
