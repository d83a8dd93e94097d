"""FastAPI dependencies shared by every router: who is calling."""

from __future__ import annotations

from fastapi import Request

from dirac_core.auth.caller import Caller
from dirac_core.errors import Unauthorized


def current_caller(request: Request) -> Caller:
    caller = getattr(request.state, "caller", None)
    if caller is None:
        raise Unauthorized("no credentials: log in with `dirac login`")
    return caller  # type: ignore[no-any-return]
