"""A demo component served by real `dirac-core serve` HTTPS subprocesses: REST, RPC, auth, limits."""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from dirac_core.client.http import MULTIPART_THRESHOLD, rpc_form
from dirac_core.errors import BadRequest, Forbidden, NotFound, PayloadTooLarge, Unauthorized
from tests.support.instance import LocalInstance, running_instance

DEMO = "tests.support.demo:DEMO"
NAME = "Demo/Items"


@pytest.fixture(scope="module")
def instance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalInstance]:
    tmp: Path = tmp_path_factory.mktemp("runtime")
    extra = {"Systems": {"Demo": {"Local": {"Services": {"Items": {"MaxRequestSize": "1M"}}}}}}
    with running_instance(tmp, [DEMO], extra_cfg=extra) as inst:
        yield inst


def count(instance: LocalInstance) -> int:
    with instance.client(NAME, user="admin") as client:
        return int(client.rpc("countItems"))


def test_health_and_openapi_without_auth(instance: LocalInstance) -> None:
    with instance.http() as http:
        health = http.get(f"{instance.base_url(NAME)}/health")
        assert health.status_code == 200
        body = health.json()
        assert body["component"] == NAME
        assert body["databases"] == {"Demo/DemoDB": "ok"}
        openapi = http.get(f"{instance.base_url(NAME)}/openapi.json").json()
        assert "/api/Demo/Items/items" in openapi["paths"]
        assert "/Demo/Items" in openapi["paths"]
        assert openapi["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
        assert http.get(f"{instance.base_url(NAME)}/docs").status_code == 200


def test_rest_and_rpc_round_trip(instance: LocalInstance) -> None:
    with instance.client(NAME, user="alice") as client:
        item_id = client.request("POST", "items", json={"Name": "first"})["ItemID"]
        assert client.request("GET", f"items/{item_id}") == {"ItemID": item_id, "Name": "first", "Owner": "alice"}
        rpc_id = client.rpc("addItem", "second")
        assert client.rpc("getItem", rpc_id)["Owner"] == "alice"
        with pytest.raises(NotFound, match="item 999999 does not exist"):
            client.rpc("getItem", 999999)
        with pytest.raises(NotFound, match="item 999999 does not exist"):
            client.request("GET", "items/999999")
        assert client.rpc("whoami")["group"] == "dirac_user"


def test_jencode_types_round_trip(instance: LocalInstance) -> None:
    when = datetime.datetime(2026, 1, 2, 3, 4, 5)
    with instance.client(NAME, user="alice") as client:
        later, day, data = client.rpc("echoTypes", when, datetime.date(2026, 1, 2), b"abc")
    assert later == datetime.datetime(2026, 1, 3, 3, 4, 5)
    assert day == datetime.date(2026, 1, 2)
    assert data == b"cba"


def test_tornado_client_form_post(instance: LocalInstance) -> None:
    """Exactly what DIRAC's TornadoClient posts: form fields method/args/clientVO/clientSetup."""
    form = {"method": "getJobsStatus", "args": json.dumps([[1, 2]]), "clientVO": "dirac_local", "clientSetup": "x"}
    headers = {"Authorization": f"Bearer {instance.token('alice')}"}
    with instance.http() as http:
        reply = http.post(instance.url(NAME), data=form, headers=headers)
    assert reply.status_code == 200
    assert reply.json() == {"OK": True, "Value": {"1": {"Status": "Waiting"}, "2": {"Status": "Waiting"}}}


def test_large_rpc_args_go_multipart_and_round_trip(instance: LocalInstance) -> None:
    """Args above MULTIPART_THRESHOLD are posted as multipart/form-data; the reply is the same."""
    small = rpc_form("getJobsStatus", [[1, 2]])
    assert "files" not in small and small["data"]["method"] == "getJobsStatus"
    value = {f"/vo/data/file{n:06d}": {"Size": n, "SE": "SE-A", "Note": 'é/+&%="x'} for n in range(3000)}
    large = rpc_form("slowEcho", [value, 0])
    assert large["files"]["args"][0] is None and len(large["files"]["args"][1]) > MULTIPART_THRESHOLD
    with instance.client(NAME, user="alice") as client:
        assert client.rpc("slowEcho", value, 0) == value
        # Same call as DIRAC's servers accept it from any HTTP client: a multipart form with plain fields.
        headers = {"Authorization": f"Bearer {instance.token('alice')}"}
        with instance.http() as http:
            reply = http.post(
                instance.url(NAME),
                files={"method": (None, b"getJobsStatus"), "args": (None, json.dumps([[7]]).encode())},
                headers=headers,
            )
            assert reply.status_code == 200 and reply.json()["Value"] == {"7": {"Status": "Waiting"}}
            # args sent as a file upload (with a filename) is refused before the call
            reply = http.post(
                instance.url(NAME),
                data={"method": "getJobsStatus"},
                files={"args": ("a.json", b"[[7]]")},
                headers=headers,
            )
            assert reply.status_code == 400 and "not a file" in reply.json()["Message"]


def test_tornado_client_form_post_with_host_certificate(instance: LocalInstance) -> None:
    form = {"method": "whoami", "args": "[]", "extraCredentials": json.dumps("hosts")}
    with instance.http(cert=instance.host_cert("localhost")) as http:
        reply = http.post(instance.url(NAME), data=form)
    assert reply.status_code == 200, reply.text
    value = reply.json()["Value"]
    assert value["username"] == "localhost"
    assert value["isHost"] is True
    assert "TrustedHost" in value["properties"]


def test_pilot_host_certificate_gets_registry_properties(instance: LocalInstance) -> None:
    with instance.client(NAME, cert=instance.host_cert("pilot.localhost")) as client:
        assert client.rpc("whoami")["properties"] == ["GenericPilot"]
        assert client.request("GET", "items/count")["count"] >= 0


def test_user_certificate_maps_to_default_group(instance: LocalInstance) -> None:
    with instance.client(NAME, cert=instance.user_cert("bob")) as client:
        me = client.rpc("whoami")
    assert (me["username"], me["group"]) == ("bob", "dirac_user")


@pytest.mark.parametrize("args", ["not json", '{"a": 1}', "[1, 2, 3]", '[{"__dCls": "Evil", "__dMod": "os"}]'])
def test_garbage_args_refused_and_nothing_called(instance: LocalInstance, args: str) -> None:
    before = count(instance)
    headers = {"Authorization": f"Bearer {instance.token('alice')}"}
    with instance.http() as http:
        reply = http.post(instance.url(NAME), data={"method": "addItem", "args": args}, headers=headers)
    assert reply.status_code == 400
    body = reply.json()
    assert body["OK"] is False and body["Message"]
    assert count(instance) == before


def test_unknown_method_is_a_clear_error(instance: LocalInstance) -> None:
    with instance.client(NAME, user="alice") as client, pytest.raises(BadRequest, match="unknown method 'nope'"):
        client.rpc("nope")


def test_unexpected_exception_is_500_without_details(instance: LocalInstance) -> None:
    headers = {"Authorization": f"Bearer {instance.token('alice')}"}
    with instance.http() as http:
        reply = http.post(instance.url(NAME), data={"method": "fail", "args": "[]"}, headers=headers)
    assert reply.status_code == 500
    assert reply.json()["OK"] is False
    assert "boom" not in reply.text


def test_connection_usable_after_500(instance: LocalInstance) -> None:
    """A 500 (REST or RPC) ends cleanly: the client's next request on the same httpx client succeeds."""
    headers = {"Authorization": f"Bearer {instance.token('alice')}"}
    base = instance.base_url(NAME)
    with instance.http() as http:
        for _ in range(3):
            reply = http.get(f"{base}/api/{NAME}/fail", headers=headers)
            assert reply.status_code == 500 and "boom" not in reply.text
            assert http.get(f"{base}/api/{NAME}/items/count", headers=headers).status_code == 200
            reply = http.post(instance.url(NAME), data={"method": "fail", "args": "[]"}, headers=headers)
            assert reply.status_code == 500
            assert http.get(f"{base}/api/{NAME}/items/count", headers=headers).status_code == 200


def test_missing_credentials_401_nothing_changed(instance: LocalInstance) -> None:
    before = count(instance)
    with instance.client(NAME) as client:
        with pytest.raises(Unauthorized, match="no credentials"):
            client.rpc("addItem", "x")
        with pytest.raises(Unauthorized, match="no credentials"):
            client.request("POST", "items", json={"Name": "x"})
        with pytest.raises(Unauthorized, match="no credentials"):
            client.request("GET", "items/count")  # the route itself declares no caller
    assert count(instance) == before


def test_expired_token_401(instance: LocalInstance) -> None:
    before = count(instance)
    expired = instance.issuer().issue(
        sub="s", username="alice", vo="v", group="dirac_user", properties=["NormalUser"], lifetime=-600
    )
    with instance.client(NAME, token=expired) as client:
        with pytest.raises(Unauthorized, match="expired"):
            client.rpc("addItem", "x")
        with pytest.raises(Unauthorized, match="expired"):
            client.request("POST", "items", json={"Name": "x"})
    assert count(instance) == before


def test_forged_token_401(instance: LocalInstance, tmp_path: Path) -> None:
    from dirac_core.auth.tokens import TokenIssuer, generate_signing_key

    before = count(instance)
    other_key = generate_signing_key(tmp_path / "other.key")
    forged = TokenIssuer(other_key, instance.issuer().settings).issue(
        sub="s", username="admin", vo="v", group="dirac_admin", properties=["JobAdministrator"]
    )
    with instance.client(NAME, token=forged) as client:
        with pytest.raises(Unauthorized, match="signature"):
            client.rpc("purgeItems")
        with pytest.raises(Unauthorized, match="signature"):
            client.request("DELETE", "items")
    assert count(instance) == before


def test_wrong_audience_token_401(instance: LocalInstance) -> None:
    from dataclasses import replace

    from dirac_core.auth.tokens import TokenIssuer

    before = count(instance)
    issuer = instance.issuer()
    other = TokenIssuer(issuer.key, replace(issuer.settings, audience="Other-Setup"))
    token = other.issue(sub="s", username="admin", vo="v", group="dirac_admin", properties=["JobAdministrator"])
    with instance.client(NAME, token=token) as client, pytest.raises(Unauthorized, match="audience"):
        client.request("DELETE", "items")
    assert count(instance) == before


def test_missing_property_403_nothing_changed(instance: LocalInstance) -> None:
    with instance.client(NAME, user="alice") as client:
        client.rpc("addItem", "keep me")
        before = count(instance)
        with pytest.raises(Forbidden, match="lacks property JobAdministrator"):
            client.rpc("purgeItems")
        with pytest.raises(Forbidden, match="lacks property JobAdministrator"):
            client.request("DELETE", "items")
    assert count(instance) == before
    with instance.client(NAME, user="admin", group="dirac_admin") as admin:
        assert admin.request("DELETE", "items")["deleted"] == before
    assert count(instance) == 0


def test_oversized_request_413(instance: LocalInstance) -> None:
    big = b"x" * (1024 * 1024 + 1)
    with instance.client(NAME, user="alice") as client:
        with pytest.raises(PayloadTooLarge, match="exceeds the 1 MiB limit"):
            client.request("POST", "upload", content=big)

        # No Content-Length: chunked upload, the limit is enforced while streaming.
        def chunks() -> Iterator[bytes]:
            for _ in range(20):
                yield b"y" * 65536

        with instance.http() as http:
            reply = http.post(
                f"{client.api_base}/upload",
                content=chunks(),
                headers={"Authorization": f"Bearer {instance.token('alice')}"},
            )
        assert reply.status_code == 413
        assert "exceeds the 1 MiB limit" in reply.json()["detail"]
        before = count(instance)

        def json_chunks() -> Iterator[bytes]:
            yield b'{"Name": "'
            for _ in range(20):
                yield b"n" * 65536
            yield b'"}'

        with instance.http() as http:
            reply = http.post(
                f"{client.api_base}/items",
                content=json_chunks(),
                headers={"Authorization": f"Bearer {instance.token('alice')}", "Content-Type": "application/json"},
            )
        assert reply.status_code == 413, reply.text
        assert count(instance) == before
        with pytest.raises(PayloadTooLarge):
            client.rpc("addItem", "z" * (1024 * 1024))
        assert client.request("POST", "upload", content=b"ok" * 1000) == {"received": 2000}


def test_streaming_download(instance: LocalInstance, tmp_path: Path) -> None:
    target = tmp_path / "blob"
    with instance.client(NAME, user="alice") as client:
        assert client.download("blob", target, params={"size": 300_000}) == 300_000
    assert target.stat().st_size == 300_000


def test_trusted_host_acts_for_a_user_with_extra_credentials(instance: LocalInstance) -> None:
    alice_dn = instance.config.get("/Registry/Users/alice/DN")
    form = {"method": "whoami", "args": "[]", "extraCredentials": json.dumps([alice_dn, "dirac_user"])}
    with instance.http(cert=instance.host_cert("localhost")) as http:
        reply = http.post(instance.url(NAME), data=form).json()
    assert (reply["Value"]["username"], reply["Value"]["group"]) == ("alice", "dirac_user")
    # A host without TrustedHost cannot.
    before = count(instance)
    form["method"], form["args"] = "addItem", json.dumps(["as alice"])
    with instance.http(cert=instance.host_cert("pilot.localhost")) as http:
        refused = http.post(instance.url(NAME), data=form)
    assert refused.status_code == 403
    assert "lacks property TrustedHost" in refused.json()["Message"]
    assert count(instance) == before


def test_receive_file_streams_raw_rpc_content(instance: LocalInstance, tmp_path: Path) -> None:
    target = tmp_path / "sandbox"
    with instance.client(NAME, user="alice") as client:
        assert client.receive_file(target, 200_000) == 200_000
        with pytest.raises(NotFound, match="no blob of size -1"):
            client.receive_file(tmp_path / "never", -1)
    assert target.read_bytes() == b"z" * 200_000


@pytest.mark.mariadb
def test_demo_on_mariadb(tmp_path: Path, mariadb_database: object) -> None:
    from sqlalchemy.engine import URL

    assert isinstance(mariadb_database, URL)
    with running_instance(tmp_path, [DEMO], db_urls={("Demo", "DemoDB"): mariadb_database}) as inst:
        with inst.http() as http:
            assert http.get(f"{inst.base_url(NAME)}/health").json()["databases"] == {"Demo/DemoDB": "ok"}
        with inst.client(NAME, user="bob") as client:
            item = client.rpc("addItem", "on mariadb")
            assert client.rpc("getItem", item)["Owner"] == "bob"
