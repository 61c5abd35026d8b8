"""Which webhook targets are allowed: the SSRF rule.

A webhook makes our servers send requests to a URL the caller chose, so without a rule a caller
could reach our loopback, our private network or the cloud metadata service. The rule, checked at
submit (`validate_webhook_url`) and again by the delivery transport on the address it actually
connects to (so a DNS answer that changes between the two, "rebinding", gains nothing):

- `https` only; no userinfo (`user@host` hides the real host from careless readers); any port.
- The host must resolve, and EVERY address it resolves to must be globally routable: not
  loopback, private, link-local, shared/CGNAT (100.64/10), multicast (which `ipaddress.is_global`
  lets through), reserved, unspecified, or a cloud metadata address. IPv6 forms that carry an IPv4
  address (IPv4-mapped, IPv4-compatible) are refused outright; 6to4, Teredo and NAT64 addresses
  are judged by the IPv4 address they embed.
- IPv4 written the ways `inet_aton` and browsers accept — decimal `2130706433`, hex
  `0x7f000001`, octal `0177.0.0.1`, short `127.1` — is read as the address it means, then judged.
- `localhost` and `*.localhost` are refused by name (resolvers answer them locally).

`allow_private` (WEBHOOK_ALLOW_PRIVATE, development only) allows `http` and any address; the
URL must still be well formed and resolve. Resolution is a port (`HostResolver`) so tests use a
double and the rule itself stays pure.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

from domain.errors import InvalidWebhookUrl

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class HostResolver(Protocol):
    def resolve(self, host: str, port: int) -> Sequence[str]:
        """Every address `host` resolves to (empty, or OSError, when it does not resolve)."""
        ...


METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, DigitalOcean, OpenStack
        "169.254.170.2",  # AWS ECS task metadata
        "100.100.100.200",  # Alibaba Cloud
        "168.63.129.16",  # Azure WireServer (a public address!)
        "192.0.0.192",  # Oracle Cloud
        "fd00:ec2::254",  # AWS over IPv6
    )
)
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NUMERIC_LABEL = re.compile(r"0x[0-9a-f]*|[0-9]+", re.ASCII)  # used whole
_UNSAFE_CHARS = re.compile(r"[\s\\\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class CheckedUrl:
    url: str
    host: str
    port: int
    addresses: tuple[IPAddress, ...]


def forbidden_reason(address: IPAddress) -> str | None:
    """Why `address` may not be a webhook target, or None when it may."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return "an IPv4-mapped IPv6 address"
        if address.scope_id:
            return "a scoped IPv6 address"
        embedded = _embedded_ipv4(address)
        if embedded is not None and forbidden_reason(embedded):
            return f"an IPv6 address embedding {embedded}"
    checks = (
        (address in METADATA_ADDRESSES, "a cloud metadata address"),
        (address.is_unspecified, "unspecified"),
        (address.is_loopback, "loopback"),
        (address.is_link_local, "link-local"),
        (address.is_multicast, "multicast"),
        (address in _CGNAT, "shared (CGNAT) address space"),
        (address.is_private, "private"),
        (address.is_reserved, "reserved"),
    )
    for hit, reason in checks:
        if hit:
            return reason
    if isinstance(address, ipaddress.IPv6Address) and address in _IPV4_COMPATIBLE:
        return "an IPv4-compatible IPv6 address"
    if not address.is_global:
        return "not globally routable"
    return None


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def check_address(address: str, *, allow_private: bool) -> IPAddress:
    """The parsed address, or InvalidWebhookUrl saying why it may not be connected to."""
    parsed = ipaddress.ip_address(address)
    reason = None if allow_private else forbidden_reason(parsed)
    if reason:
        raise InvalidWebhookUrl(f"webhook.url resolves to {parsed}, which is {reason}.")
    return parsed


def parse_ipv4_loosely(host: str) -> ipaddress.IPv4Address | None:
    """`127.1`, `2130706433`, `0x7f000001`, `0177.0.0.1` → 127.0.0.1 (None: not numeric).

    A host whose last label is numeric is an IPv4 address to browsers and to `inet_aton`, so it is
    judged as one; one that is numeric but out of range is refused rather than sent to DNS."""
    labels = host.split(".")
    if not labels or not _NUMERIC_LABEL.fullmatch(labels[-1]):
        return None
    if len(labels) > 4 or not all(_NUMERIC_LABEL.fullmatch(label) for label in labels):
        raise InvalidWebhookUrl("webhook.url has a malformed numeric host.")
    values = [_parse_ipv4_part(label) for label in labels]
    *head, last = values
    if any(v > 255 for v in head) or last >= 256 ** (5 - len(values)):
        raise InvalidWebhookUrl("webhook.url has an out-of-range numeric host.")
    number = last
    for index, value in enumerate(head):
        number += value << (8 * (3 - index))
    return ipaddress.IPv4Address(number)


def _parse_ipv4_part(label: str) -> int:
    if label.startswith("0x"):
        return int(label[2:] or "0", 16)
    if len(label) > 1 and label.startswith("0"):
        try:
            return int(label, 8)
        except ValueError:
            raise InvalidWebhookUrl("webhook.url has a malformed numeric host.") from None
    return int(label)


def literal_address(host: str) -> IPAddress | None:
    """The address a URL host denotes literally (IPv6 without brackets, or any IPv4 form)."""
    if ":" in host:
        try:
            return ipaddress.IPv6Address(host)
        except ValueError:
            raise InvalidWebhookUrl("webhook.url has a malformed IPv6 host.") from None
    return parse_ipv4_loosely(host)


def validate_webhook_url(url: str, *, resolver: HostResolver, allow_private: bool) -> CheckedUrl:
    """The submit-time check: a 422 `invalid_webhook_url` naming `webhook.url`, or the URL with
    the addresses it resolved to. Blocking (it resolves): call it off the event loop."""
    if _UNSAFE_CHARS.search(url):
        raise InvalidWebhookUrl("webhook.url contains whitespace, control characters or '\\'.")
    parts = urlsplit(url)
    allowed_schemes = {"https", "http"} if allow_private else {"https"}
    if parts.scheme not in allowed_schemes:
        raise InvalidWebhookUrl("webhook.url must be an https URL.")
    if "@" in parts.netloc:
        raise InvalidWebhookUrl("webhook.url may not contain a user name or password.")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise InvalidWebhookUrl("webhook.url has no host.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise InvalidWebhookUrl("webhook.url has an invalid port.") from None
    if not allow_private and (host == "localhost" or host.endswith(".localhost")):
        raise InvalidWebhookUrl("webhook.url may not point at localhost.")
    literal = literal_address(host)
    if literal is not None:
        found: Sequence[str] = [str(literal)]
    else:
        try:
            found = resolver.resolve(host, port)
        except (OSError, UnicodeError):
            found = []
        if not found:
            raise InvalidWebhookUrl(f"webhook.url's host {host!r} does not resolve.")
    addresses = tuple(check_address(a, allow_private=allow_private) for a in found)
    return CheckedUrl(url=url, host=host, port=port, addresses=addresses)
