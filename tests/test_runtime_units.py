"""Unit edges of the runtime: JEncode, sizes, Registry, token verification."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest

from dirac_core import jencode
from dirac_core.auth.registry import Registry
from dirac_core.auth.settings import TokenSettings
from dirac_core.auth.tokens import TokenIssuer, TokenVerifier, generate_signing_key
from dirac_core.config.cfg import Config
from dirac_core.config.tree import tree_to_cfg
from dirac_core.errors import BadRequest, ConfigError, Forbidden, Unauthorized
from dirac_core.server.limits import parse_size


def test_jencode_matches_dirac_wire_format() -> None:
    text = jencode.encode([datetime.datetime(2026, 3, 4, 5, 6, 7, 999), datetime.date(2026, 3, 4), b"\x00\xff", (1, 2)])
    assert json.loads(text) == [
        {"__dCls": "dt", "obj": "2026-03-04 05:06:07"},
        {"__dCls": "date", "obj": "2026-03-04"},
        {"__dCls": "b64", "obj": "AP8="},
        [1, 2],
    ]
    assert jencode.decode(text)[0] == datetime.datetime(2026, 3, 4, 5, 6, 7)


def test_jencode_refuses_class_instantiation_and_garbage() -> None:
    with pytest.raises(BadRequest, match="not accepted"):
        jencode.decode('{"__dCls": "X509Chain", "__dMod": "DIRAC.Core.Security.X509Chain"}')
    with pytest.raises(BadRequest, match="not valid JEncoded JSON"):
        jencode.decode("[1,")
    with pytest.raises(BadRequest, match="malformed"):
        jencode.decode('{"__dCls": "dt", "obj": "yesterday"}')


def test_parse_size() -> None:
    assert parse_size("65536") == 65536
    assert parse_size("64M") == parse_size("64MiB") == 64 * 1024 * 1024
    assert parse_size("1G") == 1024**3
    with pytest.raises(ConfigError, match="is not a size"):
        parse_size("lots")


REGISTRY = {
    "Registry": {
        "DefaultGroup": ["egi_user"],
        "Users": {
            "jdoe": {"DN": "/O=DIRAC/OU=users/CN=jdoe", "ID": "sub-jdoe", "Email": "j@x"},
            "ann": {"DN": "/O=DIRAC/OU=users/CN=ann", "ID": "sub-ann"},
        },
        "Groups": {
            "egi_user": {"Users": ["jdoe"], "Properties": ["NormalUser"], "VO": "egi"},
            "egi_admin": {"Users": ["jdoe", "ann"], "Properties": ["JobAdministrator", "NormalUser"], "VO": "egi"},
        },
        "Hosts": {
            "ccdiracli07.in2p3.fr": {"DN": "/O=DIRAC/OU=hosts/CN=ccdiracli07.in2p3.fr", "Properties": ["TrustedHost"]}
        },
    }
}


def test_registry_lookups_follow_dirac_layout() -> None:
    registry = Registry(Config.from_text(tree_to_cfg(REGISTRY)))
    jdoe = registry.caller_for_dn("/O=DIRAC/OU=users/CN=jdoe")
    assert (jdoe.username, jdoe.group, jdoe.vo, jdoe.properties) == (
        "jdoe",
        "egi_user",
        "egi",
        frozenset({"NormalUser"}),
    )
    # ann is not in DefaultGroup's users: her only group is used.
    assert registry.user_caller("ann").group == "egi_admin"
    host = registry.caller_for_dn("/O=DIRAC/OU=hosts/CN=ccdiracli07.in2p3.fr")
    assert host.is_host and host.properties == frozenset({"TrustedHost"})
    assert registry.find_user_by_id("sub-ann") == "ann"
    with pytest.raises(Forbidden, match="not a member of group egi_user"):
        registry.user_caller("ann", "egi_user")
    with pytest.raises(Unauthorized, match="is not registered"):
        registry.caller_for_dn("/O=Evil/CN=x")


def test_token_round_trip_and_refusals(tmp_path: Path) -> None:
    settings = TokenSettings(issuer="dirac-core:T", audience="T", lifetime=60, key_file=None, public_key_file=None)
    key = generate_signing_key(tmp_path / "k")
    issuer = TokenIssuer(key, settings)
    verifier = TokenVerifier(key.public_key(), settings)
    caller = verifier.verify(issuer.issue(sub="s", username="u", vo="egi", group="g", properties=["NormalUser"]))
    assert (caller.username, caller.group, caller.properties) == ("u", "g", frozenset({"NormalUser"}))
    with pytest.raises(Unauthorized, match="expired"):
        verifier.verify(issuer.issue(sub="s", username="u", vo="", group="g", properties=[], lifetime=-120))
    with pytest.raises(Unauthorized, match="invalid"):
        verifier.verify("not-a-jwt")
    wrong_issuer = TokenIssuer(key, TokenSettings("someone-else", "T", 60, None, None))
    with pytest.raises(Unauthorized, match="not issued by"):
        verifier.verify(wrong_issuer.issue(sub="s", username="u", vo="", group="g", properties=[]))


def test_health_reports_an_unreachable_database(tmp_path: Path) -> None:
    """In-process app (unit edge): a DB that cannot be reached makes /health 503 and names it."""
    import asyncio

    import httpx

    from dirac_core.server.app import create_app
    from dirac_core.server.serve import build_context
    from dirac_core.services.component import Component

    cfg = tree_to_cfg(
        {
            "DIRAC": {"Setup": "S", "Setups": {"S": {"Demo": "I"}}},
            "Systems": {
                "Demo": {
                    "I": {
                        "Databases": {
                            "GoodDB": {"URL": f"sqlite:///{tmp_path / 'good.sqlite'}"},
                            "DownDB": {"Host": "127.0.0.1", "Port": "1", "User": "x", "DBName": "x"},
                        }
                    }
                }
            },
        }
    )
    component = Component("Demo/Health", 1, databases=(("Demo", "GoodDB"), ("Demo", "DownDB")))
    app = create_app(component, build_context(component, Config.from_text(cfg)))

    async def get_health() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app") as client:
            return await client.get("/health")

    reply = asyncio.run(get_health())
    assert reply.status_code == 503
    body = reply.json()
    assert body["status"] == "degraded"
    assert body["databases"]["Demo/GoodDB"] == "ok"
    assert body["databases"]["Demo/DownDB"].startswith("error: OperationalError")


def test_tls_settings_refuse_a_readable_host_key(tmp_path: Path) -> None:
    from dirac_core.auth.settings import tls_settings

    for name in ("c.pem", "k.pem", "ca.pem"):
        (tmp_path / name).write_text("x")
    (tmp_path / "k.pem").chmod(0o644)
    security = {"CertFile": tmp_path / "c.pem", "KeyFile": tmp_path / "k.pem", "CAFile": tmp_path / "ca.pem"}
    config = Config.from_text(tree_to_cfg({"DIRAC": {"Security": security}}))
    with pytest.raises(ConfigError, match="has mode 0644: run chmod 0600"):
        tls_settings(config)
    (tmp_path / "k.pem").chmod(0o600)
    assert tls_settings(config).key_file == tmp_path / "k.pem"
    (tmp_path / "ca.pem").unlink()
    with pytest.raises(ConfigError, match="does not exist"):
        tls_settings(config)
