"""SandboxMetadataDB: who owns which sandbox file and which jobs use it (DIRAC's ``sb_*`` tables)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    UniqueConstraint,
    and_,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from dirac_core.db.base import BaseDB, inserted_id
from dirac_core.db.installed import DatabaseSpec
from dirac_core.db.types import MYSQL_TABLE_ARGS, datetime_col, uint, utcnow

metadata = MetaData()
# Registered under the dirac_core.databases entry points (pyproject.toml).
DATABASE = DatabaseSpec("SandboxMetadataDB", "WorkloadManagement", __name__)

sb_Owners = Table(  # noqa: N816 - DIRAC table name
    "sb_Owners",
    metadata,
    Column("OwnerId", uint(), primary_key=True, autoincrement=True),
    Column("Owner", String(64), nullable=False),
    Column("OwnerGroup", String(64), nullable=False),
    Column("VO", String(64), nullable=False),
    UniqueConstraint("Owner", "OwnerGroup", "VO", name="unique_owner_group_vo"),
    **MYSQL_TABLE_ARGS,
)

sb_SandBoxes = Table(  # noqa: N816 - DIRAC table name
    "sb_SandBoxes",
    metadata,
    Column("SBId", uint(), primary_key=True, autoincrement=True),
    Column("OwnerId", uint(), nullable=False),
    Column("SEName", String(64), nullable=False),
    Column("SEPFN", String(512), nullable=False),
    Column("Bytes", BigInteger, nullable=False, server_default="0"),
    Column("RegistrationTime", datetime_col(), nullable=False),
    Column("LastAccessTime", datetime_col(), nullable=False),
    Column("Assigned", Boolean, nullable=False, server_default="0"),
    Index("SBOwner", "OwnerId"),
    UniqueConstraint("SEName", "SEPFN", name="Location"),
    **MYSQL_TABLE_ARGS,
)

sb_EntityMapping = Table(  # noqa: N816 - DIRAC table name
    "sb_EntityMapping",
    metadata,
    Column("SBId", uint(), nullable=False),
    Column("EntityId", String(128), nullable=False),
    Column("Type", String(64), nullable=False),
    PrimaryKeyConstraint("SBId", "EntityId", "Type", name="Mapping"),
    Index("Entity", "EntityId"),
    Index("SBIndex", "SBId"),
    **MYSQL_TABLE_ARGS,
)


def job_entity(job_id: int) -> str:
    """DIRAC's entity id for a job's sandboxes."""
    return f"Job:{job_id}"


class SandboxMetadataDB(BaseDB):
    metadata = metadata

    def _owner_id(self, conn: Connection, owner: str, group: str, vo: str) -> int:
        where = and_(sb_Owners.c.Owner == owner, sb_Owners.c.OwnerGroup == group, sb_Owners.c["VO"] == vo)
        found = conn.execute(select(sb_Owners.c.OwnerId).where(where)).scalar()
        if found is not None:
            return int(found)
        try:
            with conn.begin_nested():
                return int(inserted_id(conn.execute(insert(sb_Owners).values(Owner=owner, OwnerGroup=group, VO=vo))))
        except IntegrityError:  # registered concurrently
            return int(conn.execute(select(sb_Owners.c.OwnerId).where(where)).scalar_one())

    def register_sandbox(self, owner: str, group: str, vo: str, se_name: str, pfn: str, size: int) -> tuple[int, bool]:
        """DIRAC's registerAndGetSandbox: (SBId, newly registered). Same content = same PFN = same sandbox."""
        now = utcnow()
        with self.engine.begin() as conn:
            owner_id = self._owner_id(conn, owner, group, vo)
            existing = conn.execute(
                select(sb_SandBoxes.c.SBId).where(
                    and_(sb_SandBoxes.c.SEName == se_name, sb_SandBoxes.c["SEPFN"] == pfn)
                )
            ).scalar()
            if existing is not None:
                conn.execute(update(sb_SandBoxes).where(sb_SandBoxes.c.SBId == existing).values(LastAccessTime=now))
                return int(existing), False
            sb_id = inserted_id(
                conn.execute(
                    insert(sb_SandBoxes).values(
                        OwnerId=owner_id,
                        SEName=se_name,
                        SEPFN=pfn,
                        Bytes=size,
                        RegistrationTime=now,
                        LastAccessTime=now,
                        Assigned=False,
                    )
                )
            )
            return int(sb_id), True

    def get_sandbox(self, se_name: str, pfn: str) -> dict[str, Any] | None:
        stmt = (
            select(sb_SandBoxes, sb_Owners.c.Owner, sb_Owners.c.OwnerGroup, sb_Owners.c.VO)
            .join(sb_Owners, sb_Owners.c.OwnerId == sb_SandBoxes.c.OwnerId)
            .where(and_(sb_SandBoxes.c.SEName == se_name, sb_SandBoxes.c["SEPFN"] == pfn))
        )
        with self.engine.connect() as conn:
            row = conn.execute(stmt).mappings().first()
        return None if row is None else dict(row)

    def assign(self, mappings: Sequence[tuple[int, str, str]]) -> None:
        """Assign (SBId, EntityId, Type) in one transaction; assigning twice is harmless."""
        if not mappings:
            return
        unique = list(dict.fromkeys(mappings))
        with self.engine.begin() as conn:
            existing = {
                (int(s), str(e), str(t))
                for s, e, t in conn.execute(
                    select(sb_EntityMapping.c.SBId, sb_EntityMapping.c.EntityId, sb_EntityMapping.c.Type).where(
                        sb_EntityMapping.c.EntityId.in_([m[1] for m in unique])
                    )
                )
            }
            rows = [{"SBId": s, "EntityId": e, "Type": t} for s, e, t in unique if (s, e, t) not in existing]
            if rows:
                conn.execute(insert(sb_EntityMapping), rows)
            conn.execute(
                update(sb_SandBoxes)
                .where(sb_SandBoxes.c.SBId.in_([m[0] for m in unique]))
                .values(Assigned=True, LastAccessTime=utcnow())
            )

    def sandboxes_of(self, entity_id: str, sb_type: str | None = None) -> list[dict[str, Any]]:
        stmt = (
            select(
                sb_SandBoxes.c.SBId,
                sb_SandBoxes.c.SEName,
                sb_SandBoxes.c.SEPFN,
                sb_SandBoxes.c.Bytes,
                sb_EntityMapping.c.Type,
                sb_Owners.c.Owner,
                sb_Owners.c.OwnerGroup,
                sb_Owners.c.VO,
            )
            .join(sb_EntityMapping, sb_EntityMapping.c.SBId == sb_SandBoxes.c.SBId)
            .join(sb_Owners, sb_Owners.c.OwnerId == sb_SandBoxes.c.OwnerId)
            .where(sb_EntityMapping.c.EntityId == entity_id)
            .order_by(sb_SandBoxes.c.SBId)
        )
        if sb_type is not None:
            stmt = stmt.where(sb_EntityMapping.c.Type == sb_type)
        with self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(stmt).mappings()]

    def unassign(self, entity_ids: Sequence[str]) -> int:
        if not entity_ids:
            return 0
        with self.engine.begin() as conn:
            return int(
                conn.execute(delete(sb_EntityMapping).where(sb_EntityMapping.c.EntityId.in_(list(entity_ids)))).rowcount
            )

    def count_sandboxes(self) -> int:
        with self.engine.connect() as conn:
            return len(conn.execute(select(sb_SandBoxes.c.SBId)).all())
