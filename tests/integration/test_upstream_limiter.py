"""The global upstream concurrency limit, against real Valkey."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from adapters.upstream_limiter import LimitedImageGenerator, RedisConcurrencyLimiter
from domain.errors import UpstreamRateLimited, UpstreamUnavailable
from domain.models import GeneratedImage, ImageRequest
from tests.ports import free_port


class ConcurrencyProbe:
    """Counts how many callers are inside at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.inside = 0
        self.peak = 0
        self.done = 0

    def __enter__(self) -> None:
        with self._lock:
            self.inside += 1
            self.peak = max(self.peak, self.inside)

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self.inside -= 1
            self.done += 1


class ProbedGenerator:
    def __init__(self, probe: ConcurrencyProbe, work_seconds: float) -> None:
        self._probe = probe
        self._work = work_seconds

    def generate(self, request: ImageRequest, *, user: str) -> list[GeneratedImage]:
        with self._probe:
            time.sleep(self._work)  # stands in for an upstream call in flight
        return [GeneratedImage(data=request.prompt.encode(), content_type="image/png")]


def limiter(client: redis.Redis, **options: object) -> RedisConcurrencyLimiter:
    values: dict[str, object] = {
        "name": "openai",
        "limit": 3,
        "lease_seconds": 30,
        "poll_interval": 0.01,
    } | options
    return RedisConcurrencyLimiter(client, **values)  # type: ignore[arg-type]


def wait_until(condition: object, timeout: float = 3.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.01)
    return False


def test_never_more_than_limit_in_flight_across_workers(sync_redis: redis.Redis) -> None:
    probe = ConcurrencyProbe()
    # Two "worker processes": separate limiter instances that share only Redis.
    workers = [
        LimitedImageGenerator(ProbedGenerator(probe, 0.03), limiter(sync_redis, limit=3))
        for _ in range(2)
    ]
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(
            pool.map(
                lambda i: workers[i % 2].generate(ImageRequest(prompt=f"p{i}"), user="u"),
                range(32),
            )
        )

    assert [r[0].data for r in results] == [f"p{i}".encode() for i in range(32)]
    assert probe.done == 32
    assert probe.peak == 3  # the cap held, and it was reached (the threads did overlap)
    assert sync_redis.zcard(limiter(sync_redis).key) == 0  # every slot was given back


def test_an_expired_lease_is_reclaimed(sync_redis: redis.Redis) -> None:
    dead_worker = limiter(sync_redis, limit=2, lease_seconds=0.3)
    leaked = dead_worker.slot()
    leaked.__enter__()  # acquired, never released: the worker was killed
    live_worker = limiter(sync_redis, limit=2, lease_seconds=30)
    with live_worker.slot():  # a live lease keeps the set itself alive
        assert live_worker.held() == 2
        started = time.monotonic()
        with limiter(sync_redis, limit=2, lease_seconds=30, max_wait=3.0).slot():
            waited = time.monotonic() - started
            assert live_worker.held() == 2  # the dead lease made room for this one
    assert 0.2 <= waited < 3.0


def test_a_short_lease_does_not_shorten_the_life_of_longer_ones(sync_redis: redis.Redis) -> None:
    with limiter(sync_redis, lease_seconds=30).slot(), limiter(sync_redis, lease_seconds=1).slot():
        assert sync_redis.pttl(limiter(sync_redis).key) > 20_000


def test_waiters_proceed_when_a_slot_frees(sync_redis: redis.Redis) -> None:
    shared = limiter(sync_redis, limit=1)
    acquired = threading.Event()

    def waiter() -> None:
        with shared.slot():
            acquired.set()

    with shared.slot():
        thread = threading.Thread(target=waiter, daemon=True)
        thread.start()
        assert not acquired.wait(0.3)  # held: the waiter must still be waiting
    assert acquired.wait(3.0)
    thread.join(3.0)
    assert shared.held() == 0


def test_slots_are_released_when_the_generation_fails(sync_redis: redis.Redis) -> None:
    class Failing:
        def generate(self, request: ImageRequest, *, user: str) -> list[GeneratedImage]:
            raise UpstreamUnavailable()

    shared = limiter(sync_redis, limit=1)
    generator = LimitedImageGenerator(Failing(), shared)
    for _ in range(3):  # with a leaked slot the second call would block forever
        with pytest.raises(UpstreamUnavailable):
            generator.generate(ImageRequest(prompt="x"), user="u")
    assert shared.held() == 0


def test_limiters_with_other_names_do_not_share_slots(sync_redis: redis.Redis) -> None:
    with limiter(sync_redis, limit=1, name="a").slot():
        finished = threading.Event()

        def other() -> None:
            with limiter(sync_redis, limit=1, name="b").slot():
                finished.set()

        threading.Thread(target=other, daemon=True).start()
        assert finished.wait(2.0)


def test_max_wait_turns_a_long_wait_into_a_transient_error(sync_redis: redis.Redis) -> None:
    impatient = limiter(sync_redis, limit=1, max_wait=0.2)
    with impatient.slot():
        started = time.monotonic()
        with pytest.raises(UpstreamRateLimited) as caught, impatient.slot():
            pass
        assert 0.2 <= time.monotonic() - started < 2.0
    assert caught.value.transient


def test_the_leases_key_expires_when_idle(sync_redis: redis.Redis) -> None:
    short = limiter(sync_redis, lease_seconds=5)
    with short.slot():
        ttl = sync_redis.pttl(short.key)
    assert 0 < ttl <= 5000


def test_redis_down_is_a_transient_error() -> None:
    client = redis.Redis(port=free_port(), socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0))
    with pytest.raises(UpstreamUnavailable) as caught, limiter(client).slot():
        pass
    assert caught.value.transient


@pytest.mark.parametrize("options", [{"limit": 0}, {"lease_seconds": 0}, {"poll_interval": 0}])
def test_nonsense_settings_are_refused(sync_redis: redis.Redis, options: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must"):
        limiter(sync_redis, **options)
