"""webhook_url and totp_url that point inside the network are refused at submission (400 with
the reason), unless the operator allows them (ALTO_ALLOWED_TARGETS)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from altostratus.runtimes.local import LocalRuntime, build_local
from altostratus.runtimes.settings import Settings
from altostratus.security.callback_targets import CallbackTargets
from altostratus.security.targets import TargetPolicy
from altostratus.webhooks import CallbackAddressCheck
from tests.support.api_client import ApiClient

FAKE_DNS = {
    "metadata.attacker.example": ["169.254.169.254"],
    "intranet.attacker.example": ["93.184.216.34", "10.0.0.1"],
    "six.attacker.example": ["::1"],
    "hooks.example.com": ["93.184.216.34"],
}


def fake_dns(name: str) -> Sequence[str]:
    if name not in FAKE_DNS:
        raise OSError(f"{name}: unknown host")
    return FAKE_DNS[name]


def _client(tmp_path: Path, allowed: str) -> Iterator[ApiClient]:
    runtime: LocalRuntime = build_local(Settings(data_dir=tmp_path / "data", allowed_targets=allowed))
    # The same check the runtime installs, resolving names with the table above instead of DNS.
    checks = tuple(
        CallbackAddressCheck(CallbackTargets(TargetPolicy.parse(allowed, resolver=fake_dns)))
        if isinstance(check, CallbackAddressCheck)
        else check
        for check in runtime.services.submission_checks
    )
    runtime.services = replace(runtime.services, submission_checks=checks)
    key = runtime.ensure_dev_key()
    yield ApiClient(runtime.api(), key)
    runtime.close()


@pytest.fixture
def client(tmp_path: Path) -> Iterator[ApiClient]:
    yield from _client(tmp_path, "")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        (
            "http://169.254.169.254/latest/meta-data/",
            "169.254.169.254 is a link-local address (the cloud metadata service lives there)",
        ),
        ("http://10.0.0.1/hook", "10.0.0.1 is a private address"),
        ("http://[::1]:8080/hook", "::1 is a loopback address"),
        ("http://127.0.0.1:8000/hook", "127.0.0.1 is a loopback address"),
        (
            "https://metadata.attacker.example/x",
            "metadata.attacker.example resolves to 169.254.169.254, a link-local address "
            "(the cloud metadata service lives there)",
        ),
        (
            "https://intranet.attacker.example/x",
            "intranet.attacker.example resolves to 10.0.0.1, a private address",
        ),
        ("https://six.attacker.example/x", "six.attacker.example resolves to ::1, a loopback address"),
    ],
)
def test_a_webhook_url_inside_the_network_is_a_400_with_the_reason(
    client: ApiClient, url: str, reason: str
) -> None:
    reply = client.post("/v1/run/tasks", json_body={"prompt": "x", "webhook_url": url})
    assert reply.status == 400
    assert reply.json()["detail"].startswith(f"webhook_url is not allowed: {reason}.")
    assert "ALTO_ALLOWED_TARGETS" in reply.json()["detail"]


def test_a_totp_url_inside_the_network_is_a_400_too(client: ApiClient) -> None:
    reply = client.post("/v1/run/tasks", json_body={"prompt": "x", "totp_url": "http://10.0.0.1/otp"})
    assert reply.status == 400
    assert reply.json()["detail"].startswith("totp_url is not allowed: 10.0.0.1 is a private address")


def test_a_public_webhook_url_is_accepted(client: ApiClient) -> None:
    reply = client.post(
        "/v1/run/tasks", json_body={"prompt": "x", "webhook_url": "https://hooks.example.com/x"}
    )
    assert reply.status == 200
    assert reply.json()["run_request"]["webhook_url"] == "https://hooks.example.com/x"


def test_the_operator_allow_list_lifts_the_refusal(tmp_path: Path) -> None:
    for client in _client(tmp_path, "10.0.0.0/8, [::1], metadata.attacker.example"):
        for url in ("http://10.0.0.1/hook", "http://[::1]:8080/hook", "https://metadata.attacker.example/x"):
            reply = client.post("/v1/run/tasks", json_body={"prompt": "x", "webhook_url": url})
            assert reply.status == 200, (url, reply.body)
        # what is not listed stays refused
        reply = client.post(
            "/v1/run/tasks", json_body={"prompt": "x", "webhook_url": "http://169.254.169.254/"}
        )
        assert reply.status == 400


def test_a_bad_allow_list_stops_the_runtime_from_starting(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="neither a host name nor an address/CIDR"):
        build_local(Settings(data_dir=tmp_path / "data", allowed_targets="10.0.0.0/8, not a host!"))
