"""Request ids, the log filter and the metering decorators, on in-memory fakes of the ports."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from adapters.metered import MeteredJobStore, MeteredQuotaProvider
from adapters.metered_worker import MeteredCreditRefunder, MeteredImageGenerator
from adapters.prometheus_metrics import Metrics
from domain.errors import ContentPolicyViolation
from domain.models import ImageRequest, Job, Plan, RefillInterval
from entrypoints.log_context import ContextFilter, accept_request_id, bind, bound, clear
from tests.fakes.memory import MemoryJobs, MemoryQuota, MemoryRefunder, ScriptedGenerator

PLAN = Plan.build(5, RefillInterval.DAILY, 5)


@pytest.mark.parametrize("good", ["abc", "trace-7f3a.e2e:01", "A" * 64, "b64+/=_x"])
def test_a_short_safe_request_id_is_kept(good: str) -> None:
    assert accept_request_id(good) == good


@pytest.mark.parametrize(
    "bad", [None, "", "A" * 65, "has space", "crlf\r\ninjected: 1", "-leading-dash", 'q"uote']
)
def test_anything_else_is_replaced_by_a_fresh_id(bad: str | None) -> None:
    fresh = accept_request_id(bad)
    assert fresh != bad
    assert len(fresh) == 32 and int(fresh, 16) >= 0
    assert accept_request_id(bad) != fresh  # fresh each time


def record(**extra: object) -> logging.LogRecord:
    made = logging.makeLogRecord({"msg": "m", **extra})
    ContextFilter().filter(made)
    return made


def test_the_filter_adds_bound_ids_and_keeps_a_records_own() -> None:
    assert not hasattr(record(), "request_id")
    with bound(request_id="req-1", job_id="job_a"):
        plain = record()
        own = record(job_id="job_b")
    assert (plain.request_id, plain.job_id) == ("req-1", "job_a")
    assert (own.request_id, own.job_id) == ("req-1", "job_b")
    bind(request_id="req-2", job_id=None)
    assert record().request_id == "req-2"
    clear()
    assert not hasattr(record(), "request_id")


def sample(metrics: Metrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


@pytest.mark.anyio
async def test_only_accepted_charges_and_made_refunds_count_as_credits() -> None:
    metrics, quota = Metrics(), MemoryQuota()
    metered = MeteredQuotaProvider(quota, metrics, provider="local")
    issued = await metered.mint(PLAN)
    assert (await metered.charge(issued.key, 3)).accepted
    assert not (await metered.charge(issued.key, 3)).accepted  # 2 left: refused, takes nothing
    assert (await metered.charge(issued.key, 0)).accepted  # authentication, not spending
    await metered.refund(issued.key_id, 1)
    quota.fail_refunds = True
    with pytest.raises(ConnectionError):
        await metered.refund(issued.key_id, 1)

    assert sample(metrics, "imagegate_credits_charged_total") == 3
    assert sample(metrics, "imagegate_credits_refunded_total") == 1
    timed = "imagegate_quota_request_duration_seconds_count"
    assert sample(metrics, timed, provider="local", operation="charge", outcome="ok") == 2
    assert sample(metrics, timed, provider="local", operation="authenticate", outcome="ok") == 1
    assert sample(metrics, timed, provider="local", operation="refund", outcome="error") == 1
    exposed = metrics.render().decode()
    assert issued.key not in exposed and issued.key_id not in exposed


def test_worker_refunds_and_generations_are_metered() -> None:
    metrics, quota = Metrics(), MemoryQuota(balances={"key_1": 0})
    MeteredCreditRefunder(MemoryRefunder(quota), metrics, provider="unkey").refund("key_1", 4)
    assert sample(metrics, "imagegate_credits_refunded_total") == 4

    generator = MeteredImageGenerator(
        ScriptedGenerator(errors=[ContentPolicyViolation()]), metrics, generator="openai"
    )
    assert sample(metrics, "imagegate_generations_in_flight", generator="openai") == 0
    with pytest.raises(ContentPolicyViolation):
        generator.generate(ImageRequest(prompt="p"), user="u")
    assert len(generator.generate(ImageRequest(prompt="p", n=2), user="u")) == 2
    count = "imagegate_generation_duration_seconds_count"
    assert sample(metrics, count, generator="openai", outcome="content_policy") == 1
    assert sample(metrics, count, generator="openai", outcome="ok") == 1
    assert sample(metrics, "imagegate_generations_in_flight", generator="openai") == 0


def test_queue_depth_is_read_on_scrape_and_a_dead_broker_does_not_break_it() -> None:
    metrics, depths = Metrics(), [7]

    def depth() -> int:
        if not depths:
            raise ConnectionError("broker down")
        return depths.pop()

    metrics.watch_queue(depth, "imagegate")  # registering does not probe
    assert depths == [7]
    assert 'imagegate_queue_depth{queue="imagegate"} 7.0' in metrics.render().decode()
    text = metrics.render().decode()  # the broker is down now
    assert "imagegate_queue_depth{" not in text
    assert "imagegate_credits_charged_total 0.0" in text  # the rest of the scrape is intact


@pytest.mark.anyio
async def test_a_cancel_is_counted_once_where_it_happens() -> None:
    metrics = Metrics()
    jobs = MeteredJobStore(MemoryJobs(), metrics)
    now = datetime.now(UTC)
    job = Job.queued(owner="key_a", request=ImageRequest(prompt="p"), now=now, ttl=timedelta(1))
    await jobs.add(job)
    assert (await jobs.cancel(job.id, "key_a", now))[1]
    assert not (await jobs.cancel(job.id, "key_a", now))[1]  # already canceled: not again
    assert metrics.jobs_finished.labels("canceled", "none")._value.get() == 1
