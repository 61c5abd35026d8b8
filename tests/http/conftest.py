"""The real Litestar app, in process, on fakes of the ports (no Redis, no broker)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace

import pytest
from litestar.testing import TestClient

from adapters.prometheus_metrics import Metrics
from adapters.redis_idempotency import Attempt, Begun, StoredResponse
from adapters.redis_rate_limit import Verdict
from domain.operator_service import OperatorService
from domain.ports import Clock, QueuePlaces
from domain.webhook_urls import HostResolver
from entrypoints.bootstrap import ApiContainer, bind_api
from entrypoints.http.app import create_app
from entrypoints.settings import Settings
from tests.fakes.clock import FrozenClock
from tests.fakes.lifecycle import MemoryChanges, MemoryQueuePlaces
from tests.fakes.memory import MemoryImages, MemoryJobs, MemoryQueue, MemoryQuota
from tests.fakes.operators import MemoryCreditLedger, MemoryKeyAdmin


@dataclass
class MemoryIdempotency:
    """The idempotency store's contract over a dict: begin → complete | abandon."""

    records: dict[tuple[str, str], tuple[str, StoredResponse | None]] = field(default_factory=dict)

    async def begin(self, scope: str, key: str, fingerprint: str) -> Attempt:
        record = self.records.get((scope, key))
        if record is None:
            self.records[(scope, key)] = (fingerprint, None)
            return Attempt(Begun.NEW)
        if record[0] != fingerprint:
            return Attempt(Begun.MISMATCH)
        return Attempt(Begun.REPLAY, record[1]) if record[1] else Attempt(Begun.PENDING)

    async def complete(
        self, scope: str, key: str, fingerprint: str, response: StoredResponse
    ) -> None:
        self.records[(scope, key)] = (fingerprint, response)

    async def abandon(self, scope: str, key: str) -> None:
        self.records.pop((scope, key), None)


@dataclass
class CountingRateLimiter:
    limit: int = 1000
    hits: int = 0

    async def hit(self, name: str, limits: list[tuple[str, int]], window_seconds: int) -> Verdict:
        self.hits += 1
        allowed = self.hits <= min(self.limit, *(most for _, most in limits))
        return Verdict(
            allowed=allowed, retry_after=0 if allowed else 60, limit_index=0 if allowed else 1
        )


@dataclass
class Fakes:
    quota: MemoryQuota = field(default_factory=MemoryQuota)
    jobs: MemoryJobs = field(default_factory=MemoryJobs)
    queue: MemoryQueue = field(default_factory=MemoryQueue)
    images: MemoryImages = field(default_factory=MemoryImages)
    idempotency: MemoryIdempotency = field(default_factory=MemoryIdempotency)
    limiter: CountingRateLimiter = field(default_factory=CountingRateLimiter)
    ledger: MemoryCreditLedger = field(default_factory=MemoryCreditLedger)
    resolver: HostResolver | None = None  # DNS for webhook URLs; None: the system's
    changes: MemoryChanges = field(default_factory=MemoryChanges)
    places: QueuePlaces | None = None  # None: MemoryQueuePlaces over `jobs`

    def container(self, settings: Settings, *, clock: Clock, metrics: Metrics) -> ApiContainer:
        return bind_api(
            settings,
            quota=self.quota,
            jobs=self.jobs,
            queue=self.queue,
            images=self.images,
            idempotency=self.idempotency,
            rate_limiter=self.limiter,
            clock=clock,
            operators=OperatorService(
                MemoryKeyAdmin(FrozenClock()),
                self.ledger,
                settings.catalog,
                clock,
                record_changes=True,
            ),
            resolver=self.resolver,
            changes=self.changes,
            places=self.places or MemoryQueuePlaces(self.jobs),
        )


SETTINGS = Settings(cookie_secure=False, sync_wait_seconds=0)


@pytest.fixture
def fakes() -> Fakes:
    return Fakes()


@pytest.fixture
def client(fakes: Fakes) -> Iterator[TestClient]:  # type: ignore[type-arg]
    app = create_app(SETTINGS, container_factory=fakes.container, clock=FrozenClock())
    with TestClient(app) as test_client:
        yield test_client


ADMIN_TOKEN = "admin-token-for-tests"


@pytest.fixture
def operated_client(fakes: Fakes) -> Iterator[TestClient]:  # type: ignore[type-arg]
    """The app with its operator API on (an ADMIN_TOKEN set)."""
    settings = replace(SETTINGS, admin_token=ADMIN_TOKEN)
    app = create_app(settings, container_factory=fakes.container, clock=FrozenClock())
    with TestClient(app) as test_client:
        yield test_client


def mint(client: TestClient) -> str:  # type: ignore[type-arg]
    answer = client.post("/v1/keys")
    assert answer.status_code == 201
    client.cookies.clear()  # a test says how it authenticates
    return str(answer.json()["key"])


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
