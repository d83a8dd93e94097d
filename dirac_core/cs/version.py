"""CS versions as DIRAC writes them in /DIRAC/Configuration/Version: UTC timestamps that sort as text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

VERSION_PATH = "/DIRAC/Configuration/Version"
NAME_PATH = "/DIRAC/Configuration/Name"
_FORMAT = "%Y-%m-%d %H:%M:%S.%f"


def format_version(moment: datetime) -> str:
    return moment.strftime(_FORMAT)


def parse_version(version: str) -> datetime | None:
    try:
        return datetime.strptime(version, _FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


def next_version(previous: str | None, now: datetime | None = None) -> str:
    """A version strictly greater than `previous`, even if the clock stepped back (monotonic)."""
    moment = now or datetime.now(UTC)
    last = parse_version(previous) if previous else None
    if last is not None and moment <= last:
        moment = last + timedelta(microseconds=1)
    return format_version(moment)


def file_safe(version: str) -> str:
    """The version as used in backup file names (no spaces)."""
    return version.replace(" ", "_")


def from_file_safe(text: str) -> str:
    return text.replace("_", " ")
