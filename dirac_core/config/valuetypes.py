"""Value types of CS options: each checker returns None when the raw CFG string is fine, else the fix."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

Checker = Callable[[str], "str | None"]

_BOOLEANS = {"yes", "no", "true", "false"}
_SERVICE_SCHEMES = {"https", "dips", "http"}


def _as_is(raw: str) -> str:
    return raw


def _redact_db_url(raw: str) -> str:
    try:
        return make_url(raw.strip()).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparsable URL>"


@dataclass(frozen=True)
class ValueType:
    name: str
    check: Checker
    display: Callable[[str], str] = _as_is  # how a bad value is quoted back: never a secret


def _items(raw: str) -> list[str]:
    return [item.strip() for item in raw.split(",") if item.strip()]


def _check_int(raw: str) -> str | None:
    return None if raw.strip().isdigit() else "write a whole number, e.g. 300 (no unit, no comment after it)"


def _check_number(raw: str) -> str | None:
    try:
        ok = float(raw.strip()) >= 0
    except ValueError:
        ok = False
    return None if ok else "write a number of seconds, e.g. 300 or 0.5"


def _check_port(raw: str) -> str | None:
    value = raw.strip()
    if value.isdigit() and 1 <= int(value) <= 65535:
        return None
    return "write a TCP port number between 1 and 65535, e.g. 9135"


def _check_bool(raw: str) -> str | None:
    return None if raw.strip().lower() in _BOOLEANS else "write yes or no"


def _url_problem(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in _SERVICE_SCHEMES:
        return f"{url!r} is not a service URL: write https://<host>:<port>/<System>/<Service>"
    try:
        port = parts.port
    except ValueError:
        port = None
    if not parts.hostname or port is None:
        return f"{url!r} lacks a host or port: write https://<host>:<port>/<System>/<Service>"
    if parts.password:
        return f"{url!r} carries a password: remove it, credentials never go into the CS"
    return None


def _check_url(raw: str) -> str | None:
    if len(_items(raw)) != 1:
        return "give exactly one URL https://<host>:<port>/<System>/<Service>"
    return _url_problem(raw.strip())


def _check_url_list(raw: str) -> str | None:
    items = _items(raw)
    if not items:
        return "give at least one URL https://<host>:<port>/<System>/<Service>"
    for item in items:
        problem = _url_problem(item)
        if problem:
            return problem
    return None


def _check_db_url(raw: str) -> str | None:
    try:
        url = make_url(raw.strip())
    except ArgumentError:
        return "write an SQLAlchemy URL, e.g. sqlite:////opt/dirac/db/JobDB.sqlite"
    if url.password:
        return "remove the password from the URL: use Host/Port/User/DBName and PasswordFile (a 0600 file)"
    return None


def _check_absolute_path(raw: str) -> str | None:
    return (
        None
        if raw.strip().startswith("/")
        else "write an absolute path, e.g. /opt/dirac/etc/grid-security/hostcert.pem"
    )


def _check_nonempty(raw: str) -> str | None:
    return None if raw.strip() else "give a value"


INT = ValueType("integer", _check_int)
NUMBER = ValueType("number", _check_number)
PORT = ValueType("port", _check_port)
BOOL = ValueType("boolean", _check_bool)
URL = ValueType("service URL", _check_url)
URL_LIST = ValueType("list of service URLs", _check_url_list)
DB_URL = ValueType("database URL", _check_db_url, _redact_db_url)
PATH = ValueType("absolute path", _check_absolute_path)
STRING = ValueType("string", _check_nonempty)
