"""The SSRF rule at submit: every form of a non-global target is refused without connecting."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from domain.errors import InvalidWebhookUrl
from domain.webhook_urls import validate_webhook_url


class FakeResolver:
    """DNS as a table; records what it was asked."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    def resolve(self, host: str, port: int) -> Sequence[str]:
        self.asked.append(host)
        if host not in self.answers:
            raise OSError("NXDOMAIN")
        return self.answers[host]


DNS = FakeResolver(
    {
        "hooks.example.com": ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"],
        "mixed.example.com": ["93.184.216.34", "10.0.0.7"],
        "internal.example.com": ["192.168.1.10"],
        "empty.example.com": [],
        "v6private.example.com": ["fd12:3456::1"],
    }
)


def check(url: str, *, allow_private: bool = False) -> None:
    validate_webhook_url(url, resolver=DNS, allow_private=allow_private)


def test_a_global_https_url_passes_with_its_addresses() -> None:
    checked = validate_webhook_url(
        "https://hooks.example.com:8443/in?x=1", resolver=DNS, allow_private=False
    )
    assert checked.host == "hooks.example.com"
    assert checked.port == 8443
    assert [str(a) for a in checked.addresses] == DNS.answers["hooks.example.com"]


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/",  # not https
        "ftp://hooks.example.com/",
        "https://user:pw@hooks.example.com/",  # userinfo
        "https://user@hooks.example.com/",
        "https://hooks.example.com\\@127.0.0.1/",
        "https://hooks.example.com:99999/",
        "https:///nohost",
        "https://localhost/",
        "https://LOCALHOST./",
        "https://api.localhost/",
        "https://nowhere.example.com/",  # does not resolve
        "https://empty.example.com/",
        "https://mixed.example.com/",  # one bad answer is enough
        "https://internal.example.com/",
        "https://v6private.example.com/",
        "https://127.0.0.1/",
        "https://127.0.0.1./",
        "https://2130706433/",  # decimal
        "https://0x7f000001/",  # hex
        "https://0177.0.0.1/",  # octal
        "https://127.1/",  # short
        "https://0x7f.1/",
        "https://0/",
        "https://4294967296/",  # out of range
        "https://10.1.2.3/",
        "https://172.16.0.1/",
        "https://192.168.0.1/",
        "https://100.64.0.1/",  # CGNAT
        "https://100.100.100.200/",  # Alibaba metadata
        "https://169.254.169.254/latest/meta-data/",
        "https://168.63.129.16/",  # Azure WireServer: public but metadata
        "https://224.0.0.1/",  # multicast
        "https://239.255.255.250/",
        "https://240.0.0.1/",  # reserved
        "https://255.255.255.255/",
        "https://0.0.0.0/",
        "https://192.0.2.1/",  # documentation
        "https://[::1]/",
        "https://[::]/",
        "https://[fe80::1]/",
        "https://[fc00::1]/",
        "https://[fd00:ec2::254]/",  # AWS metadata over IPv6
        "https://[::ffff:127.0.0.1]/",  # IPv4-mapped
        "https://[::ffff:93.184.216.34]/",  # mapped, even of a global address
        "https://[::127.0.0.1]/",  # IPv4-compatible
        "https://[2002:7f00:1::]/",  # 6to4 embedding 127.0.0.1
        "https://[2002:c0a8:101::]/",  # 6to4 embedding 192.168.1.1
        "https://[2001:0:4136:e378:8000:63bf:80ff:fffe]/",  # Teredo for 127.0.0.1
        "https://[64:ff9b::a9fe:a9fe]/",  # NAT64 of 169.254.169.254
        "https://[ff02::1]/",  # multicast
    ],
)
def test_refused(url: str) -> None:
    with pytest.raises(InvalidWebhookUrl) as caught:
        check(url)
    assert caught.value.field == "webhook.url"
    assert caught.value.code == "invalid_webhook_url"


def test_numeric_hosts_never_reach_dns() -> None:
    resolver = FakeResolver({})
    for url in ("https://2130706433/", "https://0x7f000001/", "https://127.1/"):
        with pytest.raises(InvalidWebhookUrl, match="loopback"):
            validate_webhook_url(url, resolver=resolver, allow_private=False)
    assert resolver.asked == []


@pytest.mark.parametrize(
    "url",
    [
        "https://[2002:5db8:d822::]/",  # 6to4 of the global 93.184.216.34
        "https://93.184.216.34:8080/",
        "https://1558767650/",  # decimal form of 92.233.x: global
    ],
)
def test_global_forms_pass(url: str) -> None:
    check(url)


def test_allow_private_lifts_the_address_and_scheme_rules_only() -> None:
    for url in ("http://127.0.0.1:8080/", "http://localhost/", "https://internal.example.com/"):
        DNS.answers.setdefault("localhost", ["127.0.0.1"])
        check(url, allow_private=True)
    with pytest.raises(InvalidWebhookUrl):
        check("http://user@127.0.0.1/", allow_private=True)
    with pytest.raises(InvalidWebhookUrl):
        check("https://nowhere.example.com/", allow_private=True)
