"""Device-code login against the built-in test IdP, and client credentials for hosts and pilots."""

from __future__ import annotations

import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from dirac_core.client.http import ServiceClient
from dirac_core.client.login import AuthClient, DevicePrompt, device_login, load_token, save_token
from dirac_core.errors import Forbidden, Unauthorized
from tests.support.instance import LocalInstance, running_instance

AUTH = "Framework/Auth"
DEMO = "Demo/Items"


@pytest.fixture(scope="module")
def instance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalInstance]:
    with running_instance(
        tmp_path_factory.mktemp("login"),
        [AUTH, "tests.support.demo:DEMO"],
        with_test_idp=True,
        idp_only_users={"ghost": "sub-ghost"},
    ) as inst:
        yield inst


def login(instance: LocalInstance, username: str, group: str | None = None) -> str:
    def approve(prompt: DevicePrompt) -> None:
        # The user opens the URL and clicks approve while the CLI polls.
        threading.Timer(1.5, instance.approve_device_login, (prompt.user_code, username)).start()

    token = device_login(instance.url(AUTH), group=group, ca_bundle=instance.ca_file, on_prompt=approve, timeout=60)
    assert token.username == username
    return token.access_token


def test_device_login_gives_a_usable_core_token(instance: LocalInstance, tmp_path: Path) -> None:
    access = login(instance, "alice")
    with ServiceClient(instance.url(DEMO), token=access, ca_bundle=instance.ca_file) as client:
        me = client.rpc("whoami")
        assert (me["username"], me["group"], me["properties"]) == ("alice", "dirac_user", ["NormalUser"])
        item = client.rpc("addItem", "from login")
        assert client.rpc("getItem", item)["Owner"] == "alice"


def test_device_login_with_chosen_group(instance: LocalInstance) -> None:
    access = login(instance, "admin", group="dirac_admin")
    with ServiceClient(instance.url(DEMO), token=access, ca_bundle=instance.ca_file) as client:
        assert "JobAdministrator" in client.rpc("whoami")["properties"]


def test_device_login_refuses_group_the_user_is_not_in(instance: LocalInstance) -> None:
    with pytest.raises(Forbidden, match="not a member of group dirac_admin"):
        login(instance, "alice", group="dirac_admin")


def test_identity_unknown_to_the_registry_is_refused(instance: LocalInstance) -> None:
    with pytest.raises(Forbidden, match=r"subject sub-ghost\) is not registered"):
        login(instance, "ghost")


def test_unknown_idp_user_cannot_be_approved(instance: LocalInstance) -> None:
    with AuthClient(instance.url(AUTH), ca_bundle=instance.ca_file) as client:
        _code, _interval, prompt = client.start_device_login()
    with instance.http() as http:
        reply = http.post(
            f"{instance.idp_url}/device/approve", data={"user_code": prompt.user_code, "username": "nobody"}
        )
    assert reply.status_code == 400


def test_token_file_is_private(instance: LocalInstance, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIRAC_TOKEN_FILE", str(tmp_path / "dot-dirac" / "token"))

    def approve(prompt: DevicePrompt) -> None:
        threading.Timer(1.0, instance.approve_device_login, (prompt.user_code, "bob")).start()

    path = save_token(device_login(instance.url(AUTH), ca_bundle=instance.ca_file, on_prompt=approve, timeout=60))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_token().username == "bob"


def test_pilot_host_client_credentials(instance: LocalInstance) -> None:
    with AuthClient(instance.url(AUTH), ca_bundle=instance.ca_file, cert=instance.host_cert("pilot.localhost")) as c:
        body = c.client_credentials()
    with ServiceClient(instance.url(DEMO), token=body["access_token"], ca_bundle=instance.ca_file) as client:
        me = client.rpc("whoami")
    assert me["isHost"] is True
    assert me["properties"] == ["GenericPilot"]


def test_pilot_user_certificate_chooses_pilot_group(instance: LocalInstance) -> None:
    with AuthClient(instance.url(AUTH), ca_bundle=instance.ca_file, cert=instance.user_cert("pilot")) as c:
        body = c.client_credentials(group="dirac_pilot")
    assert body["dirac_group"] == "dirac_pilot"


def test_client_credentials_without_certificate_401(instance: LocalInstance) -> None:
    with AuthClient(instance.url(AUTH), ca_bundle=instance.ca_file) as c, pytest.raises(Unauthorized):
        c.client_credentials()


def test_dirac_login_and_whoami_cli(instance: LocalInstance, tmp_path: Path) -> None:
    import re
    import subprocess
    import sys

    from tests.support.instance import subprocess_env

    dirac = str(Path(sys.executable).parent / "dirac")
    env = {**subprocess_env(), "DIRAC_TOKEN_FILE": str(tmp_path / "token"), "DIRAC_CFG": str(instance.cfg_file)}
    login_cli = subprocess.Popen([dirac, "login"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert login_cli.stdout is not None
        first = login_cli.stdout.readline()
        match = re.search(r"enter the code (\S+)", first)
        assert match, first
        instance.approve_device_login(match.group(1), "bob")
        out, err = login_cli.communicate(timeout=60)
    finally:
        if login_cli.poll() is None:
            login_cli.kill()
    assert login_cli.returncode == 0, err
    assert "logged in as bob (group dirac_user)" in out
    whoami = subprocess.run([dirac, "whoami"], capture_output=True, text=True, env=env, check=False)
    assert whoami.returncode == 0, whoami.stderr
    assert "username:   bob" in whoami.stdout
