"""Webhooks at the HTTP edge, in process: the submit-time gate (before any charge), the per-key
secret, and the owner-scoped delivery log."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace

import pytest
from litestar.testing import TestClient

from entrypoints.http.app import create_app
from tests.fakes.clock import FrozenClock
from tests.http.conftest import SETTINGS, Fakes, bearer, mint

SUBMIT = "/v1/images/generations"
Client = TestClient  # type: ignore[type-arg]
PUBLIC = "93.184.215.14"


class RecordingResolver:
    """DNS as a test double: every name resolves to `answer`; each question is recorded."""

    def __init__(self, answer: Sequence[str] = (PUBLIC,)) -> None:
        self.answer = list(answer)
        self.asked: list[str] = []

    def resolve(self, host: str, port: int) -> Sequence[str]:
        self.asked.append(host)
        return self.answer


@pytest.fixture
def resolver() -> RecordingResolver:
    return RecordingResolver()


def client_for(fakes: Fakes, resolver: RecordingResolver, signing_key: str | None) -> Client:
    settings = replace(SETTINGS, webhook_signing_key=signing_key)
    fakes.resolver = resolver
    return TestClient(create_app(settings, container_factory=fakes.container, clock=FrozenClock()))


@pytest.fixture
def hooks(fakes: Fakes, resolver: RecordingResolver) -> Iterator[Client]:
    with client_for(fakes, resolver, "test-signing-key") as client:
        yield client


def balance(fakes: Fakes) -> list[int]:
    return list(fakes.quota.balances.values())


def submit(client: Client, key: str, webhook: object) -> dict[str, object]:
    answer = client.post(SUBMIT, json={"prompt": "p", "webhook": webhook}, headers=bearer(key))
    return {**answer.json(), "http_status": answer.status_code}


def test_without_a_signing_key_a_webhook_is_422_webhooks_disabled_and_costs_nothing(
    fakes: Fakes, resolver: RecordingResolver
) -> None:
    with client_for(fakes, resolver, None) as client:
        key = mint(client)
        answer = submit(client, key, {"url": "https://example.com/hook"})
        assert (answer["http_status"], answer["code"]) == (422, "webhooks_disabled")
        assert balance(fakes) == [10] and fakes.jobs.jobs == {}
        secret = client.get("/v1/webhooks/secret", headers=bearer(key))
        assert secret.json()["code"] == "webhooks_disabled"


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/hook",  # not https
        "https://127.0.0.1/hook",
        "https://2130706433/hook",  # decimal 127.0.0.1
        "https://0x7f000001/hook",  # hex
        "https://0177.0.0.1/hook",  # octal
        "https://127.1/hook",  # short
        "https://[::ffff:127.0.0.1]/hook",  # IPv4-mapped IPv6
        "https://[::1]/hook",
        "https://localhost/hook",
        "https://api.localhost/hook",
        "https://169.254.169.254/latest/meta-data",  # cloud metadata
        "https://10.0.0.1/hook",
        "https://100.64.0.1/hook",  # CGNAT
        "https://224.0.0.1/hook",  # multicast
        "https://user@example.com/hook",
    ],
)
def test_each_ssrf_form_is_422_naming_webhook_url_and_charges_nothing(
    hooks: Client, fakes: Fakes, resolver: RecordingResolver, url: str
) -> None:
    key = mint(hooks)
    answer = submit(hooks, key, {"url": url})
    assert (answer["http_status"], answer["code"]) == (422, "invalid_webhook_url")
    assert answer["errors"] == [{"field": "webhook.url", "message": answer["detail"]}]
    assert balance(fakes) == [10] and fakes.jobs.jobs == {} and fakes.queue.sent == []
    assert resolver.asked in ([], ["example.com"])  # literal addresses are never looked up


def test_a_name_resolving_to_a_private_address_is_refused(
    hooks: Client, fakes: Fakes, resolver: RecordingResolver
) -> None:
    resolver.answer = [PUBLIC, "192.168.1.5"]  # one bad answer among good ones is enough
    answer = submit(hooks, mint(hooks), {"url": "https://hooks.example.com/x"})
    assert (answer["http_status"], answer["code"]) == (422, "invalid_webhook_url")
    assert balance(fakes) == [10]


def test_bad_events_are_422_naming_webhook_events(hooks: Client, fakes: Fakes) -> None:
    key = mint(hooks)
    for events in (["done"], [], ["running", 3]):
        answer = submit(hooks, key, {"url": "https://example.com/h", "events": events})
        assert answer["http_status"] == 422, answer
        assert answer["errors"][0]["field"].startswith("webhook.events")  # type: ignore[index]
    assert balance(fakes) == [10]


def test_an_accepted_webhook_is_kept_on_the_job_without_any_secret(
    hooks: Client, fakes: Fakes
) -> None:
    key = mint(hooks)
    url = "https://example.com/hook?token=abc"
    answer = submit(hooks, key, {"url": url, "events": ["running", "completed"]})
    assert answer["http_status"] == 202
    [job] = fakes.jobs.jobs.values()
    assert job.webhook_url == url
    assert job.webhook_events == ("completed", "running")
    assert "whsec_" not in repr(job)


def test_each_key_has_its_own_stable_secret(hooks: Client) -> None:
    first, second = mint(hooks), mint(hooks)
    one = hooks.get("/v1/webhooks/secret", headers=bearer(first)).json()["key"]
    assert one.startswith("whsec_")
    assert hooks.get("/v1/webhooks/secret", headers=bearer(first)).json()["key"] == one
    assert hooks.get("/v1/webhooks/secret", headers=bearer(second)).json()["key"] != one


def test_the_delivery_log_is_owner_scoped(hooks: Client) -> None:
    owner, other = mint(hooks), mint(hooks)
    job = submit(hooks, owner, {"url": "https://example.com/hook"})
    path = f"/v1/jobs/{job['id']}/webhooks"
    assert hooks.get(path, headers=bearer(owner)).json() == {"data": []}
    assert hooks.get(path, headers=bearer(other)).status_code == 404
    assert hooks.post(path + "/msg_x/redeliver", headers=bearer(other)).status_code == 404
    assert hooks.post(path + "/msg_x/redeliver", headers=bearer(owner)).status_code == 404
