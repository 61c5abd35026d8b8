"""The broker message the admission script pushes (adapters/celery_wire.py) is the message
Celery's own `send_task` writes, and a charged submit on the local quota is in the broker's
list the moment it is recorded, its outbox recheck already scheduled."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis
import redis.asyncio

from adapters.celery_queue import CeleryPublisher
from adapters.celery_wire import task_message
from adapters.redis_admission import RedisJobAdmission
from adapters.redis_quota import RedisQuotaProvider
from domain.models import ImageRequest, JobDraft, Plan, RefillInterval
from entrypoints.celery_app import GENERATE_TASK, QUEUE, create_celery
from entrypoints.settings import Settings
from tests.fakes.clock import FrozenClock

pytestmark = pytest.mark.anyio
NOW = datetime.now(UTC)
IDS = ("id", "root_id", "correlation_id", "delivery_tag", "origin", "reply_to")


def shape(raw: bytes | str) -> tuple[dict[str, Any], list[Any]]:
    """The message with its per-message ids blanked, and its decoded body."""
    message = json.loads(raw)
    for part in (message["headers"], message["properties"]):
        for name in IDS:
            part.pop(name, None)
    return message | {"body": None}, json.loads(base64.b64decode(json.loads(raw)["body"]))


def test_the_message_is_the_one_send_task_writes(redis_url: str, sync_redis: redis.Redis) -> None:
    settings = Settings.from_env({"REDIS_URL": redis_url}, env_file=None)
    celery = create_celery(settings, batch_publishing=True)
    CeleryPublisher(celery, task_name=GENERATE_TASK, queue=QUEUE).publish_batch(["job_a"])
    celery.close()
    (theirs,) = sync_redis.lrange(QUEUE, 0, -1)
    assert shape(task_message(GENERATE_TASK, "job_a", QUEUE)) == shape(theirs)
    a, b = (json.loads(task_message(GENERATE_TASK, "job_a", QUEUE)) for _ in range(2))
    assert a["properties"]["delivery_tag"] != b["properties"]["delivery_tag"]  # kombu acks by it
    assert a["headers"]["id"] != b["headers"]["id"]


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[redis.asyncio.Redis]:
    client = redis.asyncio.Redis.from_url(redis_url)
    yield client
    await client.aclose()


async def test_an_admitted_job_is_in_the_broker_and_only_a_charged_one(
    client: redis.asyncio.Redis, sync_redis: redis.Redis
) -> None:
    clock = FrozenClock(NOW)
    issued = await RedisQuotaProvider(client, clock).mint(Plan.build(3, RefillInterval.DAILY, 3))
    admission = RedisJobAdmission(
        client, clock, publish_to=(GENERATE_TASK, QUEUE), recheck_seconds=600
    )
    request = ImageRequest(prompt="a lighthouse", n=2, model="placeholder")
    draft = JobDraft.new(request=request, now=NOW, ttl=timedelta(hours=1))
    _, job = await admission.admit(issued.key, draft)
    assert job is not None
    (pushed,) = sync_redis.lrange(QUEUE, 0, -1)
    assert shape(pushed)[1][0] == [job.id]
    recheck = int((NOW + timedelta(seconds=600)).timestamp() * 1000)
    assert sync_redis.zscore("ig:outbox", job.id) == recheck
    refused = JobDraft.new(request=request, now=NOW, ttl=timedelta(hours=1))
    _, none = await admission.admit(issued.key, refused)  # 1 of 3 credits left: refused
    assert none is None
    assert sync_redis.llen(QUEUE) == 1


def test_both_sides_take_the_delivery_policy_whatever_the_settings() -> None:
    """A message is acknowledged after its task returned and comes back if its worker is lost;
    one message per slot; JSON only; the time limits follow the settings."""
    settings = Settings(redis_url="redis://127.0.0.1:1/0", task_soft_time_limit=40)
    conf = create_celery(settings).conf
    assert conf.task_acks_late and conf.task_reject_on_worker_lost
    assert conf.worker_prefetch_multiplier == 1
    assert conf.accept_content == ["json"] and conf.task_serializer == "json"
    assert conf.result_backend is None and conf.task_ignore_result
    assert conf.task_default_queue == QUEUE
    assert (conf.task_soft_time_limit, conf.task_time_limit) == (40, 70)
