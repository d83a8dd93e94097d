"""Schema-management hooks of the WMS databases (see dirac_core/db/installed.py)."""

from __future__ import annotations

from sqlalchemy import Engine

from dirac_core.config.cfg import Config
from dirac_core.db.jobdb import JobDB


def apply_min_job_id(config: Config, section: str, engine: Engine) -> None:
    """``<JobDB section>/MinJobID``: new JobIDs start at least there (migration "reset" keeps ids above the old max)."""
    floor = config.get_int(f"{section}/MinJobID", 0)
    if floor > 0:
        JobDB(engine).ensure_min_job_id(floor)
