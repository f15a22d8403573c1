"""The address policy on its own (no browser): what may be reached, and why not."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from altostratus.security.targets import TargetPolicy, TargetRefusedError

AWS_DEFAULT = TargetPolicy.parse("", allow_loopback=False, resolver=lambda host: ["93.184.216.34"])


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://169.254.169.254/latest/meta-data/", "cloud metadata"),
        ("http://[fd00:ec2::254]/", "private"),
        ("http://127.0.0.1:8000/", "loopback"),
        ("http://[::1]/", "loopback"),
        ("http://[::ffff:127.0.0.1]/", "loopback"),
        ("http://[::ffff:169.254.169.254]/", "link-local"),
        ("http://[64:ff9b::a9fe:a9fe]/", "link-local"),  # NAT64 form of the metadata address
        ("http://2130706433/", "loopback"),  # 127.0.0.1 as one number
        ("http://0x7f.1/", "loopback"),
        ("http://127.1/", "loopback"),
        ("http://%31%32%37.0.0.1/", "loopback"),
        ("http://127.0.0.1\\@example.com/", "loopback"),  # a browser reads the host as 127.0.0.1
        ("http://localhost/", "loopback"),
        ("http://app.localhost/", "loopback"),
        ("http://10.1.2.3/", "private"),
        ("http://172.16.0.1/", "private"),
        ("http://192.168.1.1/", "private"),
        ("http://100.64.0.1/", "carrier-grade NAT"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://[::]/", "unspecified"),
        ("http://224.0.0.1/", "multicast"),
        ("http://255.255.255.255/", "broadcast"),
        ("http://240.0.0.1/", "reserved"),
        ("file:///etc/passwd", "only http"),
        ("gopher://example.com/", "only http"),
    ],
)
def test_non_public_targets_are_refused_by_default(url: str, words: str) -> None:
    with pytest.raises(TargetRefusedError) as refused:
        AWS_DEFAULT.check_url(url)
    assert words in refused.value.reason


def test_public_addresses_and_names_pass() -> None:
    AWS_DEFAULT.check_url("https://example.com/path?q=1")
    AWS_DEFAULT.check_url("http://8.8.8.8/")
    AWS_DEFAULT.check_url("http://[2001:4860:4860::8888]/")


def test_a_name_is_refused_when_any_address_it_resolves_to_is_refused() -> None:
    policy = TargetPolicy.parse("", resolver=lambda host: ["93.184.216.34", "10.0.0.5"])
    reason = policy.url_refusal("http://sneaky.example/")
    assert reason == "sneaky.example resolves to 10.0.0.5, a private address"


def test_exceptions_open_hosts_and_cidrs() -> None:
    policy = TargetPolicy.parse(
        "10.20.0.0/16, intranet, *.corp.example, fd00::/8", resolver=lambda host: ["10.99.0.1"]
    )
    policy.check_url("http://10.20.3.4/")
    policy.check_url("http://intranet/")  # a listed name passes whatever it resolves to
    policy.check_url("http://wiki.corp.example/")
    policy.check_url("http://[fd00::1]/")
    with pytest.raises(TargetRefusedError):
        policy.check_url("http://corp.example/")  # the wildcard is for subdomains only
    with pytest.raises(TargetRefusedError):
        policy.check_url("http://10.21.0.1/")


def test_the_embedded_default_opens_loopback_only() -> None:
    embedded = TargetPolicy.parse("", allow_loopback=True)
    embedded.check_url("http://127.0.0.1:8000/")
    embedded.check_url("http://[::1]:8000/")
    embedded.check_url("http://localhost:8000/")
    with pytest.raises(TargetRefusedError):
        embedded.check_url("http://169.254.169.254/")
    assert "loopback" in embedded.describe()


def test_a_bad_setting_names_the_bad_entry() -> None:
    with pytest.raises(ValueError, match="'not a host!'"):
        TargetPolicy.parse("10.0.0.0/8, not a host!")


def test_unresolvable_names_are_left_to_the_browser() -> None:
    def fail(host: str) -> list[str]:
        raise OSError("no such host")

    TargetPolicy.parse("", resolver=fail).check_url("http://nowhere.invalid/")
    offline = TargetPolicy.parse("", allow_loopback=True, allow_public=False, resolver=fail)
    assert offline.url_refusal("http://nowhere.invalid/") is not None


@given(st.ip_addresses())
def test_every_address_gets_a_decision_that_matches_its_kind(address: ipaddress._BaseAddress) -> None:
    host = f"[{address}]" if address.version == 6 else str(address)
    reason = AWS_DEFAULT.url_refusal(f"http://{host}/")
    mapped = getattr(address, "ipv4_mapped", None)
    plain = mapped or address
    if plain.is_loopback or plain.is_private or plain.is_link_local or plain.is_multicast:
        assert reason is not None
    if reason is None:
        assert plain.is_global


def test_runtime_defaults_open_loopback_only_on_the_embedded_server() -> None:
    assert TargetPolicy.for_runtime("embedded", "").url_refusal("http://127.0.0.1:8000/") is None
    aws = TargetPolicy.for_runtime("aws", "")
    assert aws.url_refusal("http://127.0.0.1:8000/") == "127.0.0.1 is a loopback address"
    assert TargetPolicy.for_runtime("aws", "127.0.0.1").url_refusal("http://127.0.0.1/") is None
