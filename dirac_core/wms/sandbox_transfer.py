"""DIRAC's sandbox transfer forms on top of the SandboxStore: ``streamFromClient``/``streamToClient`` and entities.

DIRAC's client (``SandboxStoreClient.uploadFilesAsSandbox``) names an upload ``<md5>.tar.bz2`` or
``[<md5>.tar.bz2, {"Job:<id>": "Input"|"Output"}]`` and sends the whole file with its size; the
service checks the md5, stores the file and answers ``SB:<SE>|<path>``. Here the md5 is checked
first (DIRAC's "Hashes don't match!"), then the file goes through `SandboxStore.upload` like any
other upload: same size limit, sha256 naming, tar check and deduplication.

A download names the file as its storage element URL (``<scheme>://<host>:<port>/<System>/<Service>/<path>``,
what DIRAC's DIPStorage builds from the SE's protocol section), the bare path, or ``SB:<SE>|<path>``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

from dirac_core.auth.caller import Caller
from dirac_core.errors import BadRequest
from dirac_core.wms.sandbox_store import SANDBOX_TYPES, SandboxStore, StoredSandbox

SERVICE_PATH = "WorkloadManagement/SandboxStore"
_MD5_NAME = re.compile(r"^([0-9a-fA-F]{32})(\.tar(?:\.[A-Za-z0-9]+)?)?$")
_ENTITY = re.compile(r"^Job:([1-9][0-9]{0,18})$")


def job_of_entity(entity_id: str) -> int:
    """DIRAC's entity id ``Job:<JobID>`` -> JobID; other entity kinds have no sandboxes here."""
    found = _ENTITY.match(entity_id.strip())
    if found is None:
        raise BadRequest(f"entity {entity_id!r}: sandboxes belong to jobs here, name them Job:<JobID>")
    return int(found.group(1))


def _split_file_id(file_id: Any) -> tuple[str, dict[str, str]]:
    """DIRAC's fileId: a name, or [name, assignTo]."""
    if isinstance(file_id, str):
        return file_id, {}
    if isinstance(file_id, list) and len(file_id) == 2 and isinstance(file_id[0], str):
        assign_to = file_id[1] or {}
        if isinstance(assign_to, Mapping) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in assign_to.items()
        ):
            return file_id[0], dict(assign_to)
    raise BadRequest('fileId must be "<md5>.tar.bz2" or ["<md5>.tar.bz2", {"Job:<JobID>": "Input"}]')


def receive(store: SandboxStore, caller: Caller, file_id: Any, file_size: int, data: bytes) -> StoredSandbox:
    """A sandbox sent by DIRAC's TornadoClient.sendFile: checked in full before anything is stored."""
    name, assign_to = _split_file_id(file_id)
    named = _MD5_NAME.match(name)
    if named is None:
        raise BadRequest(f"fileId {name!r}: DIRAC names a sandbox <md5 of the file>.tar[.bz2]")
    store.check_declared_size(file_size)  # DIRAC refuses on the announced size first
    store.check_declared_size(len(data))
    if len(data) != file_size:
        raise BadRequest(f"received {len(data)} bytes but {file_size} were announced: upload the file again")
    if hashlib.md5(data, usedforsecurity=False).hexdigest() != named.group(1).lower():
        raise BadRequest("Hashes don't match! the file's md5 differs from its name: upload it again")
    if len(assign_to) > 1:
        raise BadRequest("assign an uploaded sandbox to one job at a time: {'Job:<JobID>': 'Input'|'Output'}")
    job_id, sb_type = None, "Input"
    for entity, kind in assign_to.items():
        if kind not in SANDBOX_TYPES:
            raise BadRequest(f"Invalid sandbox type {kind!r}: use Input or Output")
        job_id, sb_type = job_of_entity(entity), kind
    return store.upload(caller, [data], hashlib.sha256(data).hexdigest(), len(data), job_id, sb_type)


def location_of(store: SandboxStore, file_id: str) -> str:
    """The ``SB:<SE>|<path>`` a DIRAC download names (SE URL, bare path or SB: location)."""
    if file_id.startswith("SB:"):
        return file_id
    _, marker, after = file_id.partition(SERVICE_PATH)
    path = after if marker else file_id
    if not path.startswith("/"):
        raise BadRequest(
            f"fileId {file_id!r}: name the sandbox as SB:<SE>|/<path>, /<path> or <SE URL>/{SERVICE_PATH}/<path>"
        )
    return f"SB:{store.se_name}|/{path.lstrip('/')}"  # an SE URL may join its Path and the PFN with //


def assigned_to_entity(store: SandboxStore, caller: Caller, entity_id: str) -> dict[str, list[str]]:
    """DIRAC's getSandboxesAssignedToEntity: {"Input": [SB:...], "Output": [...]}, only types present."""
    job_id = job_of_entity(entity_id)
    found = {sb_type: store.job_sandboxes(caller, job_id, sb_type) for sb_type in SANDBOX_TYPES}
    return {sb_type: locations for sb_type, locations in found.items() if locations}
